"""No-change re-index cost at 10,000 documents: what `qa index` costs when nothing changed.

Builds a synthetic collection of 10,000 documents (xquad-en paragraphs, 5 per document,
50,000 passages; random unit vectors stand in for embeddings so the build takes seconds,
which does not change what a no-change update does: scan, hash, compare, load), then times,
each as a fresh `qa index` process (what a user runs after a restart), median of 3:
- the whole command, no change;
- the same with one file changed (one document re-embedded: the model is loaded for it).

Run:  .venv/bin/python bench/bench_reindex.py [--documents 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import build_big, stamp  # noqa: E402


def timed_index(sources: Path, index: Path) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--sources", str(sources), "--index", str(index)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"qa index failed: {done.stderr}")
    return time.perf_counter() - t, done.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    args = parser.parse_args()
    print(f"# bench_reindex: {stamp()}")
    with tempfile.TemporaryDirectory(prefix="qa-reindex-") as tmp:
        sources, index = Path(tmp) / "sources", Path(tmp) / "index"
        built = build_big(args.documents * 5, sources, index, per_doc=5)
        size = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
        print(f"synthetic collection: {built['files']} documents, {args.documents * 5} passages, "
              f"index {size / 2**20:.0f} MiB, built in {built['documents+terms'] + built['write_store']:.1f} s")
        unchanged = [timed_index(sources, index) for _ in range(3)]
        for seconds, line in unchanged:
            print(f"  no change: {seconds:.2f} s  ({line})")
        target = sources / "doc-000000.txt"
        changed = []
        for i in range(3):
            target.write_text(target.read_text(encoding="utf-8") + f"\nOne more sentence number {i}.\n", encoding="utf-8")
            changed.append(timed_index(sources, index))
            print(f"  one file changed: {changed[-1][0]:.2f} s  ({changed[-1][1]})")
        print()
        print("| documents | passages | no-change `qa index` (median of 3) | one file changed (median of 3) |")
        print("|---|---|---|---|")
        print(f"| {built['files']:,} | {args.documents * 5:,} | {statistics.median(s for s, _ in unchanged):.2f} s | "
              f"{statistics.median(s for s, _ in changed):.2f} s |")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
