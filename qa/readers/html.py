"""Web pages (.html, .htm): the article's text, read like a reader would.

qa's own rules read every visible block (`qa.readers.html_blocks`: nothing in nav, header,
footer, aside, form or scripts), and `trafilatura` (the field's standard for boilerplate
removal) says which of it is the article: the lines it leaves out (menus and cookie banners
written as plain <div>s, share bars, related links, comments) count as furniture, never as
content; where trafilatura finds nothing, the rules alone decide (`qa.cleaning`). Either way,
lines the markup marks as furniture (class names, ARIA roles, hidden, the fine print that ends
a page: `qa.readers.html_furniture`) are furniture too. bench/bench_html.py compares this
"hybrid" with trafilatura alone and with the rules alone (EXTRACTORS). The document text is
the visible blocks joined by blank lines: offsets refer to it.

Title: a visible <h1>, the longest heading the <title> holds, og:title, <title> (without a
trailing " | Site"), or a hidden <h1>. Date: article:published_time, <time datetime>, a date
meta tag, a dateline at the top of the text, then what `htmldate` finds in the page's markup
(never in its prose).

Example:
    >>> page = (b"<html><head><title>Bridge Closes | Gazette</title></head><body><nav>Home News Sport</nav>"
    ...         b"<article><h1>Bridge Closes</h1><p>The old bridge closes for three months of repairs.</p>"
    ...         b"</article></body></html>")
    >>> parsed = read("bridge.html", page)
    >>> parsed.title, parsed.text
    ('Bridge Closes', 'Bridge Closes\\n\\nThe old bridge closes for three months of repairs.')
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from qa.cleaning import Span
from qa.dates import parse_date
from qa.errors import DocumentError
from qa.readers.common import Parsed, read_non_utf8, refuse_non_text, text_bytes
from qa.readers.html_blocks import HTMLText, parse
from qa.readers.html_furniture import marked_lines
from qa.titles import flatten

if TYPE_CHECKING:
    from lxml.etree import _Element

# How the article is found: "hybrid" (see above; used); "trafilatura": trafilatura's text alone
# (favouring recall), "trafilatura-default": the same with its default setting; "rules": qa's
# rules alone. All fall back to "rules" where trafilatura finds nothing.
EXTRACTORS = ("hybrid", "trafilatura", "trafilatura-default", "rules")
_COVERED = 0.6

_DATE_META = ("article:published_time", "datepublished", "date", "pubdate", "publishdate", "dc.date")
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_CELL_SEPARATOR = " | "
# Characters lxml (under trafilatura and htmldate) refuses: C0 controls other than tab and line breaks.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _decode_html(source: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """HTML bytes as text: UTF-8, else the codec a `<meta charset>` names, else as
    `read_non_utf8` reads them (with a warning)."""
    try:
        return data.decode("utf-8-sig"), ()
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            codec = codecs.lookup(declared[1].decode("ascii")).name
            if codec != "utf-8":
                return data.decode(codec), ()
        except (LookupError, UnicodeDecodeError):
            pass
    return read_non_utf8(source, data, fallback="utf-8-sig")


def _strip_site_name(title: str) -> str:
    """Drop a trailing site name: "Headline | Site" -> "Headline" (pipes only; headlines use dashes)."""
    head, bar, site = title.rpartition(" | ")
    return head.strip() if bar and head.strip() and len(site) < len(head) else title


def _inline(element: _Element) -> str:
    """The text of a trafilatura XML element, its <lb/> line breaks kept as newlines."""
    parts = [element.text or ""]
    for child in element:
        parts.append("\n" if child.tag == "lb" else _inline(child))
        parts.append(child.tail or "")
    return "\n".join(" ".join(line.split()) for line in "".join(parts).split("\n")).strip("\n")


def _xml_blocks(element: _Element) -> list[str]:
    """The text blocks of trafilatura's XML, in order: a heading, paragraph, quote or code
    block each; a list one block of item lines; a table one block of rows, cells joined by " | "."""
    blocks: list[str] = []
    for child in element:
        if child.tag == "list":
            block = "\n".join(_inline(item) for item in child.iter("item") if _inline(item))
        elif child.tag == "table":
            rows = (_CELL_SEPARATOR.join(_inline(cell) for cell in row.iter("cell")) for row in child.iter("row"))
            block = "\n".join(row for row in rows if row.strip(" |"))
        elif child.tag in ("div", "main", "body"):
            blocks += _xml_blocks(child)
            continue
        else:
            block = _inline(child)
        if block.strip():
            blocks.append(block)
    return blocks


def main_text(markup: str, *, recall: bool = True) -> list[str]:
    """The article's blocks as trafilatura extracts them (tables kept, comments dropped; with
    `recall`, its setting that keeps more of the text); [] when it finds none.

    >>> page = "<html><body><div>Menu</div><article><p>" + "The bridge reopens. " * 20 + "</p></article>"
    >>> main_text(page)[0][:40]
    'The bridge reopens. The bridge reopens. '
    """
    import trafilatura  # imported here: it takes a third of a second, and only HTML needs it
    from lxml import etree

    xml = trafilatura.extract(markup, output_format="xml", include_comments=False, include_tables=True,
                              include_images=False, include_formatting=False, include_links=False,
                              favor_recall=recall)
    if not xml:
        return []
    main = etree.fromstring(xml.encode("utf-8")).find("main")
    return _xml_blocks(main) if main is not None else []


def _title(parser: HTMLText) -> str | None:
    """The page's title: a visible <h1>; else the longest h1–h3 heading (of two words or more)
    that the <title> or og:title holds, site name and all; else og:title, <title> without a
    trailing " | Site", or a hidden <h1>."""
    stated = (flatten(parser.meta.get("og:title", "")), parser.title)
    in_title = sorted((text for _, text, _ in parser.headings
                       if len(text.split()) >= 2 and any(text.casefold() in title.casefold() for title in stated)),
                      key=len, reverse=True)
    candidates = [
        *(text for tag, text, visible in parser.headings if tag == "h1" and visible),
        *in_title,
        stated[0],
        _strip_site_name(parser.title),
        *(text for tag, text, visible in parser.headings if tag == "h1" and not visible),
    ]
    return next((candidate for candidate in candidates if candidate), None)


def _markup_date(markup: str) -> str | None:
    """The publication date `htmldate` finds in the page's markup (metadata, URLs, structured data).

    The markup goes in as bytes: a string that starts with "http" and has no space (a page that
    is only a link) htmldate would take for an address and download.
    """
    import htmldate

    found = htmldate.find_date(markup.encode("utf-8"), extensive_search=False, original_date=True)
    return parse_date(found) if found else None


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _grams(words: list[str], n: int) -> list[tuple[str, ...]]:
    """The runs of `n` consecutive words."""
    return list(zip(*(words[i:] for i in range(n)), strict=False))


def _text_and_furniture(markup: str, parser: HTMLText, extractor: str) -> tuple[str, tuple[Span, ...]]:
    """The page's text, and the spans of it that are not the article, as `extractor` (see
    EXTRACTORS) finds them. In the hybrid a line is the article's when 60% of its word
    trigrams (bigrams, words for shorter lines) are in trafilatura's text, and the markup does
    not mark it as furniture (`marked_lines`); the rules use the markup's marks alone."""
    main = main_text(markup, recall=extractor != "trafilatura-default") if extractor != "rules" else []
    if extractor.startswith("trafilatura") and main:
        return "\n\n".join(main), ()
    text = "\n\n".join(parser.blocks)
    if not text:
        return text, ()
    words = _words("\n".join(main))
    known = {n: set(_grams(words, n)) for n in (1, 2, 3)}
    spans, start, lines = [], 0, 0
    for line, marked in zip(text.split("\n"), marked_lines(parser.line_pieces), strict=True):
        found = _words(line)
        grams = _grams(found, min(3, len(found)))
        if grams and (marked or (main and sum(gram in known[len(gram)] for gram in grams) < _COVERED * len(grams))):
            spans.append((start, start + len(line)))
        start += len(line) + 1
        lines += bool(grams)
    return text, tuple(spans) if len(spans) < lines else ()


def read(source: str, data: bytes, *, extractor: str = "hybrid") -> Parsed:
    """A web page's article text (found by `extractor`, one of EXTRACTORS), with the title and
    date its markup states."""
    data, notes = text_bytes(source, data)
    if not data.strip():
        raise DocumentError(f"{source}: empty file; skipped")
    markup, warnings = _decode_html(source, data)
    refuse_non_text(source, markup)
    parser = parse(markup)
    safe = _NOT_XML.sub(" ", markup)
    text, furniture = _text_and_furniture(safe, parser, extractor)
    if not text.strip():
        raise DocumentError(f"{source}: no visible text in this HTML page; skipped")
    title = _title(parser)
    stated = [parser.meta.get(key, "") for key in _DATE_META[:1]] + [parser.time or ""]
    stated += [parser.meta.get(key, "") for key in _DATE_META[1:]]
    date = next((iso for iso in map(parse_date, stated) if iso), None)
    return Parsed(text, title=title, date=date, file_date=None if date else _markup_date(safe),
                  metadata=furniture, warnings=notes + warnings)
