"""Which other articles state the same fact as a passage: its "also reported by".

Articles on the same news often say the same thing in other words. Two passages of the
answer agree when their vectors are close (cosine >= `Settings.agreement_cosine`) and the
other one holds a number and most names that the first one's answer phrase (else its
highlight) states: close wording on the same topic is not enough. `agreeing` names the
agreeing sources in each passage's `also_in`; the page groups them (`qa.answers`).

Example (the facts a highlight states: its numbers and the terms of its names):
    >>> numbers, names = _facts("About 2,500 US troops will stay in Kurdistan, the Pentagon said.", set())
    >>> sorted(numbers), sorted(names)
    (['2500'], ['kurdistan', 'pentagon'])
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.answers import Passage
from qa.lexical import term_set
from qa.selection import Selected
from qa.stores import IndexBackend

_FACT = re.compile(r"\d[\d,.]*|\b[A-Z][\w’'-]*[a-z][\w’'-]*")


def _facts(text: str, skip: set[str]) -> tuple[set[str], set[str]]:
    """(numbers, name terms) a highlight states, less the question's own terms."""
    numbers, names = set(), set()
    for match in _FACT.finditer(text):
        token = match.group().rstrip(".,")
        if token[:1].isdigit():
            numbers.add(token.replace(",", ""))
        elif match.start() > 0 and text[: match.start()].rstrip()[-1:] not in ".!?\n":
            names.update(term_set(token) - skip)
    return numbers - skip, names


def agreeing(passages: list[Passage], selected: list[Selected], store: IndexBackend, threshold: float) -> list[Passage]:
    """Passages with `also_in` naming the other articles whose passage states the same fact.

    Two passages agree when their vectors are close (cosine >= threshold) and the other one
    holds a number and most names that the answer phrase (else the highlight) states: close
    wording on the same topic is not enough.
    """
    if len(passages) < 2:
        return passages
    vectors = store.vectors([s.hit.passage for s in selected])
    held: dict[int, tuple[set[str], set[str]]] = {}  # passage -> (terms, numbers), read once

    def holds(b: int) -> tuple[set[str], set[str]]:
        if b not in held:
            text = passages[b].text
            held[b] = set(term_set(text)), {n.replace(",", "") for n in re.findall(r"\d[\d,.]*\d|\d", text)}
        return held[b]

    out = []
    for a, (pa, va) in enumerate(zip(passages, vectors)):
        numbers, names = _facts(pa.answer.text if pa.answer is not None else pa.highlight, set())
        also = []
        for b, (pb, vb) in enumerate(zip(passages, vectors)):
            if b == a or pb.source == pa.source or pb.source in also or float(va @ vb) < threshold:
                continue
            text_terms, text_numbers = holds(b)
            if (not numbers or numbers & text_numbers) and (not names or len(names & text_terms) >= 0.6 * len(names)):
                also.append(pb.source)
        out.append(replace(pa, also_in=tuple(also)))
    return out
