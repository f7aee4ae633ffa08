"""The default index: a folder of segments (FAISS + BM25 postings), switched by generation.

An update costs what changed: its new and changed files go into a new small segment, and
the files it removes or replaces are marked deleted in the older segments (their passages
are skipped by every search until a merge drops them; when segments merge:
`qa.stores.merging`). BM25 uses the whole collection's statistics, so no score depends on
which segment holds a passage. Every update writes its new segments, then a new generation
(`qa.stores.manifest`: the folder's layout, the manifest and the atomic switch of CURRENT),
so a crash at any point leaves the previous generation in use. Loading checks every file
against its checksum, so a damaged file is reported, never half-read.

Example:
    >>> from qa.stores.local import load_store
    >>> store = load_store("index")          # doctest: +SKIP
    >>> store.manifest.model, len(store)     # doctest: +SKIP
    ('all-MiniLM-L6-v2', 8)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.errors import IndexStoreError
from qa.stores import bm25
from qa.stores.base import Changes, Filter, IndexBackend, IndexInfo, PassageId, StoredDocument, folder_lock, passage_terms
from qa.stores.manifest import (
    FORMAT_VERSION,
    Manifest,
    current_generation,
    next_segment,
    read_generation,
    read_manifest,
    switch_generation,
)
from qa.stores.merging import merged
from qa.stores.segments import Segment, Vectors, load_segment, write_segment

# Passages a thread remembers the place of, between a search and the reads of its candidates.
RECENT_PLACES = 4096


class Store:
    """A loaded generation of a local index: the default `IndexBackend`.

    Documents are listed by source; a `PassageId` maps to a (segment, row) through its
    document. Read-only: `apply` writes a new generation and returns it.
    """

    def __init__(self, manifest: Manifest, segments: Sequence[Segment], folder: Path | None = None) -> None:
        self.manifest = manifest
        self.info = manifest.info
        self.folder = folder  # the index folder (whose CURRENT names this generation)
        self.segments = list(segments)
        deleted = {entry["name"]: frozenset(entry.get("deleted", ())) for entry in manifest.segments}
        self.deleted = [deleted.get(seg.name, frozenset()) for seg in self.segments]
        self.alive: list[np.ndarray | None] = []
        home: dict[str, tuple[int, int]] = {}
        for s, (seg, gone) in enumerate(zip(self.segments, self.deleted)):
            alive = None
            if gone:
                dead = np.array([d.source in gone for d in seg.documents], dtype=bool)
                alive = ~dead[seg.row_doc]
            self.alive.append(alive)
            home.update((doc.source, (s, d)) for d, doc in enumerate(seg.documents) if doc.source not in gone)
        self._home = dict(sorted(home.items()))
        self.documents = [self.segments[s].documents[d] for s, d in self._home.values()]
        self.bm25 = bm25.Collection([(seg.postings, alive) for seg, alive in zip(self.segments, self.alive)])
        self._recent = threading.local()  # this thread's last filter masks and BM25 scores

    def __len__(self) -> int:
        return self.bm25.passages

    # -- reading ------------------------------------------------------------------------

    def document(self, source: str) -> StoredDocument | None:
        at = self._home.get(source)
        return None if at is None else self.segments[at[0]].documents[at[1]]

    def _place(self, pid: PassageId) -> tuple[int, int]:
        """(segment, row) of a passage; KeyError for one this generation does not hold.

        The passages this thread's searches just returned are looked up without a search.
        """
        found = self._places().get(pid)
        if found is not None:
            return found
        s, d = self._home[pid.source]
        seg = self.segments[s]
        if seg.documents[d].hash != pid.hash or not 0 <= pid.number < len(seg.documents[d].passages):
            raise KeyError(pid)
        return s, int(seg.first_row[d]) + pid.number

    def _id(self, s: int, row: int) -> PassageId:
        seg = self.segments[s]
        d = int(seg.row_doc[row])
        doc = seg.documents[d]
        pid = PassageId(doc.source, doc.hash, row - int(seg.first_row[d]))
        self._places()[pid] = (s, row)
        return pid

    def _places(self) -> dict[PassageId, tuple[int, int]]:
        """This thread's recently found passages and their (segment, row), a few thousand at most."""
        places = getattr(self._recent, "places", None)
        if places is None or len(places) > RECENT_PLACES:
            places = self._recent.places = {}
        return places

    def _by_segment(self, ids: Sequence[PassageId]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The ids grouped by segment: (segment, positions in ids, rows)."""
        places = [self._place(pid) for pid in ids]
        groups: dict[int, list[tuple[int, int]]] = {}
        for i, (s, row) in enumerate(places):
            groups.setdefault(s, []).append((i, row))
        return [(s, np.array([i for i, _ in g], dtype=np.int64), np.array([r for _, r in g], dtype=np.int64))
                for s, g in groups.items()]

    def masks(self, where: Filter | None) -> list[np.ndarray | None]:
        """Per segment, the rows a search may return (None: all): live, and let through by
        `where`; this thread's last one remembered."""
        if where is None or where.empty:
            return self.alive
        recent = getattr(self._recent, "masks", None)
        if recent is not None and recent[0] == where:
            return recent[1]
        out = []
        for seg, alive in zip(self.segments, self.alive):
            ok = np.fromiter((where.admits(d.source, d.date) for d in seg.documents), dtype=bool, count=len(seg.documents))
            rows = ok[seg.row_doc]
            out.append(rows if alive is None else rows & alive)
        self._recent.masks = (where, out)
        return out

    def _bm25(self, query_terms: Sequence[str]) -> list[np.ndarray]:
        """BM25 scores of every row of every segment, this thread's last question remembered
        (top-k and the scores of dense candidates read the same arrays)."""
        key = tuple(query_terms)
        recent = getattr(self._recent, "scores", None)
        if recent is not None and recent[0] == key:
            return recent[1]
        scores = self.bm25.scores(key)
        self._recent.scores = (key, scores)
        return scores

    def dense_top_k(self, vector: np.ndarray, k: int, where: Filter | None = None) -> list[PassageId]:
        found = [(score, s, row) for s, (seg, allowed) in enumerate(zip(self.segments, self.masks(where)))
                 for score, row in zip(*(a.tolist() for a in seg.nearest(vector, k, allowed)))]
        if len(self.segments) > 1:
            found.sort(key=lambda f: -f[0])
        return [self._id(s, row) for _, s, row in found[:k]]

    def keyword_top_k(self, query_terms: Sequence[str], k: int,
                      where: Filter | None = None) -> list[tuple[PassageId, float]]:
        if k <= 0 or not query_terms or not self.bm25.passages:
            return []
        per_segment = [scores if allowed is None else np.where(allowed, scores, 0.0)
                       for scores, allowed in zip(self._bm25(query_terms), self.masks(where))]
        scores = per_segment[0] if len(per_segment) == 1 else np.concatenate(per_segment)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        starts = np.cumsum([0] + [len(s) for s in per_segment])
        out = []
        for i in top.tolist():
            if scores[i] > 0:
                s = int(np.searchsorted(starts, i, side="right")) - 1
                out.append((self._id(s, i - int(starts[s])), float(scores[i])))
        return out

    def keyword_scores(self, query_terms: Sequence[str], ids: Sequence[PassageId]) -> np.ndarray:
        out = np.zeros(len(ids), dtype=np.float32)
        if not query_terms:
            return out
        scores = self._bm25(query_terms)
        for s, at, rows in self._by_segment(ids):
            out[at] = scores[s][rows]
        return out

    def vectors(self, ids: Sequence[PassageId]) -> np.ndarray:
        """The stored unit vectors of the given passages."""
        out = np.zeros((len(ids), self.info.dimension), dtype=np.float32)
        for s, at, rows in self._by_segment(ids):
            out[at] = self.segments[s].vectors(rows)
        return out

    def idf(self, query_terms: Sequence[str]) -> dict[str, float]:
        """Idf of each of `query_terms` the collection holds (unknown terms are left out)."""
        out = {}
        for t in query_terms:
            if t not in out and (weight := self.bm25.idf(t)) > 0:
                out[t] = float(weight)
        return out

    def contains(self, ids: Sequence[PassageId], query_terms: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(ids), len(query_terms)), dtype=bool)
        for s, at, rows in self._by_segment(ids):
            postings = self.segments[s].postings
            for j, term in enumerate(query_terms):
                out[at, j] = postings.holds(term, rows)
        return out

    def document_vectors(self, source: str) -> np.ndarray:
        s, d = self._home[source]
        return self.segments[s].document_vectors(d)

    # -- writing ------------------------------------------------------------------------

    def apply(self, changes: Changes) -> Store:
        """Write the changes as a new segment (and a merge, when due) and switch to a new
        generation; returns it. Costs what changed, plus the merge when one is due."""
        if self.folder is None:
            raise IndexStoreError("this index was not loaded from a folder and cannot be updated")
        fresh = {doc.source: (doc, np.asarray(vectors, dtype=np.float32)) for doc, vectors in changes.upserts}
        for doc, vectors in fresh.values():
            if vectors.shape != (len(doc.passages), self.info.dimension):
                raise ValueError(f"{doc.source}: {vectors.shape} vectors for {len(doc.passages)} passages "
                                 f"of dimension {self.info.dimension}")
        gone = set(changes.removes) | set(fresh)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            entries = [{**e, "deleted": sorted(set(e.get("deleted", ())) | {s for s in gone if s in seg.by_source})}
                       for seg, e in zip(self.segments, self.manifest.segments)]
            segments = list(self.segments)
            if fresh:
                docs = [fresh[s][0] for s in sorted(fresh)]
                name = next_segment(self.folder)
                # The only segment with live passages (a first build) keeps exact search longest.
                alone = all(len(e["deleted"]) == len(seg.documents) for seg, e in zip(segments, entries))
                files = write_segment(self.folder / name, docs, [fresh[d.source][1] for d in docs],
                                      (t for d in docs for t in passage_terms(d)), self.info.dimension, alone)
                segments.append(load_segment(self.folder / name, files))
                entries.append({"name": name, "files": files, "deleted": []})
            segments, entries = merged(self.folder, segments, entries, self.info.dimension)
            return _switch(self.folder, self.manifest, segments, entries)
        except (OSError, RuntimeError) as exc:
            raise _write_error(self.folder, exc) from exc

    def merge(self) -> Store:
        """Merge every segment into one now, dropping deleted passages; returns the new
        generation (answers are the same: BM25 statistics are the collection's, not a segment's)."""
        if self.folder is None:
            raise IndexStoreError("this index was not loaded from a folder and cannot be updated")
        try:
            segments, entries = merged(self.folder, self.segments, list(self.manifest.segments), self.info.dimension,
                                       everything=True)
            return _switch(self.folder, self.manifest, segments, entries)
        except (OSError, RuntimeError) as exc:
            raise _write_error(self.folder, exc) from exc


