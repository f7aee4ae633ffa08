"""Find the passages that answer a question: dense (FAISS) and keyword (BM25) search, fused.

Each retriever proposes its best candidates; every candidate is then described by a few
signals (`FEATURES`): the cosine between question and passage vectors, how far that is
below the best cosine for this question, the passage's BM25 score relative to the best one
for this question, and the share of the question's terms (weighted by rarity) that the
passage contains. A logistic model of these signals (`Scorer`) gives a 0-1 score that both
ranks the passages and says whether any of them answers. Its weights were fitted on data
(bench/calibrate.py), not set by hand.

Example:
    >>> from qa.retrieval import search, Scorer
    >>> hits = search(store, question_vector, terms("troops in Kurdistan"), Scorer(), 50)  # doctest: +SKIP
    >>> hits[0].score                                                                     # doctest: +SKIP
    0.97
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.store import Store

FEATURES = ("cosine", "cosine_gap", "bm25", "coverage")


@dataclass(frozen=True)
class Scorer:
    """A logistic model over `FEATURES`; `threshold` is the score from which a passage answers.

    The defaults come from bench/calibrate.py (fitted on xquad-en, with held-out articles
    as out-of-collection questions); squad2-dev was not used to fit them.
    """

    bias: float = -5.768
    weights: tuple[float, ...] = (8.550, 5.427, 0.493, 5.859)
    threshold: float = 0.5

    def __call__(self, features: np.ndarray) -> np.ndarray:
        z = self.bias + features @ np.asarray(self.weights, dtype=np.float32)
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Hit:
    """One candidate passage with its 0-1 score and the signals behind it."""

    passage: int
    score: float
    features: tuple[float, ...]


def _query_term_ids(store: Store, query_terms: list[str]) -> tuple[np.ndarray, float]:
    """Vocabulary ids of the distinct known query terms, and the idf weight of the unknown ones.

    A term that occurs nowhere in the collection is as rare as a term can be, so it counts
    with the highest idf: a question about things the sources never mention loses coverage.
    """
    distinct = list(dict.fromkeys(query_terms))
    if store.bm25 is None:
        return np.zeros(0, dtype=np.int64), 0.0
    vocab = store.bm25.vocab_dict
    known = np.array([vocab[t] for t in distinct if t in vocab], dtype=np.int64)
    max_idf = math.log(1.0 + (len(store) + 0.5) / 0.5)
    return known, (len(distinct) - len(known)) * max_idf


def coverage(store: Store, passages: np.ndarray, query_terms: list[str]) -> np.ndarray:
    """Idf-weighted share of the question's distinct terms found in each passage.

    Read from BM25's term-by-passage matrix, so nothing is re-tokenised at question time.
    """
    known, unknown_weight = _query_term_ids(store, query_terms)
    out = np.zeros(len(passages), dtype=np.float32)
    if len(known) == 0 or store.bm25 is None:
        return out
    idf = store.idf[known]
    indptr, indices = store.bm25.scores["indptr"], store.bm25.scores["indices"]
    for term, weight in zip(known, idf):
        holders = indices[indptr[term] : indptr[term + 1]]
        out += np.isin(passages, holders) * weight
    return out / (float(idf.sum()) + unknown_weight)


def candidates(
    store: Store,
    query_vector: np.ndarray,
    query_terms: list[str],
    k: int,
    allowed: np.ndarray | None = None,
    method: str = "hybrid",
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate passages of `method`'s retrievers and their feature rows (see FEATURES)."""
    n = len(store)
    empty = np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES)), dtype=np.float32)
    if n == 0 or (allowed is not None and not allowed.any()):
        return empty
    k = min(k, n)
    pool: set[int] = set()
    if method != "bm25":
        pool.update(int(i) for i in store.search(query_vector, k, allowed))
    bm25_all = np.zeros(n, dtype=np.float32)
    if store.bm25 is not None and query_terms:
        bm25_all = np.asarray(store.bm25.get_scores(query_terms), dtype=np.float32)
        if allowed is not None:
            bm25_all = np.where(allowed, bm25_all, 0.0)
        if method != "dense":
            top = np.argpartition(-bm25_all, k - 1)[:k]
            pool.update(int(i) for i in top if bm25_all[i] > 0)
    if not pool:
        return empty
    passages = np.fromiter(sorted(pool), dtype=np.int64)
    cos = store.vectors(passages) @ query_vector.astype(np.float32)
    best_bm25 = float(bm25_all[passages].max())
    rel_bm25 = bm25_all[passages] / best_bm25 if best_bm25 > 0 else np.zeros(len(passages), np.float32)
    features = np.column_stack([cos, cos - cos.max(), rel_bm25, coverage(store, passages, query_terms)])
    return passages, features.astype(np.float32)


def search(
    store: Store,
    query_vector: np.ndarray,
    query_terms: list[str],
    scorer: Scorer,
    k: int,
    allowed: np.ndarray | None = None,
    method: str = "hybrid",
) -> list[Hit]:
    """Candidates from the retrievers of `method`, scored and sorted best first.

    "hybrid" ranks by the scorer over both retrievers' candidates; "dense" and "bm25"
    (for comparison) take candidates from one retriever and rank by its own score.
    `allowed` is an optional boolean mask over passages (filters by source or date).
    """
    passages, features = candidates(store, query_vector, query_terms, k, allowed, method)
    if method == "dense":
        scores = np.clip(features[:, 0], 0.0, 1.0)
    elif method == "bm25":
        scores = features[:, 2]
    else:
        scores = scorer(features)
    order = np.argsort(-scores, kind="stable")
    return [Hit(int(passages[i]), float(scores[i]), tuple(map(float, features[i]))) for i in order]
