"""Keep the index in step with the sources folder, re-embedding only what changed.

`update_index` scans the sources, compares each file's content hash with the one stored
for it in the index (`qa.scanning`), loads, cleans and chunks the new and changed files
(`qa.reading`), embeds only their passages (in batches, while later files are still being
read), and applies the changes to the index backend (`qa.stores`: a local folder keeps
unchanged files' vectors and writes a new generation). A different model or different
chunking settings, or a damaged index, means a full rebuild, with a message saying why.

Example:
    >>> from qa.indexing import update_index
    >>> report = update_index("sources", "index", embedder)   # doctest: +SKIP
    >>> print(report)                                          # doctest: +SKIP
    2 documents, 8 passages (2 added, 0 changed, 0 removed, 0 unchanged); 8 passages embedded
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.checkpoint import Checkpoint
from qa.config import Settings
from qa.embedding import Embedder
from qa.errors import IndexStoreError, IndexUnavailableError
from qa.progress import Progress, Tracker
from qa.reading import INLINE_READ_BYTES, PassageTexts, SourceReader, prepare
from qa.scanning import Scan, file_digests, known_digests, plan_update, remember_digests, scan_sources
from qa.stores import Changes, IndexBackend, IndexInfo, IndexLocation, StoredDocument, locate

log = logging.getLogger("qa")


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


def _update(root: Path, location: IndexLocation, scan: Scan, previous: IndexBackend | None, rebuilt: str | None,
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
    reader = SourceReader(root, settings)
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
