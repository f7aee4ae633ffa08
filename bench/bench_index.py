"""Index build and query benchmark, on the seed articles and on xquad-en.

For each corpus it prints: the cold build time of `qa.indexing.update_index` with the real
model, the build's passages per second next to the raw `SentenceTransformer.encode` rate on
exactly the passage texts the build embedded (measured in the same run, interleaved, so the
ratio is fair on a shared machine), the no-change re-index time, and `QA.ask` latency p50/p95
with torch's and FAISS's default thread counts and with one thread (alternating per question:
on a busy machine a one-query forward pass with 2 threads waits on the scheduler).
Build and encode keep the best of N runs, in wall time and in CPU time of this process; the
CPU-time ratio barely moves when other jobs share the cores, the wall-time one does.
A cProfile breakdown of one extra build shows where the time goes besides the model.
It ends with a Markdown table for the README, stamped with the date and the machine.

Run:  .venv/bin/python bench/bench_index.py [--repeats 3] [--queries 1185]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import faiss
import numpy as np
import torch

from qa import QA, Settings
from qa.embedding import Embedder
from qa.indexing import update_index

ROOT = Path(__file__).resolve().parent.parent
SEED_SOURCES = ROOT / "sources"
XQUAD = ROOT.parent / "shared" / "data" / "xquad-en"

MIN_ASKS = 30  # the seed questions are asked in turn until there are this many timings
SEED_QUESTIONS = [
    "How many troops stay in Kurdistan?",
    "Who is Iraq's defense minister?",
    "How many US troops are in Syria?",
    "When will the coalition troops leave Iraq?",
    "What did Hussein Alawi say?",
    "Why was the announcement delayed?",
    "What is Operation Inherent Resolve?",
    "When was the withdrawal plan announced?",
    "Which countries are in the Global Coalition?",
    "What will the residual force in Iraq do?",
]

# Functions whose cumulative time makes up a build, as (label, file suffix, function name).
STAGES = [
    ("scan sources", "qa/scanning.py", "scan_sources"),
    ("load + clean documents", "qa/documents.py", "load_document"),
    ("chunk (sentences + token counts)", "qa/chunking.py", "chunk"),
    ("  of which token counting", "qa/embedding.py", "count_tokens"),
    ("fit titles", "qa/reading.py", "_fit_title"),
    ("load previous index", "qa/stores/local.py", "load_store"),
    ("embed (Embedder.encode)", "qa/embedding.py", "encode"),
    ("BM25 terms (qa.lexical.terms)", "qa/lexical.py", "terms"),
    ("write a segment", "qa/stores/segments.py", "write_segment"),
    ("  of which BM25 postings", "qa/stores/bm25.py", "build"),
    ("  of which checksums", "qa/stores/segments.py", "sha256"),
    ("  of which fsync", "qa/stores/segments.py", "fsync_tree"),
]


class RecordingEmbedder(Embedder):
    """The real embedder, keeping a copy of every text the build asks it to embed."""

    def __init__(self, real: Embedder) -> None:
        self.__dict__.update(real.__dict__)
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.texts.extend(texts)
        return super().encode(texts, batch_size)


class Timing(NamedTuple):
    """Seconds of wall-clock time and of CPU time (all threads of this process)."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Result:
    """The figures measured for one corpus."""

    corpus: str
    documents: int
    passages: int
    build: Timing
    encode: Timing
    reindex_s: float
    asks: dict[str, list[float]]  # seconds per QA.ask, by thread setting

    @property
    def wall_ratio(self) -> float:
        """Build rate over raw encode rate, wall-clock."""
        return self.encode.wall / self.build.wall

    @property
    def cpu_ratio(self) -> float:
        """Build rate over raw encode rate, CPU time."""
        return self.encode.cpu / self.build.cpu


def machine() -> str:
    """CPU count, CPU model, torch threads and load average: the conditions of the figures."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"nproc {os.cpu_count()}, {model}, torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"Python {platform.python_version()}, load average {load}")


def write_xquad(data: Path, target: Path) -> list[str]:
    """Write each corpus.jsonl paragraph as a .txt document (title line, blank line, text); returns the questions.

    The titles are Wikipedia page names ("Super_Bowl_50"), written with spaces.
    """
    target.mkdir(parents=True)
    with (data / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            title = row["title"].replace("_", " ")
            (target / f"{row['_id'][:16]}.txt").write_text(f"{title}\n\n{row['text']}\n", encoding="utf-8")
    with (data / "queries.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def timed(fn: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def best(timings: list[Timing]) -> Timing:
    """The least wall and the least CPU time: the runs least disturbed by other jobs."""
    return Timing(min(t.wall for t in timings), min(t.cpu for t in timings))


def cold_build(sources: Path, embedder: Embedder, settings: Settings) -> tuple[Timing, list[str]]:
    """Time of a build into an empty index folder, and the texts it embedded."""
    recorder = RecordingEmbedder(embedder)
    with tempfile.TemporaryDirectory() as index:
        timing = timed(lambda: update_index(sources, index, recorder, settings, progress=lambda *_: None))
    return timing, recorder.texts


def raw_encode(embedder: Embedder, texts: list[str], settings: Settings) -> Timing:
    """Time of the encoder's own encode (qa.encoders: ONNX or torch) over `texts`, with the build's batch size."""
    model = embedder.load().model
    return timed(lambda: model.encode(texts, settings.batch_size))


def profile_build(sources: Path, index: Path, embedder: Embedder, settings: Settings) -> tuple[float, dict[str, float]]:
    """One profiled cold build into `index`: its total seconds and the cumulative seconds of each stage."""
    profiler = cProfile.Profile()
    profiler.enable()
    start = time.perf_counter()
    update_index(sources, index, embedder, settings, progress=lambda *_: None)
    total = time.perf_counter() - start
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for label, suffix, name in STAGES:
        found[label] = sum(v[3] for (file, _, func), v in stats.items() if func == name and file.endswith(suffix))
    return total, found


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def spread(questions: list[str], n: int | None) -> list[str]:
    """At most n questions taken evenly across the list (so every article is asked about)."""
    if n is None or n >= len(questions):
        return questions
    return [questions[i * len(questions) // n] for i in range(n)]


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Torch and FAISS held to n threads inside the block (None: as they are)."""
    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    if n is not None:
        torch.set_num_threads(n)
        faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        faiss.omp_set_num_threads(before[1])


