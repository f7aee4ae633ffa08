"""Where an index build stands: files and passages done, rate, time left, the file being read.

The indexer reports an `IndexProgress` after every file and every batch of passages it
embeds, through a `Tracker` (which draws a console bar when no one else listens);
`QA.status()` wraps the latest one in an `IndexStatus` for the page, the CLI and the log.
The passage total is exact once every file has been read and estimated before (from the
bytes still to read and the passages per byte seen so far), so the time left settles as a
build goes on.

Example:
    >>> p = IndexProgress(files_done=3, files_total=15, passages_done=700, passages_total=2100,
    ...                   current="big.txt", elapsed=10.0)
    >>> print(p)
    Indexing: 3 of 15 files, 700 of about 2,100 passages (70 passages/s, about 20 s left); reading big.txt
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

if TYPE_CHECKING:
    from qa.indexing import IndexReport

# Bytes of source text per passage, for the first estimate of a build's passages.
_BYTES_PER_PASSAGE = 700


@dataclass(frozen=True)
class IndexProgress:
    """A snapshot of a running build or update."""

    files_done: int = 0
    files_total: int = 0  # files to read (new or changed); unchanged ones cost nothing
    passages_done: int = 0  # embedded, or taken from the checkpoint of an interrupted build
    passages_total: int = 0  # exact once `exact`, else an estimate
    current: str | None = None  # the file being read or embedded
    elapsed: float = 0.0  # seconds since the build started
    resumed: int = 0  # passages taken from the checkpoint instead of embedded again
    exact: bool = False  # every file has been read, so passages_total is exact

    @property
    def rate(self) -> float:
        """Passages embedded per second so far (resumed ones excluded: they cost nothing)."""
        return (self.passages_done - self.resumed) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Time left at the current rate, or None before there is a rate to go by."""
        rate = self.rate
        if rate <= 0 or self.passages_done == 0:
            return None
        return max(self.passages_total - self.passages_done, 0) / rate

    def __str__(self) -> str:
        about = "" if self.exact else "about "
        line = (f"Indexing: {self.files_done:,} of {self.files_total:,} files, "
                f"{self.passages_done:,} of {about}{self.passages_total:,} passages")
        details = []
        if self.rate > 0:
            details.append(f"{self.rate:,.0f} passages/s")
        if self.seconds_left is not None:
            details.append(f"about {_duration(self.seconds_left)} left")
        if self.resumed:
            details.append(f"{self.resumed:,} kept from an interrupted build")
        if details:
            line += f" ({', '.join(details)})"
        if self.current:
            line += f"; reading {self.current}"
        return line


# progress(snapshot): called after each file and each batch of embedded passages.
Progress = Callable[[IndexProgress], None]


def _duration(seconds: float) -> str:
    """Seconds as people read them: "20 s", "3 min", "1 h 5 min"."""
    if seconds < 60:
        return f"{max(round(seconds), 1)} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class IndexStatus:
    """What `QA.status()` says: the collection's size, and a running update's progress or
    the last update's report or error."""

    indexing: bool
    progress: IndexProgress | None = None
    report: IndexReport | None = None
    error: str | None = None
    documents: int = 0
    passages: int = 0

    def __str__(self) -> str:
        if self.indexing:
            return str(self.progress) if self.progress else "Indexing: checking the sources for changes"
        size = f"{self.documents:,} articles, {self.passages:,} passages"
        if self.error:
            return f"{size}; the last update failed: {self.error}"
        if self.report is not None and self.report.stale:
            return f"{size}; not up to date: {self.report.stale}"
        return f"{size}; up to date"


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
