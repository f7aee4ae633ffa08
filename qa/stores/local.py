"""The index on disk: passages, their vectors (FAISS) and their terms (BM25), with a manifest.

Layout of the index folder:

    index/
      CURRENT            name of the generation in use, e.g. "gen-000003"
      gen-000003/
        manifest.json    model, encoder, dimension, chunking settings, a hash per source file,
                         and a checksum per index file
        documents.jsonl  one line per document: source, title, date, text, sentence units
                         and passages (as ranges of units)
        dense.faiss      one unit vector per passage (inner product = cosine): exact search
                         (IndexFlatIP) up to EXACT_SEARCH_MAX passages, an HNSW graph above
        bm25/            bm25s matrices over the same passages

Every update writes a whole new generation into a temporary folder, renames it into place
and only then switches CURRENT (an atomic rename). A crash at any point leaves the previous
generation in use. Loading checks every file against its checksum, so a truncated or
corrupted file is reported, never half-read.

Example:
    >>> from qa.stores.local import load_store
    >>> store = load_store("index")          # doctest: +SKIP
    >>> store.manifest.model, len(store)     # doctest: +SKIP
    ('all-MiniLM-L6-v2', 8)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.errors import IndexStoreError
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

# bm25s sets its logger to DEBUG when imported, which prints its internals through any
# logging handler an application has (the CLI's, the app's); its warnings still show.
logging.getLogger("bm25s").setLevel(logging.WARNING)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
BM25_K1, BM25_B = 0.9, 0.4
# Dense index by size (bench/bench_faiss.py): exact search up to this many passages (one-query
# p50 6-9 ms on one core at 100k; 10 ms is passed between 110k and 170k); an HNSW graph above.
EXACT_SEARCH_MAX = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
# Candidates a graph search keeps: recall@10 0.96 at 1M synthetic vectors, p50 under 1 ms.
HNSW_EF_SEARCH = 512

# Passage vectors: one array, or consecutive blocks of rows.
Vectors = np.ndarray | Sequence[np.ndarray]


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with; a mismatch with the settings means a rebuild."""

    model: str
    dimension: int
    chunking: dict[str, int]
    sources: dict[str, str]  # source path -> sha256 of its bytes
    passages: int
    files: dict[str, str] = field(default_factory=dict)  # index file -> sha256
    format: int = FORMAT_VERSION
    encoder: str = "torch"  # the backend that embedded it (qa.encoders); older indexes were all torch

    @property
    def info(self) -> IndexInfo:
        return IndexInfo(self.model, self.dimension, self.encoder, self.chunking)