def _switch(folder: Path, previous: Manifest, segments: list[Segment], entries: list[dict]) -> Store:
    """Write a generation of these segments and make it current (atomically); returns it loaded."""
    passages = sum(len(d.passages) for seg, e in zip(segments, entries) for gone in [set(e["deleted"])]
                   for d in seg.documents if d.source not in gone)
    manifest = replace(previous, segments=entries, passages=passages, format=FORMAT_VERSION)
    switch_generation(folder, manifest)
    return Store(manifest, segments, folder)


def _write_error(folder: Path, exc: OSError | RuntimeError) -> IndexStoreError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return IndexStoreError(f"cannot write the index in {folder} ({reason}); "
                           f"check that the folder is writable and the disk has room")


def empty_store(folder: str | Path, info: IndexInfo) -> Store:
    """An index with nothing in it yet, built with `info`; its first `apply` writes a generation."""
    manifest = Manifest(model=info.model, dimension=info.dimension, chunking=dict(info.chunking), passages=0,
                        encoder=info.encoder)
    return Store(manifest, [], Path(folder))


def load_store(index_dir: str | Path) -> Store:
    """Load and verify the generation in use; IndexStoreError if missing or damaged."""
    index_dir = Path(index_dir)
    folder = current_generation(index_dir)
    if folder is None:
        raise IndexStoreError(f"no index in {index_dir}; run `qa index` to build one")
    manifest = read_generation(folder)
    segments = [load_segment(index_dir / e["name"], e["files"]) for e in manifest.segments]
    return Store(manifest, segments, index_dir)


