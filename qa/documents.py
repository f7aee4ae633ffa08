"""Load one source file (.txt, .md, .html) into a `Document`: text, title, date, content.

Offsets (the `content` spans, a passage's `start:end`) refer to `Document.text`. For .txt and
.md that is the file's text as decoded, with universal newlines ("\\r\\n" and "\\r" become
"\\n"); for a UTF-8 file exactly `path.read_text(encoding="utf-8")`. A file that is not valid
UTF-8 is read as UTF-8 with its undecodable bytes replaced when most of its non-ASCII
characters do decode as UTF-8; otherwise in the encoding `charset-normalizer` finds
(Windows-1252 whenever that is among its plausible readings), so the text is e.g.
`path.read_text(encoding="cp1252")`. Either way a warning names the reading. Content that does
not look like text (binary or random bytes) is refused. HTML files are reduced to their
visible text. `content` marks the spans of `text` that are the article itself (see
`qa.cleaning`); titles, datelines, captions and comment widgets lie outside it.

Every problem with a file raises `DocumentError` with a message naming the file.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "note.txt").write_text(
    ...     "Troops Leave Iraq\\n\\nMay 2, 2024\\n\\nThe last troops left the base on Monday morning.\\n")
    >>> doc = load_document(root / "note.txt", root)
    >>> doc.title, doc.date
    ('Troops Leave Iraq', '2024-05-02')
    >>> [doc.text[start:end] for start, end in doc.content]
    ['The last troops left the base on Monday morning.']
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import charset_normalizer

from qa.cleaning import Span, content_spans, is_junk, is_widget, iter_paragraphs, word_count
from qa.config import SUPPORTED_SUFFIXES
from qa.errors import DocumentError

_MARKDOWN_SUFFIXES = (".md", ".markdown")
_HTML_SUFFIXES = (".html", ".htm")
_BINARY_PROBE_BYTES = 8192
_HEAD_LINES = 10
_MAX_TITLE_WORDS = 30
_MAX_TITLE_CHARS = 150
_MIN_SENTENCE_WORDS = 8


@dataclass(frozen=True)
class Document:
    """One loaded source file.

    `text` is the file's text (.txt/.md: the file as decoded, universal newlines; for UTF-8
    exactly `read_text(encoding="utf-8")`; .html: the extracted visible text). `title` is at
    most 150 characters. `content` holds sorted, non-overlapping `[start, end)` spans of
    `text` that are article content; nothing outside them is ever shown as an answer."""

    source: str
    title: str
    date: str | None
    text: str
    content: tuple[Span, ...]
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------- dates

_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    re.compile(
        rf"\b(?P<month>{_MONTH})\b\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b,?\s+(?P<year>\d{{4}})\b",
        re.I,
    ),
    re.compile(
        rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH})\b\.?,?\s+(?P<year>\d{{4}})\b",
        re.I,
    ),
)
_WEEKDAY = re.compile(r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b\.?", re.I)


def _iso(match: re.Match[str]) -> str | None:
    """The ISO date a pattern match names, or None if no such day exists (Feb 30)."""
    month = match["month"]
    number = int(month) if month.isdigit() else _MONTHS.index(month[:3].lower()) + 1
    try:
        day = dt.date(int(match["year"]), number, int(match["day"]))
    except ValueError:
        return None
    return day.isoformat() if 1900 <= day.year <= 2100 else None


def _date_matches(line: str) -> list[tuple[re.Match[str], str]]:
    """Every valid date in `line` with its ISO form, in order of position."""
    found = [(m, _iso(m)) for pattern in _DATE_PATTERNS for m in pattern.finditer(line)]
    return sorted(((m, iso) for m, iso in found if iso), key=lambda pair: pair[0].start())


def parse_date(value: str) -> str | None:
    """The first valid date written in `value` as ISO "YYYY-MM-DD", else None.

    >>> parse_date("Saturday, September 14, 2024"), parse_date("14 SEPT 2024"), parse_date("Feb 30, 2024")
    ('2024-09-14', '2024-09-14', None)
    """
    matches = _date_matches(value)
    return matches[0][1] if matches else None


def _is_date_line(line: str) -> bool:
    """True for a line that is a date and little else ("Posted on Sept. 14, 2024")."""
    matches = _date_matches(line)
    if not matches:
        return False
    rest = line[: matches[0][0].start()] + " " + line[matches[0][0].end() :]
    return word_count(_WEEKDAY.sub(" ", rest)) <= 2


# ---------------------------------------------------------------- titles and head lines


def _flatten(value: str) -> str:
    """`value` on one line: BOM dropped, whitespace runs (NBSP included) made single spaces."""
    return " ".join(value.replace("\ufeff", " ").split())


def _shorten(title: str) -> str:
    """`title` cut to at most 150 characters, at a word boundary in its second half if there is
    one, ending in "…"."""
    if len(title) <= _MAX_TITLE_CHARS:
        return title
    cut = title[: _MAX_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= _MAX_TITLE_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _readable_stem(path: Path) -> str:
    """A title made from the file name: "us-troops_2024" -> "Us troops 2024"."""
    words = " ".join(re.split(r"[-_.\s]+", path.stem)).strip() or path.name
    return words[:1].upper() + words[1:]


def _is_body_sentence(block: str) -> bool:
    """True for a paragraph that is plainly body prose: eight or more words ending in a period."""
    return word_count(block) >= _MIN_SENTENCE_WORDS and block.rstrip("\"'”’)").endswith(".")


def _head_lines(text: str, skip: tuple[Span, ...] = ()) -> list[Span]:
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


def _headline(line: str) -> str | None:
    """`line` cleaned up as a title if it reads like a headline, else None."""
    title = _flatten(line)
    if (
        not title
        or _is_date_line(title)
        or is_junk(title)
        or is_widget(title)
        or word_count(title) > _MAX_TITLE_WORDS
        or (title.endswith(".") and not title.endswith(".."))
    ):
        return None
    return title


def _title_line(text: str, head: list[Span], strip_markup: bool) -> tuple[str, Span] | None:
    """The first head line that reads as a headline, with its span."""
    for start, end in head:
        line = text[start:end]
        if strip_markup:
            line = line.lstrip("#").strip().strip("*_").strip()
        title = _headline(line)
        if title:
            return title, (start, end)
    return None


def _date_in_head(text: str, head: list[Span]) -> tuple[str | None, Span | None]:
    """The first date stated in the head lines, and the span of its line if that line is
    nothing but the date (so it is metadata, not content)."""
    for start, end in head:
        line = text[start:end]
        iso = parse_date(line)
        if iso:
            return iso, (start, end) if _is_date_line(line) else None
    return None, None


def _line_of(text: str, head: list[Span], title: str) -> Span | None:
    """The head line that holds exactly `title`, if any."""
    wanted = _flatten(title).lstrip("#").strip().casefold()
    return next(
        (
            (start, end)
            for start, end in head
            if _flatten(text[start:end]).lstrip("#").strip().casefold() == wanted
        ),
        None,
    )


@dataclass(frozen=True)
class _Parsed:
    """What a format-specific reader found: text plus any title/date stated as metadata."""

    text: str
    title: str | None = None
    date: str | None = None
    metadata: tuple[Span, ...] = ()
    warnings: tuple[str, ...] = ()
    strip_markup: bool = False
    heading: tuple[str, Span] | None = None


def _build(source: str, path: Path, parsed: _Parsed) -> Document:
    """Find title, date and content in a reader's text, the stated ones winning."""
    text = parsed.text
    head = _head_lines(text, parsed.metadata)
    found = parsed.heading or _title_line(text, head, parsed.strip_markup)
    title = parsed.title or (found[0] if found else None) or _readable_stem(path)
    title_line = _line_of(text, head, title) if parsed.title else (found[1] if found else None)
    date, date_line = _date_in_head(text, head)
    metadata = parsed.metadata + ((date_line,) if date_line and date_line != title_line else ())
    content = content_spans(text, title_line=title_line, metadata=metadata)
    return Document(source, _shorten(title), parsed.date or date, text, content, parsed.warnings)


