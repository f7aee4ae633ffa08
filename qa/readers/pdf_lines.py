"""A PDF's pages as PDFium gives them: opening the file, and each page's visual lines.

PDFium is not thread-safe, so every call into it holds `PDFIUM`. A page's text comes from its
text page; each visual line keeps where it sits (left and right edges, baseline, type size)
and its runs of characters, indexed on the text page, so that the text built from the lines
maps back to the characters PDFium can box (`qa.readers.pdf_render` marks them). Pieces of one
visual row (table cells, a footer's left and right parts) are made one line, cells joined by
" | ". The reasons a PDF cannot be read (`Unreadable`) are found here.

Example:
    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> pdf.add_page(); pdf.set_font("helvetica", size=12)
    >>> for cell in ("North quay", "120", "8%"):
    ...     _ = pdf.cell(50, 10, cell)
    >>> with PDFIUM:
    ...     document = open_pdf(bytes(pdf.output()))
    ...     pages, scanned, damaged = page_lines(document)
    ...     _ = document.close()
    >>> [line.text for line in pages[0]], scanned, damaged
    (['North quay | 120 | 8%'], [], [])
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.cleaning import Span

if TYPE_CHECKING:
    import pypdfium2

# PDFium is not thread-safe: every call into it, in this process, holds this lock.
PDFIUM = threading.Lock()
# Pieces of text whose baselines are this close (in ems) are one row; this far apart (ems), cells of a table.
_SAME_ROW = 0.3
_CELL_EMS = 1.5
CELL_GAP = " | "
HYPHEN_MARKS = "\ufffe\x02"  # PDFium's mark for a hyphen that ended a line


class Unreadable(Exception):
    """Why a PDF cannot be read, in words that finish "<file>: ..."."""


@dataclass(frozen=True)
class Line:
    """One visual line of a page, where it sits (points), and its runs of characters: (index of
    the run's first character on the page's text page, its text, what goes before it)."""

    runs: tuple[tuple[int, str, str], ...]
    left: float
    right: float
    baseline: float
    size: float

    @functools.cached_property
    def text(self) -> str:
        return "".join(before + text for _, text, before in self.runs)

    @property
    def end(self) -> int:
        """Index on the text page of the line's last character."""
        first, text, _ = self.runs[-1]
        return first + len(text) - 1


def open_pdf(data: bytes) -> pypdfium2.PdfDocument:
    """The PDF as a PdfDocument; raises Unreadable saying why it cannot be opened."""
    import pypdfium2
    from pypdfium2 import raw

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code == raw.FPDF_ERR_PASSWORD:
            raise Unreadable("encrypted: it needs a password to open, and qa does not read protected PDFs") from error
        if code == raw.FPDF_ERR_SECURITY:
            raise Unreadable("encrypted with a security handler qa cannot read") from error
        raise Unreadable("damaged or truncated; PDFium cannot read it") from error
    if b"%%EOF" not in data[-2048:]:
        pdf.close()
        raise Unreadable("truncated: the file ends before the PDF's end-of-file marker")
    return pdf


def _page_text(textpage: pypdfium2.PdfTextPage) -> str:
    """The page's characters, one per character index of the text page."""
    from pypdfium2 import raw

    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count > 0 else ""
    if len(text) != count:  # characters outside the BMP come as surrogate pairs: ask one by one
        text = "".join(chr(raw.FPDFText_GetUnicode(textpage, i) or 0xFFFD) for i in range(count))
    return text


def _spans(text: str) -> Iterator[Span]:
    """The visual lines of a page's text as [start, end) spans: PDFium ends a line with a line
    break, or with its hyphen mark where it joined a hyphenated word to the next line."""
    for match in re.finditer(r"[^\r\n]+", text):
        start = match.start()
        for mark in re.finditer(f"[{HYPHEN_MARKS}]", match.group()):
            yield start, match.start() + mark.end()
            start = match.start() + mark.end()
        yield start, match.end()


def _lines(textpage: pypdfium2.PdfTextPage) -> list[Line]:
    """The page's visual lines, in PDFium's reading order, with their positions."""
    from pypdfium2 import raw

    text = _page_text(textpage)
    x, y = ctypes.c_double(), ctypes.c_double()
    lines = []
    for start, end in _spans(text):
        line = text[start:end]
        first = start + len(line) - len(line.lstrip())
        last = start + len(line.rstrip())
        if first >= last:
            continue
        raw.FPDFText_GetCharOrigin(textpage, first, x, y)
        size = raw.FPDFText_GetFontSize(textpage, first)
        runs = tuple(_cells(textpage, text, first, last, size))
        lines.append(Line(runs, x.value, textpage.get_charbox(last - 1)[2], y.value, size))
    return _rows(lines)


def _cells(textpage: pypdfium2.PdfTextPage, text: str, first: int, last: int,
           size: float) -> Iterator[tuple[int, str, str]]:
    """The runs of line [first, last): split where PDFium put a space of its own over a gap
    wider than an em and a half (between the cells of a table row), joined there by " | "."""
    from pypdfium2 import raw

    generated, handle = raw.FPDFText_IsGenerated, textpage.raw
    start, before = first, ""
    space = text.find(" ", first, last)
    while space != -1:
        if generated(handle, space) == 1 and space > start:
            gap = textpage.get_charbox(space + 1)[0] - textpage.get_charbox(space - 1)[2]
            if gap > _CELL_EMS * size:
                yield start, text[start:space], before
                start, before = space + 1, CELL_GAP
        space = text.find(" ", space + 1, last)
    yield start, text[start:last], before


def _rows(lines: Sequence[Line]) -> list[Line]:
    """`lines` with the pieces PDFium gives of one visual row (table cells, a footer's left and
    right parts) made one line: apart by a space, or by " | " across a gap wider than an em and a half."""
    rows: list[Line] = []
    for line in lines:
        prev = rows[-1] if rows else None
        if prev and abs(prev.baseline - line.baseline) < _SAME_ROW * prev.size and line.left >= prev.right - 1:
            gap = CELL_GAP if line.left - prev.right > _CELL_EMS * prev.size else " "
            runs = prev.runs + tuple((first, text, gap if i == 0 else before)
                                     for i, (first, text, before) in enumerate(line.runs))
            rows[-1] = Line(runs, prev.left, line.right, prev.baseline, prev.size)
        else:
            rows.append(line)
    return rows


def page_lines(pdf: pypdfium2.PdfDocument) -> tuple[list[list[Line]], list[int], list[int]]:
    """Every page's lines, the numbers of the pages that have no text but do have images, and
    of those PDFium cannot load (damaged)."""
    import pypdfium2
    from pypdfium2 import raw

    pages, scanned, damaged = [], [], []
    for number in range(1, len(pdf) + 1):
        lines: list[Line] = []
        try:
            page = pdf[number - 1]
        except pypdfium2.PdfiumError:
            damaged.append(number)
        else:
            try:
                textpage = page.get_textpage()
                lines = _lines(textpage)
                textpage.close()
                if not lines and next(page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE]), None) is not None:
                    scanned.append(number)
            except pypdfium2.PdfiumError:
                damaged.append(number)
            finally:
                page.close()
        pages.append(lines)
    return pages, scanned, damaged
