"""Keep the index in step with the sources folder, re-embedding only what changed.

`update_index` scans the sources, compares each file's content hash with the one stored
for it in the index, loads, cleans and chunks the new and changed files, embeds only their
passages (in batches, while later files are still being read), and applies the changes
to the index backend (`qa.stores`: a local folder keeps unchanged files' vectors and writes
a new generation). A different model or different chunking settings, or a damaged index,
means a full rebuild, with a message saying why.

Example:
    >>> from qa.indexing import update_index
    >>> report = update_index("sources", "index", embedder)   # doctest: +SKIP
    >>> print(report)                                          # doctest: +SKIP
    2 documents, 8 passages (2 added, 0 changed, 0 removed, 0 unchanged); 8 passages embedded
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import multiprocessing.pool
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qa.checkpoint import Checkpoint
from qa.chunking import chunk
from qa.config import SUPPORTED_SUFFIXES, Settings
from qa.documents import Document, load_document, source_files
from qa.embedding import Embedder
from qa.errors import DocumentError, IndexStoreError, IndexUnavailableError, ModelError, SourcesError
from qa.progress import IndexProgress, Progress
from qa.readers import supported_types
from qa.stores import Changes, IndexBackend, IndexInfo, IndexLocation, StoredDocument, locate
from qa.stores.base import embedding_text

log = logging.getLogger("qa")

# Files this small are read in the indexing process; bigger ones in a helper process, with a time limit.
INLINE_READ_BYTES = 1024 * 1024
# Bytes of source text per passage, for the first estimate of a build's passages.
_BYTES_PER_PASSAGE = 700


@dataclass(frozen=True)
class IndexReport:
    """What an update did: files added, changed, removed and skipped, passages embedded."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    skipped: tuple[str, ...] = ()  # one message per file that was not indexed
    warnings: tuple[str, ...] = ()  # indexed, but with something to say (bad bytes replaced)
    embedded: int = 0  # passages embedded by this update
    resumed: int = 0  # passages taken from the checkpoint of an interrupted build, not embedded again
    passages: int = 0  # passages in the index afterwards
    documents: int = 0  # documents in the index afterwards
    rebuilt: str | None = None  # why the whole index was rebuilt, if it was
    stale: str | None = None  # why the index could not be brought up to date, if so

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt)

    def __str__(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed",
                 f"{self.unchanged} unchanged"]
        resumed = f" ({self.resumed} kept from an interrupted build)" if self.resumed else ""
        lines = [f"{self.documents} documents, {self.passages} passages ({', '.join(parts)}); "
                 f"{self.embedded} passages embedded{resumed}"]
        if self.rebuilt:
            lines.append(f"rebuilt the whole index: {self.rebuilt}")
        for label, names in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            lines.extend(f"  {label}: {name}" for name in names)
        lines.extend(f"  skipped: {msg}" for msg in self.skipped)
        lines.extend(f"  warning: {msg}" for msg in self.warnings)
        if self.stale:
            lines.append(f"index not updated: {self.stale}")
        return "\n".join(lines)


@dataclass
class _Scan:
    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # size and mtime_ns, as scanned


def scan_sources(root: Path, settings: Settings) -> _Scan:
    """Supported files under root by relative POSIX path; others are reported as skipped.

    Hidden files and folders are ignored; so are symlinks that lead outside the folder.
    """
    if not root.exists():
        raise SourcesError(f"sources folder {root} does not exist; create it and put {supported_types()} files in it")
    if not root.is_dir():
        raise SourcesError(f"sources path {root} is not a folder")
    scan = _Scan()
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


def _fit_title(title: str, embedder: Embedder, max_tokens: int) -> str:
    """The title cut at a word boundary to at most max_tokens word pieces."""
    words = title.split()
    while words and embedder.count_tokens([" ".join(words)])[0] > max_tokens:
        words = words[:-1]
    return " ".join(words)


def prepare(doc: Document, file_digest: str, embedder: Embedder, settings: Settings) -> tuple[StoredDocument, PassageTexts]:
    """Chunk a loaded document; returns it as stored, and the texts to embed per passage."""
    if settings.max_passage_tokens + settings.max_title_tokens + 1 > embedder.max_tokens:
        raise ModelError(
            f"max_passage_tokens + max_title_tokens must stay under the model's {embedder.max_tokens} word pieces"
        )
    units, passages = chunk(doc.text, doc.content, embedder.count_tokens,
                            settings.max_passage_tokens, settings.overlap_sentences, doc.pages)
    stored = StoredDocument(
        source=doc.source, title=doc.title, date=doc.date, hash=file_digest, text=doc.text,
        units=tuple(units), passages=tuple(passages), warnings=doc.warnings, pages=doc.pages,
    )
    return stored, PassageTexts(stored, _fit_title(doc.title, embedder, settings.max_title_tokens))


