"""Pick the sentence(s) of a passage that answer the question.

Sentences are scored by the rare question terms they contain (idf-weighted), so the
sentence that shares the question's specific words ("Kurdistan", "2,500", "residual")
wins over one that only shares common ones. Two cheap rules help where words alone miss:
- a question asking for a quantity or a time ("how many", "when", "what year") prefers a
  sentence that holds a number or a date;
- a sentence that continues the previous one ("It stopped...", "They killed...") is read
  together with it, so an answer stated after the question's words is not cut off.
Nothing is embedded at question time: sentence boundaries were found at index time and the
idf weights come from BM25. On squad2-dev this picks a sentence holding the gold answer
for ~77% of questions (see README).

Example:
    >>> from qa.highlighting import best_sentences
    >>> best_sentences(["It rained.", "A small force stays in Kurdistan."], "who stays in Kurdistan?",
    ...                {"kurdistan": 3.0, "stay": 1.0})
    (1, 2)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from qa.lexical import terms

# Bonus, as a share of the question's total term weight, for a sentence of the asked type.
TYPE_BONUS = 0.15
_QUANTITY = re.compile(r"\bhow (many|much|long|old|far|large|big|often|few)\b|\bwhat (percentage|percent|number|amount)\b", re.I)
_TIME = re.compile(r"\bwhen\b|\b(what|which|in what) (year|date|time|period|century|decade|month|day)\b", re.I)
_NUMBER = re.compile(r"\d")
_TIME_WORD = re.compile(
    r"\d|\b(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"century|centuries|decade|spring|summer|autumn|winter)\b", re.I)
_CONTINUES = re.compile(
    r"^(It|Its|They|Their|Them|This|These|That|Those|He|His|She|Her|If|However|But|Such|There|"
    r"In (this|that|these)|As a result)\b")


def _type_pattern(question: str) -> re.Pattern[str] | None:
    """What an answer to the question looks like, if its wording says so."""
    if _QUANTITY.search(question):
        return _NUMBER
    if _TIME.search(question):
        return _TIME_WORD
    return None


def best_sentences(sentences: Sequence[str], question: str, weights: Mapping[str, float]) -> tuple[int, int]:
    """[first, last) range of the sentences that best answer `question` (one, or two in a row).

    `weights` maps the question's terms (qa.lexical.terms) to their idf.
    """
    if not sentences:
        return 0, 0
    total = sum(weights.values()) or 1.0
    wanted = set(weights)
    pattern = _type_pattern(question)
    found = [wanted.intersection(terms(s)) for s in sentences]

    def score(first: int, last: int) -> float:
        present = set().union(*found[first:last])
        value = sum(weights[t] for t in present) / total
        if pattern is not None and any(pattern.search(s) for s in sentences[first:last]):
            value += TYPE_BONUS
        return value

    best, best_score = (0, 1), -1.0
    for i in range(len(sentences)):
        for last in (i + 1, i + 2):
            if last > len(sentences) or (last == i + 2 and not _CONTINUES.match(sentences[i + 1])):
                continue
            value = score(i, last)
            if value > best_score:
                best, best_score = (i, last), value
    return best
