"""The default index: a folder of segments (FAISS + BM25 postings), switched by generation.

Layout of the index folder:

    index/
      CURRENT            name of the generation in use, e.g. "gen-000003"
      gen-000003/
        manifest.json    model, encoder, dimension, chunking settings, and the segments in use:
                         each one's files with their checksums, and the documents deleted
                         from it since it was written (a small file: nothing per document)
      seg-000001/        immutable segments (qa.stores.segments): documents, vectors, terms
      seg-000004/

An update costs what changed: its new and changed files go into a new small segment, and
the files it removes or replaces are marked deleted in the older segments (their passages
are skipped by every search until a merge drops them). Small segments are merged when
there are more than MAX_SEGMENTS, and everything is merged into one when the small ones
outgrow the biggest (or a quarter of it is deleted), so search stays fast; BM25 uses the
whole collection's statistics, so a merge changes no score. Every update writes its new
segments and a new generation into temporary folders, renames them into place and only then
switches CURRENT (an atomic rename): a crash at any point leaves the previous generation in
use. Loading checks every file against its checksum, so a damaged file is reported, never
half-read.

Example:
    >>> from qa.stores.local import load_store
    >>> store = load_store("index")          # doctest: +SKIP
    >>> store.manifest.model, len(store)     # doctest: +SKIP
    ('all-MiniLM-L6-v2', 8)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from qa.errors import IndexStoreError
from qa.stores import bm25
from qa.stores.base import (
    Changes,
    Filter,
    IndexBackend,
    IndexInfo,
    PassageId,
    StoredDocument,
    folder_lock,
    passage_terms,
)
from qa.stores.segments import Segment, Vectors, fsync_file, load_segment, write_segment

FORMAT_VERSION = 2
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
# Merge policy: at most this many segments (the smallest are merged beyond it); one segment
# again when the others hold more than FULL_MERGE_SHARE of the biggest's passages, or more
# than DELETED_SHARE of the biggest is deleted.
MAX_SEGMENTS = 8
FULL_MERGE_SHARE = 0.5
DELETED_SHARE = 0.25
_SEGMENT = re.compile(r"^\.?seg-(\d+)")
# Passages a thread remembers the place of, between a search and the reads of its candidates.
RECENT_PLACES = 4096


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with; a mismatch with the settings means a rebuild."""

    model: str
    dimension: int
    chunking: dict[str, int]
    passages: int  # live passages
    # Each segment in use: {"name", "files": {path: sha256}, "deleted": [sources]}.
    segments: list[dict] = field(default_factory=list)
    format: int = FORMAT_VERSION
    encoder: str = "torch"  # the backend that embedded it (qa.encoders)

    @property
    def info(self) -> IndexInfo:
        return IndexInfo(self.model, self.dimension, self.encoder, self.chunking)


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
                name = _next_segment(self.folder)
                # The only segment with live passages (a first build) keeps exact search longest.
                alone = all(len(e["deleted"]) == len(seg.documents) for seg, e in zip(segments, entries))
                files = write_segment(self.folder / name, docs, [fresh[d.source][1] for d in docs],
                                      (t for d in docs for t in passage_terms(d)), self.info.dimension, alone)
                segments.append(load_segment(self.folder / name, files))
                entries.append({"name": name, "files": files, "deleted": []})
            segments, entries = _merged(self.folder, segments, entries, self.info.dimension)
            return _switch(self.folder, self.manifest, segments, entries)
        except (OSError, RuntimeError) as exc:
            raise _write_error(self.folder, exc) from exc

    def merge(self) -> Store:
        """Merge every segment into one now, dropping deleted passages; returns the new
        generation (answers are the same: BM25 statistics are the collection's, not a segment's)."""
        if self.folder is None:
            raise IndexStoreError("this index was not loaded from a folder and cannot be updated")
        try:
            segments, entries = _merged(self.folder, self.segments, list(self.manifest.segments), self.info.dimension,
                                        everything=True)
            return _switch(self.folder, self.manifest, segments, entries)
        except (OSError, RuntimeError) as exc:
            raise _write_error(self.folder, exc) from exc


