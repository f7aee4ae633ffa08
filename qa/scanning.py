"""Find what changed in the sources folder: the files to index, their digests, the update plan.

An update starts here. `scan_sources` walks the folder once (an lstat a file) and says which
files qa reads and why the others are skipped; `file_digests` hashes their bytes, except
for the files whose size and modification time equal those an earlier update remembered
(`known_digests`, `remember_digests`: a cache in the index folder, as make and git keep);
`plan_update` compares the hashes with the indexed documents' and says which files keep
their passages and which are read and embedded again. The in-process build
(`qa.indexing`) and the one on Ray (`qa.indexing_ray`) share these steps.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from qa.config import Settings
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     root = Path(folder)
    ...     _ = (root / "troops.txt").write_text("About 2,500 US troops stay in Iraq.")
    ...     _ = (root / "notes.csv").write_text("a,b")
    ...     scan = scan_sources(root, Settings())
    ...     digests = file_digests(scan, scan.skipped)
    >>> list(scan.files), [message.split(" (")[0] for message in scan.skipped]
    (['troops.txt'], ["notes.csv: unsupported file type '.csv'"])
    >>> plan_update(digests, {}, frozenset(), scan.skipped)
    ({}, ['troops.txt'])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import SUPPORTED_SUFFIXES, Settings
from qa.documents import source_files
from qa.errors import SourcesError
from qa.readers import supported_types
from qa.stores import StoredDocument

# Where an index folder remembers each source's size, modification time and hash, so that an
# update reads only the files whose size or time changed (as make and git do).
DIGEST_CACHE = "sources-digests.json"
RACY_SECONDS = 2.0


@dataclass
class Scan:
    """What `scan_sources` found: the files to index, each with its size and modification time
    as scanned, and one message per file it leaves out."""

    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # size and mtime_ns, as scanned


def scan_sources(root: Path, settings: Settings) -> Scan:
    """Supported files under root by relative POSIX path; others are reported as skipped.

    Hidden files and folders are ignored; so are symlinks that lead outside the folder.
    """
    if not root.exists():
        raise SourcesError(f"sources folder {root} does not exist; create it and put {supported_types()} files in it")
    if not root.is_dir():
        raise SourcesError(f"sources path {root} is not a folder")
    scan = Scan()
    real_root = root.resolve()
    for rel, path in source_files(root):
        # One lstat a file (a stat more for a symlink): a big folder is scanned at every update.
        try:
            st = os.lstat(path)
        except OSError as exc:
            scan.skipped.append(f"{rel}: cannot be read ({exc.strerror or exc}); skipped")
            continue
        if stat.S_ISLNK(st.st_mode):
            target = _link_target(path)
            if target is None:
                scan.skipped.append(f"{rel}: symlink loop; ignored")
                continue
            if not target.is_relative_to(real_root):
                scan.skipped.append(f"{rel}: symlink to a file outside the sources folder; ignored")
                continue
            try:
                st = os.stat(path)
            except OSError:
                st = None
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            scan.skipped.append(f"{rel}: unsupported file type '{path.suffix or path.name}' (qa reads {supported_types()})")
        elif st is None or not stat.S_ISREG(st.st_mode):
            scan.skipped.append(f"{rel}: not a regular file; ignored")
        elif st.st_size > settings.max_file_bytes:
            scan.skipped.append(f"{rel}: larger than {_size(settings.max_file_bytes)}; skipped")
        else:
            scan.files[rel] = path
            scan.stats[rel] = (st.st_size, st.st_mtime_ns)
    return scan


def _link_target(path: Path) -> Path | None:
    """Where a symlink finally leads, or None for a loop (Python < 3.13 raises RuntimeError)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _size(n: int) -> str:
    """A byte count as people read it: "50 MB", "4 KB", "900 bytes"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Digest:
    """A source file's sha256 and size, and its modification time as seen before it was read."""

    sha256: str
    size: int
    mtime_ns: int


def file_digests(scan: Scan, skipped: list[str], known: dict[str, list] | None = None) -> dict[str, Digest]:
    """The digest of each scanned file's bytes; unreadable files are reported as skipped.

    A file whose size and modification time equal those in `known` is not read again. The
    time is taken before reading, so a file changed while it is read looks changed next time.
    """
    out, known = {}, known or {}
    for rel, path in scan.files.items():
        size, mtime_ns = scan.stats[rel]
        seen = known.get(rel)
        if isinstance(seen, list) and seen[:2] == [size, mtime_ns]:
            out[rel] = Digest(str(seen[2]), size, mtime_ns)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(f"{rel}: cannot be read ({exc.strerror or exc}); skipped")
            continue
        out[rel] = Digest(hashlib.sha256(data).hexdigest(), len(data), mtime_ns)
    return out


def known_digests(work_dir: Path | None) -> dict[str, list]:
    """The digests an earlier update remembered ({} if none, or if the file is unreadable)."""
    try:
        known = json.loads((work_dir / DIGEST_CACHE).read_text(encoding="utf-8")) if work_dir else {}
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def remember_digests(work_dir: Path | None, digests: dict[str, Digest]) -> None:
    """Remember each file's size, time and hash for the next update (best effort: a cache).

    A file modified in the last RACY_SECONDS is not remembered (read again next time): a
    second write within the file system's time granularity, of the same size, would
    otherwise look unchanged (git's "racy" entries).
    """
    if work_dir is None:
        return
    recent = time.time_ns() - int(RACY_SECONDS * 1e9)
    entries = {rel: [d.size, d.mtime_ns, d.sha256] for rel, d in digests.items() if d.mtime_ns < recent}
    tmp = work_dir / f".{DIGEST_CACHE}.tmp"
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(tmp, work_dir / DIGEST_CACHE)


def plan_update(digests: dict[str, Digest], old: dict[str, StoredDocument], force: frozenset[str],
                skipped: list[str]) -> tuple[dict[str, StoredDocument], list[str]]:
    """Which files keep their indexed document (same content hash) and which are read and
    embedded (new, changed or forced); a copy of another file's content is reported in `skipped`.

    Example:
        >>> skipped = []
        >>> plan_update({"a.txt": Digest("h1", 5, 0), "b.txt": Digest("h1", 5, 0)}, {}, frozenset(), skipped)
        ({}, ['a.txt'])
        >>> skipped
        ['b.txt: same content as a.txt; skipped']
    """
    kept: dict[str, StoredDocument] = {}
    todo: list[str] = []
    seen_hashes: dict[str, str] = {}
    # Files already indexed go first, so a new copy of one is the duplicate, not the original.
    for rel in sorted(digests, key=lambda r: r not in old):
        digest = digests[rel].sha256
        if digest in seen_hashes:
            skipped.append(f"{rel}: same content as {seen_hashes[digest]}; skipped")
            continue
        seen_hashes[digest] = rel
        if rel in old and old[rel].hash == digest and rel not in force:
            kept[rel] = old[rel]
        else:
            todo.append(rel)
    return kept, todo
