"""What the bench scripts share: the offline environment, the load-average stamp, the commit,
a free port, starting and stopping the app, and a synthetic big collection.

Each script in bench/ is run as `python bench/NAME.py`, so this folder is on its import path and
`from common import stamp` needs nothing else. Importing this module sets the environment the
app needs offline (no Gradio analytics, Hugging Face hub offline) and keeps 127.0.0.1 off any proxy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

for _name, _value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                      ("NO_PROXY", "127.0.0.1,localhost"), ("no_proxy", "127.0.0.1,localhost")):
    os.environ[_name] = _value

ROOT = Path(__file__).resolve().parent.parent
XQUAD = ROOT.parent / "shared" / "data" / "xquad-en" / "corpus.jsonl"
HOST = "127.0.0.1"


def stamp() -> str:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S UTC}, nproc={os.cpu_count()}, load average {load}"


def revision() -> str:
    """The commit the app code is at (read-only git), '+changes' if qa/ or app.py differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "qa", "app.py"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return f"commit {head}{' +uncommitted changes in qa/app.py' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return "commit unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_http_200(http, url: str, proc: subprocess.Popen, launched: float, timeout: float, log: Path) -> float:
    import httpx

    deadline = launched + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if http.get(url, timeout=2.0).status_code == 200:
                return time.perf_counter() - launched
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no HTTP 200 after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def build_big(passages: int, sources: Path, index: Path, per_doc: int = 5, seed: int = 0) -> dict[str, float]:
    """A synthetic collection of `passages` passages (see the module docstring); returns timings."""
    import hashlib
    import random

    import numpy as np

    from qa.config import Settings
    from qa.lexical import terms
    from qa.stores.local import Manifest, StoredDocument, write_store

    rng = random.Random(seed)
    paragraphs = [json.loads(line) for line in XQUAD.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = Settings()
    sources.mkdir(parents=True)
    t = time.perf_counter()
    documents, all_terms, sentence = [], [], re.compile(r"[^.!?]+[.!?]+\s*|[^.!?]+$")
    n_docs = (passages + per_doc - 1) // per_doc
    for d in range(n_docs):
        count = min(per_doc, passages - d * per_doc)
        picked = [rng.choice(paragraphs) for _ in range(count)]
        title = f"{picked[0]['title'].replace('_', ' ')} report {d}"
        body = [f"Report {d}-{i}: {p['text'].strip()}" for i, p in enumerate(picked)]
        text = title + "\n\n" + "\n\n".join(body) + "\n"
        data = text.encode("utf-8")
        name = f"doc-{d:06d}.txt"
        (sources / name).write_bytes(data)
        units, spans, offset = [], [], len(title) + 2
        for para in body:
            first = len(units)
            for m in sentence.finditer(para):
                a, b = offset + m.start(), offset + m.start() + len(m.group(0).rstrip())
                if b > a:
                    units.append((a, b))
            spans.append((first, len(units)))
            all_terms.append(terms(para))
            offset += len(para) + 2
        documents.append(StoredDocument(source=name, title=title, date=None, hash=hashlib.sha256(data).hexdigest(),
                                        text=text, units=tuple(units), passages=tuple(spans)))
    made = time.perf_counter() - t
    vectors = np.random.default_rng(seed).standard_normal((passages, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # Recorded as embedded by the configured encoder, so that opening it re-embeds nothing.
    manifest = Manifest(model=settings.model, dimension=384, chunking=settings.chunking(),
                        sources={doc.source: doc.hash for doc in documents}, passages=passages,
                        encoder=settings.encoder)
    t = time.perf_counter()
    write_store(index, manifest, documents, vectors, all_terms)
    return {"documents+terms": made, "write_store": time.perf_counter() - t, "files": n_docs}
