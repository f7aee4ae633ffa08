"""End-to-end `ask` latency on real news text: the seed corpus, news-2023, and 100,000+ passages.

Sizes, measured side by side in one run (each printed with the load average):
- "seed": the two seed articles of sources/, asked the first questions of the scenario suites;
- "news": the 2,355 articles of ../shared/data/news-2023 (about 38k passages), built by a real
  build with the default encoder (embedding them takes about 15 minutes here; `--workdir`
  keeps the index so a later run, or bench_encoder's `--workdir`, reuses it), asked the
  dataset's own questions;
- a number N (e.g. 100000): the news-2023 articles repeated with light perturbation until the
  collection has N passages. Copy c of an article has its digits shifted by c, its title
  numbered and a last line naming it, so every copy is a different file, and the BM25 terms are
  computed from that text; its passage vectors are the original's with a little noise
  (cosine about 0.99 to the original), because embedding 100k passages would take hours
  here. The question is encoded by the real model and goes through the real hybrid search,
  grouping and highlighting, so the cost is real; the answers on the copies are not meaningful.

Run:  .venv/bin/python bench/bench_scale.py [--sizes seed,news,100000] [--questions 200] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ask_latencies, repeated, stamp  # noqa: E402

from qa import QA  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.embedding import Embedder  # noqa: E402
from qa.evaluation import load_dataset, write_sources  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news-2023"
SEED_QUESTIONS = [
    json.loads(line)["turns"][0]["q"]
    for line in (ROOT / "eval" / "conversations.jsonl").read_text(encoding="utf-8").splitlines()[:24] if line.strip()
] * 3


def news_index(workdir: Path, embedder: Embedder) -> tuple[Path, Path]:
    """The news-2023 sources and a real index of them (built, or brought up to date, here)."""
    sources, index = workdir / "sources", workdir / "index"
    write_sources(load_dataset(NEWS), sources)
    started = time.perf_counter()
    qa = QA(sources, index, settings=replace(Settings(), encoder=embedder.variant), embedder=embedder)
    if qa.last_report.embedded:
        print(f"  built news-2023: {qa.last_report.passages:,} passages in {time.perf_counter() - started:.0f} s, "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
    return sources, index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="seed,news,100000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--workdir", type=Path, help="keep the news-2023 index here (reused by a later run)")
    args = parser.parse_args()
    embedder = Embedder().load()
    print(f"# bench_scale: {stamp()}, encoder {embedder.variant}", flush=True)
    news_questions = [q.text for q in load_dataset(NEWS).questions[: args.questions]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        news_dir = args.workdir or Path(tmp) / "news"
        news: tuple[Path, Path] | None = None
        for size in args.sizes.split(","):
            if size == "seed":
                sources, index = Path(tmp) / "seed" / "sources", Path(tmp) / "seed" / "index"
                shutil.copytree(ROOT / "sources", sources)
            else:
                news = news or news_index(news_dir, embedder)
                sources, index = news
                if size != "news":
                    sources, index = Path(tmp) / f"s{size}" / "sources", Path(tmp) / f"s{size}" / "index"
                    repeated(news[1], int(size), sources, index)
            started = time.perf_counter()
            qa = QA(sources, index, embedder=embedder)
            opened = time.perf_counter() - started
            latencies = ask_latencies(qa, SEED_QUESTIONS if size == "seed" else news_questions)
            store = qa._current_store()
            p50, p95 = statistics.median(latencies), float(np.percentile(latencies, 95))
            rows.append((size, len(store), type(store.segments[0].dense).__name__, opened, p50, p95, os.getloadavg()[0]))
            print(f"  {size}: {len(store):,} passages ({rows[-1][2]}): open {opened:.2f} s, ask p50 {p50:.1f} ms, "
                  f"p95 {p95:.1f} ms, load average {rows[-1][-1]:.2f}", flush=True)
    print()
    print("| collection | passages | dense index | open (s) | ask p50 (ms) | ask p95 (ms) | load |")
    print("|---|---|---|---|---|---|---|")
    for size, n, kind, opened, p50, p95, load in rows:
        name = {"seed": "seed articles", "news": "news-2023"}.get(size, "news-2023 repeated, perturbed")
        print(f"| {name} | {n:,} | {kind} | {opened:.2f} | {p50:.1f} | {p95:.1f} | {load:.2f} |")


if __name__ == "__main__":
    main()