def ask_latencies(qa: QA, questions: list[str], samples: int) -> dict[str, list[float]]:
    """Seconds per `QA.ask` call (default settings: a sources rescan at most every 2 s), after two warm-ups.

    Each question is asked twice in a row, with the default thread counts and with one
    thread, so the two settings see the same machine load. The questions are asked in turn
    until each setting has at least `samples` timings.
    """
    settings = {f"{torch.get_num_threads()} threads": None, "1 thread": 1}
    for question in questions[:2]:
        qa.ask(question)
    out: dict[str, list[float]] = {label: [] for label in settings}
    for question in questions * max(1, -(-samples // len(questions))):
        for label, n in settings.items():
            with threads(n):
                start = time.perf_counter()
                qa.ask(question)
                out[label].append(time.perf_counter() - start)
    return out


def bench_corpus(name: str, sources: Path, questions: list[str], embedder: Embedder, repeats: int) -> Result:
    """Build `repeats` times interleaved with raw encodes; then re-index, then time the questions."""
    settings = Settings()
    builds, encodes, texts = [], [], []
    for _ in range(repeats):
        seconds, texts = cold_build(sources, embedder, settings)
        builds.append(seconds)
        encodes.append(raw_encode(embedder, texts, settings))
    with tempfile.TemporaryDirectory() as index:
        total, stages = profile_build(sources, Path(index), embedder, settings)
        print(f"\n## {name}: cProfile breakdown of one more cold build ({total:.2f} s under the profiler)")
        for label, seconds in stages.items():
            print(f"  {label:<34} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
        qa = QA(sources, index, settings=settings, embedder=embedder)
        reindex = statistics.median(timed(lambda: update_index(sources, index, embedder, settings)).wall
                                    for _ in range(3))
        asks = ask_latencies(qa, questions, MIN_ASKS)
        documents = len(qa.documents())
    for label, runs in (("cold builds", builds), ("raw encodes", encodes)):
        print(f"  {label} (wall s / CPU s): {', '.join(f'{t.wall:.2f} / {t.cpu:.2f}' for t in runs)}")
    return Result(name, documents, len(texts), best(builds), best(encodes), reindex, asks)


def markdown(results: list[Result], conditions: str, model_load_s: float) -> str:
    """The README table."""
    lines = [
        f"Index benchmark, {dt.date.today().isoformat()}; {conditions}; "
        f"model load {model_load_s:.1f} s (not in the build time).",
        "",
        "| corpus | docs | passages | cold build (s) | build passages/s | raw encode passages/s | "
        "build/encode (wall) | build/encode (CPU) | no-change re-index (s) | asks | ask p50 / p95 (ms) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        asks = "; ".join(f"{label}: {percentile_ms(t, 50):.0f} / {percentile_ms(t, 95):.0f}"
                         for label, t in r.asks.items())
        lines.append(f"| {r.corpus} | {r.documents} | {r.passages} | {r.build.wall:.2f} | "
                     f"{r.passages / r.build.wall:.1f} | "
                     f"{r.passages / r.encode.wall:.1f} | {r.wall_ratio:.2f} | {r.cpu_ratio:.2f} | {r.reindex_s:.3f} | "
                     f"{len(next(iter(r.asks.values())))} | {asks} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="cold builds (and raw encodes) per corpus")
    parser.add_argument("--queries", type=int, default=100,
                        help="xquad questions to ask, spread over all 1185 (0: all)")
    args = parser.parse_args()
    start = time.perf_counter()
    model_load = time.perf_counter()
    embedder = Embedder(Settings().model)
    model_load = time.perf_counter() - model_load
    embedder.encode(["warm up the model"])
    results = [bench_corpus("seed (sources/)", SEED_SOURCES, SEED_QUESTIONS, embedder, args.repeats)]
    with tempfile.TemporaryDirectory() as tmp:
        questions = spread(write_xquad(XQUAD, Path(tmp) / "sources"), args.queries or None)
        xquad = bench_corpus("xquad-en (240 paragraphs)", Path(tmp) / "sources", questions, embedder, args.repeats)
        results.append(xquad)
    print()
    print(markdown(results, machine(), model_load))
    print(f"\n(build and encode: best of {args.repeats} interleaved runs; "
          f"benchmark ran {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
