"""Load one source file into a `Document`: text, title, date, content and pages.

The file's bytes are read once and handed to the reader its suffix names (`qa.readers`).
Offsets (the `content` spans, a passage's `start:end`) refer to `Document.text`. For .txt
and .md that is the file's text as decoded, with universal newlines ("\\r\\n" and "\\r"
become "\\n"); for a UTF-8 file exactly `path.read_text(encoding="utf-8")`; a file in
another encoding is read as `qa.readers.common` describes, with a warning naming the
reading. For .html, .pdf and .docx it is the text the reader extracted. `content` marks the
spans of `text` that are the article itself (see `qa.cleaning`); titles, datelines,
captions and comment widgets lie outside it. `pages` holds where each page starts in `text`
for paged formats (PDF).

Every problem with a file raises `DocumentError` with a message naming the file.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "note.txt").write_text(
    ...     "Troops Leave Iraq\\n\\nMay 2, 2024\\n\\nThe last troops left the base on Monday morning.\\n")
    >>> doc = load_document(root / "note.txt", root)
    >>> doc.title, doc.date, doc.pages
    ('Troops Leave Iraq', '2024-05-02', ())
    >>> [doc.text[start:end] for start, end in doc.content]
    ['The last troops left the base on Monday morning.']
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.cleaning import Span, content_spans
from qa.dates import is_date_line, parse_date
from qa.errors import DocumentError
from qa.readers import READERS, SUPPORTED_SUFFIXES, Parsed, supported_types
from qa.titles import head_lines, line_of, readable_stem, shorten, title_line

__all__ = ["Document", "build", "load_document", "page_range", "parse_date"]


@dataclass(frozen=True)
class Document:
    """One loaded source file.

    `text` is the file's text (.txt/.md: the file as decoded, universal newlines; for UTF-8
    exactly `read_text(encoding="utf-8")`; .html/.pdf/.docx: the extracted text). `title` is
    at most 150 characters. `content` holds sorted, non-overlapping `[start, end)` spans of
    `text` that are article content; nothing outside them is ever shown as an answer.
    `pages` holds the offset in `text` where each page starts (empty for unpaged formats)."""

    source: str
    title: str
    date: str | None
    text: str
    content: tuple[Span, ...]
    warnings: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()


def page_range(pages: tuple[int, ...], start: int, end: int) -> tuple[int, int] | None:
    """The first and last 1-based page that text range [start, end) lies on, given where each
    page starts (`Document.pages`); None for an unpaged document.

    >>> page_range((0, 120, 300), 10, 20), page_range((0, 120, 300), 100, 130), page_range((), 5, 9)
    ((1, 1), (1, 2), None)
    """
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, start)), max(1, bisect.bisect_right(pages, max(start, end - 1)))


def _date_in_head(text: str, head: list[Span]) -> tuple[str | None, Span | None]:
    """The first date stated in the head lines, and the span of its line if that line is
    nothing but the date (so it is metadata, not content)."""
    for start, end in head:
        line = text[start:end]
        iso = parse_date(line)
        if iso:
            return iso, (start, end) if is_date_line(line) else None
    return None, None


def build(source: str, path: Path, parsed: Parsed) -> Document:
    """The Document a reader's output makes: title, date and content found in its text, the
    ones the file states winning; `path` names the file (its stem is the title of last resort).

    >>> from qa.readers import Parsed
    >>> build("a.txt", Path("a.txt"), Parsed("Short note about the harbour.")).title
    'A'
    """
    text = parsed.text
    head = head_lines(text, parsed.metadata)
    found = parsed.heading or title_line(text, head, parsed.strip_markup)
    title = parsed.title or (found[0] if found else None) or readable_stem(path)
    title_span = line_of(text, head, title) if parsed.title else (found[1] if found else None)
    date, date_line = _date_in_head(text, head)
    metadata = parsed.metadata + ((date_line,) if date_line and date_line != title_span else ())
    content = content_spans(text, title_line=title_span, metadata=metadata)
    return Document(source, shorten(title), parsed.date or date or parsed.file_date, text, content,
                    parsed.warnings, parsed.pages)


def _source_name(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form ("sub/a.txt")."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError) as error:
            raise DocumentError(f"{path}: not inside the sources folder {root}") from error


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
    empty, not-text, damaged or (with `max_bytes`) too large file."""
    source = _source_name(path, root)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        shown = f"'{path.suffix}'" if path.suffix else "(no extension)"
        raise DocumentError(f"{source}: unsupported file type {shown} (qa reads {supported_types()})")
    if data is None:
        data = _read_bytes(source, path, max_bytes)
    elif max_bytes is not None and len(data) > max_bytes:
        raise DocumentError(f"{source}: larger than {max_bytes} bytes; skipped")
    if not data:
        raise DocumentError(f"{source}: empty file; skipped")
    return build(source, path, reader(source, data))


def source_files(root: Path, supported_only: bool = False) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every file under `root`, in path order: the one walk that
    decides what the sources folder holds (indexing, change detection, duplicate uploads).

    Hidden files and folders (a leading "."; the trash, editors' swap files, uploads being
    written) are left out, and with `supported_only` files no reader takes. Symlinks are
    listed, not followed into folders.

    Example:
        >>> [rel for rel, _ in source_files(Path("sources"))]   # doctest: +SKIP
        ['us-military-presence-in-iraq-post-withdrawal.txt', 'us-to-withdraw-most-troops-from-iraq.txt']
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = Path(dirpath)
        inside = os.path.relpath(dirpath, root)  # once a folder: a big folder is walked at every update
        prefix = "" if inside == "." else inside.replace(os.sep, "/") + "/"
        for name in sorted(filenames):
            if name.startswith(".") or (supported_only and os.path.splitext(name)[1].lower() not in SUPPORTED_SUFFIXES):
                continue
            yield prefix + name, folder / name
