"""The readers: one module per file format, each `read(source, data) -> Parsed`.

`READERS` maps a lower-case suffix to its reader; `SUPPORTED_SUFFIXES` and every message
that lists the readable types come from it, so a new format is one module and one line here.
Only the modules imported below are formats; the others here are helpers with no `read`,
never registered: `common` (what readers share), `pdf_*` and `html_*` (parts of the PDF and
HTML readers, each named for what it does).

Example:
    >>> from qa.readers import READERS, supported_types
    >>> READERS[".md"].__module__, supported_types()
    ('qa.readers.markdown', '.txt, .md, .markdown, .html, .htm, .pdf, .docx')
"""

from __future__ import annotations

from collections.abc import Callable

from qa.readers import docx, html, markdown, pdf, text
from qa.readers.common import Parsed

Reader = Callable[[str, bytes], Parsed]

READERS: dict[str, Reader] = {
    ".txt": text.read,
    ".md": markdown.read,
    ".markdown": markdown.read,
    ".html": html.read,
    ".htm": html.read,
    ".pdf": pdf.read,
    ".docx": docx.read,
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(READERS)


def supported_types(last: str = ", ") -> str:
    """The readable suffixes for a message, in registry order; `last` joins the final pair.

    >>> supported_types(" or ")
    '.txt, .md, .markdown, .html, .htm, .pdf or .docx'
    """
    head, tail = SUPPORTED_SUFFIXES[:-1], SUPPORTED_SUFFIXES[-1]
    return f"{', '.join(head)}{last}{tail}" if head else tail


__all__ = ["READERS", "SUPPORTED_SUFFIXES", "Parsed", "Reader", "supported_types"]
