"""A PDF's pages for the page viewer: how many there are, which one a text offset falls on, and
one drawn as a PNG with ranges of the document text marked on it.

The ranges are offsets into the text `qa.readers.pdf` extracts (a passage's start and end); the
extraction's runs map them back to PDFium's characters, whose boxes are marked. Kept apart from
the reader: reading a PDF needs none of this, and drawing needs Pillow.

Example:
    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> for words in ("The dredging starts in May.", "The quay reopens in June."):
    ...     pdf.add_page(); pdf.set_font("helvetica", size=12); _ = pdf.multi_cell(0, 6, words)
    >>> data = bytes(pdf.output())
    >>> page_count(data), page_of(data, 30), render_page(data, 2, [(33, 37)])[:8]
    (2, 2, b'\\x89PNG\\r\\n\\x1a\\n')
"""

from __future__ import annotations

import bisect
import collections
import ctypes
import hashlib
import io
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from qa.cleaning import Span
from qa.errors import DocumentError
from qa.readers.pdf_layout import Layout, extract
from qa.readers.pdf_lines import PDFIUM, Unreadable, open_pdf

if TYPE_CHECKING:
    import pypdfium2

# Pages are drawn this wide (pixels) unless asked otherwise: a page of body text reads well.
RENDER_WIDTH = 1200
_HIGHLIGHT = (255, 214, 0, 90)
_STRONG = (255, 120, 0, 120)


_recent: collections.OrderedDict[bytes, Layout] = collections.OrderedDict()
_recent_lock = threading.Lock()


def _layout(data: bytes) -> Layout:
    """The extracted layout of a PDF. The last two are kept, keyed by a hash of their bytes,
    not by the bytes (which would keep up to two 50 MB files in memory)."""
    key = hashlib.sha256(data).digest()
    with _recent_lock:
        if key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
    layout = extract(data)
    with _recent_lock:
        _recent[key] = layout
        while len(_recent) > 2:
            _recent.popitem(last=False)
    return layout


def page_count(data: bytes) -> int:
    """How many pages the PDF has; raises DocumentError for one that cannot be opened.

    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> pdf.add_page(); pdf.add_page()
    >>> page_count(bytes(pdf.output()))
    2
    """
    with PDFIUM:
        try:
            pdf = open_pdf(data)
        except Unreadable as reason:
            raise DocumentError(str(reason)) from None
        try:
            return len(pdf)
        finally:
            pdf.close()


def page_of(data: bytes, offset: int) -> int:
    """The 1-based page of a PDF that offset `offset` of its extracted text falls on (a
    passage's `highlight_start`, say: the page to show); raises DocumentError for a PDF that
    cannot be read.

    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> for words in ("The first page.", "The second page."):
    ...     pdf.add_page(); pdf.set_font("helvetica", size=12); _ = pdf.cell(0, 10, words)
    >>> data = bytes(pdf.output())
    >>> extract(data).text, page_of(data, 17)
    ('The first page.\\n\\nThe second page.', 2)
    """
    try:
        pages = _layout(data).pages
    except Unreadable as reason:
        raise DocumentError(str(reason)) from None
    return max(1, bisect.bisect_right(pages, offset))


def _characters(runs: Sequence[tuple[int, int, int]], start: int, end: int) -> Iterator[tuple[int, int]]:
    """(first character index, count) on the page for the part of text range [start, end) on it."""
    for offset, index, length in runs:
        lo, hi = max(start, offset), min(end, offset + length)
        if lo < hi:
            yield index + lo - offset, hi - lo


def render_page(data: bytes, page: int, highlights: Sequence[Span] = (), strong: Sequence[Span] = (),
                width: int = RENDER_WIDTH) -> bytes:
    """Page `page` (1-based) of a PDF as a PNG `width` pixels wide, with the characters of the
    document-text ranges `highlights` marked in translucent yellow and those of `strong` in orange.
    Ranges are offsets into the text `read` extracted (a passage's start and end); the parts of
    them on other pages are ignored. Raises DocumentError for a page that does not exist or a
    PDF that cannot be read.

    >>> from fpdf import FPDF
    >>> pdf = FPDF()
    >>> pdf.add_page()
    >>> pdf.set_font("helvetica", size=12)
    >>> _ = pdf.cell(0, 10, "The quay reopens in May.")
    >>> from PIL import Image
    >>> Image.open(io.BytesIO(render_page(bytes(pdf.output()), 1, [(4, 8)], width=600))).size
    (600, 849)
    """
    from PIL import Image, ImageDraw

    try:
        layout = _layout(data)
    except Unreadable as reason:
        raise DocumentError(str(reason)) from None
    if not 1 <= page <= len(layout.pages):
        raise DocumentError(f"page {page} does not exist (the PDF has {len(layout.pages)} pages)")
    runs = layout.runs[page - 1]
    import pypdfium2

    with PDFIUM:
        pdf = open_pdf(data)
        try:
            pdf_page = pdf[page - 1]
            scale = width / pdf_page.get_width()
            image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
            boxes = [(colour, box) for ranges, colour in ((highlights, _HIGHLIGHT), (strong, _STRONG))
                     for start, end in ranges for box in _boxes(pdf_page, runs, start, end, image.size)]
        except pypdfium2.PdfiumError as error:
            raise DocumentError(f"page {page} cannot be drawn: PDFium cannot read it ({error})") from error
        finally:
            pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for colour, box in boxes:
        draw.rectangle(box, fill=colour)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _boxes(pdf_page: pypdfium2.PdfPage, runs: Sequence[tuple[int, int, int]], start: int, end: int,
           size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (left, top, right, bottom) over the characters of text range [start, end) on this page."""
    from pypdfium2 import raw

    textpage = pdf_page.get_textpage()
    x, y = ctypes.c_int(), ctypes.c_int()

    def device(px: float, py: float) -> tuple[int, int]:
        raw.FPDF_PageToDevice(pdf_page, 0, 0, size[0], size[1], 0, px, py, x, y)
        return x.value, y.value

    boxes = []
    for first, count in _characters(runs, start, end):
        for i in range(textpage.count_rects(first, count)):
            left, bottom, right, top = textpage.get_rect(i)
            (x0, y0), (x1, y1) = device(left, top), device(right, bottom)
            boxes.append((min(x0, x1) - 2, min(y0, y1) - 2, max(x0, x1) + 2, max(y0, y1) + 2))
    textpage.close()
    return boxes