class PassageTexts(Sequence[str]):
    """What the model sees for each passage of a document, made when asked for: a 50 MB
    document's 100,000 passage texts are never all held at once."""

    def __init__(self, doc: StoredDocument, title: str) -> None:
        self.doc, self.title = doc, title

    def __len__(self) -> int:
        return len(self.doc.passages)

    def __getitem__(self, i):  # type: ignore[override]
        start, end = self.doc.passage_span(i)
        return embedding_text(self.title, self.doc.text[start:end])


def previous_index(location: IndexLocation, embedder: Embedder, settings: Settings,
                   loaded: IndexBackend | None) -> tuple[IndexBackend | None, str | None]:
    """The index to update from, or None with the reason for a full rebuild.

    `loaded` is reused instead of reading the index again when it is the one in use.
    """
    try:
        info = location.info()
        if info is None:
            return None, None
        # The dimension is only compared once the model is loaded anyway: loading it just to
        # confirm an up-to-date index would cost seconds.
        if info.model != embedder.name or (embedder.loaded and info.dimension != embedder.dimension):
            return None, (f"the index was built with model {info.model!r} ({info.dimension}-d), "
                          f"now {embedder.name!r} ({embedder.dimension}-d)")
        if info.chunking != settings.chunking():
            return None, f"chunking settings changed from {info.chunking} to {settings.chunking()}"
        if info.encoder != embedder.variant:
            return None, f"the index was embedded with encoder {info.encoder!r}, now {embedder.variant!r}"
        return location.open(loaded), None
    except IndexUnavailableError:
        raise  # a server that is down is no reason to rebuild it
    except IndexStoreError as exc:
        return None, f"the index could not be used: {exc}"


def open_index(index: str | Path, embedder: Embedder) -> IndexBackend | None:
    """The index as it is (a folder or another engine's, see qa.stores.locate), if it can answer
    questions with `embedder`'s model; else None.

    Used to answer at once while an update runs: other chunking settings do not matter for
    that, another model does (its question vectors would not match).
    """
    location = locate(index)
    try:
        info = location.info()
        if info is None or info.model != embedder.name:
            return None
        return location.open()
    except IndexUnavailableError as exc:
        log.warning("%s", exc)  # a server down or a folder another process holds: nothing to rebuild
        return None
    except IndexStoreError as exc:
        log.warning("the index in %s cannot be used until it is rebuilt: %s", location, exc)
        return None


def update_index(
    sources: str | Path,
    index: str | Path,
    embedder: Embedder,
    settings: Settings | None = None,
    progress: Progress | None = None,
    *,
    loaded: IndexBackend | None = None,
    force: frozenset[str] = frozenset(),
    on_commit: Callable[[IndexBackend], None] | None = None,
) -> IndexReport:
    """Bring the index in line with the sources folder; returns what changed.

    `index` is a folder or another engine's index string (qa.stores.locate). Files named in
    `force` are read and embedded again even if unchanged. `on_commit`, if given, gets each
    index the update makes answerable: the files done before a big file is read (so that
    they answer while the big one is embedded), and at the end the up-to-date index
    (`loaded` itself when it is still current, so nothing is read again).
    """
    settings = settings or Settings()
    root, location = Path(sources), locate(index)
    scan = scan_sources(root, settings)
    with location.lock() as writable:
        previous, rebuilt = previous_index(location, embedder, settings, loaded)
        if rebuilt:
            log.warning("rebuilding the index: %s", rebuilt)
        report, current = _update(root, location, scan, previous, rebuilt, writable, embedder, settings, progress,
                                  force, on_commit)
        if report.stale and previous is None:
            raise IndexStoreError(f"{report.stale.split(';')[0]}, and the index there cannot be used "
                                  f"({rebuilt or 'there is none yet'}); make the folder writable or pick another with --index")
        if on_commit is not None and current is not None:
            on_commit(current)
        return report