class Store:
    """A loaded generation of a local index (FAISS + bm25s): the default `IndexBackend`.

    Passages sit in rows, documents in source order; a `PassageId` maps to its row through
    its document. Everything is read-only: `apply` writes a new generation and returns it.
    """

    def __init__(self, manifest: Manifest, documents: list[StoredDocument], dense: faiss.Index,
                 bm25: bm25s.BM25 | None, folder: Path | None = None):
        self.manifest = manifest
        self.info = manifest.info
        self.folder = folder  # the index folder (whose CURRENT names this generation)
        self.documents = documents
        self.dense = dense
        self.bm25 = bm25
        self.by_source = {doc.source: i for i, doc in enumerate(documents)}
        counts = np.array([len(d.passages) for d in documents], dtype=np.int64)
        self.passage_doc = np.repeat(np.arange(len(documents), dtype=np.int64), counts)
        self.doc_first_passage = np.concatenate([[0], np.cumsum(counts)])[:-1] if len(counts) else counts
        if dense.ntotal != len(self.passage_doc):
            raise IndexStoreError(
                f"index holds {dense.ntotal} vectors for {len(self.passage_doc)} passages; run `qa index` to rebuild"
            )
        self.idf_by_id = _idf(bm25) if bm25 is not None else np.zeros(0, dtype=np.float32)
        self._recent = threading.local()  # this thread's last filter mask and BM25 scores

    def __len__(self) -> int:
        return len(self.passage_doc)

    # -- reading ------------------------------------------------------------------------

    def document(self, source: str) -> StoredDocument | None:
        d = self.by_source.get(source)
        return None if d is None else self.documents[d]

    def rows(self, ids: Sequence[PassageId]) -> np.ndarray:
        """Row numbers of passages (KeyError for a passage this generation does not hold)."""
        out = np.empty(len(ids), dtype=np.int64)
        for r, pid in enumerate(ids):
            d = self.by_source[pid.source]
            if self.documents[d].hash != pid.hash:
                raise KeyError(pid)
            out[r] = self.doc_first_passage[d] + pid.number
        return out

    def passage_id(self, row: int) -> PassageId:
        doc = self.documents[int(self.passage_doc[row])]
        return PassageId(doc.source, doc.hash, row - int(self.doc_first_passage[self.by_source[doc.source]]))

    def _ids(self, rows) -> list[PassageId]:
        return [self.passage_id(r) for r in rows]

    def mask(self, where: Filter | None) -> np.ndarray | None:
        """The rows a filter lets through as a boolean mask (None: all), this thread's last one remembered."""
        if where is None or where.empty:
            return None
        recent = getattr(self._recent, "mask", None)
        if recent is not None and recent[0] == where:
            return recent[1]
        ok = np.fromiter((where.admits(d.source, d.date) for d in self.documents), dtype=bool, count=len(self.documents))
        allowed = ok[self.passage_doc]
        self._recent.mask = (where, allowed)
        return allowed

    def _bm25_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 scores of every passage, this thread's last question remembered (top-k and the
        scores of dense candidates read the same array)."""
        key = tuple(query_terms)
        recent = getattr(self._recent, "scores", None)
        if recent is not None and recent[0] == key:
            return recent[1]
        if self.bm25 is None or not key:
            scores = np.zeros(len(self), dtype=np.float32)
        else:
            scores = np.asarray(self.bm25.get_scores(list(key)), dtype=np.float32)
        self._recent.scores = (key, scores)
        return scores

    def dense_top_k(self, vector: np.ndarray, k: int, where: Filter | None = None) -> list[PassageId]:
        return self._ids(self.nearest(vector, k, self.mask(where)).tolist())

    def keyword_top_k(self, query_terms: Sequence[str], k: int,
                      where: Filter | None = None) -> list[tuple[PassageId, float]]:
        k = min(k, len(self))
        if k == 0 or not query_terms:
            return []
        scores = self._bm25_scores(query_terms)
        allowed = self.mask(where)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.passage_id(r), float(scores[r])) for r in top.tolist() if scores[r] > 0]

    def keyword_scores(self, query_terms: Sequence[str], ids: Sequence[PassageId]) -> np.ndarray:
        return self._bm25_scores(query_terms)[self.rows(ids)]

    def vectors(self, ids: Sequence[PassageId] | np.ndarray) -> np.ndarray:
        """The stored unit vectors of the given passages (ids, or row numbers)."""
        rows = ids if isinstance(ids, np.ndarray) else self.rows(ids)
        return self.dense.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def idf(self, query_terms: Sequence[str]) -> dict[str, float]:
        """Idf of each of `query_terms` the collection knows (unknown terms are left out)."""
        if self.bm25 is None:
            return {}
        vocab = self.bm25.vocab_dict
        return {t: float(self.idf_by_id[vocab[t]]) for t in query_terms if t in vocab}

    def contains(self, ids: Sequence[PassageId], query_terms: Sequence[str]) -> np.ndarray:
        """Read from BM25's term-by-passage matrix, so nothing is re-tokenised: a term's
        postings (the passages holding it) are sorted, so membership is a binary search."""
        out = np.zeros((len(ids), len(query_terms)), dtype=bool)
        if self.bm25 is None or not len(ids):
            return out
        rows = self.rows(ids)
        vocab = self.bm25.vocab_dict
        indptr, indices = self.bm25.scores["indptr"], self.bm25.scores["indices"]
        for j, term in enumerate(query_terms):
            if term not in vocab:
                continue
            holders = indices[indptr[vocab[term]] : indptr[vocab[term] + 1]]
            if len(holders):
                at = np.minimum(np.searchsorted(holders, rows), len(holders) - 1)
                out[:, j] = holders[at] == rows
        return out

    def document_vectors(self, doc: int) -> np.ndarray:
        first = int(self.doc_first_passage[doc])
        return self.dense.reconstruct_n(first, len(self.documents[doc].passages))

    def nearest(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Rows of the (at most) k passages whose vectors best match the unit `vector`, best
        first; only among `allowed` (a boolean mask over passages) if given.

        A filter that leaves at most EXACT_SEARCH_MAX passages is searched exactly, over the
        stored vectors: a graph search visits a few hundred nodes and would miss most of them.
        """
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        k = min(k, len(self))
        if k == 0 or (allowed is not None and not allowed.any()):
            return np.zeros(0, dtype=np.int64)
        index, params = self.dense, None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.flatnonzero(allowed).astype(np.int64))
            if isinstance(index, faiss.IndexHNSW) and int(allowed.sum()) > EXACT_SEARCH_MAX:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
            else:
                index, params = _exact(index), faiss.SearchParameters(sel=selector)
        # One query is answered faster on one thread (bench_faiss: 9 vs 15 ms at 100k exact),
        # and concurrent questions each keep a core; builds keep their threads.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            _, found = index.search(query, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        return found[0][found[0] >= 0]

    # -- writing ------------------------------------------------------------------------

    def apply(self, changes: Changes) -> Store:
        """Write a new generation: these documents' vectors carried over, the changes applied."""
        if self.folder is None:
            raise IndexStoreError("this index was not loaded from a folder and cannot be updated")
        fresh = {doc.source: (doc, vectors) for doc, vectors in changes.upserts}
        for doc, vectors in fresh.values():
            if len(vectors) != len(doc.passages):
                raise ValueError(f"{doc.source}: {len(vectors)} vectors for {len(doc.passages)} passages")
        keep = [d for d in self.documents if d.source not in fresh and d.source not in changes.removes]
        by_source = {d.source: d for d in keep} | {s: doc for s, (doc, _) in fresh.items()}
        order = sorted(by_source)
        documents = [by_source[s] for s in order]
        vectors = [fresh[s][1] if s in fresh else self.document_vectors(self.by_source[s]) for s in order]
        passage_ids = TermIds()
        for doc in documents:
            for words in passage_terms(doc):
                passage_ids.add(words)
        manifest = Manifest(model=self.info.model, dimension=self.info.dimension, chunking=self.info.chunking,
                            sources={d.source: d.hash for d in documents}, passages=sum(map(len, vectors)),
                            encoder=self.info.encoder)
        write_store(self.folder, manifest, documents, vectors, passage_ids)
        return load_store(self.folder)


