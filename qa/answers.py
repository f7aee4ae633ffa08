"""What a question gets back: an `Answer` holding `Passage`s, best first, each with its source.

Both are plain frozen dataclasses: `to_dict()` gives JSON-able data, `str()` a readable
terminal view with a source line under each passage and the answering sentence marked.

Example:
    >>> from qa import ask
    >>> answer = ask("how many troops stay in Kurdistan?")   # doctest: +SKIP
    >>> answer.answered, answer.passages[0].source           # doctest: +SKIP
    (True, 'us-military-presence-in-iraq-post-withdrawal.txt')
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A passage of a source document; `text == document_text[start:end]`.

    `highlight` is the sentence of `text` that best answers the question (an exact
    substring, at document offsets `highlight_start:highlight_end`). `also_in` lists the
    other sources that say the same thing.
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

    def location(self) -> str:
        """A human source line: title, file, date and character range."""
        date = f", {self.date}" if self.date else ""
        return f"{self.title} — {self.source}{date}, chars {self.start}-{self.end}"


@dataclass(frozen=True)
class Answer:
    """The passages that answer `question`, best first.

    When `answered` is False nothing in the sources answers it, and `passages` are only the
    nearest misses.
    """

    question: str
    answered: bool
    passages: tuple[Passage, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able data."""
        return {
            "question": self.question,
            "answered": self.answered,
            "passages": [{**asdict(p), "also_in": list(p.also_in)} for p in self.passages],
        }

    def __str__(self) -> str:
        if not self.passages:
            return f"Q: {self.question}\nNo passage in the sources answers this."
        head = "" if self.answered else "No passage in the sources answers this. Nearest passages:\n"
        blocks = []
        for n, p in enumerate(self.passages, 1):
            a, b = p.highlight_start - p.start, p.highlight_end - p.start
            marked = f"{p.text[:a]}>>> {p.text[a:b]} <<<{p.text[b:]}" if b > a else p.text
            body = textwrap.fill(" ".join(marked.split()), width=100, initial_indent="   ", subsequent_indent="   ")
            also = f"\n   also in: {', '.join(p.also_in)}" if p.also_in else ""
            blocks.append(f"[{n}] score {p.score:.2f} | {p.location()}\n{body}{also}")
        return f"Q: {self.question}\n{head}" + "\n\n".join(blocks)
