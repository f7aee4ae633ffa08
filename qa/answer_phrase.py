"""Find the phrase of a highlight that answers the question, and how sure that is.

`answer_phrase` finds, within the highlight (`qa.highlighting`), the phrase that answers: a
number with its unit, a date, a name or a place. Rules, no model: the candidates of the asked
kind that the question lacks (`qa.answer_types`), ranked by the question words around them.
Its `confidence` is a logistic model of that evidence (how many candidates, how far ahead
the best one is, how much of the question the highlight holds...), capped when a rival
scores about as well; below ANSWER_MIN_CONFIDENCE it returns None, as it does for
"why"/"how" questions and untyped "what" ones. Weights and threshold were fitted on xquad-en
(precision .91 there, .85 on squad2-dev, but only about .6 on news-2023, whose highlights
more often miss the answer); bench/answer_phrase.py measures it and fits them.

Example:
    >>> from qa.answer_phrase import answer_phrase
    >>> answer_phrase("how many US troops are in Iraq?", "Currently, the US has around 2,500 troops in Iraq.")
    AnswerPhrase(start=29, end=41, text='2,500 troops', kind='number', confidence=0.943)
    >>> answer_phrase("why are US troops in Iraq?", "Currently, the US has around 2,500 troops in Iraq.") is None
    True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from qa.answer_types import asked_for, candidate_phrases
from qa.lexical import term_set

# answer_phrase: show the phrase from this confidence on (see bench/answer_phrase.py --fit).
ANSWER_MIN_CONFIDENCE = 0.8


@dataclass(frozen=True)
class AnswerPhrase:
    """The phrase of a highlight that answers the question: `text == highlight[start:end]`."""

    start: int
    end: int
    text: str
    kind: str  # "number", "date", "person", "place" or "name"
    confidence: float  # 0-1


# Logistic model of the evidence for a phrase (bench/answer_phrase.py --fit, on xquad-en).
CONFIDENCE_FEATURES = ("number", "date", "year", "person", "place", "name", "single", "log_candidates",
                       "margin", "coverage", "log_prior", "adjacent", "near", "log_words")
# Whatever the model says, a phrase with a rival scoring within this share of it is in doubt:
# its confidence is capped at AMBIGUOUS_CONFIDENCE, below ANSWER_MIN_CONFIDENCE.
RIVAL_MARGIN = 0.1
AMBIGUOUS_CONFIDENCE = 0.5
_CONFIDENCE_BIAS = 1.654
_CONFIDENCE_WEIGHTS = (-0.596, 1.048, 0.996, -0.094, -0.838, -0.517, 0.438, -0.593, -0.217, 0.519, 2.110, 0.405,
                       1.557, -0.711)
_WORD = re.compile(r"[^\W_]+")


def phrase_evidence(question: str, text: str) -> tuple[str, tuple[int, int], list[float]] | None:
    """The kind asked, the best phrase of `text` ((start, end)) and its CONFIDENCE_FEATURES; None
    if the question asks for no kind of phrase or `text` holds none it lacks. ("margin" is how
    far ahead of the runner-up the phrase scores, as a share of its score; 1 if alone.)"""
    q = asked_for(question)
    if q is None or not text.strip():
        return None
    candidates = candidate_phrases(text, q)
    if not candidates:
        return None
    # The answer usually sits next to the question's words: score each candidate by the
    # question words around it, nearer ones counting more.
    words = [(w.start(), w.end(), term_set(w.group(0))) for w in _WORD.finditer(text)]
    spots = [i for i, (_, _, t) in enumerate(words) if t & q.terms]

    def index(pos: int) -> int:
        return next((i for i, (_, end, _) in enumerate(words) if end > pos), len(words))

    def near(c: tuple[int, int, float]) -> float:
        first, last = index(c[0]), index(c[1] - 1)
        return sum(1.0 / (1 + min(abs(i - first), abs(i - last))) for i in spots if not first <= i <= last)

    def score(c: tuple[int, int, float]) -> float:
        return c[2] * (1.0 + near(c))

    ranked = sorted(candidates, key=score, reverse=True)
    a, b, prior = ranked[0]
    top = score(ranked[0])
    second = score(ranked[1]) if len(ranked) > 1 else 0.0
    first, last = index(a), index(b - 1)
    gap = min((min(abs(i - first), abs(i - last)) for i in spots), default=99)
    features = [float(q.kind == k) for k in CONFIDENCE_FEATURES[:6]] + [
        float(len(ranked) == 1),
        math.log(len(ranked)),
        (top - second) / top if top else 1.0,
        len({t for _, _, ts in words for t in ts} & q.terms) / len(q.terms),
        math.log(prior),
        1.0 / (1 + gap),
        min(near(ranked[0]), 3.0),
        math.log(len(words)),
    ]
    return q.kind, (a, b), features


def answer_phrase(question: str, text: str, *, min_confidence: float = ANSWER_MIN_CONFIDENCE) -> AnswerPhrase | None:
    """The shortest phrase of `text` (the highlight) that answers `question`, or None.

    Only questions asking for a quantity, a date, a person, a place or a name get a phrase,
    and never one the question already holds. `confidence` (0-1) is how likely the phrase
    is right; below `min_confidence` (by default ANSWER_MIN_CONFIDENCE) None is returned.
    """
    found = phrase_evidence(question, text)
    if found is None:
        return None
    kind, (a, b), features = found
    z = _CONFIDENCE_BIAS + sum(w * x for w, x in zip(_CONFIDENCE_WEIGHTS, features))
    confidence = round(1.0 / (1.0 + math.exp(-z)), 3)
    if features[CONFIDENCE_FEATURES.index("margin")] < RIVAL_MARGIN:
        confidence = min(confidence, AMBIGUOUS_CONFIDENCE)
    if confidence < min_confidence:
        return None
    return AnswerPhrase(a, b, text[a:b], "date" if kind == "year" else kind, confidence)
