"""Titles: reading a headline from a document's head lines or metadata, and cutting it to size.

Example:
    >>> text = "Posted by admin\\n\\nHarbour Festival Returns\\n\\nThe festival returns this summer, organisers said."
    >>> title_line(text, head_lines(text))
    ('Harbour Festival Returns', (17, 41))
    >>> stated_title("Microsoft Word - draft3.docx"), stated_title("  Annual   Report 2023 ")
    (None, 'Annual Report 2023')
"""

from __future__ import annotations

import re
from pathlib import PurePath

from qa.cleaning import Span, is_junk, is_widget, iter_paragraphs, word_count
from qa.dates import is_date_line

_HEAD_LINES = 10
_MAX_TITLE_WORDS = 30
_MAX_TITLE_CHARS = 150
_MIN_SENTENCE_WORDS = 8
# Metadata titles that name a file, a template or nothing rather than the document.
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:microsoft\s+\w+\s+-\s+.*|untitled\b.*|document\s*\d*|title|slide\s*\d*|presentation\d*|unknown|none"
    r"|.*\.(?:docx?|pdf|odt|rtf|txt|html?|indd|qxd|tex|pptx?|xlsx?))$",
    re.IGNORECASE,
)


def flatten(value: str) -> str:
    """`value` on one line: BOM dropped, whitespace runs (NBSP included) made single spaces.

    >>> flatten("  Troops\\u00a0 Leave\\nIraq ")
    'Troops Leave Iraq'
    """
    return " ".join(value.replace("\ufeff", " ").split())


def shorten(title: str) -> str:
    """`title` cut to at most 150 characters, at a word boundary in its second half if there is
    one, ending in "…".

    >>> len(shorten("word " * 100)), shorten("Short")
    (145, 'Short')
    """
    if len(title) <= _MAX_TITLE_CHARS:
        return title
    cut = title[: _MAX_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= _MAX_TITLE_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def readable_stem(path: PurePath) -> str:
    """A title made from the file name.

    >>> readable_stem(PurePath("us-troops_2024.txt"))
    'Us troops 2024'
    """
    words = " ".join(re.split(r"[-_.\s]+", path.stem)).strip() or path.name
    return words[:1].upper() + words[1:]


def stated_title(value: str | None) -> str | None:
    """A metadata title if it names the document (not a file name, template or placeholder), flattened."""
    title = flatten(value or "")
    if not title or _PLACEHOLDER_TITLE.match(title) or not any(c.isalpha() for c in title):
        return None
    return title


def _is_body_sentence(block: str) -> bool:
    """True for a paragraph that is plainly body prose: eight or more words ending in a period."""
    return word_count(block) >= _MIN_SENTENCE_WORDS and block.rstrip("\"'”’)").endswith(".")


def head_lines(text: str, skip: tuple[Span, ...] = ()) -> list[Span]:
    """The lines at the top of `text` that may hold a title or date: up to ten one-line
    paragraphs (outside `skip`), stopping at the first body sentence."""
    head: list[Span] = []
    for start, end in iter_paragraphs(text, skip):
        block = text[start:end]
        if len(head) >= _HEAD_LINES or _is_body_sentence(block):
            break
        if "\n" not in block and not any(s <= start < e for s, e in skip):
            head.append((start, end))
    return head


def headline(line: str) -> str | None:
    """`line` cleaned up as a title if it reads like a headline, else None."""
    title = flatten(line)
    if (
        not title
        or is_date_line(title)
        or is_junk(title)
        or is_widget(title)
        or word_count(title) > _MAX_TITLE_WORDS
        or (title.endswith(".") and not title.endswith(".."))
    ):
        return None
    return title


def title_line(text: str, head: list[Span], strip_markup: bool = False) -> tuple[str, Span] | None:
    """The first head line that reads as a headline, with its span."""
    for start, end in head:
        line = text[start:end]
        if strip_markup:
            line = line.lstrip("#").strip().strip("*_").strip()
        title = headline(line)
        if title:
            return title, (start, end)
    return None


def line_of(text: str, head: list[Span], title: str) -> Span | None:
    """The head line that holds exactly `title`, if any."""
    wanted = flatten(title).lstrip("#").strip().casefold()
    return next(
        (
            (start, end)
            for start, end in head
            if flatten(text[start:end]).lstrip("#").strip().casefold() == wanted
        ),
        None,
    )
