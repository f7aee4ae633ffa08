"""Find the passages that answer a question: dense and keyword (BM25) search of a backend, fused.

Each retriever proposes its best candidates; every candidate is then described by a few
signals (`FEATURES`):
- `cosine`: question against passage vector, and `cosine_gap`: how far below this
  question's best cosine it is;
- `bm25`: the passage's BM25 score relative to the best one for this question;
- `coverage`: the idf-weighted share of the question's terms the passage contains. A term
  no article uses weighs as much as an average term of the question, not as the rarest
  possible one: a synonym costs a user little (people ask in their own words), while a
  question mostly about things the articles never mention scores low;
- `sentence_coverage`: the same share within the passage's best sentence (or two in a
  row), so that terms scattered over a passage count less than terms stated together;
- `type_missing`: 1 when the question asks for a kind of answer (a number for "how many",
  a date for "when", a name for "who", a place for "where") and the passage's sentence
  that holds most of the question's terms (idf-weighted) has none, else 0.
A first logistic model (`Scorer.first`) over the first four ranks every candidate; the
best `Scorer.rerank` of them get the sentence signals, which are costlier, and the full
model (`Scorer.weights`) ranks them and gives the 0-1 score, calibrated on whether the top
passage is right (so that 0.9 should mean right about nine times in ten; how close it comes
on each set, and where it does not, is in the README's calibration figures).
`Scorer.threshold` is the score from which something answers.
The weights come from bench/calibrate.py (fitted on half of xquad-en, squad2-dev and
news-2023, with out-of-collection questions), not set by hand.

Example:
    >>> import numpy as np
    >>> from qa.retrieval import Scorer
    >>> scorer = Scorer()
    >>> strong = np.array([[0.8, 0.0, 1.0, 1.0, 1.0, 0.0]], dtype=np.float32)
    >>> bool(scorer(strong)[0] > scorer.threshold)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.answer_types import answer_type
from qa.lexical import term_set
from qa.stores.base import Filter, IndexBackend, PassageId

FEATURES = ("cosine", "cosine_gap", "bm25", "coverage", "sentence_coverage", "type_missing")
FIRST_STAGE = 4  # the first FEATURES, cheap for every candidate


@dataclass(frozen=True)
class Scorer:
    """Logistic models over `FEATURES`: `first` (first four) ranks all, the full one reranks the best.

    The defaults come from bench/calibrate.py; see the module docstring.
    """

    bias: float = -6.643
    weights: tuple[float, ...] = (3.550, 5.559, 1.922, 0.528, 3.145, -0.815)
    first_bias: float = -5.413
    first: tuple[float, ...] = (3.288, 3.039, 3.341, 0.497)
    threshold: float = 0.149
    rerank: int = 12
    # Calibration: score = sigmoid(c0 + c1 * logit), fitted on whether the top passage is right.
    calibration: tuple[float, float] = (0.844, 1.200)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The full model's logit for rows of all FEATURES (for ranking)."""
        return self.bias + features @ np.asarray(self.weights, dtype=np.float32)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Calibrated 0-1 scores of rows of all FEATURES."""
        c0, c1 = self.calibration
        return 1.0 / (1.0 + np.exp(-(c0 + c1 * self.logits(features))))

    def first_stage(self, features: np.ndarray) -> np.ndarray:
        """The first model's logit over the first FIRST_STAGE features (for ranking only)."""
        return self.first_bias + features[:, :FIRST_STAGE] @ np.asarray(self.first, dtype=np.float32)


@dataclass(frozen=True)
class Hit:
    """One candidate passage with its 0-1 score and the signals behind it."""

    passage: PassageId
    score: float
    features: tuple[float, ...]


def unknown_weight(weights: dict[str, float], query_terms: list[str]) -> float:
    """What the question's terms that no article uses weigh together: each as much as an
    average known term of the question (not as the rarest possible term, so a synonym costs
    a user little, while a question mostly about things the articles never mention scores low).

    Example:
        >>> unknown_weight({"troop": 2.0, "iraq": 4.0}, ["troop", "iraq", "soldier"])
        3.0
    """
    unknown = len(set(query_terms) - set(weights))
    return unknown * (sum(weights.values()) / len(weights)) if weights else 0.0


def coverage(backend: IndexBackend, passages: Sequence[PassageId], query_terms: list[str]) -> np.ndarray:
    """Idf-weighted share of the question's distinct terms found in each passage (see `unknown_weight`)."""
    out = np.zeros(len(passages), dtype=np.float32)
    weights = backend.idf(list(dict.fromkeys(query_terms)))
    if not weights or not len(passages):
        return out
    known = list(weights)
    idf = np.array([weights[t] for t in known], dtype=np.float32)
    holds = backend.contains(passages, known)
    for j, weight in enumerate(idf):
        out += holds[:, j] * weight
    return out / (float(idf.sum()) + unknown_weight(weights, query_terms))


