"""Word documents (.docx) with python-docx: the body's paragraphs and tables, in order.

Each paragraph is a block of its own (headings included); a table is a block of rows, its
cells joined by " | " (a merged cell once). Headers, footers and comments are left out.
Title: the core properties' title when it is a real one, else the first paragraph styled
Title or Heading 1; date: a dateline in the text, else the core properties' creation date.

Example:
    >>> import io, docx
    >>> document = docx.Document()
    >>> _ = document.add_heading("Quay Repairs", level=1)
    >>> _ = document.add_paragraph("The north quay reopens in May after repairs.")
    >>> buffer = io.BytesIO()
    >>> document.save(buffer)
    >>> parsed = read("quay.docx", buffer.getvalue())
    >>> parsed.text, parsed.heading
    ('Quay Repairs\\n\\nThe north quay reopens in May after repairs.', ('Quay Repairs', (0, 12)))
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from qa.cleaning import Span
from qa.dates import metadata_date
from qa.errors import DocumentError
from qa.readers.common import Parsed
from qa.titles import flatten, stated_title

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table

_CELL_SEPARATOR = " | "
_TITLE_STYLES = ("title", "heading 1")


def _rows(table: Table) -> str:
    """A table's rows as lines, each merged cell once."""
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(_CELL_SEPARATOR.join(cells))
    return "\n".join(lines)


def _blocks(document: Document) -> tuple[list[str], tuple[str, Span] | None]:
    """The body's blocks in order, and the first Title or Heading 1 paragraph with its span
    in the blocks joined by blank lines."""
    from docx.table import Table

    blocks: list[str] = []
    size = 0
    heading: tuple[str, Span] | None = None
    for item in document.iter_inner_content():
        block = _rows(item) if isinstance(item, Table) else item.text.strip()
        if not block:
            continue
        style = "" if isinstance(item, Table) or item.style is None else (item.style.name or "").lower()
        start = size + (2 if blocks else 0)
        if heading is None and style in _TITLE_STYLES and flatten(block):
            heading = (flatten(block), (start, start + len(block)))
        blocks.append(block)
        size = start + len(block)
    return blocks, heading


def read(source: str, data: bytes) -> Parsed:
    """The text of a Word document, with the title and date its properties or first heading state."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        blocks, heading = _blocks(document)
        core = document.core_properties
        title, created = stated_title(core.title), metadata_date(core.created)
    except (zipfile.BadZipFile, PackageNotFoundError) as error:
        raise DocumentError(f"{source}: not a readable Word document (not a .docx package; an old .doc, "
                            "or a password-protected file?); skipped") from error
    except Exception as error:  # a damaged package fails in zipfile, zlib, lxml or python-docx alike
        raise DocumentError(f"{source}: not a readable Word document (damaged: {error}); skipped") from error
    if not blocks:
        raise DocumentError(f"{source}: no text in this Word document; skipped")
    return Parsed("\n\n".join(blocks), title=title, file_date=created, heading=heading)
