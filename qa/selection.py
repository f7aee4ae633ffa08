"""Choose an answer's passages from the ranked hits, and mark what answers in each.

The hits come best first, often several from one article, overlapping (passages share a
sentence with the next): `select_passages` keeps the best k, merging a passage into a better
one of the same document that it overlaps (two at most, so that it stays readable).
`answer_passage` makes a chosen one an answer `Passage`: its text, its highlight (the
sentence(s) that answer, `qa.highlighting`) and the answer phrase in it (`qa.answer_phrase`).

Example:
    >>> from qa.retrieval import Hit
    >>> from qa.stores.base import PassageId
    >>> text = "Troops stay. About 2,500 US troops stay in Iraq. They leave in 2026."
    >>> doc = StoredDocument("iraq.txt", "Troops", None, "h", text, units=((0, 12), (13, 48), (49, 68)),
    ...                      passages=((0, 2), (1, 3)))
    >>> class Store:  # all that selecting asks of the index
    ...     def document(self, source): return doc
    >>> hits = [Hit(PassageId("iraq.txt", "h", 1), 0.9, ()), Hit(PassageId("iraq.txt", "h", 0), 0.5, ())]
    >>> chosen = select_passages(Store(), hits, k=2)
    >>> [(s.first, s.last, s.merged) for s in chosen]
    [(0, 3, True)]
    >>> passage = answer_passage(chosen[0], "how many troops stay in Iraq?", {"troop": 1.0, "stay": 1.0, "iraq": 2.0})
    >>> passage.highlight, passage.answer.text
    ('About 2,500 US troops stay in Iraq.', '2,500 US troops')
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.answer_phrase import answer_phrase
from qa.answers import AnswerSpan, Passage
from qa.documents import page_range
from qa.highlighting import best_sentences
from qa.retrieval import Hit
from qa.stores import IndexBackend, StoredDocument


@dataclass
class Selected:
    """A passage chosen for the answer: its best hit and the sentence units it spans (merged passages widen it)."""

    hit: Hit
    doc: StoredDocument
    first: int  # [first, last) over the document's sentence units
    last: int
    merged: bool = False


def select_passages(store: IndexBackend, hits: list[Hit], k: int) -> list[Selected]:
    """The best k passages; a passage that overlaps a better one of the same document is merged into it."""
    chosen: list[Selected] = []
    for hit in hits:
        doc = store.document(hit.passage.source)
        first, last = doc.passages[hit.passage.number]
        homes = [c for c in chosen if c.doc.source == doc.source and first < c.last and c.first < last]
        if homes:
            home = homes[0]
            lo, hi = min(home.first, first), max(home.last, last)
            clear = all(c is home or c.doc.source != doc.source or hi <= c.first or c.last <= lo for c in chosen)
            if len(homes) == 1 and not home.merged and clear:  # two passages at most: it stays readable
                home.first, home.last, home.merged = lo, hi, True
            continue
        if len(chosen) == k:
            break
        chosen.append(Selected(hit, doc, first, last))
    return chosen


def answer_passage(s: Selected, question: str, weights: dict[str, float]) -> Passage:
    """The answer `Passage` for a chosen one: its text, the sentence(s) that best answer
    `question` (`weights`: its terms' idf) and the answer phrase in them."""
    doc = s.doc
    units = doc.units[s.first : s.last]
    start, end = units[0][0], units[-1][1]
    first, last = best_sentences([doc.text[a:b] for a, b in units], question, weights)
    best = (units[first][0], units[last - 1][1])
    highlight = doc.text[best[0] : best[1]]
    found = answer_phrase(question, highlight)  # None below its confidence threshold
    phrase = AnswerSpan(found.text, best[0] + found.start, best[0] + found.end, found.kind) if found else None
    return Passage(
        text=doc.text[start:end], source=doc.source, title=doc.title, date=doc.date,
        start=start, end=end, score=round(s.hit.score, 4),
        highlight=highlight, highlight_start=best[0], highlight_end=best[1], answer=phrase,
        pages=page_range(doc.pages, start, end),
    )
