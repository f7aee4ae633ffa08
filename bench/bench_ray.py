"""In-process build against a build on Ray (`qa index --ray`), side by side in one run.

Writes the first N articles (default 300) of the news-2023 corpus (../shared/data/news-2023,
read in place, never copied into the repository) into a temporary sources folder, then times:

1. the in-process build (`qa.indexing.update_index`, model load included), into one index;
2. starting a local Ray (all this machine's cores, no dashboard);
3. the build on that running Ray (`qa.indexing_ray.update_index_on_ray`: an actor per core,
   each loading the model), into a second index; then the same with the start added;
4. the fixed cost of a build on Ray (a one-article build on the running Ray: actors started,
   model loaded in each), and what the driver does alone, which more machines do not spread:
   hashing the files, and writing all the passages into a local index in one `apply` (the writer);
5. reading and chunking alone, in one process (the part of each machine's work before embedding).

Prints for each: seconds, passages/s, and the load average (1, 5, 15 min, os.getloadavg) read
when it finished; the ratio of the Ray rates to the in-process rate; the largest difference
between the two indexes' vectors; and the arithmetic of what N machines would give (the
per-machine rate times N, plus the fixed cost, the hashing and the writing, which N does not shrink).

Run:  .venv/bin/python bench/bench_ray.py [--articles 300] [--corpus PATH]   (needs the cluster extra)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from common import revision, stamp

from qa.config import Settings
from qa.embedding import Embedder
from qa.indexing import update_index
from qa.indexing_ray import import_ray, update_index_on_ray
from qa.reading import load_source, prepare
from qa.scanning import file_digests, scan_sources
from qa.stores import Changes
from qa.stores.local import LocalLocation, load_store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "news-2023" / "corpus.jsonl"
T = TypeVar("T")


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def timed(call: Callable[[], T]) -> tuple[T, float, str]:
    """What `call` returns, the seconds it took, and the load average when it finished."""
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start, load()


def write_articles(corpus: Path, folder: Path, count: int) -> None:
    """The first `count` articles, each as a .txt file: the title, a blank line, the text."""
    folder.mkdir(parents=True)
    with corpus.open(encoding="utf-8") as fh:
        for _, line in zip(range(count), fh):
            article = json.loads(line)
            (folder / f"{article['_id']}.txt").write_text(f"{article['title']}\n\n{article['text']}\n", encoding="utf-8")


def line(label: str, seconds: float, passages: int, at: str) -> float:
    rate = passages / seconds
    print(f"{label:<44} {seconds:7.1f} s  {rate:7.1f} passages/s  ({at})", flush=True)
    return rate


def read_and_chunk(sources: Path, settings: Settings) -> int:
    """Read and chunk every file in this process, embedding nothing; returns the passages."""
    embedder, passages = Embedder(settings.model, encoder=settings.encoder).load(), 0
    for path in sorted(scan_sources(sources, settings).files.values()):
        doc, digest = load_source(path, sources, settings.max_file_bytes)
        passages += len(prepare(doc, digest, embedder, settings)[1])
    return passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="news-2023's corpus.jsonl")
    args = parser.parse_args()
    ray, settings = import_ray(), Settings()
    print(f"# bench_ray: {stamp()}, {revision()}, ray {ray.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        sources = Path(tmp) / "sources"
        write_articles(args.corpus, sources, args.articles)
        print(f"{args.articles} articles from {args.corpus}, {load()}", flush=True)

        def in_process():
            return update_index(sources, Path(tmp) / "in-process", Embedder(settings.model, encoder=settings.encoder))

        report, seconds, at = timed(in_process)
        passages = report.passages
        here = line(f"in-process build ({passages} passages)", seconds, passages, at)

        _, started, at = timed(lambda: ray.init(include_dashboard=False, logging_level="warning"))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        print(f"{f'start a local Ray ({cpus} CPUs)':<44} {started:7.1f} s  ({at})", flush=True)

        def on_ray():
            return update_index_on_ray(sources, Path(tmp) / "on-ray", Embedder(settings.model, encoder=settings.encoder))

        ray_report, on_ray_seconds, at = timed(on_ray)
        assert ray_report.passages == passages, (ray_report, report)
        there = line(f"build on the running Ray ({cpus} actors)", on_ray_seconds, passages, at)
        with_start = passages / (on_ray_seconds + started)
        print(f"{'build on Ray, its start included':<44} {on_ray_seconds + started:7.1f} s  {with_start:7.1f} passages/s")
        one = Path(tmp) / "one"
        one.mkdir()
        first = sorted(sources.iterdir())[0]
        (one / first.name).write_bytes(first.read_bytes())
        _, fixed, at = timed(lambda: update_index_on_ray(one, Path(tmp) / "one-index", Embedder(settings.model)))
        print(f"{'Ray fixed cost: a one-article build on it':<44} {fixed:7.1f} s  ({at})", flush=True)
        ray.shutdown()
        print(f"ratio Ray / in-process: {there / here:.2f} on a running Ray, {with_start / here:.2f} with its start")

        a, b = load_store(Path(tmp) / "in-process"), load_store(Path(tmp) / "on-ray")
        ids = [d.passage_id(i) for d in a.documents for i in range(len(d.passages))]
        print(f"largest vector difference between the two indexes: {np.abs(a.vectors(ids) - b.vectors(ids)).max():.2e}")

        _, hashing, at = timed(lambda: file_digests(scan_sources(sources, settings), []))
        line("driver: hash the files", hashing, passages, at)
        upserts = [(d, a.document_vectors(i)) for i, d in enumerate(a.documents)]
        location = LocalLocation(Path(tmp) / "writer")
        _, writing, at = timed(lambda: location.create(a.info).apply(Changes(upserts)))
        line("driver: apply all passages to a local index", writing, passages, at)
        counted, reading, at = timed(lambda: read_and_chunk(sources, settings))
        assert counted == passages
        line("read and chunk only, one process", reading, passages, at)

    # The cluster's share of the Ray build: its time less the fixed cost and what the driver does alone.
    driver = hashing + writing + fixed
    per_machine = passages / max(on_ray_seconds - driver, 1e-9)
    print(f"\nN machines like this one ({cpus} cores each), these {passages} passages: the cluster reads, chunks and "
          f"embeds about {per_machine:.0f} x N passages/s (the Ray build here less its fixed cost and the driver's "
          f"hashing and writing), and the rest does not shrink with N, so a build takes about {hashing:.1f} + {fixed:.1f} "
          f"+ {passages} / ({per_machine:.0f} x N) + {writing:.1f} s, never less than {driver:.1f} s:")
    for n in (1, 2, 4, 8, 16, 32):
        total = driver + passages / (per_machine * n)
        print(f"  N={n:<3} {total:7.1f} s  {passages / total:7.0f} passages/s  ({passages / total / here:4.1f} x in-process)")


if __name__ == "__main__":
    main()
