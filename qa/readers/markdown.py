"""Markdown (.md, .markdown): the file's text as decoded; YAML front matter `title:` and
`date:` win, then the first `# ` heading.

Example:
    >>> parsed = read("a.md", b"---\\ntitle: Budget Vote\\ndate: 2024-03-05\\n---\\n\\nThe council voted.\\n")
    >>> parsed.title, parsed.date, parsed.metadata
    ('Budget Vote', '2024-03-05', ((0, 44),))
"""

from __future__ import annotations

import re

from qa.cleaning import Span
from qa.dates import parse_date
from qa.readers.common import Parsed, decode_text
from qa.titles import flatten, head_lines

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_FIELD = re.compile(r"^(?P<key>title|date)\s*:\s*(?P<value>.*?)\s*$", re.MULTILINE | re.IGNORECASE)
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")


def read(source: str, data: bytes) -> Parsed:
    """A markdown file's text, with the title and date its front matter or first heading states."""
    text, warnings = decode_text(source, data)
    fields: dict[str, str] = {}
    metadata: tuple[Span, ...] = ()
    front = _FRONT_MATTER.match(text)
    if front:
        metadata = ((0, front.end()),)
        for match in _FRONT_FIELD.finditer(front["body"]):
            fields.setdefault(match["key"].lower(), match["value"].strip("\"'").strip())
    heading = None
    for start, end in head_lines(text, metadata):
        match = _ATX_H1.match(text[start:end])
        if match and flatten(match["title"]):
            heading = (flatten(match["title"]), (start, end))
            break
    return Parsed(
        text,
        title=flatten(fields.get("title", "")) or None,
        date=parse_date(fields.get("date", "")),
        metadata=metadata,
        warnings=warnings,
        heading=heading,
        strip_markup=True,
    )
