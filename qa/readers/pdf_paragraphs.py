"""A PDF's visual lines joined back into the document text, as a reader would read them.

A line that runs to its column's right edge goes on on the next line (a hyphen at its end is
dropped when the word goes on in lower case, "infor-" + "mation" -> "information", unless the
document spells that word with a hyphen elsewhere); a short line, a change of type size or a
wider gap ends it; a bullet or a row of table cells is a line of its own. Lines that recur at
the top or bottom of most pages (running headers and footers, page numbers, with digits
counted as alike) are left out. Pages follow one another apart by a blank line, but a
paragraph that runs over a page break is joined with a space. `Writer` keeps, per page, the
runs that map the text back to PDFium's characters.

Example:
    >>> lines = [Line(((0, "The trust checked the infor-", ""),), 72.0, 500.0, 700.0, 12.0),
    ...          Line(((29, "mation in this report.", ""),), 72.0, 300.0, 686.0, 12.0)]
    >>> writer, first = join_pages([lines])
    >>> "".join(writer.parts), writer.pages
    ('The trust checked the information in this report.', [0])
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Sequence

from qa.cleaning import Span
from qa.readers.pdf_lines import CELL_GAP, HYPHEN_MARKS, Line

# Lines this far from a page's top or bottom (counted in lines) may be running headers or footers.
_EDGE_LINES = 3
# Characters are about half an em wide: used to ask whether the next line's first word would have fit.
_CHAR_EM = 0.5
# A gap between baselines this many times the page's usual line spacing starts a new paragraph.
_PARAGRAPH_GAP = 1.3
# Type sizes further apart than this share of the larger one end a paragraph.
_SIZE_CHANGE = 0.12
_HYPHENS = HYPHEN_MARKS + "-\u00ad\u2010"
_SENTENCE_END = re.compile(r"[.!?:;…][\"'”’)\]]*$")
_BULLET = re.compile(r"^(?:[•▪◦‣●○■□–—*-]\s|\(?\d{1,2}[.)]\s|\(?[a-z][.)]\s)")
_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
              "\ufb06": "st"}


def _key(line: str) -> str:
    """A line as running furniture is compared: case and spacing ignored, every number alike."""
    return " ".join(re.sub(r"\d+", "#", line.casefold()).split())


def _edges(lines: Sequence[Line]) -> list[Line]:
    """The lines nearest a page's top and bottom."""
    ordered = sorted(lines, key=lambda line: -line.baseline)
    return ordered[:_EDGE_LINES] + ordered[_EDGE_LINES:][-_EDGE_LINES:]


def _running(pages: Sequence[Sequence[Line]]) -> set[str]:
    """Keys of lines that recur near the top or bottom of more than half the pages with text
    (and of two pages at least): running headers, footers and page numbers."""
    counts = Counter(key for lines in pages for key in {_key(line.text) for line in _edges(lines)})
    with_text = sum(1 for lines in pages if lines)
    return {key for key, n in counts.items() if n >= 2 and n * 2 > with_text}


def _leading(pages: Sequence[Sequence[Line]]) -> dict[float, float]:
    """The usual distance between baselines of consecutive lines, per type size, over the document."""
    steps: dict[float, list[float]] = {}
    for lines in pages:
        for a, b in itertools.pairwise(lines):
            if a.size == b.size and 0 < a.baseline - b.baseline < 3 * a.size:
                steps.setdefault(a.size, []).append(a.baseline - b.baseline)
    return {size: statistics.median(found) for size, found in steps.items()}


