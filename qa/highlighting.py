"""Pick the sentence(s) of a passage that answer the question: the highlight.

`best_sentences` scores each sentence, and each two in a row, by the rare question terms
they hold (idf-weighted, from BM25), so the sentence sharing the question's specific words
("Kurdistan", "2,500") wins over one that only shares common ones. When the question asks
for a kind of answer (a number for "how many", a date for "when", a name for "who", a place
for "where": `qa.answer_types`), a sentence holding such a phrase that the question lacks
gets a bonus. Two sentences in a row win when together they hold enough more of the
question's terms than one alone (the answer often follows the question's words: "It is also
known as..."). The phrase that answers, within the highlight, is `qa.answer_phrase`'s;
bench/answer_phrase.py measures both. Nothing is embedded at question time.

Example:
    >>> from qa.highlighting import best_sentences
    >>> best_sentences(["It rained.", "A small force stays in Kurdistan."], "who stays in Kurdistan?",
    ...                {"kurdistan": 3.0, "stay": 1.0})
    (1, 2)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from qa.answer_types import asked_for, candidate_phrases
from qa.lexical import term_set

# best_sentences: bonus, as a share of the question's total term weight, for a window holding
# a phrase of the asked kind (numbers and dates are telling; names are everywhere, so less).
TYPE_BONUS = 0.15
NAME_TYPE_BONUS = 0.10
# What a second sentence must add (share of the question's term weight) to be highlighted too;
# less when it plainly continues the first ("It...", "They...", "However...").
PAIR_PENALTY = 0.06
CONTINUATION_PENALTY = 0.02
_CONTINUES = re.compile(
    r"^(It|Its|They|Their|Them|This|These|That|Those|He|His|She|Her|If|However|But|Such|There|"
    r"In (this|that|these)|As a result)\b")


def best_sentences(sentences: Sequence[str], question: str, weights: Mapping[str, float]) -> tuple[int, int]:
    """[first, last) range of the sentences that best answer `question` (one, or two in a row).

    `weights` maps the question's terms (qa.lexical.terms) to their idf.
    """
    if not sentences:
        return 0, 0
    total = sum(weights.values()) or 1.0
    wanted = set(weights)
    found = [term_set(s).intersection(wanted) for s in sentences]
    asked = asked_for(question)
    bonus = 0.0 if asked is None else TYPE_BONUS if asked.kind in ("number", "date", "year") else NAME_TYPE_BONUS
    # In full for a telling phrase ("2,500 troops" for "how many troops"), half for a plain one.
    typed = [bonus * min(1.0, max((c[2] for c in candidate_phrases(s, asked)), default=0.0) / 2) if bonus else 0.0
             for s in sentences]

    def score(first: int, last: int) -> float:
        value = sum(weights[t] for t in set().union(*found[first:last])) / total + max(typed[first:last])
        if last - first == 2:
            value -= CONTINUATION_PENALTY if _CONTINUES.match(sentences[first + 1]) else PAIR_PENALTY
        return value

    best, best_score = (0, 1), -1.0
    for i in range(len(sentences)):
        for last in (i + 1, i + 2):
            if last > len(sentences):
                continue
            value = score(i, last)
            if value > best_score:
                best, best_score = (i, last), value
    return best
