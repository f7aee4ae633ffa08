"""Plain text (.txt): the file's text as decoded; title and date come from its head lines.

Example:
    >>> read("a.txt", b"Bridge Closes\\n\\nThe old bridge closes for repairs.\\n").text
    'Bridge Closes\\n\\nThe old bridge closes for repairs.\\n'
"""

from __future__ import annotations

from qa.readers.common import Parsed, decode_text


def read(source: str, data: bytes) -> Parsed:
    """The text of a plain-text file (see `qa.readers.common.decode_text`)."""
    text, warnings = decode_text(source, data)
    return Parsed(text, warnings=warnings)