def sentence_signals(sentences: Sequence[str], weights: dict[str, float], pattern,
                     unknown: float = 0.0) -> tuple[float, float]:
    """(best coverage of one sentence or two in a row, 1 if the best single sentence lacks the asked answer type).

    `unknown` is the weight of the question's terms no article uses (see `unknown_weight`).

    Example:
        >>> sentence_signals(["Troops stay.", "It rained in Syria."], {"troop": 1.0, "syria": 2.0}, None)
        (1.0, 0.0)
    """
    total = sum(weights.values()) + unknown
    if not sentences or not weights:
        return 0.0, float(pattern is not None)
    found = [term_set(s).intersection(weights) for s in sentences]
    best = -1.0
    for i in range(len(sentences)):
        for last in (i + 1, i + 2):
            if last > len(sentences):
                continue
            value = sum(weights[t] for t in set().union(*found[i:last])) / total
            best = max(best, value)
    if pattern is None:
        return best, 0.0
    # The answer should sit in the sentence that says most of what was asked ("France" in
    # "how many troops are in France?"), not anywhere in the passage.
    single = [sum(weights[t] for t in f) for f in found]
    top = max(single)
    if top <= 0:
        return best, 1.0
    beside = [s for s, value in zip(sentences, single) if value >= top - 1e-9]
    return best, float(not any(pattern.search(s) is not None for s in beside))


def passage_sentences(backend: IndexBackend, passage: PassageId) -> list[str]:
    """The sentence units of a passage, as text."""
    doc = backend.document(passage.source)
    first, last = doc.passages[passage.number]
    return [doc.text[a:b] for a, b in doc.units[first:last]]


def candidates(
    backend: IndexBackend,
    query_vector: np.ndarray,
    query_terms: list[str],
    k: int,
    where: Filter | None = None,
    method: str = "hybrid",
) -> tuple[list[PassageId], np.ndarray]:
    """Candidate passages of `method`'s retrievers and their first-stage feature rows.

    The sentence signals (the last two FEATURES) are left at 0 here; `add_sentence_signals`
    fills them for the candidates worth it.
    """
    pool: set[PassageId] = set()
    if method != "bm25":
        pool.update(backend.dense_top_k(query_vector, k, where))
    if method != "dense" and query_terms:
        pool.update(pid for pid, _ in backend.keyword_top_k(query_terms, k, where))
    if not pool:
        return [], np.zeros((0, len(FEATURES)), dtype=np.float32)
    passages = sorted(pool)
    cos = backend.vectors(passages) @ query_vector.astype(np.float32)
    bm25 = backend.keyword_scores(query_terms, passages) if query_terms else np.zeros(len(passages), np.float32)
    best_bm25 = float(bm25.max())
    rel_bm25 = bm25 / best_bm25 if best_bm25 > 0 else np.zeros(len(passages), np.float32)
    zeros = np.zeros(len(passages), dtype=np.float32)
    features = np.column_stack([cos, cos - cos.max(), rel_bm25, coverage(backend, passages, query_terms), zeros, zeros])
    return passages, features.astype(np.float32)


def add_sentence_signals(backend: IndexBackend, passages: Sequence[PassageId], features: np.ndarray, rows: np.ndarray,
                         query_terms: list[str], question: str) -> None:
    """Fill the sentence signals of `features[rows]` in place."""
    weights = backend.idf(query_terms)
    unknown = unknown_weight(weights, query_terms)
    pattern = answer_type(question)
    for r in rows:
        features[r, 4], features[r, 5] = sentence_signals(passage_sentences(backend, passages[r]), weights, pattern,
                                                          unknown)


def rank(
    backend: IndexBackend,
    query_vector: np.ndarray,
    query_terms: list[str],
    scorer: Scorer,
    k: int,
    where: Filter | None = None,
    method: str = "hybrid",
    question: str = "",
) -> list[Hit]:
    """Candidates from the retrievers of `method`, scored and sorted best first.

    "hybrid" ranks by the scorer: the first model over every candidate, then the full
    model over the best `scorer.rerank`, which lead; "dense" and "bm25" (for comparison)
    take candidates from one retriever and rank by its own score. `where` filters by source
    or date.
    """
    passages, features = candidates(backend, query_vector, query_terms, k, where, method)
    if len(passages) == 0:
        return []
    if method in ("dense", "bm25"):
        scores = np.clip(features[:, 0], 0.0, 1.0) if method == "dense" else features[:, 2]
        # The calibrated model still decides whether the top passage answers: give it its signals.
        add_sentence_signals(backend, passages, features, np.argsort(-scores, kind="stable")[:1], query_terms, question)
    else:
        first = scorer.first_stage(features)
        head = np.argsort(-first, kind="stable")[: scorer.rerank]
        add_sentence_signals(backend, passages, features, head, query_terms, question)
        full = scorer(features[head])
        # The rest follow the reranked head, in first-stage order, never scoring above it.
        scores = np.full(len(passages), -1.0, dtype=np.float64)
        rest = np.setdiff1d(np.arange(len(passages)), head)
        rest_scores = 1.0 / (1.0 + np.exp(-first[rest]))
        scores[rest] = np.minimum(rest_scores, float(full.min()) - 1e-6) if len(rest) else rest_scores
        scores[head] = full
    order = np.argsort(-scores, kind="stable")
    rows = features[order].tolist()
    return [Hit(passages[i], max(s, 0.0), tuple(f)) for i, s, f in zip(order.tolist(), scores[order].tolist(), rows)]