# ---------------------------------------------------------------- decoding

_DETECT_BYTES = 1 << 20
_DETECT_LEAD_BYTES = 1 << 16
_SAMPLE_PIECES = 8
_SAMPLE_PIECE_CHARS = 1 << 16
_MAX_ODD_SHARE = 0.05
_MAX_SYMBOL_SHARE = 0.2
_TEXT_CONTROLS = "\t\n\r\f"
_ASCII_SYMBOLS = "$+<=>^`|~"
_NON_TEXT_CATEGORIES = ("Cc", "Cn", "Co", "Cs")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_WINDOWS_CODEC = re.compile(r"cp(125\d)")


def _decode_universal(data: bytes, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Decode as `Path.read_text(encoding=..., errors=...)` does: universal newlines."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline=None).read()


def _sample(text: str) -> str:
    """`text`, or for a long one eight evenly spaced 64K-character pieces of it."""
    if len(text) <= _SAMPLE_PIECES * _SAMPLE_PIECE_CHARS:
        return text
    step = len(text) // _SAMPLE_PIECES
    return "".join(text[i * step : i * step + _SAMPLE_PIECE_CHARS] for i in range(_SAMPLE_PIECES))


def _odd_shares(text: str) -> tuple[float, float]:
    """In a sample of `text`: the share of characters that are never text (controls other than
    tab, newline, return and form feed; unassigned, private-use or surrogate code points;
    U+FFFD), and the share that are non-ASCII symbols (box drawing, math, emoji)."""
    sample = _sample(text)
    categories = Counter(map(unicodedata.category, sample))
    replaced = sample.count("\ufffd")
    odd = sum(categories[c] for c in _NON_TEXT_CATEGORIES) - sum(map(sample.count, _TEXT_CONTROLS)) + replaced
    symbols = sum(n for c, n in categories.items() if c[0] == "S") - sum(map(sample.count, _ASCII_SYMBOLS))
    size = max(len(sample), 1)
    return odd / size, (symbols - replaced) / size


def _looks_like_text(text: str, *, guessed: bool = False) -> bool:
    """True unless over 5% of `text` is never-text characters, or, for a `guessed` encoding's
    reading, over 20% is non-ASCII symbols (what random bytes read in a wrong code page become)."""
    odd, symbols = _odd_shares(text)
    return odd <= _MAX_ODD_SHARE and not (guessed and symbols > _MAX_SYMBOL_SHARE)


def _mostly_utf8(data: bytes) -> bool:
    """True if, decoding `data` as UTF-8 with replacement, more non-ASCII characters decode than
    are replaced: a UTF-8 file with a few stray bytes, not another encoding."""
    replaced = data.decode("utf-8", "replace")
    bad = replaced.count("\ufffd")
    non_ascii = len(replaced) - len(replaced.encode("ascii", "ignore"))
    return non_ascii - bad > bad


def _detection_sample(data: bytes) -> bytes:
    """Up to 1 MB of `data` around its first non-ASCII byte, cut at line ends."""
    first = _NON_ASCII.search(data)
    start = max(0, (first.start() if first else 0) - _DETECT_LEAD_BYTES)
    if start:
        start = data.find(b"\n", start) + 1 or start
    sample = data[start : start + _DETECT_BYTES]
    if start + _DETECT_BYTES < len(data) and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    return sample


def _candidate_codecs(data: bytes) -> list[str]:
    """The encodings to try, best first: Windows-1252 if charset-normalizer counts it among the
    plausible readings of a sample (for short Western texts it often ranks cp1250 or mac_latin2,
    which read the same bytes alike, first), then its best guess; none if it finds none."""
    matches = list(charset_normalizer.from_bytes(_detection_sample(data)))
    if not matches:
        return []
    plausible = {name for match in matches for name in (match.encoding, *match.could_be_from_charset)}
    return (["cp1252"] if "cp1252" in plausible else []) + [matches[0].encoding]


def _encoding_label(codec: str) -> str:
    """A codec's name for people: "cp1252" -> "Windows-1252 (cp1252)"."""
    windows = _WINDOWS_CODEC.fullmatch(codec)
    return f"Windows-{windows[1]} ({codec})" if windows else codec


def _read_non_utf8(source: str, data: bytes, fallback: str = "utf-8") -> tuple[str, tuple[str, ...]]:
    """Text from bytes that are not valid UTF-8: `fallback` (UTF-8) with replacement when most
    non-ASCII characters decode, else the first candidate encoding whose strict decoding looks
    like text, else the replacement reading anyway. The warning says which reading it is."""
    if not _mostly_utf8(data):
        for codec in _candidate_codecs(data):
            try:
                text = _decode_universal(data, codec)
            except UnicodeDecodeError:
                continue
            if _looks_like_text(text, guessed=True):
                label = _encoding_label(codec)
                return text, (f"{source}: not UTF-8; read as {label}; offsets refer to the text as decoded",)
    return _decode_universal(data, fallback, "replace"), (f"{source}: not valid UTF-8; undecodable bytes replaced",)


def _refuse_non_text(source: str, text: str) -> None:
    """Raise DocumentError if `text` does not look like text."""
    if not _looks_like_text(text):
        raise DocumentError(f"{source}: does not look like text (random or binary bytes); skipped")


# ---------------------------------------------------------------- plain text and markdown


def _read_text(source: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """The file's text: exactly `read_text(encoding="utf-8")` for UTF-8, else as
    `_read_non_utf8` reads it, with a warning."""
    try:
        return _decode_universal(data), ()
    except UnicodeDecodeError:
        return _read_non_utf8(source, data)


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_FIELD = re.compile(r"^(?P<key>title|date)\s*:\s*(?P<value>.*?)\s*$", re.M | re.I)
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")


def _markdown(text: str, warnings: tuple[str, ...]) -> _Parsed:
    """Markdown: YAML front matter `title:`/`date:` win, then the first `# ` heading."""
    fields: dict[str, str] = {}
    metadata: tuple[Span, ...] = ()
    front = _FRONT_MATTER.match(text)
    if front:
        metadata = ((0, front.end()),)
        for match in _FRONT_FIELD.finditer(front["body"]):
            fields.setdefault(match["key"].lower(), match["value"].strip("\"'").strip())
    heading = None
    for start, end in _head_lines(text, metadata):
        match = _ATX_H1.match(text[start:end])
        if match and _flatten(match["title"]):
            heading = (_flatten(match["title"]), (start, end))
            break
    return _Parsed(
        text,
        title=_flatten(fields.get("title", "")) or None,
        date=parse_date(fields.get("date", "")),
        metadata=metadata,
        warnings=warnings,
        strip_markup=True,
        heading=heading,
    )


# ---------------------------------------------------------------- HTML

_SKIPPED_TAGS = frozenset(
    "script style noscript template svg nav header footer aside form iframe button select "
    "title figcaption".split()
)
_BLOCK_TAGS = frozenset(
    "address article blockquote body dd details dialog div dl dt fieldset figure h1 h2 h3 h4 "
    "h5 h6 hgroup hr html li main ol p pre section summary table tbody thead tfoot tr ul "
    "caption center".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_DATE_META = ("article:published_time", "datepublished", "date", "pubdate", "publishdate", "dc.date")
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)


class _HTMLText(HTMLParser):
    """Collect an HTML page's visible text as blocks, plus its title, h1, and date hints."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.title = ""
        self.h1: list[tuple[str, bool]] = []  # (text, visible)
        self.meta: dict[str, str] = {}
        self.time: str | None = None
        self._lines: list[str] = []
        self._line: list[str] = []
        self._skipping: list[str] = []
        self._pre = 0
        self._title: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop") or "").lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag == "time" and self.time is None and values.get("datetime"):
            self.time = values["datetime"]
        if tag in _BLOCK_TAGS:
            self._end_block()
        elif tag == "br":
            self._end_line()
        elif tag in _CELL_TAGS:
            self._line.append(" ")
        if tag == "pre":
            self._pre += 1
        if tag == "title":
            self._title = []
        if tag == "h1":
            self._heading = []
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping.pop() != tag:
                pass
        if tag == "title" and self._title is not None:
            self.title = self.title or _flatten("".join(self._title))
            self._title = None
        if tag == "h1" and self._heading is not None:
            self.h1.append((_flatten("".join(self._heading)), not self._skipping))
            self._heading = None
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK_TAGS:
            self._end_block()

    def handle_data(self, data: str) -> None:
        for capture in (self._title, self._heading):
            if capture is not None:
                capture.append(data)
        if self._skipping:
            return
        if not self._pre:
            self._line.append(data)
            return
        first, *rest = data.split("\n")
        self._line.append(first)
        for line in rest:
            self._end_line()
            self._line.append(line)

    def close(self) -> None:
        super().close()
        self._end_block()

    def _end_line(self) -> None:
        line = " ".join("".join(self._line).split())
        if line:
            self._lines.append(line)
        self._line = []

    def _end_block(self) -> None:
        self._end_line()
        if self._lines:
            self.blocks.append("\n".join(self._lines))
        self._lines = []


def _decode_html(source: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """HTML bytes as text: UTF-8, else the codec a `<meta charset>` names, else as
    `_read_non_utf8` reads them (with a warning)."""
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
    return _read_non_utf8(source, data, fallback="utf-8-sig")


def _strip_site_name(title: str) -> str:
    """Drop a trailing site name: "Headline | Site" -> "Headline" (pipes only; headlines use dashes)."""
    head, bar, site = title.rpartition(" | ")
    return head.strip() if bar and head.strip() and len(site) < len(head) else title


def _html(source: str, data: bytes) -> _Parsed:
    """HTML: visible text; title from a visible <h1>, og:title, <title>, or a hidden <h1>;
    date from article:published_time, <time datetime>, or a date meta tag."""
    markup, warnings = _decode_html(source, data)
    _refuse_non_text(source, markup)
    parser = _HTMLText()
    parser.feed(markup.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    text = "\n\n".join(parser.blocks)
    if not text.strip():
        raise DocumentError(f"{source}: no visible text in this HTML page; skipped")
    candidates = [
        *(heading for heading, visible in parser.h1 if visible),
        _flatten(parser.meta.get("og:title", "")),
        _strip_site_name(parser.title),
        *(heading for heading, visible in parser.h1 if not visible),
    ]
    stated = [parser.meta.get(key, "") for key in _DATE_META[:1]] + [parser.time or ""]
    stated += [parser.meta.get(key, "") for key in _DATE_META[1:]]
    date = next((iso for iso in map(parse_date, stated) if iso), None)
    title = next((candidate for candidate in candidates if candidate), None)
    return _Parsed(text, title=title, date=date, warnings=warnings)


# ---------------------------------------------------------------- loading


def _source_name(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form ("sub/a.txt")."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError) as error:
            raise DocumentError(f"{path}: not inside the sources folder {root}") from error


def _utf16_as_utf8(source: str, data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """UTF-16 text (it starts with a byte-order mark) as UTF-8 bytes, with a warning that the
    document's offsets refer to that UTF-8 text, not to the file's bytes."""
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as error:
        raise DocumentError(f"{source}: starts like UTF-16 text but does not decode ({error.reason}); skipped") from error
    return text.encode("utf-8"), (f"{source}: UTF-16 text, read as UTF-8; save it as UTF-8 to keep offsets in step",)


def _read_bytes(source: str, path: Path, max_bytes: int | None) -> bytes:
    """The file's bytes, or a DocumentError saying why they cannot be had."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise DocumentError(f"{source}: larger than {max_bytes} bytes; skipped")
        return path.read_bytes()
    except OSError as error:
        raise DocumentError(f"{source}: cannot read the file ({error.strerror or error}); skipped") from error


def load_document(path: Path, root: Path, *, max_bytes: int | None = None, data: bytes | None = None) -> Document:
    """Load `path` (inside the sources folder `root`) as a Document.

    `data`, if given, is the file's content already read (the indexer hashes and parses the
    very same bytes, so a file rewritten meanwhile can never be stored under another
    content's hash). Raises DocumentError for an unsupported suffix, an unreadable, binary,
    empty, not-text or (with `max_bytes`) too large file."""
    source = _source_name(path, root)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{path.suffix}'" if path.suffix else "(no extension)"
        readable = ", ".join(SUPPORTED_SUFFIXES)
        raise DocumentError(f"{source}: unsupported file type {shown} (qa reads {readable})")
    if data is None:
        data = _read_bytes(source, path, max_bytes)
    elif max_bytes is not None and len(data) > max_bytes:
        raise DocumentError(f"{source}: larger than {max_bytes} bytes; skipped")
    notes: tuple[str, ...] = ()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(codecs.BOM_UTF32_LE):
        data, notes = _utf16_as_utf8(source, data)
    if b"\x00" in data[:_BINARY_PROBE_BYTES]:
        raise DocumentError(f"{source}: looks like a binary file, not text; skipped")
    if suffix in _HTML_SUFFIXES:
        if not data.strip():
            raise DocumentError(f"{source}: empty file; skipped")
        return _build(source, path, _html(source, data))
    text, warnings = _read_text(source, data)
    if not text.replace("\ufeff", " ").strip():  # not _flatten: a 50 MB file's words would all be held
        raise DocumentError(f"{source}: empty file; skipped")
    _refuse_non_text(source, text)
    warnings = notes + warnings
    parsed = _markdown(text, warnings) if suffix in _MARKDOWN_SUFFIXES else _Parsed(text, warnings=warnings)
    return _build(source, path, parsed)
