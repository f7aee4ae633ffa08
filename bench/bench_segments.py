"""What an update costs on a big local index, and how segments search (qa.stores.local).

On a collection of N passages (default 1,000,000: news-2023 articles copied with light
perturbation, bench/common.news_copies: real text for BM25, the originals' vectors with a
little noise), built as one segment, it prints, each with the load average:
- opening it (`QA`: scanning the sources, reading the index);
- adding 5 files and changing 5 (their passages embedded by a stand-in encoder that returns
  fixed random unit vectors, as the issue's target asks: synthetic vectors) and answering
  the first question from the updated index, through `QA.update` + `QA.ask`; the same with
  the real encoder, which adds the embedding of those files' passages;
- a full merge into one segment: what every update cost before segments (a whole new index);
- the dense search's recall@10 against an exact search over every live passage, with one
  segment and then with SMALL_SHARE (20%) of the passages in small segments, in the top 10
  and in the top 50 a question takes as candidates; and with the small segments, ask p50/p95
  over news-2023's questions (real encoder, real hybrid search).

And, on bench_faiss's synthetic vectors (clusters, no near-duplicates: the copies above are
near-duplicates, which an HNSW graph reaches less well), the dense recall@10 of one segment
and of 20% in small segments (`--parts recall`).

Needs the news-2023 index of bench_scale (`--news DIR`: a folder with `index/`, e.g. one built
by `bench/bench_scale.py --sizes news --workdir DIR`).

Run:  .venv/bin/python bench/bench_segments.py --news /tmp/news [--passages 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_faiss import Vectors
from common import ROOT, ask_latencies, news_copies, repeated, stamp

from qa import QA, Settings
from qa.embedding import Embedder
from qa.evaluation import load_dataset
from qa.stores import Changes, StoredDocument
from qa.stores.local import Manifest, load_store, write_store

NEWS_SET = ROOT.parent / "shared" / "data" / "news-2023"
SMALL_SHARE = 0.20
SMALL_SEGMENTS = 5


class FixedVectors(Embedder):
    """The real model's name, tokenizer and dimension, but each passage's vector is a fixed
    random unit vector made from its text: updates are timed without the model's cost."""

    def encode(self, texts, batch_size=None, **_):  # type: ignore[override]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dimension)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"  {label}: {time.perf_counter() - started:.2f} s, load average {os.getloadavg()[0]:.2f}", flush=True)
    return result


def touch_ten(sources: Path, round_: int) -> None:
    """Add 5 files (copies of the first articles, numbered apart) and change 5 existing ones."""
    existing = sorted(sources.iterdir())
    for i, path in enumerate(existing[:5]):
        (sources / f"added-{round_}-{i}.txt").write_text(path.read_text(encoding="utf-8") + f"\nAdded {round_}.\n",
                                                          encoding="utf-8")
    for path in existing[100:105]:
        path.write_text(path.read_text(encoding="utf-8") + f"\nCorrection {round_}: the figures were updated.\n",
                        encoding="utf-8")


def update_and_answer(qa: QA, question: str) -> None:
    report = qa.update()
    assert len(report.added) == 5 and len(report.changed) == 5, str(report)
    assert qa.ask(question).passages


def recall_at_10(store, vectors: np.ndarray, depth: int) -> float:
    """Share of the exact top 10 (every live passage, brute force) found in the index's top
    `depth` (10: recall@10; 50: among the candidates a question takes, Settings.candidates)."""
    ids = [doc.passage_id(i) for doc in store.documents for i in range(len(doc.passages))]
    every = np.concatenate([store.vectors(ids[i : i + 50_000]) for i in range(0, len(ids), 50_000)])
    found = 0
    for v in vectors:
        exact = {ids[i] for i in np.argpartition(-(every @ v), 10)[:10]}
        found += len(exact & set(store.dense_top_k(v, depth)))
    return found / (10 * len(vectors))


def report_recall(label: str, store, vectors: np.ndarray) -> None:
    at10, at50 = recall_at_10(store, vectors, 10), recall_at_10(store, vectors, 50)
    print(f"  dense recall@10 against exact, {label}: {at10:.3f} in the top 10, {at50:.3f} in the top 50 "
          f"({len(vectors)} questions), load average {os.getloadavg()[0]:.2f}", flush=True)


def blank_documents(prefix: str, passages: int, per: int = 1000) -> list[StoredDocument]:
    """Documents of `per` one-letter passages each: what the dense search measure needs, nothing else."""
    docs = []
    for d in range(0, passages, per):
        n = min(per, passages - d)
        docs.append(StoredDocument(f"{prefix}-{d // per:05d}.txt", "", None, f"{prefix}{d}", "x" * n,
                                   tuple((i, i + 1) for i in range(n)), tuple((i, i + 1) for i in range(n))))
    return docs


