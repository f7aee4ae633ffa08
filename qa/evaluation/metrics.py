"""Scoring: what one asked question got against its gold, and what a method's answers add up to.

`judge` turns an `Answer` into a `Record`: whether a gold answer string is in the top-1
passage, in any top-5 passage and in the highlight, the answer phrase's exact match and
token F1, and whether the top passage is *correct* (holds a gold answer or belongs to a
relevant document). `summarise` aggregates the records of one subset and method into a
`MethodReport`: document ranks (Recall@1/5/10, MRR@10, nDCG@10), the share of answerable
questions refused, a calibration table with its expected calibration error, and the share of
*confidently wrong* answers (score >= `CONFIDENT` while the top passage is not correct).

Example:
    >>> from qa.evaluation.metrics import ndcg, phrase_scores
    >>> round(ndcg(["a", "b"], frozenset({"b"})), 3)
    0.631
    >>> phrase_scores("The 2,500 troops.", ["2,500 troops"])
    (1.0, 1.0)
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answers import Answer

from .data import Question
from .report import MethodReport

# A score from which an answer counts as confident (the "confidently wrong" line).
CONFIDENT = 0.8
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Record:
    """What one question got: the facts every metric is computed from."""

    id: str
    kind: str  # "answerable" or "negative"
    answered: bool
    score: float
    correct: bool  # the top passage holds a gold answer or belongs to a relevant document
    answer_top1: bool = False
    answer_top5: bool = False
    answer_highlight: bool = False
    ranked: tuple[str, ...] = ()
    phrase: str | None = None
    phrase_em: float = 0.0
    phrase_f1: float = 0.0
    # For each "also reported by" source named beside a highlight that holds the answer: does that
    # source state the answer too? Named beside a highlight that does not, the claim is about
    # another fact, which the gold cannot judge: counted in `unjudged_claims`.
    claims: tuple[bool, ...] = ()
    unjudged_claims: int = 0
    latency_ms: float = 0.0
    understood_as: str = ""


def ranked_documents(sources: Sequence[str], k: int = 10) -> list[str]:
    """Distinct document ids (file stems) in rank order, from passage source paths."""
    seen: dict[str, None] = {}
    for s in sources:
        seen.setdefault(Path(s).stem, None)
    return list(seen)[:k]


def ndcg(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if d in relevant), 0.0)


def recall(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """1 if any relevant document is in the top k (the usual single-answer QA recall)."""
    return 1.0 if set(ranked[:k]) & relevant else 0.0


def highlight_hit(highlight: str, answers: Sequence[str]) -> bool:
    """True when the text contains one of the gold answer strings (ignoring case)."""
    folded = highlight.casefold()
    return any(a.strip() and a.strip().casefold() in folded for a in answers)


def _normalise(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation or articles, single spaces."""
    text = "".join(c for c in text.lower() if c not in string.punctuation and c not in "‘’“”")
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between a predicted and a gold answer.

    Example:
        >>> token_f1("2,500 troops", "2,500")
        0.6666666666666666
    """
    p, g = _normalise(prediction), _normalise(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    precision, recall_ = common / len(p), common / len(g)
    return 2 * precision * recall_ / (precision + recall_)


def phrase_scores(phrase: str | None, answers: Sequence[str]) -> tuple[float, float]:
    """(exact match, token F1) of an answer phrase against the best gold answer; (0, 0) for none."""
    if not phrase or not answers:
        return 0.0, 0.0
    em = max(float(_normalise(phrase) == _normalise(a)) for a in answers)
    return em, max(token_f1(phrase, a) for a in answers)


def calibration(records: Sequence[Record],
                bins: int = CALIBRATION_BINS) -> tuple[list[tuple[float, float, int, float, float]], float]:
    """Rows (low, high, questions, mean score, share correct) for equal-width score bins, and the ECE.

    The expected calibration error is the question-weighted mean gap between a bin's mean
    score and its share of correct answers.
    """
    rows, ece, total = [], 0.0, max(1, len(records))
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [r for r in records if lo <= r.score < hi or (b == bins - 1 and r.score >= hi)]
        if not inside:
            rows.append((lo, hi, 0, 0.0, 0.0))
            continue
        mean = float(np.mean([r.score for r in inside]))
        share = float(np.mean([r.correct for r in inside]))
        rows.append((lo, hi, len(inside), mean, share))
        ece += len(inside) / total * abs(mean - share)
    return rows, ece


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else 0.0


def summarise(method: str, subset: str, records: Sequence[Record], relevant: dict[str, frozenset[str]]) -> MethodReport:
    """Aggregate per-question records into one report row."""
    pos = [r for r in records if r.kind == "answerable"]
    neg = [r for r in records if r.kind == "negative"]
    ranked = [(r.ranked, relevant.get(r.id, frozenset())) for r in pos]
    table, ece = calibration(records)
    shown = [r for r in pos if r.phrase]
    claims = [c for r in records for c in r.claims]
    latencies = [r.latency_ms for r in records]
    return MethodReport(
        method=method, subset=subset, questions=len(pos), negatives=len(neg),
        recall_at_1=_mean(recall(d, rel, 1) for d, rel in ranked),
        recall_at_5=_mean(recall(d, rel, 5) for d, rel in ranked),
        recall_at_10=_mean(recall(d, rel, 10) for d, rel in ranked),
        mrr_at_10=_mean(reciprocal_rank(d, rel) for d, rel in ranked),
        ndcg_at_10=_mean(ndcg(d, rel) for d, rel in ranked),
        answer_top1=_mean(r.answer_top1 for r in pos), answer_top5=_mean(r.answer_top5 for r in pos),
        highlight_accuracy=_mean(r.answer_highlight for r in pos),
        wrongly_refused=_mean(not r.answered for r in pos),
        negatives_answered=_mean(r.answered for r in neg) if neg else None,
        confidently_wrong=_mean(r.answered and r.score >= CONFIDENT and not r.correct for r in records),
        ece=ece, calibration=table,
        phrase_shown=len(shown) / max(1, len(pos)),
        phrase_precision=_mean(r.phrase_f1 >= 0.5 for r in shown) if shown else None,
        phrase_em=_mean(r.phrase_em for r in pos), phrase_f1=_mean(r.phrase_f1 for r in pos),
        also_claims=len(claims), also_precision=_mean(claims) if claims else None,
        also_unjudged=sum(r.unjudged_claims for r in records),
        latency_p50_ms=_percentile(latencies, 50), latency_p95_ms=_percentile(latencies, 95),
    )


def judge(q: Question, answer: Answer, kind: str, latency_ms: float) -> Record:
    """The record of one asked question against its gold."""
    passages = answer.passages
    top = passages[0] if passages else None
    ranked = tuple(ranked_documents([p.source for p in passages]))
    def holds(p, text: str) -> bool:
        return highlight_hit(text, q.answers) and (not q.strict or Path(p.source).stem in q.relevant)

    top1 = top is not None and holds(top, top.text)
    top_relevant = top is not None and Path(top.source).stem in q.relevant and not q.strict
    phrase = getattr(top, "answer", None) if top is not None else None
    phrase_text = getattr(phrase, "text", phrase) if phrase is not None else None
    em, f1 = phrase_scores(phrase_text, q.answers)
    highlighted = top is not None and holds(top, top.highlight)
    claims: tuple[bool, ...] = ()
    unjudged = 0
    if q.reported_by is not None and top is not None and answer.answered:
        if highlighted:
            claims = tuple(Path(s).stem in q.reported_by for s in top.also_in)
        else:
            unjudged = len(top.also_in)
    return Record(
        id=q.id, kind=kind, answered=answer.answered, score=float(top.score) if top is not None else 0.0,
        correct=kind == "answerable" and (top1 or top_relevant),
        answer_top1=top1, answer_top5=any(holds(p, p.text) for p in passages[:5]),
        answer_highlight=highlighted, ranked=ranked, phrase=phrase_text, phrase_em=em, phrase_f1=f1,
        claims=claims, unjudged_claims=unjudged, latency_ms=latency_ms,
        understood_as=getattr(answer, "understood_as", q.text),
    )
