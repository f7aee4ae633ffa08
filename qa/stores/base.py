"""What the pipeline needs from an index, whatever engine keeps it: the `IndexBackend` Protocol.

A backend holds documents (`StoredDocument`: text, sentence units, passages) and, per
passage, a unit vector and the BM25 terms of `embedding_text`. Passages are named by a
`PassageId` (source, content hash, passage number), stable across updates, never by a row
position; filters are a `Filter` value that any engine can apply (a server included). The
default backend is FAISS + BM25 segments in a folder (`qa.stores.local`); `qa.stores.locate`
picks one from an index string.

Example:
    >>> f = Filter(sources=frozenset({"a.txt"}), since="2024-09-01")
    >>> f.admits("a.txt", "2024-09-06"), f.admits("a.txt", None), f.admits("b.txt", "2024-09-06")
    (True, True, False)
    >>> PassageId("a.txt", "3f2a", 0)
    PassageId(source='a.txt', hash='3f2a', number=0)
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from qa.lexical import terms

Span = tuple[int, int]


@dataclass(frozen=True)
class StoredDocument:
    """A document as indexed: its text, the sentence units and the passages made of them."""

    source: str
    title: str
    date: str | None
    hash: str
    text: str
    units: tuple[Span, ...]
    passages: tuple[Span, ...]  # [first, last) ranges over `units`
    warnings: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()  # offset in `text` where each page starts; empty for unpaged formats

    def passage_span(self, i: int) -> Span:
        """Character offsets [start, end) of passage i in `text`."""
        first, last = self.passages[i]
        return self.units[first][0], self.units[last - 1][1]

    def passage_id(self, i: int) -> PassageId:
        return PassageId(self.source, self.hash, i)

    def to_json(self) -> str:
        # The fields as they are (json writes tuples as lists): asdict would copy every unit first.
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> StoredDocument:
        raw = json.loads(line)
        return cls(
            source=raw["source"],
            title=raw["title"],
            date=raw["date"],
            hash=raw["hash"],
            text=raw["text"],
            units=tuple((int(s), int(e)) for s, e in raw["units"]),
            passages=tuple((int(s), int(e)) for s, e in raw["passages"]),
            warnings=tuple(raw.get("warnings", ())),
            pages=tuple(int(p) for p in raw.get("pages", ())),
        )


class PassageId(NamedTuple):
    """A passage by what it is, not where it sits: its document's source path and content
    hash, and its number within the document. Survives any update that keeps the file.
    (A named tuple: made, hashed and sorted in C, dozens of times a question.)"""

    source: str
    hash: str
    number: int


@dataclass(frozen=True)
class Filter:
    """Which documents a search may return: a value a server can apply, not a mask.

    `sources`: only these (None: all); `exclude`: never these (files just moved to the
    trash); `since`/`until`: ISO dates, inclusive, for dated documents; undated ones pass
    a date filter only with `include_undated`.
    """

    sources: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    since: str | None = None
    until: str | None = None
    include_undated: bool = True

    @property
    def dated(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def empty(self) -> bool:
        """True when the filter lets everything through."""
        return self.sources is None and not self.exclude and not self.dated

    def admits_source(self, source: str) -> bool:
        return (self.sources is None or source in self.sources) and source not in self.exclude

    def admits(self, source: str, date: str | None) -> bool:
        if not self.admits_source(source):
            return False
        if date is None:
            return self.include_undated or not self.dated
        return (self.since is None or date >= self.since) and (self.until is None or date <= self.until)


@dataclass(frozen=True)
class IndexInfo:
    """What an index was built with; another model, encoder or chunking means a rebuild."""

    model: str
    dimension: int
    encoder: str
    chunking: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Changes:
    """One update: documents to add or replace (with one unit vector per passage, in
    passage order) and sources to remove. A source both removed and upserted is replaced."""

    upserts: Sequence[tuple[StoredDocument, np.ndarray]] = ()
    removes: frozenset[str] = frozenset()


@contextmanager
def folder_lock(folder: Path, name: str = ".lock") -> Iterator[bool]:
    """Hold an exclusive file lock in `folder` (one writer at a time, across processes);
    yields False when the folder cannot be made or the lock file opened."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)


def embedding_text(title: str, passage: str) -> str:
    """What the model embeds and BM25 counts for a passage: its document's title, then the passage."""
    return f"{title}\n{passage}" if title else passage


def passage_terms(doc: StoredDocument) -> list[list[str]]:
    """The BM25 terms of each passage of `doc` (title included, as the model sees it)."""
    return [terms(embedding_text(doc.title, doc.text[s:e])) for s, e in map(doc.passage_span, range(len(doc.passages)))]


@runtime_checkable
class IndexBackend(Protocol):
    """A searchable index of passages. `apply` returns the backend to answer from afterwards
    (a local index returns a new generation, a server its live collection).

    Scores are each engine's own: the scorer only uses them relative to a question's best.
    """

    info: IndexInfo
    documents: Sequence[StoredDocument]  # every document, by source path

    def __len__(self) -> int:
        """Passages in the index."""

    def document(self, source: str) -> StoredDocument | None:
        """The document of a source path, if indexed."""

    def dense_top_k(self, vector: np.ndarray, k: int, where: Filter | None = None) -> list[PassageId]:
        """The (at most) k passages whose vectors best match the unit `vector`, best first."""

    def keyword_top_k(self, query_terms: Sequence[str], k: int,
                      where: Filter | None = None) -> list[tuple[PassageId, float]]:
        """The (at most) k passages with the highest BM25 score above 0, best first."""

    def keyword_scores(self, query_terms: Sequence[str], ids: Sequence[PassageId]) -> np.ndarray:
        """BM25 scores of the given passages (0 where no term matches)."""

    def vectors(self, ids: Sequence[PassageId]) -> np.ndarray:
        """The stored unit vectors of the given passages, one row each."""

    def idf(self, query_terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each term the collection holds (others left out)."""

    def contains(self, ids: Sequence[PassageId], query_terms: Sequence[str]) -> np.ndarray:
        """A boolean matrix: [i, j] is whether passage ids[i] holds term query_terms[j]."""

    def apply(self, changes: Changes) -> IndexBackend:
        """Add, replace and remove documents; returns the backend that answers from the result."""


class IndexLocation(Protocol):
    """Where an index lives (a folder, a Qdrant collection): open it, make it anew, guard writers."""

    def __str__(self) -> str:
        """The location as a user names it (for messages)."""

    def info(self) -> IndexInfo | None:
        """What the index there was built with, read cheaply; None when there is none yet.

        Raises IndexStoreError when something is there but cannot be read."""

    def open(self, loaded: IndexBackend | None = None) -> IndexBackend:
        """The index as it is there (`loaded` itself when that is still current); IndexStoreError
        when there is none or it is damaged."""

    def create(self, info: IndexInfo) -> IndexBackend:
        """An empty index built with `info`; its first `apply` replaces whatever was there."""

    def lock(self) -> AbstractContextManager[bool]:
        """Hold the writer lock (one update at a time); yields False when it cannot be taken."""

    def writable(self) -> bool:
        """Whether updates can be written there."""

    def work_dir(self) -> Path | None:
        """A local folder where a build keeps its checkpoint (resume after a crash), or None."""