def synthetic_recall(passages: int, folder: Path) -> None:
    """Dense recall@10 of one segment and of SMALL_SHARE in small segments, on bench_faiss's
    synthetic vectors (clusters of low intrinsic dimension, no near-duplicates)."""
    draw = Vectors(seed=0, uniform=False).draw
    base, queries = draw(passages), draw(100)
    small = draw(int(passages * SMALL_SHARE / (1 - SMALL_SHARE)))
    docs = blank_documents("base", passages)
    manifest = Manifest(model="synthetic", dimension=base.shape[1], chunking={}, passages=passages, encoder="none")
    timed(f"synthetic: one segment of {passages:,} vectors", lambda: write_store(folder, manifest, docs, base,
                                                                                 [[]] * passages))
    store = load_store(folder)
    report_recall("synthetic, one segment", store, queries)
    extra = blank_documents("small", len(small))
    per = len(extra) // SMALL_SEGMENTS + 1
    for i in range(0, len(extra), per):
        chunk = extra[i : i + per]
        offset = sum(len(d.passages) for d in extra[:i])
        rows = np.split(small[offset : offset + sum(len(d.passages) for d in chunk)],
                        np.cumsum([len(d.passages) for d in chunk])[:-1])
        store = store.apply(Changes(list(zip(chunk, rows, strict=True))))
    share = 1 - len(store.segments[0]) / len(store)
    report_recall(f"synthetic, {share:.0%} in small segments {[len(s) for s in store.segments]}", store, queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--news", type=Path, required=True, help="folder holding the news-2023 index/ (bench_scale)")
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--parts", default="updates,recall", help="updates (news copies), recall (synthetic vectors)")
    args = parser.parse_args()
    print(f"# bench_segments: {stamp()}, {args.passages:,} passages", flush=True)
    questions = [q.text for q in load_dataset(NEWS_SET).questions[: args.questions]]
    real = Embedder().load()
    fixed = FixedVectors().load()
    settings = Settings(rescan_seconds=3600.0)
    if "recall" in args.parts:
        with tempfile.TemporaryDirectory(prefix="qa-segments-") as tmp:
            synthetic_recall(args.passages, Path(tmp) / "index")
    if "updates" not in args.parts:
        return
    with tempfile.TemporaryDirectory(prefix="qa-segments-") as tmp:
        sources, index = Path(tmp) / "sources", Path(tmp) / "index"
        timed(f"build {args.passages:,} passages as one segment", lambda: repeated(args.news / "index", args.passages,
                                                                                  sources, index))
        qa = timed("open (scan the sources, read the index)", lambda: QA(sources, index, settings, embedder=fixed))
        timed("open again (file digests remembered)", lambda: QA(sources, index, settings, embedder=fixed))
        touch_ten(sources, 1)
        timed("add 5 + change 5 files, answer (stand-in encoder)", lambda: update_and_answer(qa, questions[0]))
        store = load_store(index)
        print(f"    segments now: {[len(s) for s in store.segments]}, deleted: {[len(d) for d in store.deleted]}")
        touch_ten(sources, 2)
        with_model = QA(sources, index, settings, embedder=real, wait=False)
        with_model.wait()
        touch_ten(sources, 3)
        timed("add 5 + change 5 files, answer (real encoder)", lambda: update_and_answer(with_model, questions[0]))
        timed("full merge into one segment (what every update cost before segments)", lambda: load_store(index).merge())
        store = load_store(index)
        vectors = real.encode(questions[:100])
        report_recall("one segment", store, vectors)
        small = int(len(store) * SMALL_SHARE / (1 - SMALL_SHARE))
        per = small // SMALL_SEGMENTS
        copies = news_copies(args.news / "index", small, sources, seed=1, first_copy=50)
        for _ in range(SMALL_SEGMENTS):
            batch, n = [], 0
            for doc, block in copies:
                batch.append((doc, block))
                n += len(doc.passages)
                if n >= per:
                    break
            store = store.apply(Changes(batch))
        share = 1 - len(store.segments[0]) / len(store)
        print(f"    segments: {[len(s) for s in store.segments]} ({share:.0%} of passages in small segments)")
        latencies = ask_latencies(QA(sources, index, settings, embedder=real), questions)
        print(f"  ask p50 {statistics.median(latencies):.1f} ms, p95 {float(np.percentile(latencies, 95)):.1f} ms "
              f"({len(questions)} news-2023 questions), load average {os.getloadavg()[0]:.2f}")
        report_recall(f"{share:.0%} in small segments", store, vectors)


if __name__ == "__main__":
    main()
