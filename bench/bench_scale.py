"""End-to-end `ask` latency at 100,000 passages (and 10,000 for comparison), one process.

The collections are synthetic (xquad-en paragraphs, random unit vectors standing in for
embeddings: see bench_startup.build_big), because embedding 100k passages with the real
model would take hours on this CPU. The question is encoded by the real model and goes
through the real hybrid search, grouping and highlighting, so the cost is real even though
the answers are meaningless. Sizes are measured side by side in one run.

Run:  .venv/bin/python bench/bench_scale.py [--sizes 10000,100000] [--questions 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import XQUAD, build_big, stamp  # noqa: E402

from qa import QA  # noqa: E402
from qa.embedding import Embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in (XQUAD.parent / "queries.jsonl").read_text().splitlines()[: args.questions]]
    embedder = Embedder().load()
    print(f"# bench_scale: {stamp()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            sources, index = Path(tmp) / f"s{size}" / "sources", Path(tmp) / f"s{size}" / "index"
            build_big(size, sources, index, per_doc=5)
            t = time.perf_counter()
            qa = QA(sources, index, embedder=embedder)
            opened = time.perf_counter() - t
            qa.ask(queries[0])
            latencies = []
            for q in queries:
                t = time.perf_counter()
                qa.ask(q)
                latencies.append((time.perf_counter() - t) * 1000)
            latencies.sort()
            p95 = latencies[int(0.95 * (len(latencies) - 1))]
            kind = type(qa._current_store().dense).__name__
            rows.append((size, kind, opened, statistics.median(latencies), p95))
            print(f"  {size:,} passages ({kind}): open {opened:.2f} s, ask p50 {rows[-1][3]:.1f} ms, p95 {p95:.1f} ms")
    print()
    print("| passages | dense index | open (s) | ask p50 (ms) | ask p95 (ms) |")
    print("|---|---|---|---|---|")
    for size, kind, opened, p50, p95 in rows:
        print(f"| {size:,} | {kind} | {opened:.2f} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
