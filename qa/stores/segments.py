"""One segment of a local index: an immutable folder of documents with their passages'
vectors (FAISS) and terms (BM25 postings, `qa.stores.bm25`).

    seg-000004/
      documents.jsonl   one line per document: source, title, date, text, sentence units,
                        passages (as ranges of units)
      dense.faiss       one unit vector per passage (inner product = cosine): exact search
                        (IndexFlatIP) up to EXACT_SEARCH_MAX passages, an HNSW graph above
      terms/            BM25 postings: vocab.json, indptr/rows/tf/lengths .npy

A segment is written once, into a temporary folder renamed into place, and never changed:
a generation lists the segments it uses with each file's checksum (`qa.stores.manifest`).

Example:
    >>> import numpy as np, tempfile
    >>> from pathlib import Path
    >>> from qa.stores.base import StoredDocument
    >>> doc = StoredDocument("a.txt", "A", None, "h", "Troops stay.", ((0, 12),), ((0, 1),))
    >>> folder = Path(tempfile.mkdtemp()) / "seg-000001"
    >>> files = write_segment(folder, [doc], np.eye(1, 4, dtype=np.float32), [["troop", "stay"]], 4)
    >>> sorted(files)[:2], len(load_segment(folder, files))
    (['dense.faiss', 'documents.jsonl'], 1)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from qa.durable import fsync_tree, sha256
from qa.errors import IndexStoreError
from qa.stores.base import StoredDocument
from qa.stores.bm25 import Postings

DOCUMENTS = "documents.jsonl"
DENSE = "dense.faiss"
TERMS = "terms"
# Dense index by size (bench/bench_faiss.py): exact search up to this many passages (one-query
# p50 6-9 ms on one core at 100k; 10 ms is passed between 110k and 170k); an HNSW graph above.
EXACT_SEARCH_MAX = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
# Candidates a graph search keeps: recall@10 0.96 at 1M synthetic vectors, p50 under 1 ms.
HNSW_EF_SEARCH = 512
# A segment written beside others (an update's, or a merge of small ones) is searched
# exactly only up to this size: every question scans each exact segment, so several of
# EXACT_SEARCH_MAX would cost as much as one big exact index (bench/bench_segments.py).
SMALL_EXACT_MAX = 20_000

# Passage vectors: one array, or consecutive blocks of rows.
Vectors = np.ndarray | Sequence[np.ndarray]


@dataclass
class Segment:
    """A loaded segment: its documents, their rows' vectors and terms."""

    name: str
    documents: list[StoredDocument]
    dense: faiss.Index
    postings: Postings
    by_source: dict[str, int] = field(init=False)
    first_row: np.ndarray = field(init=False)  # per document: its first passage's row
    row_doc: np.ndarray = field(init=False)  # per row: its document

    def __post_init__(self) -> None:
        self.by_source = {doc.source: i for i, doc in enumerate(self.documents)}
        counts = np.array([len(d.passages) for d in self.documents], dtype=np.int64)
        self.row_doc = np.repeat(np.arange(len(self.documents), dtype=np.int64), counts)
        self.first_row = np.concatenate([[0], np.cumsum(counts)])[:-1] if len(counts) else counts
        if self.dense.ntotal != len(self.row_doc) or len(self.postings) != len(self.row_doc):
            raise IndexStoreError(f"segment {self.name} holds {self.dense.ntotal} vectors and {len(self.postings)} term "
                                  f"rows for {len(self.row_doc)} passages; run `qa index` to rebuild")

    def __len__(self) -> int:
        return len(self.row_doc)

    def document_vectors(self, d: int) -> np.ndarray:
        return self.dense.reconstruct_n(int(self.first_row[d]), len(self.documents[d].passages))

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self.dense.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def nearest(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(inner products, rows) of the (at most) k rows whose vectors best match the unit
        `vector`, best first; only among `allowed` (a boolean mask over rows) if given.

        A filter that leaves at most EXACT_SEARCH_MAX rows is searched exactly, over the stored
        vectors: a graph search visits a few hundred nodes and would miss most of them.
        """
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        k = min(k, len(self))
        if k == 0 or (allowed is not None and not allowed.any()):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
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
            scores, found = index.search(query, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        keep = found[0] >= 0
        return scores[0][keep], found[0][keep]


def _exact(index: faiss.Index) -> faiss.Index:
    """The flat (exact) index holding the vectors: the index itself, or an HNSW graph's storage."""
    return faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index


def build_dense(vectors: Vectors, dimension: int, exact_max: int | None = None) -> faiss.Index:
    """The dense index of `vectors`: exact inner product up to exact_max of them, HNSW above.

    `vectors` may be one array or consecutive blocks of rows (one per document), added one by
    one so that they are never copied into one big array first.
    """
    blocks = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    if sum(len(b) for b in blocks) <= (EXACT_SEARCH_MAX if exact_max is None else exact_max):
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for block in blocks:
        if len(block):
            index.add(np.ascontiguousarray(block, dtype=np.float32))
    return _ready_to_search(index)


def _ready_to_search(index: faiss.Index) -> faiss.Index:
    """Set what a search reads from the index but this qa decides (an HNSW graph's efSearch)."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def write_segment(folder: Path, documents: list[StoredDocument], vectors: Vectors,
                  passage_terms: Iterable[Sequence[str]] | Postings, dimension: int, alone: bool = True) -> dict[str, str]:
    """Write a segment into `folder` (which must not exist: a temporary folder is renamed
    into place); returns the checksum of each of its files, by path within it. A segment
    not `alone` in its index gets a graph above SMALL_EXACT_MAX passages, not EXACT_SEARCH_MAX."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with (tmp / DOCUMENTS).open("w", encoding="utf-8") as fh:
            for doc in documents:
                fh.write(doc.to_json() + "\n")
        # One index in memory at a time: the postings of a 50 MB file take a few hundred MB,
        # and FAISS a copy of every vector.
        postings = passage_terms if isinstance(passage_terms, Postings) else Postings.build(passage_terms)
        postings.save(tmp / TERMS)
        del postings
        blocks = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
        dense = build_dense(blocks, dimension, None if alone else SMALL_EXACT_MAX)
        faiss.write_index(dense, str(tmp / DENSE))
        del dense
        files = {p.relative_to(tmp).as_posix(): sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        fsync_tree(tmp)
        os.rename(tmp, folder)
        tmp = None
        return files
    finally:
        if tmp is not None:  # an interrupted write leaves nothing behind
            shutil.rmtree(tmp, ignore_errors=True)


def load_segment(folder: Path, files: dict[str, str]) -> Segment:
    """Load and verify a segment against the checksums a generation recorded for it."""
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()
    if present != set(files):
        missing = sorted(set(files) - present)
        raise IndexStoreError(f"index segment {folder} is incomplete (missing {', '.join(missing) or 'nothing'}; "
                              f"unexpected {', '.join(sorted(present - set(files))) or 'nothing'})")
    for name, digest in files.items():
        if sha256(folder / name) != digest:
            raise IndexStoreError(f"index file {folder / name} is damaged (checksum mismatch)")
    try:
        with (folder / DOCUMENTS).open(encoding="utf-8") as fh:
            documents = [StoredDocument.from_json(line) for line in fh if line.strip()]
        dense = _ready_to_search(faiss.read_index(str(folder / DENSE)))
        postings = Postings.load(folder / TERMS)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexStoreError(f"index segment {folder} cannot be read ({exc}); run `qa index` to rebuild") from exc
    return Segment(folder.name, documents, dense, postings)
