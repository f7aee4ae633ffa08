"""What one passage costs in bytes and milliseconds: the measured inputs of docs/scaling.md.

Two small measurements, each timing printed with the 1-minute load average (os.getloadavg):
- `news`: the 2,355 news-2023 articles read and chunked as a build does (real text, real BM25
  terms), but random unit vectors instead of embeddings (embedding would take 15 minutes here,
  and a vector's size does not depend on its values); the local index written with
  `write_store` (one segment). Prints passages per article, bytes per passage of the sources,
  documents.jsonl, terms/ and dense.faiss, BM25 postings (distinct terms) per passage, the
  resident memory a fresh process adds by loading the index, and the BM25 cost of a question
  (scoring every passage, then the top 50), with the postings it read.
- `faiss`: 100,000 synthetic 384-d unit vectors (bench_faiss's clustered distribution): bytes
  per vector, recall@10 against exact search and one-query p50 for HNSW (M 32, qa's
  efConstruction 40) with fp32 and with 8-bit scalar-quantised vectors, and IVF-PQ (48 and
  96 bytes a vector), alone and with its top 50 / top 200 re-ranked by the exact vectors.
- `payload`: the first 300 news-2023 articles, each passage's point as the Qdrant backend would
  write it (`qa.stores.qdrant.points.passage_points`): payload JSON bytes (of which the "terms" list), sparse
  BM25 entries, and the document JSON stored in the documents collection; a Python
  `StoredDocument`'s resident size per passage (text, units, passages: what `reload()` holds).

Run:  .venv/bin/python bench/bench_footprint.py [--part news,faiss,payload] [--vectors 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import stamp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news-2023"


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def load_only(index: str) -> None:
    """In a fresh process: resident memory before and after opening the index (printed as JSON)."""
    import faiss  # noqa: F401  (imported before the baseline, so only the index is counted)

    from qa.stores.local import load_store

    before = rss_mib()
    t = time.perf_counter()
    store = load_store(index)
    print(json.dumps({"before": before, "after": rss_mib(), "open_s": time.perf_counter() - t, "passages": len(store),
                      "load": os.getloadavg()[0]}))


def news(tmp: Path) -> None:
    from qa.config import Settings
    from qa.documents import load_document
    from qa.embedding import Embedder
    from qa.evaluation import load_dataset, write_sources
    from qa.lexical import terms
    from qa.reading import prepare
    from qa.stores.base import passage_terms
    from qa.stores.local import Manifest, load_store, write_store

    settings = Settings()
    dataset = load_dataset(NEWS)
    sources, index = tmp / "sources", tmp / "index"
    write_sources(dataset, sources)
    embedder = Embedder(encoder=settings.encoder)
    t = time.perf_counter()
    documents, all_terms = [], []
    for path in sorted(sources.iterdir()):
        data = path.read_bytes()
        doc, _ = prepare(load_document(path, sources, data=data), hashlib.sha256(data).hexdigest(), embedder, settings)
        documents.append(doc)
        all_terms.extend(passage_terms(doc))
    chunk_s = time.perf_counter() - t
    n = len(all_terms)
    print(f"read + clean + chunk + terms: {len(documents):,} articles, {n:,} passages in {chunk_s:.1f} s ({load()})")
    vectors = np.random.default_rng(0).standard_normal((n, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = Manifest(model=settings.model, dimension=384, chunking=settings.chunking(),
                        passages=n, encoder=settings.encoder)
    t = time.perf_counter()
    write_store(index, manifest, documents, vectors, all_terms)
    print(f"write_store (BM25 postings + exact FAISS + documents.jsonl + checksums): {time.perf_counter() - t:.1f} s ({load()})")
    store = load_store(index)
    segment = index / store.segments[0].name

    words = sum(len(d.text.split()) for d in documents)
    print(f"\npassages per article: {n / len(documents):.2f}; words per article {words / len(documents):.0f}")
    rows = [("sources (.txt)", folder_bytes(sources)), ("documents.jsonl", folder_bytes(segment / "documents.jsonl")),
            ("terms/ (BM25 postings)", folder_bytes(segment / "terms")),
            ("dense.faiss (exact, fp32)", folder_bytes(segment / "dense.faiss")), ("segment in all", folder_bytes(segment))]
    for name, size in rows:
        print(f"  {name:28} {size / 2**20:8.1f} MiB  {size / n:8.0f} bytes/passage")
    for f in sorted((segment / "terms").iterdir()):
        print(f"    terms/{f.name:21} {f.stat().st_size / n:8.1f} bytes/passage")

    bm25 = store.segments[0].postings
    postings = int(bm25.rows.size)
    vocabulary = len(bm25.vocab)
    print(f"BM25 postings (distinct terms per passage): {postings / n:.1f} per passage; vocabulary {vocabulary:,} "
          f"terms; terms per passage with repeats {sum(map(len, all_terms)) / n:.1f}")

    out = subprocess.run([sys.executable, __file__, "--load-only", str(index)], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    added = got["after"] - got["before"]
    print(f"fresh process opening it: +{added:.0f} MiB RSS ({added * 2**20 / n:.0f} bytes/passage; generation on disk "
          f"{rows[-1][1] / 2**20:.0f} MiB), open {got['open_s']:.2f} s (load {got['load']:.2f})")

    questions = [json.loads(line)["text"] for line in (NEWS / "queries.jsonl").read_text().splitlines() if line.strip()][:200]
    indptr, vocab = bm25.indptr, bm25.vocab
    times, touched = [], []
    for q in questions:
        qt = [t for t in terms(q) if t]
        store._recent.scores = None
        t = time.perf_counter()
        store.keyword_top_k(qt, 50)
        times.append(time.perf_counter() - t)
        touched.append(sum(int(indptr[vocab[w] + 1] - indptr[vocab[w]]) for w in set(qt) if w in vocab))
    p50 = statistics.median(times) * 1000
    print(f"BM25 top 50 over {n:,} passages: p50 {p50:.2f} ms, p95 {np.percentile(times, 95) * 1000:.2f} ms; postings read "
          f"per question p50 {statistics.median(touched):,.0f} ({statistics.median(touched) / n:.2f} per passage) ({load()})")
    big = np.random.default_rng(1).random(10_000_000, dtype=np.float32)
    t = time.perf_counter()
    for _ in range(5):
        np.argpartition(-big, 49)[:50]
    each_ms = (time.perf_counter() - t) / 5 * 1000
    print(f"top 50 of 10,000,000 scores (np.argpartition, the step after scoring): {each_ms:.0f} ms ({load()})")


def faiss_part(n: int) -> None:
    import faiss
    from bench_faiss import Vectors, index_bytes, search_latencies

    dim, k = 384, 10
    gen = Vectors(0, uniform=False)
    x, queries = gen.draw(n), gen.draw(200)
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    _, truth = flat.search(queries, k)

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth)]))

    def report(name: str, index: faiss.Index, build_s: float, setting: str = "") -> None:
        _, found = index.search(queries, k)
        p50, p95 = search_latencies(index, queries, 1)
        size = index_bytes(index)
        print(f"  {name:26} {setting:12} {size / n:7.0f} B/vector  build {build_s:5.1f} s  recall@10 {recall(found):.3f}  "
              f"p50 {p50:.2f} ms  p95 {p95:.2f} ms  ({load()})", flush=True)

    print(f"\n{n:,} synthetic 384-d vectors, 200 queries, one thread per query, k=50 for latency")
    report("exact IndexFlatIP", flat, 0.0)
    for name, make in (("HNSW32 fp32", lambda: faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)),
                       ("HNSW32 SQ8", lambda: faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32,
                                                                  faiss.METRIC_INNER_PRODUCT))):
        t = time.perf_counter()
        index = make()
        index.hnsw.efConstruction = 40
        index.train(x)
        index.add(x)
        build = time.perf_counter() - t
        for ef in (128, 512):
            index.hnsw.efSearch = ef
            report(name, index, build, f"efSearch {ef}")
    nlist = 1024
    rng = np.random.default_rng(2)
    sample = x[rng.choice(n, min(n, 40 * nlist), replace=False)]
    for m in (48, 96):
        t = time.perf_counter()
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(sample)
        index.add(x)
        build = time.perf_counter() - t
        for nprobe in (16, 64):
            index.nprobe = nprobe
            report(f"IVF{nlist},PQ{m}", index, build, f"nprobe {nprobe}")
            for depth in (50, 200):
                _, cand = index.search(queries, depth)
                reranked = []
                for q, c in zip(queries, cand):
                    c = c[c >= 0]
                    scores = x[c] @ q
                    reranked.append(c[np.argsort(-scores)[:k]])
                print(f"    + top {depth} re-ranked by exact vectors: recall@10 {recall(np.array(reranked)):.3f}")


def payload(articles: int) -> None:
    from qa.config import Settings
    from qa.documents import load_document
    from qa.embedding import Embedder
    from qa.evaluation import Dataset, load_dataset, write_sources
    from qa.reading import prepare
    from qa.stores.base import passage_terms
    from qa.stores.qdrant import sparse_values

    settings, dataset = Settings(), load_dataset(NEWS)
    embedder = Embedder(encoder=settings.encoder)
    picked = sorted(dataset.corpus)[:articles]
    docs = []
    with tempfile.TemporaryDirectory(prefix="qa-payload-") as tmp:
        write_sources(Dataset("news", {c: dataset.corpus[c] for c in picked}, ()), Path(tmp))
        for path in sorted(Path(tmp).iterdir()):
            data = path.read_bytes()
            docs.append(prepare(load_document(path, Path(tmp), data=data), hashlib.sha256(data).hexdigest(),
                                embedder, settings)[0])
    n = pay = term_bytes = sparse = doc_json = 0
    for doc in docs:
        doc_json += len(doc.to_json().encode())
        for number, words in enumerate(passage_terms(doc)):
            distinct = sorted(set(words))
            body = {"source": doc.source, "hash": doc.hash, "number": number, "date": doc.date, "title": doc.title,
                    "terms": distinct, "day": 0}
            pay += len(json.dumps(body, ensure_ascii=False).encode())
            term_bytes += len(json.dumps(distinct, ensure_ascii=False).encode())
            sparse += len(sparse_values(words, 70.0)[0])
            n += 1
    before = rss_mib()
    copies = [type(d).from_json(d.to_json()) for d in docs for _ in range(5)]
    held = (rss_mib() - before) * 2**20 / (5 * n)
    print(f"\nQdrant points of {len(docs)} news-2023 articles ({n:,} passages): payload JSON {pay / n:.0f} B/passage "
          f"(of which terms {term_bytes / n:.0f}); sparse entries {sparse / n:.1f}/passage ({sparse / n * 8:.0f} B as u32+f32); "
          f"document JSON {doc_json / n:.0f} B/passage; a loaded StoredDocument {held:.0f} B/passage resident "
          f"({len(copies)} copies) ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="news,faiss")
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--load-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only:
        load_only(args.load_only)
        return
    print(f"# bench_footprint: {stamp()}")
    parts = args.part.split(",")
    if "news" in parts:
        with tempfile.TemporaryDirectory(prefix="qa-footprint-") as tmp:
            news(Path(tmp))
    if "payload" in parts:
        payload(300)
    if "faiss" in parts:
        faiss_part(args.vectors)


if __name__ == "__main__":
    main()
