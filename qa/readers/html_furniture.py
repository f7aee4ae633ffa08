"""Which parts of a web page its markup marks as furniture (menus, banners, ads, fine print), not the article.

An element is furniture when its class or id has one of Mozilla Readability's tell-tales (and
does not also name the article), when its ARIA role is not the article's, or when it is
hidden; fine print is <small>, a tiny <font> or CSS font size. While the page is parsed, `Marks`
tracks which marked elements hold each piece of text; `marked_lines` then says which lines are
furniture: mostly inside a furniture element, or in the run of fine print that ends the page.
The HTML reader (`qa.readers.html`) counts these lines as furniture whatever trafilatura says.

Example:
    >>> is_furniture_element({"class": "cookie-banner"}), is_furniture_element({"class": "article-body"})
    (True, False)
    >>> article, menu = [(120, (), ())], [(30, (0,), ())]  # a line's pieces: (characters, furniture, fine print)
    >>> marked_lines([[article], [menu]])
    [False, False, True]
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Mozilla Readability's tell-tales of page furniture in an element's class and id (its
# "unlikelyCandidates"), unless they also name the article (its "okMaybeItsACandidate"); and the
# ARIA roles of what is not the article.
_FURNITURE_NAMES = re.compile(
    r"-ad-|ai2html|banner|breadcrumbs|combx|comment|community|cover-wrap|disqus|extra|footer|gdpr|header|legends"
    r"|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|social|sponsor|supplemental|ad-break|agegate"
    r"|pagination|pager|popup|yom-remote", re.IGNORECASE)
_ARTICLE_NAMES = re.compile(r"and|article|body|column|content|main|mathjax|shadow", re.IGNORECASE)
# Words of a class or id (split at anything not a letter or digit) that Readability's pattern
# misses: advertising, promotion, sign-up and appeal boxes, consent banners, share bars.
_FURNITURE_WORDS = frozenset((
    "ad", "ads", "advert", "advertisement", "consent", "cookie", "cookies", "donate", "newsletter", "promo",
    "share", "sharebar", "signup", "sponsored", "subscribe", "support"
))
_FURNITURE_ROLES = frozenset((
    "alert", "alertdialog", "banner", "complementary", "contentinfo", "dialog", "menu", "menubar", "navigation",
    "search"
))
# Fine print: <small>, <font size="1"> (or -2, -3), a CSS font-size of x-small or less.
_FINE_FONT_SIZES = frozenset(("1", "-2", "-3"))
_FINE_STYLE = re.compile(r"font-size\s*:\s*(?:xx?-small|[0-9](?:\.\d+)?px)", re.IGNORECASE)
# A marked element holding this share of a page's text is a wrapper around it all, not furniture.
_WRAPPER_SHARE = 0.8
# Elements that hold the article by definition, whatever their class says ("has-comments").
NEVER_FURNITURE = frozenset(("html", "body", "article", "main"))


def is_furniture_element(values: dict[str, str]) -> bool:
    """Whether an element's attributes mark it as furniture: Readability's class and id rule,
    a non-article ARIA role, or hidden."""
    names = f"{values.get('class', '')} {values.get('id', '')}"
    named = _FURNITURE_NAMES.search(names) is not None or not _FURNITURE_WORDS.isdisjoint(
        re.split(r"[^a-z0-9]+", names.lower()))
    return ((named and _ARTICLE_NAMES.search(names) is None)
            or values.get("role", "").strip().lower() in _FURNITURE_ROLES
            or "hidden" in values or values.get("aria-hidden", "").lower() == "true")


def is_fine_print(tag: str, values: dict[str, str]) -> bool:
    return (tag == "small" or (tag == "font" and values.get("size", "").strip() in _FINE_FONT_SIZES)
            or _FINE_STYLE.search(values.get("style", "")) is not None)


@dataclass
class _Open:
    """A marked element still open: its tag, how many same-named elements are open at or
    inside it (it closes when that reaches 0), and its number."""

    tag: str
    depth: int
    number: int


class Marks:
    """The open elements of one kind (furniture, fine print), matched to their end tags; each
    marked element gets a number, so that a line can say which ones hold it."""

    def __init__(self) -> None:
        self._open: list[_Open] = []
        self._count = 0

    @property
    def holding(self) -> tuple[int, ...]:
        """The numbers of the marked elements open now."""
        return tuple(entry.number for entry in self._open)

    def start(self, tag: str, marked: bool) -> None:
        for entry in self._open:
            entry.depth += entry.tag == tag
        if marked:
            self._open.append(_Open(tag, 1, self._count))
            self._count += 1

    def end(self, tag: str) -> None:
        for entry in self._open:
            entry.depth -= entry.tag == tag
        self._open = [entry for entry in self._open if entry.depth > 0]


# A line's text in pieces: (visible characters, furniture elements holding it, fine print holding it).
Piece = tuple[int, tuple[int, ...], tuple[int, ...]]


def marked_lines(line_pieces: list[list[list[Piece]]]) -> list[bool]:
    """For each line of the page's text (blocks joined by blank lines): whether the markup marks
    it as furniture: mostly inside a furniture-named element (`is_furniture_element`), or in
    the run of fine-print lines that ends the page (credits, legal lines, links). A marked
    element holding _WRAPPER_SHARE of the page's text or more is a wrapper (a `<div
    class="site has-sidebar">` around everything), not furniture, and is not counted."""
    lines = [line for block in line_pieces for line in [*block, None]][:-1]  # None: a blank line
    total = sum(chars for line in lines if line for chars, _, _ in line)
    held: list[Counter[int]] = [Counter(), Counter()]
    for line in filter(None, lines):
        for chars, *marks in line:
            for kind, numbers in enumerate(marks):
                held[kind].update(dict.fromkeys(numbers, chars))
    wrappers = [{number for number, chars in counts.items() if chars >= _WRAPPER_SHARE * total} for counts in held]

    def mostly(line: list[Piece], kind: int) -> bool:
        marked = sum(piece[0] for piece in line if set(piece[kind + 1]) - wrappers[kind])
        return 2 * marked > sum(piece[0] for piece in line)

    end = len(lines)
    while end and (lines[end - 1] is None or mostly(lines[end - 1], 1)):
        end -= 1
    return [line is not None and (mostly(line, 0) or (index >= end and mostly(line, 1)))
            for index, line in enumerate(lines)]