def _column_rights(lines: Sequence[Line]) -> list[float]:
    """For each line, the right edge of the column it sits in: the rightmost end of the lines
    that start within two ems of where it starts."""
    bucket = 10.0  # points
    ends: dict[int, float] = {}
    for line in lines:
        key = int(line.left // bucket)
        ends[key] = max(ends.get(key, line.right), line.right)
    rights = []
    for line in lines:
        reach = int(2 * line.size // bucket) + 1
        key = int(line.left // bucket)
        rights.append(max(ends.get(k, line.right) for k in range(key - reach, key + reach + 1)))
    return rights


def _is_row(line: Line) -> bool:
    """True for a line of table cells."""
    return any(before == CELL_GAP for _, _, before in line.runs)


def _ends_sentence(text: str) -> bool:
    return _SENTENCE_END.search(text) is not None


def _first_word(text: str) -> str:
    return next(iter(text.split()), "")


def _hyphenated(before: str, after: str, spelled: set[str]) -> bool:
    """True when a word broken at a line-end hyphen keeps its hyphen: the document spells it
    with one elsewhere, or it does not go on in lower case."""
    if not after[:1].islower():
        return True
    head = _WORDS.findall(before)[-1:] or [""]
    tail = _WORDS.findall(after)[:1] or [""]
    return f"{head[0]}-{tail[0]}".casefold() in spelled and f"{head[0]}{tail[0]}".casefold() not in spelled


def _separator(prev: Line, line: Line, right: float, leading: dict[float, float]) -> str:
    """What goes between two lines of one page: " " (the paragraph goes on), "\\n" (a line of
    its own ends) or "\\n\\n" (a paragraph ends)."""
    step = prev.baseline - line.baseline
    usual = leading.get(prev.size, 1.2 * prev.size)
    if abs(prev.size - line.size) > _SIZE_CHANGE * max(prev.size, line.size) or step > _PARAGRAPH_GAP * usual:
        return "\n\n"
    if _BULLET.match(line.text) or _is_row(prev) or _is_row(line):
        return "\n"
    word = len(_first_word(line.text)) + 1
    full = prev.right + _CHAR_EM * prev.size * word >= right
    if step <= 0:  # the next column, or a jump back up the page
        return " " if full and not _ends_sentence(prev.text) else "\n\n"
    return " " if full else "\n"


class Writer:
    """Builds the document text and, per page, the runs that map it to PDFium's characters."""

    def __init__(self, spelled: set[str]) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.pages: list[int] = []
        self.runs: list[list[tuple[int, int, int]]] = []
        self.spelled = spelled
        self.last: Line | None = None

    def page(self) -> None:
        self.pages.append(self.size)
        self.runs.append([])

    def join(self, line: Line, separator: str) -> Span:
        """Add `line` after `separator` and return its span. A word broken at a hyphen that
        ended the previous line goes on without a space, losing the hyphen unless `_hyphenated`."""
        prev = self.last
        broken = (prev is not None and separator != "\n\n" and prev.text[-1] in _HYPHENS
                  and prev.text[-2:-1].isalpha() and line.text[:1].isalpha())
        if broken and not _hyphenated(prev.text[:-1], line.text, self.spelled):
            self._drop_hyphen()
        if self.size and not broken:
            self._write(separator, None)
        if not self.runs[-1]:
            self.pages[-1] = self.size
        start = self.size
        self._emit(line)
        self.last = line
        return start, self.size

    def _drop_hyphen(self) -> None:
        """Take the hyphen that ended the text so far back off it."""
        self.parts[-1] = self.parts[-1][:-1]
        self.size -= 1
        runs = next(runs for runs in reversed(self.runs) if runs)
        offset, index, length = runs[-1]
        runs[-1:] = [(offset, index, length - 1)] if length > 1 else []

    def _emit(self, line: Line) -> None:
        """Write the line's runs; PDFium's mark for a line-end hyphen is written as "-"."""
        for first, text, before in line.runs:
            self._write(before, None)
            body = text[:-1] + "-" if text[-1] in HYPHEN_MARKS else text
            done = 0
            for i, char in enumerate(body):
                if char in _LIGATURES:
                    self._write(body[done:i], first + done)
                    for letter in _LIGATURES[char]:
                        self._write(letter, first + i, 1)
                    done = i + 1
            self._write(body[done:], first + done)

    def _write(self, piece: str, index: int | None, length: int | None = None) -> None:
        if not piece:
            return
        if index is not None:
            self.runs[-1].append((self.size, index, length or len(piece)))
        self.parts.append(piece)
        self.size += len(piece)


def _page_break(prev: Line | None, line: Line) -> str:
    """What goes before the first line of a page: " " where the paragraph before the page
    break goes on (it ends mid-sentence and the line starts in lower case), else "\\n\\n"."""
    going_on = prev is not None and not _ends_sentence(prev.text) and line.text[:1].islower()
    return " " if going_on else "\n\n"


def join_pages(pages: Sequence[Sequence[Line]]) -> tuple[Writer, list[tuple[Line, Span]]]:
    """The pages' lines written as one text (see the module docstring): the writer that holds
    it, and the lines of page 1 with their spans in it."""
    running = _running(pages)
    leading = _leading(pages)
    spelled = {word.casefold() for lines in pages for line in lines for word in _WORDS.findall(line.text)}
    writer = Writer(spelled)
    first: list[tuple[Line, Span]] = []
    for lines in pages:
        writer.page()
        edges = {id(line) for line in _edges(lines)}
        kept = [line for line in lines if id(line) not in edges or _key(line.text) not in running]
        rights = _column_rights(kept)
        for i, line in enumerate(kept):
            separator = _separator(kept[i - 1], line, rights[i - 1], leading) if i else _page_break(writer.last, line)
            span = writer.join(line, separator)
            if len(writer.pages) == 1:
                first.append((line, span))
    return writer, first
