"""What every reader returns (`Parsed`), and turning a text file's bytes into text.

Text formats (.txt, .md, .html) share the decoding rules: UTF-8 as `Path.read_text` reads
it; UTF-16 with a byte-order mark re-read as UTF-8 (with a warning); a file that is not
valid UTF-8 read as UTF-8 with its undecodable bytes replaced when most of its non-ASCII
characters decode, otherwise in the encoding `charset-normalizer` finds (Windows-1252
whenever that is among its plausible readings), with a warning naming the reading. Content
that does not look like text (binary or random bytes) is refused with a `DocumentError`.

Example:
    >>> decode_text("a.txt", "Caf\\xe9 Opens\\r\\n".encode("cp1252"))
    ('Café Opens\\n', ('a.txt: not UTF-8; read as Windows-1252 (cp1252); offsets refer to the text as decoded',))
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import charset_normalizer

from qa.cleaning import Span
from qa.errors import DocumentError


@dataclass(frozen=True)
class Parsed:
    """What a reader found in one file.

    `text` is the text passage offsets refer to. `title` and `date` are stated by the file's
    metadata and win over what the text's head lines say; `file_date` (a file property such
    as a PDF's creation date) is used only when the text states no date. `metadata` spans of
    `text` are never content. `pages` holds the offset in `text` where each page starts
    (empty for unpaged formats). `heading` is a title line the reader recognised by its
    markup, with its span; `strip_markup` says head lines may carry markdown marks."""

    text: str
    title: str | None = None
    date: str | None = None
    file_date: str | None = None
    metadata: tuple[Span, ...] = ()
    pages: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    heading: tuple[str, Span] | None = None
    strip_markup: bool = False


_BINARY_PROBE_BYTES = 8192
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


def decode_universal(data: bytes, encoding: str = "utf-8", errors: str = "strict") -> str:
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


def read_non_utf8(source: str, data: bytes, fallback: str = "utf-8") -> tuple[str, tuple[str, ...]]:
    """Text from bytes that are not valid UTF-8: `fallback` (UTF-8) with replacement when most
    non-ASCII characters decode, else the first candidate encoding whose strict decoding looks
    like text, else the replacement reading anyway. The warning says which reading it is."""
    if not _mostly_utf8(data):
        for codec in _candidate_codecs(data):
            try:
                text = decode_universal(data, codec)
            except UnicodeDecodeError:
                continue
            if _looks_like_text(text, guessed=True):
                label = _encoding_label(codec)
                return text, (f"{source}: not UTF-8; read as {label}; offsets refer to the text as decoded",)
    return decode_universal(data, fallback, "replace"), (f"{source}: not valid UTF-8; undecodable bytes replaced",)


def refuse_non_text(source: str, text: str) -> None:
    """Raise DocumentError if `text` does not look like text."""
    if not _looks_like_text(text):
        raise DocumentError(f"{source}: does not look like text (random or binary bytes); skipped")


def _utf16_as_utf8(source: str, data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """UTF-16 text (it starts with a byte-order mark) as UTF-8 bytes, with a warning that the
    document's offsets refer to that UTF-8 text, not to the file's bytes."""
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as error:
        message = f"{source}: starts like UTF-16 text but does not decode ({error.reason}); skipped"
        raise DocumentError(message) from error
    return text.encode("utf-8"), (f"{source}: UTF-16 text, read as UTF-8; save it as UTF-8 to keep offsets in step",)


def text_bytes(source: str, data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """A text file's bytes as UTF-8-compatible bytes (UTF-16 re-encoded, with a warning);
    raises DocumentError for a binary file (a zero byte near the start)."""
    notes: tuple[str, ...] = ()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(codecs.BOM_UTF32_LE):
        data, notes = _utf16_as_utf8(source, data)
    if b"\x00" in data[:_BINARY_PROBE_BYTES]:
        raise DocumentError(f"{source}: looks like a binary file, not text; skipped")
    return data, notes


def decode_text(source: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """A plain-text file's text and warnings: exactly `read_text(encoding="utf-8")` for UTF-8,
    else as `read_non_utf8` reads it. Raises DocumentError for a binary, empty or not-text file."""
    data, notes = text_bytes(source, data)
    try:
        text, warnings = decode_universal(data), ()
    except UnicodeDecodeError:
        text, warnings = read_non_utf8(source, data)
    if not text.replace("\ufeff", " ").strip():  # not split(): a 50 MB file's words would all be held
        raise DocumentError(f"{source}: empty file; skipped")
    refuse_non_text(source, text)
    return text, notes + warnings