def empty_store(folder: str | Path, info: IndexInfo) -> Store:
    """An index with nothing in it yet, built with `info`; its first `apply` writes a generation."""
    manifest = Manifest(model=info.model, dimension=info.dimension, chunking=dict(info.chunking), sources={},
                        passages=0, encoder=info.encoder)
    return Store(manifest, [], faiss.IndexFlatIP(info.dimension), None, Path(folder))


def _exact(index: faiss.Index) -> faiss.Index:
    """The flat (exact) index holding the vectors: the index itself, or an HNSW graph's storage."""
    return faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index


def build_dense(vectors: Vectors, dimension: int, exact_max: int) -> faiss.Index:
    """The dense index of `vectors`: exact inner product up to exact_max of them, HNSW above.

    `vectors` may be one array or consecutive blocks of rows (one per document), added one by
    one so that they are never copied into one big array first.
    """
    blocks = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    if sum(len(b) for b in blocks) <= exact_max:
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for block in blocks:
        if len(block):
            index.add(np.ascontiguousarray(block, dtype=np.float32))
    return index


def _ready_to_search(index: faiss.Index) -> faiss.Index:
    """Set what a search reads from the index but this qa decides (an HNSW graph's efSearch)."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _idf(bm25: bm25s.BM25) -> np.ndarray:
    """Inverse document frequency per BM25 vocabulary id (Lucene's form, always > 0)."""
    df = np.diff(np.asarray(bm25.scores["indptr"])).astype(np.float64)
    n = float(bm25.scores["num_docs"])
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


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


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the generation in use (None when there is no index)."""
    folder = current_generation(index_dir)
    return None if folder is None else _read_manifest(folder)


def _read_manifest(folder: Path) -> Manifest:
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexStoreError(f"index manifest in {folder} is damaged ({exc}); run `qa index` to rebuild") from exc


def load_store(index_dir: str | Path) -> Store:
    """Load and verify the generation in use; IndexStoreError if missing or damaged."""
    index_dir = Path(index_dir)
    folder = current_generation(index_dir)
    if folder is None:
        raise IndexStoreError(f"no index in {index_dir}; run `qa index` to build one")
    manifest = _read_manifest(folder)
    if manifest.format != FORMAT_VERSION:
        raise IndexStoreError(f"index in {folder} has format {manifest.format}, this qa reads {FORMAT_VERSION}")
    present = {p.relative_to(folder).as_posix() for p in _files(folder)}
    if present != set(manifest.files):
        missing = sorted(set(manifest.files) - present)
        raise IndexStoreError(f"index in {folder} is incomplete (missing {', '.join(missing) or 'nothing'}; "
                              f"unexpected {', '.join(sorted(present - set(manifest.files))) or 'nothing'})")
    for name, digest in manifest.files.items():
        if _sha256(folder / name) != digest:
            raise IndexStoreError(f"index file {folder / name} is damaged (checksum mismatch)")
    try:
        with (folder / DOCUMENTS).open(encoding="utf-8") as fh:
            documents = [StoredDocument.from_json(line) for line in fh if line.strip()]
        dense = _ready_to_search(faiss.read_index(str(folder / DENSE)))
        bm25 = bm25s.BM25.load(str(folder / BM25_DIR), load_vocab=True, show_progress=False) if manifest.passages else None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexStoreError(f"index in {folder} cannot be read ({exc}); run `qa index` to rebuild") from exc
    return Store(manifest, documents, dense, bm25, index_dir)


class LocalLocation:
    """An index folder (the default location): generations of FAISS + bm25s files.

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


@dataclass
class TermIds:
    """Passages' BM25 terms as vocabulary ids, added one passage at a time: lists of term
    strings for the 100,000 passages of a 50 MB document would take gigabytes.

    Example:
        >>> terms = TermIds()
        >>> terms.add(["troop", "iraq"]); terms.add([])
        >>> [ids.tolist() for ids in terms.ids], terms.vocab
        ([[0, 1], [2]], {'troop': 0, 'iraq': 1, '': 2})
    """

    ids: list[np.ndarray] = field(default_factory=list)
    vocab: dict[str, int] = field(default_factory=dict)

    def add(self, passage_terms: Sequence[str]) -> None:
        words = passage_terms or [""]  # bm25s needs at least one term per passage
        self.ids.append(np.fromiter((self.vocab.setdefault(t, len(self.vocab)) for t in words),
                                    dtype=np.int32, count=len(words)))

    def __len__(self) -> int:
        return len(self.ids)


def build_bm25(passage_terms: TermIds | Sequence[Sequence[str]]) -> bm25s.BM25:
    """A BM25 index over pre-analysed passages (see qa.lexical.terms)."""
    if not isinstance(passage_terms, TermIds):
        ids = TermIds()
        for words in passage_terms:
            ids.add(words)
        passage_terms = ids
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index((passage_terms.ids, passage_terms.vocab), show_progress=False)
    return bm25


def write_store(
    index_dir: str | Path,
    manifest: Manifest,
    documents: list[StoredDocument],
    vectors: Vectors,
    passage_terms: TermIds | Sequence[Sequence[str]],
) -> Path:
    """Write a new generation and switch CURRENT to it atomically; returns its folder."""
    index_dir = Path(index_dir)
    tmp: Path | None = None
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        previous = current_generation_safe(index_dir)
        number = int(previous.name.split("-")[1]) + 1 if previous else 1
        name = f"gen-{number:06d}"
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=index_dir))
        _write_generation(tmp, manifest, documents, vectors, passage_terms)
        target = index_dir / name
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
        tmp = None
        pointer_tmp = index_dir / f".{CURRENT}.tmp"
        pointer_tmp.write_text(name + "\n", encoding="utf-8")
        _fsync_file(pointer_tmp)
        os.replace(pointer_tmp, index_dir / CURRENT)
        _fsync_file(index_dir)  # the renames themselves survive a power cut
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise IndexStoreError(f"cannot write the index in {index_dir} ({reason}); "
                              f"check that the folder is writable and the disk has room") from exc
    finally:
        if tmp is not None:  # an interrupted write leaves nothing behind
            shutil.rmtree(tmp, ignore_errors=True)
    _remove_old(index_dir, keep=name)
    return target


