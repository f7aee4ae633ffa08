"""Which FAISS index for which collection size: exact IndexFlatIP against HNSW and IVF.

Data: synthetic unit vectors, 384-d (all-MiniLM-L6-v2's size), from a mixture of clusters
of low intrinsic dimension (like text embeddings: topics, each spread over a few
directions) plus a little isotropic noise. The cluster centers share a 64-d subspace, so
topics are more or less related rather than all orthogonal (orthogonal clusters strand a
graph search in the wrong one and flatter IVF). `--uniform` draws the vectors uniformly on
the sphere instead (the hardest case for graph and cluster indexes). Queries come from the
same distribution and are not in the collection.

Per size and index it prints: build time, bytes of the serialized index, single-query search
latency p50/p95 (one query per call, as `QA.ask` searches, with the FAISS thread count of
`--search-threads`), and recall@10 against exact search. HNSW (M=32) and IVF have their
efSearch / nprobe swept; the smallest setting reaching `--target` recall@10 is reported.
HNSW is built up to `--hnsw-max` vectors (all sizes by default; its build is slow on few cores);
above that its build time is extrapolated as n log n from the largest built size, and marked so.
Exact search is also timed at in-between sizes to find where its p50 passes 10 ms.

Run:  .venv/bin/python bench/bench_faiss.py [--sizes 10000,100000,1000000] [--hnsw-max 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

DIM = 384
K = 10
HNSW_M = 32
EF_SEARCH = (16, 24, 32, 48, 64, 96, 128, 192, 256, 512)
NPROBE = (1, 2, 4, 8, 16, 32, 64, 128)
CLUSTERS, CLUSTER_RANK, CENTER_RANK, NOISE = 1000, 16, 64, 0.01
LATENCY_MS = 10.0
DEFAULT_THREADS_MAX = 100_000  # exact search is also timed with FAISS's default threads up to this size


@dataclass(frozen=True)
class Row:
    """One index at one size."""

    size: int
    kind: str
    setting: str
    build_s: float
    nbytes: int
    p50_ms: float
    p95_ms: float
    recall: float
    note: str = ""


def unit_rows(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


class Vectors:
    """Draws unit vectors from one fixed distribution (see the module docstring)."""

    def __init__(self, seed: int, uniform: bool) -> None:
        self.rng = np.random.default_rng(seed)
        self.uniform = uniform
        topics = self.rng.standard_normal((CENTER_RANK, DIM), dtype=np.float32)
        self.centers = unit_rows(self.rng.standard_normal((CLUSTERS, CENTER_RANK), dtype=np.float32) @ topics)
        # Each cluster spreads over CLUSTER_RANK random directions, about as far as its center is long.
        scale = 1.0 / math.sqrt(DIM * CLUSTER_RANK)
        self.bases = self.rng.standard_normal((CLUSTERS, CLUSTER_RANK, DIM), dtype=np.float32) * scale

    def draw(self, n: int) -> np.ndarray:
        if self.uniform:
            return unit_rows(self.rng.standard_normal((n, DIM), dtype=np.float32))
        out = np.empty((n, DIM), dtype=np.float32)
        cluster = self.rng.integers(0, CLUSTERS, n)
        order = np.argsort(cluster, kind="stable")
        bounds = np.searchsorted(cluster[order], np.arange(CLUSTERS + 1))
        for c in range(CLUSTERS):
            rows = order[bounds[c] : bounds[c + 1]]
            z = self.rng.standard_normal((len(rows), CLUSTER_RANK), dtype=np.float32)
            out[rows] = self.centers[c] + z @ self.bases[c]
        out += NOISE * self.rng.standard_normal((n, DIM), dtype=np.float32)
        return unit_rows(out)


def index_bytes(index: faiss.Index) -> int:
    """Bytes of the serialized index, counted as it is written (no copy is kept)."""
    total = 0

    def count(chunk: bytes) -> int:
        nonlocal total
        total += len(chunk)
        return len(chunk)

    faiss.write_index(index, faiss.PyCallbackIOWriter(count))
    return total


def timed_build(make: Callable[[], faiss.Index]) -> tuple[faiss.Index, float]:
    start = time.perf_counter()
    index = make()
    return index, time.perf_counter() - start


def flat(x: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(DIM)
    index.add(x)
    return index


def hnsw(x: np.ndarray) -> faiss.Index:
    index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.add(x)
    return index


def ivf(x: np.ndarray, rng: np.random.Generator) -> faiss.Index:
    """IVF-Flat with about sqrt(n) lists, trained on a sample of 40 vectors per list."""
    nlist = max(16, int(math.sqrt(len(x))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = x[rng.choice(len(x), min(len(x), 40 * nlist), replace=False)]
    index.train(sample)
    index.add(x)
    return index


def search_latencies(index: faiss.Index, queries: np.ndarray, threads: int) -> tuple[float, float]:
    """p50 and p95 milliseconds of one-query searches (k=50, as qa asks for candidates)."""
    default = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        index.search(queries[:1], 50)
        times = []
        for q in queries:
            start = time.perf_counter()
            index.search(q[None, :], 50)
            times.append(time.perf_counter() - start)
    finally:
        faiss.omp_set_num_threads(default)
    ms = np.asarray(times) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def recall_at_k(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> float:
    _, found = index.search(queries, K)
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))


def tuned(index: faiss.Index, name: str, values: Sequence[int], set_value: Callable[[int], None],
          queries: np.ndarray, truth: np.ndarray, target: float) -> tuple[int, float, list[str]]:
    """The smallest value reaching `target` recall@10 (else the largest), its recall, and the sweep."""
    sweep = []
    for value in values:
        set_value(value)
        recall = recall_at_k(index, queries, truth)
        sweep.append(f"{name}={value}: {recall:.3f}")
        if recall >= target:
            return value, recall, sweep
    return values[-1], recall, sweep


def measure(size: int, kind: str, setting: str, index: faiss.Index, build_s: float, queries: np.ndarray,
            recall: float, threads: int) -> Row:
    p50, p95 = search_latencies(index, queries, threads)
    return Row(size, kind, setting, build_s, index_bytes(index), p50, p95, recall)


def exact_rows(x: np.ndarray, sizes: list[int], queries: np.ndarray, threads: int) -> list[Row]:
    """IndexFlatIP at every size (recall 1 by definition); up to DEFAULT_THREADS_MAX also with all threads."""
    rows = []
    for n in sizes:
        index, build_s = timed_build(lambda n=n: flat(x[:n]))
        rows.append(measure(n, "exact", "IndexFlatIP", index, build_s, queries, 1.0, threads))
        if threads != faiss.omp_get_max_threads() and n <= DEFAULT_THREADS_MAX:
            p50, p95 = search_latencies(index, queries, faiss.omp_get_max_threads())
            rows.append(Row(n, "exact", f"IndexFlatIP, {faiss.omp_get_max_threads()} threads", build_s,
                            rows[-1].nbytes, p50, p95, 1.0))
    return rows


def crossover(rows: list[Row], threads: int) -> str:
    """Where exact search's p50 passes LATENCY_MS, by linear interpolation between measured sizes."""
    points = sorted((r.size, r.p50_ms) for r in rows if r.kind == "exact" and r.setting == "IndexFlatIP")
    for (n0, t0), (n1, t1) in zip(points, points[1:]):
        if t0 < LATENCY_MS <= t1:
            n = n0 + (n1 - n0) * (LATENCY_MS - t0) / (t1 - t0)
            return f"exact search p50 passes {LATENCY_MS:.0f} ms at about {n:,.0f} vectors ({threads} FAISS thread(s))"
    return f"exact search p50 does not cross {LATENCY_MS:.0f} ms between {points[0][0]:,} and {points[-1][0]:,} vectors"


