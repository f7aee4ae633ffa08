"""Find the passages that answer a question: dense (FAISS) and keyword (BM25) search, fused.

Each retriever proposes its best candidates; every candidate is then scored on three
signals: the cosine between question and passage vectors, the passage's BM25 score
relative to the best one for this question, and the share of the question's terms
(weighted by how rare they are) that the passage contains. A logistic model of these
signals gives a 0-1 score that both ranks the passages and says whether any of them
answers (see `Scorer`).

Example:
    >>> from qa.retrieval import search, Scorer
    >>> hits = search(store, question_vector, terms("troops in Kurdistan"), Scorer(), 50)  # doctest: +SKIP
    >>> hits[0].score                                                                     # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import faiss
import numpy as np

from qa.lexical import terms
from qa.store import Store


@dataclass(frozen=True)
class Scorer:
    """Weights of the logistic model over (cosine, relative BM25, term coverage).

    The defaults were fitted on xquad-en (see bench/calibrate.py); `threshold` is the score
    at and above which a passage is taken to answer the question.
    """

    bias: float = -6.5
    w_cosine: float = 8.0
    w_bm25: float = 1.0
    w_coverage: float = 4.0
    threshold: float = 0.5

    def __call__(self, cosine: np.ndarray, bm25: np.ndarray, coverage: np.ndarray) -> np.ndarray:
        z = self.bias + self.w_cosine * cosine + self.w_bm25 * bm25 + self.w_coverage * coverage
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Hit:
    """One candidate passage with its signals and its 0-1 score."""

    passage: int
    score: float
    cosine: float
    bm25: float
    coverage: float


def term_ids(store: Store, query_terms: list[str]) -> tuple[list[int], float]:
    """Vocabulary ids of the known query terms, and the idf weight of the unknown ones.

    A term that occurs nowhere in the collection is as rare as a term can be, so it counts
    with the highest idf: a question about things the sources never mention loses coverage.
    """
    if store.bm25 is None:
        return [], 0.0
    vocab = store.bm25.vocab_dict
    max_idf = float(math.log(1.0 + (len(store) + 0.5) / 0.5))
    known = [vocab[t] for t in dict.fromkeys(query_terms) if t in vocab]
    unknown = len(dict.fromkeys(query_terms)) - len(known)
    return known, unknown * max_idf


def coverage(store: Store, passages: np.ndarray, query_terms: list[str]) -> np.ndarray:
    """Idf-weighted share of the question's distinct terms found in each passage."""
    known, unknown_weight = term_ids(store, query_terms)
    if not known:
        return np.zeros(len(passages), dtype=np.float32)
    idf = store.idf[known]
    total = float(idf.sum()) + unknown_weight
    vocab = store.bm25.vocab_dict if store.bm25 is not None else {}
    out = np.zeros(len(passages), dtype=np.float32)
    for row, p in enumerate(passages):
        doc, i = store.locate(int(p))
        s, e = doc.passage_span(i)
        present = {vocab[t] for t in terms(doc.text[s:e]) if t in vocab}
        out[row] = sum(w for tid, w in zip(known, idf) if tid in present) / total
    return out


def search(
    store: Store,
    query_vector: np.ndarray,
    query_terms: list[str],
    scorer: Scorer,
    candidates: int,
    allowed: np.ndarray | None = None,
) -> list[Hit]:
    """Candidates from both retrievers, scored and sorted best first.

    `allowed` is an optional boolean mask over passages (filters by source or date).
    """
    n = len(store)
    if n == 0:
        return []
    k = min(candidates, n)
    ids = np.asarray(allowed.nonzero()[0], dtype=np.int64) if allowed is not None else None
    if ids is not None and len(ids) == 0:
        return []
    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids)) if ids is not None else None
    _, dense_ids = store.dense.search(query_vector.reshape(1, -1).astype(np.float32), k, params=params)
    pool = set(int(i) for i in dense_ids[0] if i >= 0)
    bm25_all = np.zeros(n, dtype=np.float32)
    if store.bm25 is not None and query_terms:
        bm25_all = np.asarray(store.bm25.get_scores(query_terms), dtype=np.float32)
        if allowed is not None:
            bm25_all = np.where(allowed, bm25_all, 0.0)
        top = np.argpartition(-bm25_all, min(k, n - 1))[:k]
        pool.update(int(i) for i in top if bm25_all[i] > 0)
    passages = np.fromiter(sorted(pool), dtype=np.int64)
    cos = store.vectors(passages) @ query_vector.astype(np.float32)
    best_bm25 = float(bm25_all[passages].max()) if len(passages) else 0.0
    rel_bm25 = bm25_all[passages] / best_bm25 if best_bm25 > 0 else np.zeros(len(passages), np.float32)
    cover = coverage(store, passages, query_terms)
    scores = scorer(cos, rel_bm25, cover)
    order = np.argsort(-scores, kind="stable")
    return [Hit(int(passages[i]), float(scores[i]), float(cos[i]), float(rel_bm25[i]), float(cover[i])) for i in order]