class Tracker:
    """Counts a build's progress and reports it: to `progress`, or as a console bar over passages."""

    def __init__(self, progress: Progress | None, files_total: int, bytes_total: int) -> None:
        self.progress = progress
        self.started = time.monotonic()
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done = self.chunked = self.done = self.resumed = 0
        self.files_read = self.bytes_read = 0  # read and chunked, maybe not yet embedded
        self.current: str | None = None
        self.bar = None if progress is not None else tqdm(
            total=0, desc="indexing", unit=" passages", delay=1.0, leave=False, dynamic_ncols=True)

    def snapshot(self) -> IndexProgress:
        exact = self.files_read >= self.files_total
        left = max(self.bytes_total - self.bytes_read, 0)
        per_byte = self.chunked / self.bytes_read if self.bytes_read and self.chunked else 1 / _BYTES_PER_PASSAGE
        total = self.chunked + (0 if exact else round(left * per_byte))
        return IndexProgress(self.files_done, self.files_total, self.done, max(total, self.done), self.current,
                             time.monotonic() - self.started, self.resumed, exact)

    def report(self) -> None:
        snap = self.snapshot()
        if self.progress is not None:
            self.progress(snap)
        elif self.bar is not None:
            self.bar.total = snap.passages_total
            self.bar.set_postfix_str(snap.current or "", refresh=False)
            self.bar.update(snap.passages_done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Embedding:
    """Embeds passages in batches while documents are still being read (streaming), so a big
    update never holds every passage waiting for the model. Vectors already in the checkpoint
    of an interrupted build are taken from it; new ones are added to it batch by batch.
    Nothing is embedded when the update cannot be written (`active` False)."""

    def __init__(self, embedder: Embedder, settings: Settings, checkpoint: Checkpoint | None,
                 tracker: Tracker, active: bool) -> None:
        self.embedder, self.settings, self.checkpoint, self.tracker = embedder, settings, checkpoint, tracker
        self.active = active
        self.pending: list[tuple[str, int, str]] = []  # (source, passage number, text)
        self.vectors: dict[str, np.ndarray] = {}
        self.embedded = self.resumed = 0

    def add(self, rel: str, texts: Sequence[str]) -> None:
        if not self.active:
            return
        self.vectors[rel] = np.empty((len(texts), self.embedder.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            saved = self.checkpoint.get(text) if self.checkpoint is not None else None
            if saved is not None:
                self.vectors[rel][i] = saved
                self.resumed += 1
                continue
            self.pending.append((rel, i, text))
            if len(self.pending) >= self.settings.stream_passages:
                self.flush()
        self.tracker.resumed = self.resumed
        self.tracker.done = self.embedded + self.resumed
        self.tracker.report()

    def flush(self) -> None:
        if not self.pending:
            return
        texts = [t for _, _, t in self.pending]
        vectors = self.embedder.encode(texts, self.settings.batch_size)
        for (rel, i, _), vector in zip(self.pending, vectors):
            self.vectors[rel][i] = vector
        if self.checkpoint is not None:
            self.checkpoint.add(texts, vectors)
        self.embedded += len(texts)
        self.pending = []
        self.tracker.done = self.embedded + self.resumed
        self.tracker.report()


# Where an index folder remembers each source's size, modification time and hash, so that an
# update reads only the files whose size or time changed (as make and git do).
DIGEST_CACHE = "sources-digests.json"
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class Digest:
    """A source file's sha256 and size, and its modification time as seen before it was read."""

    sha256: str
    size: int
    mtime_ns: int


def file_digests(scan: _Scan, skipped: list[str], known: dict[str, list] | None = None) -> dict[str, Digest]:
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


def _update(root: Path, location: IndexLocation, scan: _Scan, previous: IndexBackend | None, rebuilt: str | None,
            writable: bool, embedder: Embedder, settings: Settings, progress: Progress | None,
            force: frozenset[str] = frozenset(), on_commit: Callable[[IndexBackend], None] | None = None,
            ) -> tuple[IndexReport, IndexBackend | None]:
    """Read, embed and apply what changed; returns the report and the index to answer from
    (None when nothing could be written and there was nothing before)."""
    old = {d.source: d for d in previous.documents} if previous else {}
    skipped, warnings = list(scan.skipped), []
    fresh: dict[str, StoredDocument] = {}
    can_write = writable and location.writable()
    work_dir = location.work_dir()
    digests = file_digests(scan, skipped, known_digests(work_dir))
    kept, todo = plan_update(digests, old, force, skipped)
    checkpoint = (Checkpoint(work_dir, embedder.label, embedder.dimension)
                  if can_write and todo and work_dir is not None else None)
    tracker = Tracker(progress, len(todo), sum(digests[r].size for r in todo))
    embedding = _Embedding(embedder, settings, checkpoint, tracker, can_write)
    reader = _Reader(root, settings)
    info = IndexInfo(embedder.name, embedder.dimension, embedder.variant, settings.chunking())
    current = previous if previous is not None else location.create(info)
    applied: set[str] = set()

    def apply(removes: set[str]) -> IndexBackend:
        embedding.flush()
        upserts = [(fresh[r], embedding.vectors[r]) for r in sorted(fresh) if r not in applied]
        applied.update(fresh)
        return current.apply(Changes(upserts, frozenset(removes)))

    try:
        # Small files first (by name), then big ones (smallest first); before a big one, what is
        # done is applied, so that it answers meanwhile (changed files answer as they were).
        for rel in sorted(todo, key=lambda r: (_big(digests[r].size), r)):
            if on_commit is not None and fresh and can_write and digests[rel].size >= INLINE_READ_BYTES:
                current = apply(set(old) - set(digests))
                on_commit(current)
            tracker.current = rel
            tracker.report()
            document = reader.read(rel, scan.files[rel], skipped)
            texts: PassageTexts | None = None
            if document is not None:
                doc, data_digest = document
                warnings.extend(doc.warnings)
                fresh[rel], texts = prepare(doc, data_digest, embedder, settings)
                tracker.chunked += len(texts)
            # Counted as read before it is embedded, so that the passage total is exact for it.
            tracker.files_read += 1
            tracker.bytes_read += digests[rel].size
            if texts is not None:
                embedding.add(rel, texts)
            tracker.files_done += 1
        tracker.current = None
        embedding.flush()
    finally:
        reader.close()
        tracker.close()
    for message in skipped:
        log.warning("skipped %s", message)
    documents = [*kept.values(), *fresh.values()]
    report = IndexReport(
        added=tuple(sorted(r for r in fresh if r not in old)), changed=tuple(sorted(r for r in fresh if r in old)),
        removed=tuple(sorted(set(old) - set(kept) - set(fresh))), unchanged=len(kept), skipped=tuple(skipped),
        warnings=tuple(warnings), passages=sum(len(d.passages) for d in documents), documents=len(documents),
        rebuilt=rebuilt, embedded=embedding.embedded, resumed=embedding.resumed)
    if not report.changed_anything and previous is not None:
        if can_write:
            remember_digests(work_dir, digests)
        return report, previous
    if not can_write:
        stale = f"the index folder {location} is not writable; answers come from the index as it was"
        log.warning(stale)
        return replace(report, stale=stale), previous
    current = apply(set(old) - set(kept) - set(fresh))
    remember_digests(work_dir, {r: d for r, d in digests.items() if r in kept or (r in fresh and fresh[r].hash == d.sha256)})
    if checkpoint is not None:
        checkpoint.clear()
    return report, current


def _big(size: int) -> int:
    """A file's size if it is read in the helper process, else 0 (for the reading order)."""
    return size if size >= INLINE_READ_BYTES else 0


class _Reader:
    """Reads big source files in a helper process, so that one which takes longer than
    `Settings.max_read_seconds` to read (or hangs or crashes the reader) is skipped with a
    warning instead of stalling the build. Files under INLINE_READ_BYTES, which read in
    milliseconds, are read in this process (starting the helper costs about a second)."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root, self.settings = root, settings
        self.pool: multiprocessing.pool.Pool | None = None

    def read(self, rel: str, path: Path, skipped: list[str]) -> tuple[Document, str] | None:
        """The loaded document and the hash of the very bytes parsed, or None (reported in `skipped`)."""
        limit = self.settings.max_read_seconds
        try:
            return self._read(path)
        except multiprocessing.TimeoutError:
            self.close()  # the reader is stuck on this file: a fresh one reads the next
            skipped.append(f"{rel}: took more than {limit:g} s to read; skipped (raise Settings.max_read_seconds "
                           f"to read it)")
        except (OSError, DocumentError) as exc:
            skipped.append(skip_reason(rel, exc))
        return None

    def _read(self, path: Path) -> tuple[Document, str]:
        if path.stat().st_size < INLINE_READ_BYTES:
            return load_source(path, self.root, self.settings.max_file_bytes)
        if self.pool is None:
            self.pool = multiprocessing.get_context("spawn").Pool(1)
        job = self.pool.apply_async(load_source, (path, self.root, self.settings.max_file_bytes))
        return job.get(timeout=self.settings.max_read_seconds)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None


def skip_reason(rel: str, exc: OSError | DocumentError) -> str:
    """The line a build reports for a source file it could not read or load."""
    if isinstance(exc, OSError):
        return f"{rel}: cannot be read ({exc.strerror or exc}); skipped"
    return str(exc)


def load_source(path: Path, root: Path, max_bytes: int) -> tuple[Document, str]:
    """Load one file (in a reader process or a Ray worker); returns the document and the sha256 of its bytes."""
    data = path.read_bytes()
    return load_document(path, root, max_bytes=max_bytes, data=data), hashlib.sha256(data).hexdigest()