class LocalLocation:
    """An index folder (the default location).

    Example:
        >>> from qa.stores.local import LocalLocation
        >>> LocalLocation("no-index-here").info() is None
        True
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __str__(self) -> str:
        return str(self.folder)

    def info(self) -> IndexInfo | None:
        manifest = read_manifest(self.folder)
        return None if manifest is None else manifest.info

    def open(self, loaded: IndexBackend | None = None) -> Store:
        if isinstance(loaded, Store) and loaded.folder == self.folder and loaded.manifest == read_manifest(self.folder):
            return loaded
        return load_store(self.folder)

    def create(self, info: IndexInfo) -> Store:
        return empty_store(self.folder, info)

    def lock(self) -> AbstractContextManager[bool]:
        """The folder's writer lock (flock on `.lock`): one update at a time, across processes."""
        return folder_lock(self.folder)

    def writable(self) -> bool:
        return os.access(self.folder, os.W_OK)

    def work_dir(self) -> Path:
        return self.folder


def write_store(index_dir: str | Path, manifest: Manifest, documents: list[StoredDocument], vectors: Vectors,
                passage_terms: Iterable[Sequence[str]]) -> Path:
    """Write a whole index of one segment (replacing what is there) and switch to it; returns
    the generation's folder. For bulk builds (bench/) that have vectors and terms at hand."""
    index_dir = Path(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        name = next_segment(index_dir)
        files = write_segment(index_dir / name, documents, vectors, passage_terms, manifest.dimension)
        _switch(index_dir, manifest, [load_segment(index_dir / name, files)], [{"name": name, "files": files, "deleted": []}])
    except (OSError, RuntimeError) as exc:
        raise _write_error(index_dir, exc) from exc
    return current_generation(index_dir)
