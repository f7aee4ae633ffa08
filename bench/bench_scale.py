"""End-to-end `ask` latency on the seed corpus and at 100,000 passages (and 10,000), one process.

"seed" in --sizes is the two seed articles of sources/ (8 passages), asked the questions of
the scenario suites that are about them; run it once with this tree's qa and once with an
older one first on PYTHONPATH to compare (both print the load average).

The collections are synthetic (xquad-en paragraphs, random unit vectors standing in for
embeddings: see bench_startup.build_big), because embedding 100k passages with the real
model would take hours on this CPU. The question is encoded by the real model and goes
through the real hybrid search, grouping and highlighting, so the cost is real even though
the answers are meaningless. Sizes are measured side by side in one run.

Run:  .venv/bin/python bench/bench_scale.py [--sizes seed,10000,100000] [--questions 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import XQUAD, build_big, stamp  # noqa: E402

from qa import QA  # noqa: E402
from qa.embedding import Embedder  # noqa: E402


ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = [
    json.loads(line)["turns"][0]["q"]
    for line in (ROOT / "eval" / "conversations.jsonl").read_text(encoding="utf-8").splitlines()[:24] if line.strip()
] * 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="seed,10000,100000")
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in (XQUAD.parent / "queries.jsonl").read_text().splitlines()[: args.questions]]
    embedder = Embedder().load()
    print(f"# bench_scale: {stamp()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        for size in args.sizes.split(","):
            sources, index = Path(tmp) / f"s{size}" / "sources", Path(tmp) / f"s{size}" / "index"
            if size == "seed":
                shutil.copytree(ROOT / "sources", sources)
            else:
                build_big(int(size), sources, index, per_doc=5)
            t = time.perf_counter()
            qa = QA(sources, index, embedder=embedder)
            opened = time.perf_counter() - t
            asked = SEED_QUESTIONS if size == "seed" else queries
            qa.ask(asked[0])
            latencies = []
            for q in asked:
                t = time.perf_counter()
                qa.ask(q)
                latencies.append((time.perf_counter() - t) * 1000)
            latencies.sort()
            p95 = latencies[int(0.95 * (len(latencies) - 1))]
            kind = type(qa._current_store().dense).__name__
            size = len(qa._current_store()) if size == "seed" else int(size)
            rows.append((size, kind, opened, statistics.median(latencies), p95))
            print(f"  {size:,} passages ({kind}): open {opened:.2f} s, ask p50 {rows[-1][3]:.1f} ms, p95 {p95:.1f} ms, "
                  f"load average {os.getloadavg()[0]:.2f}")
    print()
    print("| passages | dense index | open (s) | ask p50 (ms) | ask p95 (ms) |")
    print("|---|---|---|---|---|")
    for size, kind, opened, p50, p95 in rows:
        print(f"| {size:,} | {kind} | {opened:.2f} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