def _write_generation(folder: Path, manifest: Manifest, documents: list[StoredDocument], vectors: Vectors,
                      passage_terms: TermIds | Sequence[Sequence[str]]) -> None:
    """All files of one generation, checksummed in its manifest and flushed to disk."""
    with (folder / DOCUMENTS).open("w", encoding="utf-8") as fh:
        for doc in documents:
            fh.write(doc.to_json() + "\n")
    # One index in memory at a time: BM25's build needs a few hundred MB for a 50 MB file, and
    # FAISS a copy of every vector.
    if len(passage_terms):
        build_bm25(passage_terms).save(str(folder / BM25_DIR), show_progress=False)
    dense = build_dense(vectors, manifest.dimension, EXACT_SEARCH_MAX)
    faiss.write_index(dense, str(folder / DENSE))
    count = dense.ntotal
    del dense
    files = {p.relative_to(folder).as_posix(): _sha256(p) for p in _files(folder)}
    final_manifest = Manifest(**{**asdict(manifest), "files": files, "passages": count})
    (folder / MANIFEST).write_text(json.dumps(asdict(final_manifest), indent=1), encoding="utf-8")
    _fsync_tree(folder)


def current_generation_safe(index_dir: Path) -> Path | None:
    """Like current_generation, but a broken pointer counts as no index (a rebuild follows)."""
    try:
        return current_generation(index_dir)
    except (IndexStoreError, OSError):
        gens = sorted(index_dir.glob("gen-*"))
        return gens[-1] if gens else None


def _remove_old(index_dir: Path, keep: str) -> None:
    """Delete superseded generations and leftovers of interrupted writes."""
    for path in index_dir.iterdir():
        if path.name != keep and path.is_dir() and (path.name.startswith("gen-") or path.name.startswith(".gen-")):
            shutil.rmtree(path, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync_file(path)
