"""The encoders side by side: torch fp32, onnx fp32 and onnx int8, in one run.

Printed with the 1-minute load average beside every timing (os.getloadavg, the mean over the
measurement), the variants interleaved so that a busy machine weighs on all of them alike:
- building: passages/s embedding real passages (news-2023 articles, chunked and titled as a
  build does; median of --repeats);
- one question: encoding a real question (xquad-en) alone, p50/p95; the same while a build
  embeds in a background thread of the same process (as QA(wait=False) does); and per
  question with 20 askers at once;
- start-up: `qa ask` end to end in a fresh process on an existing index of the seed articles,
  median of 5, and whether torch was imported;
- quality: xquad-en R@1 and nDCG@10 through qa.evaluation, dense only and hybrid; with
  --news also news-2023 answer-in-top-5 (hybrid; builds a 35k-passage index per encoder).
It ends with the default the encoder rule picks: onnx-int8 if it loses at most 0.5 points of
nDCG@10 dense-only on xquad-en (and, measured, at most 1 point of news-2023 answer-in-top-5),
else onnx-fp32 where it builds faster than torch, else torch.

Run:  .venv/bin/python bench/bench_encoder.py [--passages 1000] [--questions 200] [--repeats 3] [--news]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa import Settings
from qa.documents import load_document
from qa.embedding import Embedder
from qa.encoders import ENCODERS
from qa.evaluation import Dataset, evaluate, load_dataset, write_sources
from qa.reading import prepare

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CLIENTS = 20


@dataclass
class Timing:
    """Seconds of repeated runs, and the load averages seen while they ran."""

    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU seconds of this process: barely moved by other jobs
    loads: list[float] = field(default_factory=list)

    def add(self, run: Callable[[], object]) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        run()
        self.seconds.append(time.perf_counter() - started)
        self.cpu.append(time.process_time() - cpu)
        self.loads.append(os.getloadavg()[0])

    def ms(self, q: float) -> float:
        return 1000 * float(np.percentile(self.seconds, q))

    @property
    def load(self) -> str:
        return f"load {statistics.mean(self.loads):.2f}"


def real_passages(count: int, embedder: Embedder) -> list[str]:
    """The first `count` passage texts a build of the news-2023 articles would embed."""
    dataset = load_dataset(DATA / "news-2023")
    texts: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for cid in sorted(dataset.corpus):
            write_sources(Dataset("news", {cid: dataset.corpus[cid]}, ()), Path(tmp))
            path = Path(tmp) / f"{cid}.txt"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            texts.extend(prepare(load_document(path, Path(tmp)), digest, embedder, Settings())[1])
            if len(texts) >= count:
                return texts[:count]
    return texts


def building(embedders: dict[str, Embedder], passages: list[str], repeats: int) -> dict[str, Timing]:
    timings = {v: Timing() for v in embedders}
    for _ in range(repeats):
        for variant, embedder in embedders.items():
            timings[variant].add(lambda e=embedder: e.encode(passages, Settings().batch_size))
    return timings


def questions_alone(embedders: dict[str, Embedder], questions: list[str]) -> dict[str, Timing]:
    timings = {v: Timing() for v in embedders}
    for question in questions:
        for variant, embedder in embedders.items():
            timings[variant].add(lambda e=embedder, q=question: e.encode([q]))
    return timings


def questions_during_build(embedder: Embedder, questions: list[str], passages: list[str]) -> Timing:
    """Question timings while another thread of this process embeds passages in a loop."""
    stop = threading.Event()

    def build() -> None:
        while not stop.is_set():
            for begin in range(0, len(passages), 256):  # a build's stream of checkpointed batches
                if stop.is_set():
                    return
                embedder.encode(passages[begin : begin + 256], Settings().batch_size)

    builder = threading.Thread(target=build, daemon=True)
    builder.start()
    time.sleep(2)
    timing = Timing()
    for question in questions:
        timing.add(lambda q=question: embedder.encode([q]))
    stop.set()
    builder.join()
    return timing


def questions_concurrent(embedder: Embedder, questions: list[str]) -> Timing:
    """Per-question timings with CLIENTS askers at once."""
    timing = Timing()
    lock = threading.Lock()

    def ask(question: str) -> None:
        started = time.perf_counter()
        embedder.encode([question])
        with lock:
            timing.seconds.append(time.perf_counter() - started)
            timing.loads.append(os.getloadavg()[0])

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(ask, questions))
    return timing


def startup(variant: str, index: Path) -> tuple[Timing, bool]:
    """`qa ask` end to end in fresh processes (median of 5), and whether torch was imported."""
    timing = Timing()
    command = [str(Path(sys.executable).parent / "qa"), "ask", "how many troops stay in Kurdistan?", "-k", "1",
               "--sources", str(ROOT / "sources"), "--index", str(index)]
    env = {**os.environ, "QA_ENCODER": variant}
    subprocess.run(command, env=env, capture_output=True, check=True)  # builds the index
    for _ in range(5):
        timing.add(lambda: subprocess.run(command, env=env, capture_output=True, check=True))
    script = ("import sys; from qa import QA; "
              f"QA({str(ROOT / 'sources')!r}, {str(index)!r}).ask('how many troops stay in Kurdistan?'); "
              "print('torch' in sys.modules)")
    probe = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    torch_seen = probe.stdout.strip().endswith("True")
    return timing, torch_seen


def quality(embedder: Embedder, dataset: Dataset, methods: tuple[str, ...],
            workdir: Path | None = None) -> dict[str, tuple[float, float, float]]:
    """(R@1, nDCG@10, answer in top 5) per method; the index is kept in `workdir/<variant>/<set>`
    when given (a later run, or the latency bench, reuses it)."""
    folder = workdir / embedder.variant / dataset.name if workdir is not None else None
    report = evaluate(dataset, methods, settings=replace(Settings(), encoder=embedder.variant), embedder=embedder,
                      workdir=folder, show_progress=False)
    return {m.method: (m.recall_at_1, m.ndcg_at_10, m.answer_top5) for m in report.methods}


def choose(ndcg: dict[str, float], rate: dict[str, float], top5: dict[str, float]) -> tuple[str, str]:
    """The encoder rule: int8 if it loses at most 0.5 points of nDCG@10 (and 1 of answer-in-top-5
    where measured), else onnx fp32 where it builds faster than torch."""
    loss = 100 * (ndcg["torch"] - ndcg["onnx-int8"])
    top5_loss = 100 * (top5["torch"] - top5["onnx-int8"]) if top5 else 0.0
    said = f"int8 loses {loss:.2f} points of nDCG@10 (rule: ≤ 0.5)" + (
        f" and {top5_loss:.2f} of news-2023 answer-in-top-5 (rule: ≤ 1)" if top5 else "")
    if loss <= 0.5 and top5_loss <= 1.0:
        return "onnx-int8", said
    if rate["onnx-fp32"] > rate["torch"]:
        return "onnx-fp32", f"{said}; onnx fp32 builds {rate['onnx-fp32'] / rate['torch']:.2f}x as fast as torch"
    return "torch", f"{said}; onnx fp32 is not faster than torch"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default=",".join(ENCODERS))
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--news", action="store_true", help="also news-2023 answer-in-top-5 (slow: 38k passages)")
    parser.add_argument("--news-variants", default="torch,onnx-int8",
                        help="encoders measured on news-2023 (onnx-fp32 only matters if int8 fails the rule)")
    parser.add_argument("--workdir", type=Path, help="keep the quality indexes here, to reuse them")
    args = parser.parse_args()
    variants = args.variants.split(",")
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M}, {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()}", flush=True)
    embedders = {v: Embedder(encoder=v).load() for v in variants}
    passages = real_passages(args.passages, embedders[variants[-1]])
    xquad = load_dataset(DATA / "xquad-en")
    questions = [q.text for q in xquad.questions[: args.questions]]
    for embedder in embedders.values():
        embedder.encode(passages[:64])
        embedder.encode(questions[:5])

    print(f"\nbuilding: {len(passages)} news-2023 passages, median of {args.repeats}", flush=True)
    built = building(embedders, passages, args.repeats)
    rate = {v: len(passages) / statistics.median(t.seconds) for v, t in built.items()}
    per_cpu = {v: len(passages) / statistics.median(t.cpu) for v, t in built.items()}
    for v, t in built.items():
        print(f"  {v:10} {rate[v]:7.1f} passages/s ({rate[v] / rate.get('torch', rate[v]):.2f}x torch)  "
              f"{per_cpu[v]:6.1f} per CPU-second ({per_cpu[v] / per_cpu.get('torch', per_cpu[v]):.2f}x)  {t.load}")

    print(f"\none question: {len(questions)} xquad-en questions", flush=True)
    alone = questions_alone(embedders, questions)
    for v, t in alone.items():
        print(f"  alone          {v:10} p50 {t.ms(50):6.1f} ms  p95 {t.ms(95):6.1f} ms  {t.load}", flush=True)
    for v, embedder in embedders.items():
        t = questions_during_build(embedder, questions[:100], passages)
        print(f"  during build   {v:10} p50 {t.ms(50):6.1f} ms  p95 {t.ms(95):6.1f} ms  {t.load}", flush=True)
    for v, embedder in embedders.items():
        t = questions_concurrent(embedder, questions)
        print(f"  {CLIENTS} at once    {v:10} p50 {t.ms(50):6.1f} ms  p95 {t.ms(95):6.1f} ms  {t.load}", flush=True)

    print("\nstart-up: `qa ask` on the seed index, fresh process, median of 5", flush=True)
    for v in variants:
        with tempfile.TemporaryDirectory() as tmp:
            t, torch_seen = startup(v, Path(tmp) / "index")
        print(f"  {v:10} {statistics.median(t.seconds):5.2f} s  torch imported: {torch_seen}  {t.load}", flush=True)

    if args.skip_quality:
        return
    print("\nquality: xquad-en (R@1 / nDCG@10)", flush=True)
    scores = {v: quality(e, xquad, ("dense", "hybrid"), args.workdir) for v, e in embedders.items()}
    for v, by_method in scores.items():
        print(f"  {v:10} dense {by_method['dense'][0]:.3f} / {by_method['dense'][1]:.3f}   "
              f"hybrid {by_method['hybrid'][0]:.3f} / {by_method['hybrid'][1]:.3f}", flush=True)
    top5: dict[str, float] = {}
    if args.news:
        news = load_dataset(DATA / "news-2023")
        for v in args.news_variants.split(","):
            top5[v] = quality(embedders[v], news, ("hybrid",), args.workdir)["hybrid"][2]
            print(f"  news-2023 answer in top 5, {v:10} {top5[v]:.3f}", flush=True)
    if {"torch", "onnx-fp32", "onnx-int8"} <= set(variants):
        default, why = choose({v: s["dense"][1] for v, s in scores.items()}, rate, top5)
        print(f"\ndefault: {default}: {why}" + ("" if top5 else "; news-2023 not measured (--news)"))


if __name__ == "__main__":
    main()