def _merge_due(sizes: list[int], dead: list[int]) -> list[int] | None:
    """Which segments (by position) to merge into one, or None. `sizes` counts live passages."""
    if len(sizes) < 2:
        return None
    biggest = int(np.argmax(sizes))
    rest = sum(sizes) - sizes[biggest]
    if rest > FULL_MERGE_SHARE * sizes[biggest] or dead[biggest] > DELETED_SHARE * (sizes[biggest] + dead[biggest]):
        return list(range(len(sizes)))
    if len(sizes) > MAX_SEGMENTS:
        smallest = sorted(range(len(sizes)), key=lambda i: sizes[i])
        return sorted(smallest[: len(sizes) - MAX_SEGMENTS // 2 + 1])
    return None


def _merged(folder: Path, segments: list[Segment], entries: list[dict], dimension: int,
            everything: bool = False) -> tuple[list[Segment], list[dict]]:
    """The segments after the merge the policy calls for (if any; all of them if `everything`):
    the merged ones' live documents, vectors and postings in one new segment, nothing embedded
    or tokenised again."""
    deleted = [set(e["deleted"]) for e in entries]
    sizes = [sum(len(d.passages) for d in seg.documents if d.source not in gone) for seg, gone in zip(segments, deleted)]
    dead = [len(seg) - size for seg, size in zip(segments, sizes)]
    chosen = list(range(len(segments))) if everything else _merge_due(sizes, dead)
    if not chosen:
        return segments, entries
    picked = [(seg.documents[d].source, i, d) for i in chosen for seg in [segments[i]]
              for d in range(len(seg.documents)) if seg.documents[d].source not in deleted[i]]
    picked.sort()
    new_rows = {i: np.full(len(segments[i]), -1, dtype=np.int64) for i in chosen}
    offset = 0
    for _, i, d in picked:
        seg = segments[i]
        n = len(seg.documents[d].passages)
        new_rows[i][int(seg.first_row[d]) : int(seg.first_row[d]) + n] = np.arange(offset, offset + n)
        offset += n
    postings = bm25.Postings.merge([(segments[i].postings, new_rows[i]) for i in chosen], offset)
    docs = [segments[i].documents[d] for _, i, d in picked]
    name = _next_segment(folder)
    files = write_segment(folder / name, docs, (segments[i].document_vectors(d) for _, i, d in picked), postings,
                          dimension, alone=len(chosen) == len(segments))
    keep = [i for i in range(len(segments)) if i not in chosen]
    return ([segments[i] for i in keep] + [load_segment(folder / name, files)],
            [entries[i] for i in keep] + [{"name": name, "files": files, "deleted": []}])


def _next_segment(folder: Path) -> str:
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _SEGMENT.match(p.name))]
    return f"seg-{max(numbers, default=0) + 1:06d}"


def _switch(folder: Path, previous: Manifest, segments: list[Segment], entries: list[dict]) -> Store:
    """Write a generation of these segments and make it current (atomically); returns it loaded."""
    passages = sum(len(d.passages) for seg, e in zip(segments, entries) for gone in [set(e["deleted"])]
                   for d in seg.documents if d.source not in gone)
    manifest = replace(previous, segments=entries, passages=passages, format=FORMAT_VERSION)
    current = current_generation_safe(folder)
    name = f"gen-{int(current.name.split('-')[1]) + 1 if current else 1:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder))
    try:
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
        fsync_file(tmp / MANIFEST)
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    pointer_tmp = folder / f".{CURRENT}.tmp"
    pointer_tmp.write_text(name + "\n", encoding="utf-8")
    fsync_file(pointer_tmp)
    os.replace(pointer_tmp, folder / CURRENT)
    fsync_file(folder)  # the renames themselves survive a power cut
    _remove_unused(folder, name, {e["name"] for e in entries})
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


_MANIFEST_FIELDS = {f.name for f in fields(Manifest)}


def current_generation(index_dir: Path) -> Path | None:
    """The folder of the generation in use, or None when there is no index yet."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = index_dir / name
    if not name.startswith("gen-") or not folder.is_dir():
        raise IndexStoreError(f"{pointer} names a missing generation {name!r}; run `qa index` to rebuild")
    return folder


def current_generation_safe(index_dir: Path) -> Path | None:
    """Like current_generation, but a broken pointer counts as no index (a rebuild follows)."""
    try:
        return current_generation(index_dir)
    except (IndexStoreError, OSError):
        gens = sorted(index_dir.glob("gen-*"))
        return gens[-1] if gens else None


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the generation in use (None when there is no index)."""
    folder = current_generation(index_dir)
    return None if folder is None else _read_manifest(folder)


def _read_manifest(folder: Path) -> Manifest:
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"index manifest in {folder} is damaged ({exc}); run `qa index` to rebuild") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise IndexStoreError(f"index in {folder} has format {found}, this qa reads {FORMAT_VERSION}; it is rebuilt")
    try:  # fields an older or newer qa wrote and this one does not know are left aside
        return Manifest(**{k: v for k, v in raw.items() if k in _MANIFEST_FIELDS})
    except TypeError as exc:
        raise IndexStoreError(f"index manifest in {folder} is damaged ({exc}); run `qa index` to rebuild") from exc


def load_store(index_dir: str | Path) -> Store:
    """Load and verify the generation in use; IndexStoreError if missing or damaged."""
    index_dir = Path(index_dir)
    folder = current_generation(index_dir)
    if folder is None:
        raise IndexStoreError(f"no index in {index_dir}; run `qa index` to build one")
    manifest = _read_manifest(folder)
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
        name = _next_segment(index_dir)
        files = write_segment(index_dir / name, documents, vectors, passage_terms, manifest.dimension)
        _switch(index_dir, manifest, [load_segment(index_dir / name, files)], [{"name": name, "files": files, "deleted": []}])
    except (OSError, RuntimeError) as exc:
        raise _write_error(index_dir, exc) from exc
    return current_generation(index_dir)


def _remove_unused(index_dir: Path, keep: str, segments: set[str]) -> None:
    """Delete superseded generations, segments no generation in use lists, and leftovers of
    interrupted writes."""
    for path in index_dir.iterdir():
        name = path.name
        stale_gen = name != keep and (name.startswith("gen-") or name.startswith(".gen-"))
        stale_seg = _SEGMENT.match(name) is not None and name not in segments
        if path.is_dir() and (stale_gen or stale_seg):
            shutil.rmtree(path, ignore_errors=True)

