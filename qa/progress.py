"""Where an index build stands: files and passages done, rate, time left, the file being read.

The indexer reports an `IndexProgress` after every file and every batch of passages it
embeds; `QA.status()` wraps the latest one in an `IndexStatus` for the page, the CLI and the
log. The passage total is exact once every file has been read and estimated before (from the
bytes still to read and the passages per byte seen so far), so the time left settles as a
build goes on.

Example:
    >>> p = IndexProgress(files_done=3, files_total=15, passages_done=700, passages_total=2100,
    ...                   current="big.txt", elapsed=10.0)
    >>> print(p)
    Indexing: 3 of 15 files, 700 of about 2,100 passages (70 passages/s, about 20 s left); reading big.txt
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.indexing import IndexReport


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
