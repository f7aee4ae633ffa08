"""Check an uploaded article and place it in the sources folder, safely.

`save_upload` never lets the uploaded name choose where the file goes: only a cleaned
basename is kept, the file always lands directly in the sources folder, and an existing
file is never overwritten (a free name such as "report-2.txt" is picked instead). The
bytes are checked first, by loading a temporary copy exactly as the indexer will, so a
file that cannot be indexed (wrong type, empty, binary, over the limit for its type) or
that repeats an article already in the folder never lands there. Every refusal is a
`DocumentError` whose message says what to do.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> save_upload(folder, "../../notes/Oslo report.txt", b"Oslo\\n\\nThe council met on Monday.").name
    'Oslo report.txt'
    >>> save_upload(folder, "photo.png", b"\\x89PNG\\r\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qa.errors.DocumentError: photo.png: unsupported file type '.png' (upload .txt, .md, ..., .pdf or .docx files); ...
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from qa.config import SUPPORTED_SUFFIXES
from qa.documents import load_document, source_files
from qa.errors import DocumentError
from qa.readers import supported_types

# The upload limits, by type: change them here. Text formats are articles, and 5 MB keeps the page
# responsive; PDF and Word files carry fonts, images and layout, so the same text takes far more
# bytes: they may be as large as the indexer reads (Settings.max_file_bytes).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_DOCUMENT_UPLOAD_BYTES = 50 * 1024 * 1024
DOCUMENT_SUFFIXES = (".pdf", ".docx")
UPLOAD_LIMITS: Mapping[str, int] = MappingProxyType(
    {suffix: MAX_DOCUMENT_UPLOAD_BYTES if suffix in DOCUMENT_SUFFIXES else MAX_UPLOAD_BYTES
     for suffix in SUPPORTED_SUFFIXES})
_MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w .()+,-]+")


def safe_name(filename: str) -> str:
    """The basename of `filename`, reduced to harmless characters; never hidden, never a path.

    Example:
        >>> safe_name("../../etc/passwd.txt"), safe_name("C:\\\\temp\\\\..\\\\x.txt"), safe_name(".bashrc.md")
        ('passwd.txt', 'x.txt', 'bashrc.md')
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" ._")
    if len(base) > _MAX_NAME_CHARS:
        suffix = Path(base).suffix[:16]
        base = base[: _MAX_NAME_CHARS - len(suffix)].rstrip(" ._") + suffix
    return base or "upload"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_duplicate(sources_dir: Path, data: bytes) -> Path | None:
    """A supported file under `sources_dir` with exactly these bytes, or None.

    Only files of the same size are read, so this stays cheap on a large folder.

    Example:
        >>> find_duplicate(Path("sources"), b"no article has these bytes")   # doctest: +SKIP
    """
    size, digest = len(data), None
    for _, path in source_files(sources_dir, supported_only=True):
        try:
            if path.stat().st_size != size:
                continue
            digest = digest or _digest(data)
            if _digest(path.read_bytes()) == digest:
                return path
        except OSError:
            continue
    return None


def _free_names(name: str) -> Iterator[str]:
    """`name`, then "stem-2.ext", "stem-3.ext", ... for when a file of that name exists."""
    stem, suffix = Path(name).stem, Path(name).suffix
    yield name
    n = 2
    while True:
        yield f"{stem}-{n}{suffix}"
        n += 1


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def limits_text(limits: Mapping[str, int] = UPLOAD_LIMITS) -> str:
    """The upload limits in words: the smallest, then the types allowed more.

    Example:
        >>> limits_text()
        'up to 5 MB; .pdf and .docx up to 50 MB'
    """
    smallest = min(limits.values())
    larger = sorted({size for size in limits.values() if size > smallest})
    parts = [f"up to {_megabytes(smallest)}"]
    for size in larger:
        *head, tail = [suffix for suffix, limit in limits.items() if limit == size]
        parts.append(f"{', '.join(head)}{' and ' if head else ''}{tail} up to {_megabytes(size)}")
    return "; ".join(parts)


def check_size(name: str, size: int, limits: Mapping[str, int] = UPLOAD_LIMITS) -> None:
    """DocumentError if `size` bytes is over the upload limit for the type of `name` (a readable type
    missing from `limits` gets the smallest there); an unreadable type is left to the type check.

    Example:
        >>> check_size("report.pdf", 6 * 1024 * 1024)
        >>> check_size("notes.txt", 6 * 1024 * 1024)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        qa.errors.DocumentError: notes.txt: 6.0 MB is over the 5 MB upload limit for .txt files (split it, ...
    """
    suffix = Path(name).suffix.lower()
    limit = limits.get(suffix, min(limits.values()))
    if suffix in SUPPORTED_SUFFIXES and size > limit:
        raise DocumentError(f"{name}: {size / 1024 / 1024:.1f} MB is over the {_megabytes(limit)} upload limit for "
                            f"{suffix} files (split it, or copy it into the sources folder); nothing was added")


def _check(name: str, data: bytes, limits: Mapping[str, int]) -> None:
    """DocumentError unless `data` would be indexed as an article named `name`."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "(no extension)"
        raise DocumentError(f"{name}: unsupported file type {shown} (upload {supported_types(' or ')} files); "
                            "nothing was added")
    if not data.strip():
        raise DocumentError(f"{name}: the file is empty; nothing was added")
    check_size(name, len(data), limits)
    with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
        probe = Path(tmp) / name
        probe.write_bytes(data)
        try:
            load_document(probe, Path(tmp))
        except DocumentError as exc:
            raise DocumentError(str(exc).removesuffix("; skipped") + "; nothing was added") from exc


def save_upload(sources_dir: str | Path, filename: str, data: bytes, *,
                limits: Mapping[str, int] = UPLOAD_LIMITS) -> Path:
    """Check `data` and write it into `sources_dir` under a safe, unused name; returns the new path.

    Raises DocumentError (nothing written) for an unsupported type, an empty, binary or
    unreadable file, one over the limit for its type (`limits`: suffix -> bytes), or bytes
    identical to a file already in the folder.

    Example:
        >>> save_upload("sources", "tromso.txt", b"Zebra crossings\\n\\nTromso painted 17 purple crossings.")  # doctest: +SKIP
        PosixPath('sources/tromso.txt')
    """
    folder = Path(sources_dir)
    if not folder.is_dir():
        raise DocumentError(f"the sources folder {folder} does not exist")
    name = safe_name(filename)
    _check(name, data, limits)
    duplicate = find_duplicate(folder, data)
    if duplicate is not None:
        raise DocumentError(f"{name}: same content as {duplicate.relative_to(folder).as_posix()}, "
                            "already in the collection; nothing was added")
    # Write under a hidden name (the indexer skips dot-files), then link it into place: a
    # question's rescan never sees a half-written file, and a failed write leaves nothing.
    part = Path(tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)[1])
    try:
        part.write_bytes(data)
        for candidate in _free_names(name):
            target = folder / candidate
            try:
                os.link(part, target)  # fails if the name is taken: never overwrites
            except FileExistsError:
                continue
            return target
        raise AssertionError("unreachable: _free_names never ends")
    except OSError as exc:
        raise DocumentError(f"{name}: could not be saved ({exc.strerror or exc}); nothing was added") from exc
    finally:
        part.unlink(missing_ok=True)
