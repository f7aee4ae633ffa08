"""The collection a `QA` answers from: a sources folder and its index, kept in step.

`Collection` brings the index up to date now (`update`) or in a background thread
(`start_update`) while questions use the index as it is; before a question it checks, at
most every `Settings.rescan_seconds`, whether a source file was added, changed or deleted
(names, sizes and times: no file is read) and starts an update if so. It lists the
documents, moves one to the trash (answers leave it out at once, the index drops it in the
background) and reads one again. `qa.pipeline.QA` is the Collection that answers questions.

Example:
    >>> from qa import QA
    >>> collection = QA("sources", "index", wait=False)   # doctest: +SKIP
    >>> print(collection.status())                         # doctest: +SKIP
    Indexing: checking the sources for changes
    >>> collection.remove("old-article.txt")               # doctest: +SKIP
    PosixPath('sources/.trash/old-article.txt')

A source moved to the trash takes a free name there, never one taken:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     taken = Path(folder) / "article.txt"
    ...     _ = taken.write_text("An earlier article of that name.")
    ...     _free_path(taken).name
    'article (2).txt'
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings
from qa.documents import source_files
from qa.embedding import Embedder
from qa.errors import QAError, SourcesError
from qa.indexing import IndexReport, open_index, update_index
from qa.progress import IndexProgress, IndexStatus, Progress
from qa.stores import IndexBackend

log = logging.getLogger("qa")

# A running update is logged at most this often.
LOG_PROGRESS_SECONDS = 10.0
# Sources moved out of the collection go to this folder inside the sources folder.
TRASH = ".trash"


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the collection, as the index knows it."""

    source: str
    title: str
    date: str | None
    passages: int
    warnings: tuple[str, ...] = ()  # what reading it found wrong (bad bytes, an encoding guessed)