def approximate_rows(x: np.ndarray, n: int, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace,
                     rng: np.random.Generator, hnsw_built: dict[int, float]) -> list[Row]:
    """HNSW (built up to --hnsw-max, else extrapolated) and IVF at size n, each tuned to the target."""
    rows = []
    if n <= args.hnsw_max:
        index, build_s = timed_build(lambda: hnsw(x[:n]))
        hnsw_built[n] = build_s
        ef, recall, sweep = tuned(index, "efSearch", EF_SEARCH, lambda v: setattr(index.hnsw, "efSearch", v),
                                  queries, truth, args.target)
        print(f"  HNSW {n:,}: " + ", ".join(sweep))
        rows.append(measure(n, "HNSW", f"M={HNSW_M}, efSearch={ef}", index, build_s, queries, recall,
                            args.search_threads))
    elif hnsw_built:
        base = max(hnsw_built)
        build_s = hnsw_built[base] * (n * math.log(n)) / (base * math.log(base))
        per_vector = 4 * DIM + 4 * 2 * HNSW_M * 1.05  # the vectors plus about 2M neighbour ids each
        rows.append(Row(n, "HNSW", f"M={HNSW_M}", build_s, int(n * per_vector), math.nan, math.nan, math.nan,
                        f"not built: build time extrapolated (n log n) from {base:,}, bytes estimated"))
    index, build_s = timed_build(lambda: ivf(x[:n], rng))
    nprobe, recall, sweep = tuned(index, "nprobe", NPROBE, lambda v: setattr(index, "nprobe", v),
                                  queries, truth, args.target)
    print(f"  IVF {n:,} (nlist {index.nlist}): " + ", ".join(sweep))
    rows.append(measure(n, "IVF", f"nlist={index.nlist}, nprobe={nprobe}", index, build_s, queries, recall,
                        args.search_threads))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| vectors | index | setting | build (s) | index bytes | search p50 (ms) | p95 (ms) | recall@10 | note |",
             "|--:|---|---|--:|--:|--:|--:|--:|---|"]
    for r in sorted(rows, key=lambda r: (r.size, r.kind)):
        def fmt(value: float, spec: str) -> str:
            return "–" if math.isnan(value) else format(value, spec)

        lines.append(f"| {r.size:,} | {r.kind} | {r.setting} | {r.build_s:.2f} | {r.nbytes / 1e6:,.1f} MB | "
                     f"{fmt(r.p50_ms, '.2f')} | {fmt(r.p95_ms, '.2f')} | {fmt(r.recall, '.3f')} | {r.note} |")
    return "\n".join(lines)


