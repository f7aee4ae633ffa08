"""A PDF read once, whole: its text, where each page starts, and how the text maps to PDFium's characters.

`extract` opens the PDF (`qa.readers.pdf_lines`), joins its lines into the document text
(`qa.readers.pdf_paragraphs`), and finds page 1's heading (its first large-type line) and the
pages it could not read (scanned, damaged). The reader (`qa.readers.pdf.read`) makes a `Parsed`
of it; page drawing (`qa.readers.pdf_render`) uses its runs to mark ranges of the text on a page.

Example:
    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> pdf.set_title("Quay Repairs")
    >>> pdf.add_page(); pdf.set_font("helvetica", size=12); _ = pdf.cell(0, 10, "The north quay reopens in May.")
    >>> layout = extract(bytes(pdf.output()))
    >>> layout.text, layout.pages, layout.runs, layout.metadata["Title"]
    ('The north quay reopens in May.', (0,), (((0, 0, 30),),), 'Quay Repairs')
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from qa.cleaning import Span
from qa.readers.pdf_lines import PDFIUM, Line, Unreadable, open_pdf, page_lines
from qa.readers.pdf_paragraphs import join_pages
from qa.titles import headline

# Type this much larger than the body's is a heading.
_HEADING_SIZE = 1.2
_HEAD_LINES = 8


@dataclass(frozen=True)
class Layout:
    """A PDF's extracted text, where each page starts in it, and for each page the runs
    (text offset, character index, length) that map the text back to PDFium's characters."""

    text: str
    pages: tuple[int, ...]
    runs: tuple[tuple[tuple[int, int, int], ...], ...]
    heading: tuple[str, Span] | None
    metadata: dict[str, str]
    warnings: tuple[str, ...]


def _pages_note(numbers: Sequence[int], what: str) -> str:
    """ "page 3 has <what>" or "pages 3, 7 have <what>"."""
    which = f"page {numbers[0]} has" if len(numbers) == 1 else f"pages {', '.join(map(str, numbers))} have"
    return f"{which} {what}"


def _heading(text: str, lines: Sequence[Line], spans: Sequence[Span], body: float) -> tuple[str, Span] | None:
    """The first line on page 1 set in type clearly larger than the body's `body` size (with the
    lines in its size that follow it), if it reads as a headline."""
    for i, line in enumerate(lines[:_HEAD_LINES]):
        if line.size >= _HEADING_SIZE * body:
            end = i + 1
            while end < len(lines) and abs(lines[end].size - line.size) < 0.5:
                end += 1
            span = (spans[i][0], spans[end - 1][1])
            title = headline(text[span[0] : span[1]])
            return (title, span) if title else None
    return None


def extract(data: bytes) -> Layout:
    """Read the whole PDF; raises Unreadable saying why it cannot be read."""
    with PDFIUM:
        pdf = open_pdf(data)
        try:
            metadata = pdf.get_metadata_dict(skip_empty=True)
            pages, scanned, damaged = page_lines(pdf)
        finally:
            pdf.close()
    if not any(pages):
        if scanned:
            raise Unreadable("no text layer; it looks scanned, and qa does not do OCR")
        raise Unreadable("damaged; PDFium cannot read its pages" if damaged else "no text in this PDF")
    writer, first = join_pages(pages)
    text = "".join(writer.parts)
    body = statistics.median(line.size for lines in pages for line in lines)
    heading = _heading(text, [line for line, _ in first], [span for _, span in first], body)
    warnings = tuple(_pages_note(numbers, what) for numbers, what in (
        (scanned, "no text layer (scanned?); qa does not do OCR, so that text is missing"),
        (damaged, "damage PDFium cannot read past, so that text is missing")) if numbers)
    return Layout(text, tuple(writer.pages), tuple(map(tuple, writer.runs)), heading, metadata, warnings)
