"""What a question gets back: an `Answer` holding `Passage`s, best first, each with its source.

Both are plain frozen dataclasses: `to_dict()` gives JSON-able data, `str()` a readable
terminal view with a source line under each passage and the answering sentence marked.
`group_passages` joins passages of different articles that state the same fact (the page
shows them as one result, "also reported by" the others).

Example:
    >>> from qa import ask
    >>> answer = ask("how many troops stay in Kurdistan?")   # doctest: +SKIP
    >>> answer.answered, answer.passages[0].source           # doctest: +SKIP
    (True, 'us-military-presence-in-iraq-post-withdrawal.txt')
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnswerSpan:
    """The phrase that answers ("2,500 troops", "Thabit al-Abbasi"): `document_text[start:end] == text`."""

    text: str
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Passage:
    """A passage of a source document; `text == document_text[start:end]`.

    `highlight` is the sentence of `text` that best answers the question (an exact
    substring, at document offsets `highlight_start:highlight_end`); `answer` is the
    shortest phrase of it that answers, when one clearly does (else None). `also_in` lists
    the other sources whose passage states the same fact. For a paged format (PDF) `pages`
    holds the first and last page (1-based) the passage is on and `page` the first; both
    are None for other formats.
    """

    text: str
    source: str
    title: str
    date: str | None
    start: int
    end: int
    score: float
    highlight: str
    highlight_start: int
    highlight_end: int
    also_in: tuple[str, ...] = ()
    answer: AnswerSpan | None = None
    page: int | None = None
    pages: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.pages is not None:  # from JSON a list: kept as a tuple, and `page` is its first
            object.__setattr__(self, "pages", (int(self.pages[0]), int(self.pages[-1])))
            object.__setattr__(self, "page", self.pages[0])
        elif self.page is not None:
            object.__setattr__(self, "pages", (self.page, self.page))

    @property
    def page_label(self) -> str:
        """Where in a paged document (PDF) the passage is: "p. 4", "pp. 4–5"; "" for other formats.

        >>> Passage("x", "a.pdf", "T", None, 0, 1, 0.5, "x", 0, 1, pages=(4, 5)).page_label
        'pp. 4–5'
        """
        if self.pages is None:
            return ""
        first, last = self.pages
        return f"p. {first}" if first == last else f"pp. {first}–{last}"

    def location(self) -> str:
        """A human source line: title, file, date, page(s) for a paged format, and character range."""
        date = f", {self.date}" if self.date else ", undated"
        page = f", {self.page_label}" if self.pages else ""
        return f"{self.title} — {self.source}{date}{page}, chars {self.start}-{self.end}"


@dataclass(frozen=True)
class Answer:
    """The passages that answer `question`, best first.

    When `answered` is False nothing in the sources answers it, and `passages` are only the
    nearest misses. `understood_as` is the question as it was read (a follow-up rewritten
    from the turns before it; equal to `question` when nothing was rewritten) and `note`
    says so in one sentence. A date filter counts the undated articles it searched
    (`undated_included`) or left out (`undated_excluded`).
    """

    question: str
    answered: bool
    passages: tuple[Passage, ...] = field(default_factory=tuple)
    understood_as: str = ""
    note: str = ""
    undated_included: int = 0
    undated_excluded: int = 0

    def __post_init__(self) -> None:
        if not self.understood_as:
            object.__setattr__(self, "understood_as", self.question)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able data."""
        return {
            "question": self.question,
            "understood_as": self.understood_as,
            "note": self.note,
            "answered": self.answered,
            "undated_included": self.undated_included,
            "undated_excluded": self.undated_excluded,
            "passages": [{**asdict(p), "also_in": list(p.also_in), "pages": list(p.pages) if p.pages else None}
                         for p in self.passages],
        }

    def __str__(self) -> str:
        if not self.passages:
            return f"Q: {self.question}\nNo passage in the sources answers this."
        head = "" if self.answered else "No passage in the sources answers this. Nearest passages:\n"
        head = "".join(f"({line})\n" for line in self.notes()) + head
        blocks = []
        for n, p in enumerate(self.passages, 1):
            a, b = p.highlight_start - p.start, p.highlight_end - p.start
            marked = f"{p.text[:a]}>>> {p.text[a:b]} <<<{p.text[b:]}" if b > a else p.text
            body = textwrap.fill(" ".join(marked.split()), width=100, initial_indent="   ", subsequent_indent="   ")
            also = f"\n   also in: {', '.join(p.also_in)}" if p.also_in else ""
            phrase = f"   Answer: {p.answer.text}\n" if p.answer is not None and self.answered else ""
            blocks.append(f"[{n}] score {p.score:.2f} | {p.location()}\n{phrase}{body}{also}")
        return f"Q: {self.question}\n{head}" + "\n\n".join(blocks)

    def notes(self) -> list[str]:
        """What a reader should know about how the question was read and filtered, one sentence each."""
        out = [self.note] if self.note else []
        if self.undated_excluded:
            n = self.undated_excluded
            out.append(f"The date filter left out {n} undated article{'s' if n != 1 else ''}.")
        elif self.undated_included:
            n = self.undated_included
            out.append(f"The date filter also searched {n} undated article{'s' if n != 1 else ''}.")
        return out


@dataclass
class PassageGroup:
    """Passages that say the same thing: the best one leads, the others are "also reported by"."""

    lead: Passage
    others: list[Passage] = field(default_factory=list)

    def takes(self, p: Passage) -> bool:
        sources = {self.lead.source, *(o.source for o in self.others)}
        agree = p.source in self.lead.also_in or self.lead.source in p.also_in
        return agree and p.source not in sources


def group_passages(passages: Sequence[Passage]) -> list[PassageGroup]:
    """Passages in answer order, each joined to the first better passage of another article that agrees.

    Example:
        >>> a = Passage("x", "a.txt", "A", None, 0, 1, 0.9, "x", 0, 1, also_in=("b.txt",))
        >>> b = Passage("y", "b.txt", "B", None, 0, 1, 0.8, "y", 0, 1, also_in=("a.txt",))
        >>> [(g.lead.source, [o.source for o in g.others]) for g in group_passages([a, b])]
        [('a.txt', ['b.txt'])]
    """
    groups: list[PassageGroup] = []
    for p in passages:
        home = next((g for g in groups if g.takes(p)), None)
        if home is None:
            groups.append(PassageGroup(p))
        else:
            home.others.append(p)
    return groups