class Collection:
    """A sources folder and its index, kept in step; what a `QA` is besides asking.

    `sources`, `index`, `settings` and `embedder` are as `QA` resolves them; `progress` and
    `wait` as for `QA`: the index is built or updated before this returns, or (not `wait`)
    in the background while questions use the index on disk.
    """

    def __init__(self, sources: Path, index: str | Path, settings: Settings, embedder: Embedder,
                 progress: Progress | None = None, wait: bool = True) -> None:
        self.settings, self.sources, self.index, self.embedder = settings, sources, index, embedder
        self._lock = threading.RLock()  # held by whoever is updating the index
        self._starting = threading.Lock()  # guards the background worker's bookkeeping
        self._store: IndexBackend | None = None
        self._checked = 0.0
        self._signature: tuple | None = None
        self._worker: threading.Thread | None = None
        self._again, self._force = False, frozenset[str]()
        self._progress: IndexProgress | None = None
        self._logged = 0.0
        self._error: str | None = None
        self._removed: set[str] = set()  # moved to the trash, still in the index until the next update
        self.last_report: IndexReport | None = None
        if wait:
            self.update(progress)
        else:
            self._store = open_index(self.index, self.embedder)
            self.start_update()

    def update(self, progress: Progress | None = None, force: Sequence[str] = ()) -> IndexReport:
        """Bring the index in line with the sources folder now (waiting for a background
        update first, if one runs); returns what changed. Sources in `force` are read and
        embedded again even if unchanged."""
        with self._lock:
            signature = self._source_signature()
            report = update_index(self.sources, self.index, self.embedder, self.settings, progress, loaded=self._store,
                                  force=frozenset(force), on_commit=self._use)
            # A stale index is retried at the next rescan even if the sources stay as they are.
            self._signature, self._checked = None if report.stale else signature, time.monotonic()
            self._removed = {s for s in self._removed if self._store.document(s) is not None}
            self.last_report, self._error = report, None
            return report

    def _use(self, store: IndexBackend) -> None:
        """Answer from `store` from now on (an update's result, or its part written before a big file)."""
        self._store = store

    def start_update(self, force: Sequence[str] = ()) -> None:
        """Update the index in a background thread; questions meanwhile use the index as it is.

        A request made while an update runs is served by one more pass after it.
        """
        with self._starting:
            self._force |= frozenset(force)
            self._again = True
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="qa-indexer", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            with self._starting:
                if not self._again:
                    self._worker, self._progress = None, None
                    return
                self._again, force, self._force = False, self._force, frozenset()
            try:
                self.update(self._track, force)
            except QAError as exc:
                self._fail(str(exc))
            except Exception as exc:  # noqa: BLE001 - a background thread must report, not die silently
                log.exception("index update failed")
                self._fail(f"{type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        log.warning("index not updated: %s", message)
        self._error = message
        self._signature = self._source_signature()  # retried when the sources change again

    def _track(self, progress: IndexProgress) -> None:
        """Keep the latest progress for `status()` and log it every LOG_PROGRESS_SECONDS."""
        self._progress = progress
        if time.monotonic() - self._logged >= LOG_PROGRESS_SECONDS:
            self._logged = time.monotonic()
            log.info("%s", progress)

    @property
    def indexing(self) -> bool:
        """Whether a background update is running or due."""
        return self._worker is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background update to finish (at most `timeout` seconds); True if it has."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return self._worker is None

    def status(self) -> IndexStatus:
        """What the index holds and whether (and how far) an update is running.

        Example:
            >>> print(QA("sources", "index").status())    # doctest: +SKIP
            2 articles, 12 passages; up to date
        """
        store = self._store
        return IndexStatus(
            indexing=self.indexing, progress=self._progress if self.indexing else None, report=self.last_report,
            error=self._error, documents=len(store.documents) - len(self._removed) if store else 0,
            passages=len(store) if store else 0)

    def remove(self, source: str) -> Path:
        """Move a source file into the `.trash/` folder of the sources (nothing is deleted) and
        stop answering from it at once; the index drops it in the background. Returns the new path."""
        path = self._source_path(source)
        target = _free_path(self.sources / TRASH / source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        self._removed.add(source)
        log.info("moved %s to %s", source, target)
        self.start_update()
        return target

    def reindex(self, source: str) -> None:
        """Read and embed one source again in the background (after a fix to qa's reading, say)."""
        self._source_path(source)
        self.start_update(force=[source])

    def _source_path(self, source: str) -> Path:
        """The file of a source in the collection, or SourcesError."""
        store = self._store
        if store is None or store.document(source) is None or source in self._removed:
            raise SourcesError(f"no article {source!r} in the collection")
        path = self.sources / source
        if not path.is_file():
            raise SourcesError(f"{source} is no longer in {self.sources}")
        return path

    def _source_signature(self) -> tuple:
        """Names, sizes and modification times of the files under sources: cheap change detection."""
        entries = []
        for rel, path in source_files(self.sources, supported_only=True):
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((rel, st.st_size, st.st_mtime_ns))
        return tuple(entries)

    def _current_store(self) -> IndexBackend:
        """The store as it is now; a change in the sources starts a background update.

        A question waits for that update at most `Settings.update_wait_seconds` (enough for
        a small change), then is answered from the index as it is.
        """
        if time.monotonic() - self._checked >= self.settings.rescan_seconds:
            self._checked = time.monotonic()
            if not self.indexing and self._source_signature() != self._signature:
                self.start_update()
            if self.indexing and self.settings.update_wait_seconds > 0:
                self.wait(self.settings.update_wait_seconds)
        store = self._store
        if store is None:
            status = self.status()
            if status.indexing:
                raise SourcesError(f"the collection is still being indexed ({status}); ask again in a moment")
            raise SourcesError(f"no index to answer from: {status.error or 'the first build has not run'}")
        return store

    def documents(self) -> list[DocumentInfo]:
        """The documents in the index, by source path."""
        try:
            store = self._current_store()
        except SourcesError:
            return []
        return [DocumentInfo(d.source, d.title, d.date, len(d.passages), d.warnings)
                for d in store.documents if d.source not in self._removed]

    def document_text(self, source: str) -> str:
        """The text that passage offsets of `source` refer to (for HTML: the extracted text)."""
        doc = self._current_store().document(source)
        if doc is None:
            raise SourcesError(f"{source} is not in the index")
        return doc.text


def _free_path(path: Path) -> Path:
    """`path`, or `path` with " (2)", " (3)"... before its suffix if that is taken."""
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate
