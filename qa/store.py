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
    >>> from qa.store import load_store
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import bm25s
import faiss
import numpy as np

from qa.errors import IndexStoreError

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

Span = tuple[int, int]
# Passage vectors: one array, or consecutive blocks of rows.
Vectors = np.ndarray | Sequence[np.ndarray]


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


class Store:
    """A loaded generation of the index: documents, passage table, FAISS and BM25."""

    def __init__(self, manifest: Manifest, documents: list[StoredDocument], dense: faiss.Index, bm25: bm25s.BM25 | None):
        self.manifest = manifest
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
        self.idf = _idf(bm25) if bm25 is not None else np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.passage_doc)

    def locate(self, passage: int) -> tuple[StoredDocument, int]:
        """The document holding a global passage number, and the passage's number within it."""
        d = int(self.passage_doc[passage])
        return self.documents[d], passage - int(self.doc_first_passage[d])

    def vectors(self, passages: np.ndarray) -> np.ndarray:
        """The stored unit vectors of the given passages."""
        return self.dense.reconstruct_batch(np.asarray(passages, dtype=np.int64))

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        """Idf of each of `terms` the collection knows (unknown terms are left out)."""
        if self.bm25 is None:
            return {}
        vocab = self.bm25.vocab_dict
        return {t: float(self.idf[vocab[t]]) for t in terms if t in vocab}

    def document_vectors(self, doc: int) -> np.ndarray:
        first = int(self.doc_first_passage[doc])
        return self.dense.reconstruct_n(first, len(self.documents[doc].passages))

    def nearest(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Numbers of the (at most) k passages whose vectors best match the unit `vector`, best
        first; only among `allowed` (a boolean mask over passages) if given.

        A filter that leaves at most EXACT_SEARCH_MAX passages is searched exactly, over the
        stored vectors: a graph search visits a few hundred nodes and would miss most of them.
        """
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        k = min(k, len(self))
        if k == 0:
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
    return Store(manifest, documents, dense, bm25)


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
