"""PDF (.pdf) with pypdfium2: the text of every page in reading order, and pages drawn on demand.

Each page's text comes from PDFium's text page, line by line (`qa.readers.pdf_lines`), and the
lines are joined back into paragraphs (`qa.readers.pdf_paragraphs`): a line that runs to its
column's right edge continues on the next line (a hyphen at its end is dropped when the word
goes on in lower case, "infor-" + "mation" -> "information", unless the document spells that
word with a hyphen elsewhere); a short line, a change of font size or a wider gap ends it.
Lines that recur at the top or bottom of most pages (running headers and footers, page
numbers, with digits counted as alike) are left out. The document text is the pages' text, a
paragraph that runs over a page break joined with a space, pages otherwise apart by a blank
line; `Parsed.pages` says where each page starts. Title: the metadata title when it is a
real one, else the first large-type line of page 1; date: a dateline in the text, else the
creation date in the metadata.

A PDF without a text layer (a scan), one that needs a password, and a damaged or truncated
one raise `DocumentError` naming the reason.

The page viewer's `page_count`, `page_of` and `render_page` (a page drawn as a PNG with ranges
of the document text marked on it) are `qa.readers.pdf_render`'s, and reachable from here.

Example:
    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> pdf.add_page()
    >>> pdf.set_font("helvetica", size=12)
    >>> _ = pdf.multi_cell(0, 6, "The harbour trust spent its budget on dredging the channel.")
    >>> parsed = read("trust.pdf", bytes(pdf.output()))
    >>> parsed.text, parsed.pages
    ('The harbour trust spent its budget on dredging the channel.', (0,))
"""

from __future__ import annotations

from qa.dates import metadata_date
from qa.errors import DocumentError
from qa.readers.common import Parsed
from qa.readers.pdf_layout import extract
from qa.readers.pdf_lines import Unreadable
from qa.readers.pdf_render import RENDER_WIDTH, page_count, page_of, render_page
from qa.titles import stated_title


def read(source: str, data: bytes) -> Parsed:
    """The text of a PDF, where each page starts in it, and its title and date (see the module docstring)."""
    try:
        layout = extract(data)
    except Unreadable as reason:
        raise DocumentError(f"{source}: {reason}; skipped") from None
    return Parsed(
        layout.text,
        title=stated_title(layout.metadata.get("Title")),
        file_date=metadata_date(layout.metadata.get("CreationDate")),
        pages=layout.pages,
        warnings=tuple(f"{source}: {warning}" for warning in layout.warnings),
        heading=layout.heading,
    )


__all__ = ["RENDER_WIDTH", "page_count", "page_of", "read", "render_page"]
