"""What a crash costs a build, and what one big file costs in memory.

1. Resume: a folder of filler articles (words of eval/articles, shuffled) is indexed from
   scratch as a `qa index` process and timed; then indexed again from scratch and killed
   (kill -9) once half its passages are embedded; then `qa index` runs again and resumes.
   Prints the passages kept from the killed build (share of the work not redone) and the
   resumed run's time beside the full build's, measured in the same run.
2. Big file: one N MB text file (default 50) of filler paragraphs is indexed by `qa index`
   in a fresh process; prints its peak resident memory (ru_maxrss of the child) and time.

Every timing is printed with the load average beside it.

Run:  .venv/bin/python bench/bench_build.py [--articles 300] [--mb 50] [--skip-big] [--skip-resume]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "eval" / "articles").iterdir())).split()
# A build that prints its progress as "passages_done passages_total" lines, for the kill.
BUILD = """
import sys
from qa import QA
QA(sys.argv[1], sys.argv[2], progress=lambda p: print(p.passages_done, p.passages_total, flush=True))
"""


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def paragraph(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 110))).capitalize() + "."


def write_articles(folder: Path, count: int) -> None:
    rng = random.Random(1)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        body = "\n\n".join(paragraph(rng) for _ in range(rng.randint(3, 8)))
        (folder / f"article-{n:05d}.txt").write_text(f"Filler article {n}\n\n{body}\n", encoding="utf-8")


def write_big(path: Path, megabytes: int) -> None:
    rng = random.Random(2)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("One very big file\n\n")
        while fh.tell() < megabytes * 1024 * 1024 - 4096:  # just under the size limit
            fh.write(paragraph(rng) + "\n\n")


def qa_index(sources: Path, index: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--sources", str(sources), "--index", str(index)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"qa index failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def killed_build(sources: Path, index: Path) -> int:
    """Start a build, kill -9 it once half its passages are embedded; returns passages done then."""
    build = subprocess.Popen([sys.executable, "-c", BUILD, str(sources), str(index)], stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    assert build.stdout is not None
    done = 0
    for line in build.stdout:
        done, total = map(int, line.split())
        if done >= total / 2 and done:
            break
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    return done


def resume(work: Path, articles: int) -> None:
    sources = work / "articles"
    write_articles(sources, articles)
    full, report = qa_index(sources, work / "full")
    print(f"full build: {full:.1f} s ({load()}): {report.splitlines()[0]}")
    index = work / "resumed"
    at = killed_build(sources, index)
    again, report = qa_index(sources, index)
    first = report.splitlines()[0]
    kept = int(first.split("(")[-1].split()[0]) if "kept from an interrupted build" in first else 0
    total = int(first.split(" passages (")[0].split()[-1])
    print(f"killed at {at} passages embedded; resumed build: {again:.1f} s ({load()}): {first}")
    print(f"work not redone: {kept}/{total} passages = {kept / total:.0%}; resumed/full time {again / full:.2f}")


def big_file(work: Path, megabytes: int) -> None:
    sources = work / "big"
    sources.mkdir(parents=True, exist_ok=True)
    write_big(sources / "big.txt", megabytes)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, report = qa_index(sources, work / "big-index")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{megabytes} MB file: indexed in {seconds:.0f} s ({load()}); peak memory {max(peak, before) / 1024:.0f} MB "
          f"(the largest child so far); {report.splitlines()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-resume", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-bench-build-"))
    try:
        if not args.skip_resume:
            resume(work, args.articles)
        if not args.skip_big:
            big_file(work, args.mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
