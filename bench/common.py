"""What the bench scripts share: the offline environment, the load-average stamp, the commit,
this tree's evaluation code and another commit's worktree, a free port, starting and stopping
the app, synthetic big collections (xquad paragraphs, or perturbed copies of news-2023), where the
evaluation sets are, and the logistic regression the scorer is fitted with.

Each script in bench/ is run as `python bench/NAME.py`, so this folder is on its import path and
`from common import stamp` needs nothing else. Importing this module sets the environment the
app needs offline (no Gradio analytics, Hugging Face hub offline) and keeps 127.0.0.1 off any proxy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace as dataclasses_replace
from pathlib import Path
from types import ModuleType

import numpy as np

for _name, _value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                      ("NO_PROXY", "127.0.0.1,localhost"), ("no_proxy", "127.0.0.1,localhost")):
    os.environ[_name] = _value

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"  # the evaluation sets
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


def this_evaluation() -> ModuleType:
    """This tree's qa/evaluation/ package, over whichever qa package is first on sys.path (another commit's, say).

    Its modules import one another relatively, so they too come from this tree.
    """
    folder = ROOT / "qa" / "evaluation"
    spec = importlib.util.spec_from_file_location("qa_evaluation_under_test", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A detached git worktree of `ref` in a temporary folder (run it with PYTHONPATH=that folder), removed after."""
    with tempfile.TemporaryDirectory(prefix="qa-base-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), ref],
                       check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


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
                        passages=passages,
                        encoder=settings.encoder)
    t = time.perf_counter()
    write_store(index, manifest, documents, vectors, all_terms)
    return {"documents+terms": made, "write_store": time.perf_counter() - t, "files": n_docs}


# Per-dimension noise on a copy's unit vectors: cosine about 0.99 to the original.
NOISE = 0.004


def _shift_digits(text: str, by: int) -> str:
    """`text` with every digit d replaced by (d + by) mod 10: same length, different numbers."""
    return text.translate(str.maketrans("0123456789", "".join(str((d + by) % 10) for d in range(10))))


def news_copies(news: Path, passages: int, sources: Path, seed: int = 0, first_copy: int = 0):
    """Yield (document, vectors) until `passages` passages: the news-2023 articles of the index
    in `news`, copied with light perturbation, each copy's file written into `sources`.

    Copy c of an article has its digits shifted by c, its title numbered and a last line naming
    it, so every copy is a different file and its BM25 terms come from its own text; its passage
    vectors are the original's with a little noise (NOISE), since embedding a million passages
    would take days here.
    """
    import dataclasses
    import hashlib

    import numpy as np

    from qa.stores.local import load_store

    store = load_store(news)
    rng = np.random.default_rng(seed)
    sources.mkdir(parents=True, exist_ok=True)
    total, copy = 0, first_copy
    while total < passages:
        for doc in store.documents:
            if total >= passages:
                return
            count = min(len(doc.passages), passages - total)
            # The copy's last line comes after every passage, so the passages' offsets hold.
            text = _shift_digits(doc.text, copy) + f"\n\nCopy {copy}." if copy else doc.text
            data = text.encode("utf-8")
            name = f"copy{copy:02d}-{doc.source}"
            (sources / name).write_bytes(data)
            kept = dataclasses.replace(doc, source=name, title=f"{doc.title} (copy {copy})" if copy else doc.title,
                                       text=text, hash=hashlib.sha256(data).hexdigest(), passages=doc.passages[:count])
            block = store.document_vectors(doc.source)[:count]
            if copy:
                block = block + rng.normal(0.0, NOISE, block.shape).astype(np.float32)
                block /= np.linalg.norm(block, axis=1, keepdims=True)
            yield kept, block.astype(np.float32)
            total += count
        copy += 1


def repeated(news: Path, passages: int, sources: Path, index: Path, seed: int = 0) -> None:
    """A one-segment index of `passages` passages of news_copies (their terms from their text)."""
    import numpy as np

    from qa.stores.base import passage_terms
    from qa.stores.local import read_manifest, write_store

    documents, vectors = zip(*news_copies(news, passages, sources, seed), strict=True)
    manifest = read_manifest(news)
    assert manifest is not None
    fresh = dataclasses_replace(manifest, passages=passages)
    write_store(index, fresh, list(documents), np.concatenate(vectors), (t for d in documents for t in passage_terms(d)))


def ask_latencies(qa, questions: list[str]) -> list[float]:
    """Milliseconds per `qa.ask` of each question, after one warm-up question."""
    qa.ask(questions[0])
    latencies = []
    for q in questions:
        started = time.perf_counter()
        qa.ask(q)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 60) -> tuple[float, np.ndarray]:
    """Bias and weights of an L2-regularised logistic regression (Newton's method)."""
    xb = np.column_stack([np.ones(len(x)), x]).astype(np.float64)
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + l2 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), w[1:]