def conditions(args: argparse.Namespace) -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    data = "uniform on the sphere" if args.uniform else (
        f"{CLUSTERS} clusters of rank {CLUSTER_RANK}, centers of rank {CENTER_RANK}, noise {NOISE}")
    return (f"{dt.date.today().isoformat()}; nproc {os.cpu_count()}, {model}; faiss {faiss.__version__}, "
            f"{faiss.omp_get_max_threads()} OpenMP threads (searches timed with {args.search_threads}); "
            f"load average {load}; synthetic unit vectors, {DIM}-d, {data}; {args.queries} queries, k=50 per search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="collection sizes, comma-separated")
    parser.add_argument("--exact-extra", default="30000,300000", help="more sizes for exact search only")
    parser.add_argument("--hnsw-max", type=int, default=1_000_000, help="largest size at which HNSW is built")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--target", type=float, default=0.95, help="recall@10 the sweeps aim for")
    parser.add_argument("--search-threads", type=int, default=1, help="FAISS threads while timing searches")
    parser.add_argument("--uniform", action="store_true", help="uniform vectors instead of clusters")
    args = parser.parse_args()
    start = time.perf_counter()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    extra = [int(s) for s in args.exact_extra.split(",") if s and int(s) <= sizes[-1]]
    source = Vectors(seed=0, uniform=args.uniform)
    x = source.draw(sizes[-1])
    queries = source.draw(args.queries)
    rng = np.random.default_rng(1)
    print(f"data ready in {time.perf_counter() - start:.1f} s")
    rows = exact_rows(x, sorted({*sizes, *extra}), queries, args.search_threads)
    hnsw_built: dict[int, float] = {}
    for n in sizes:
        _, truth = flat(x[:n]).search(queries, K)
        rows.extend(approximate_rows(x, n, queries, truth, args, rng, hnsw_built))
    print(f"\nFAISS index types, {conditions(args)}\n")
    print(table(rows))
    print(f"\n{crossover(rows, args.search_threads)}; "
          f"HNSW/IVF settings: the smallest reaching recall@10 >= {args.target}")
    print(f"(benchmark ran {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
