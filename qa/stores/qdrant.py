"""qa's index in Qdrant: a server or cluster (`qdrant://`, `qdrants://`) or local mode in a folder (`qdrant+file:`).

One collection holds the passages: a named dense vector ("dense", cosine) and a named sparse
vector ("bm25", with Qdrant's IDF modifier, so the engine keeps the term statistics), with
source, hash, number, date, title and the passage's distinct terms as payload. A second,
small collection ("<name>_documents") holds each document's JSON (in parts, so a large one
stays under a server's request limit) and one metadata point: the `IndexInfo`, the BM25
average passage length and a generation token that changes with every update.

Index strings:
    qdrant://HOST[:PORT]/COLLECTION    a server over http (port 6333 unless given)
    qdrants://HOST[:PORT]/COLLECTION   the same over https
    qdrant+file:PATH                   local mode in a folder (collection "qa"), one process at a time
The API key for a server comes from the environment variable QDRANT_API_KEY. On a cluster,
`?shards=N&replicas=M&write_consistency=W` after the collection sets the shard_number,
replication_factor and write_consistency_factor qa creates both collections with (the
server's defaults otherwise); they take effect when qa (re)creates the collections.

Example:
    >>> from qa.stores.qdrant import handles, location
    >>> handles("qdrant://localhost/news"), handles("index/")
    (True, False)
    >>> str(location("qdrants://qdrant.example.org/news"))
    'qdrants://qdrant.example.org:6333/news'
    >>> location("qdrant://qdrant.example.org/news?shards=6&replicas=2").collection_options()
    {'shard_number': 6, 'replication_factor': 2}
    >>> backend = location("qdrant://localhost:6333/news").open()  # doctest: +SKIP
    >>> backend.keyword_top_k(["kurdistan"], 2)  # doctest: +SKIP
    [(PassageId(source='iraq.txt', hash='3f2a...', number=4), 3.1), ...]
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import math
import os
import re
import threading
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexStoreError, IndexUnavailableError, QuestionError
from qa.stores.base import Changes, Filter, IndexBackend, IndexInfo, PassageId, StoredDocument, folder_lock, passage_terms

try:
    import httpx
    from qdrant_client import QdrantClient, models
    from qdrant_client.http.exceptions import ApiException, UnexpectedResponse
except ImportError:  # an optional dependency: index strings still parse without it
    QdrantClient = models = httpx = None  # type: ignore[assignment,misc]
    ApiException = UnexpectedResponse = None  # type: ignore[assignment,misc]

SCHEMES = ("qdrant://", "qdrants://", "qdrant+file:")
DEFAULT_PORT = 6333
LOCAL_COLLECTION = "qa"
DENSE, SPARSE = "dense", "bm25"
# The same BM25 parameters as the local backend (qa.stores.local.BM25_K1, BM25_B), so both rank alike.
BM25_K1, BM25_B = 0.9, 0.4
# Document JSON is stored in parts of this many characters: a server refuses requests over 32 MB.
JSON_PART = 1 << 20
PASSAGE_BATCH = 128
ID_BATCH = 256
TIMEOUT_S = 30
FORMAT = 1

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "qdrant.stores.qa")  # fixed: point ids must not change between versions
_INFO_ID = str(uuid.uuid5(_NAMESPACE, "info"))
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")
_SERVER = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\[\]\s]+)(?::(?P<port>[^/]*))?/(?P<collection>.*)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PASSAGE_FIELDS = ["source", "hash", "number"]
# Index string options of a server's collection -> create_collection's arguments.
_OPTIONS = {"shards": "shard_number", "replicas": "replication_factor", "write_consistency": "write_consistency_factor"}


def handles(spec: str) -> bool:
    """Whether `spec` names a Qdrant index (by its scheme; a malformed one still raises in `location`)."""
    return spec.strip().lower().startswith(SCHEMES)


def location(spec: str) -> QdrantLocation:
    """The Qdrant location an index string names; IndexStoreError saying what is wrong when it is malformed."""
    text = spec.strip()
    lowered = text.lower()
    if lowered.startswith("qdrant+file:"):
        raw = text[len("qdrant+file:"):]
        raw = raw[2:] if raw.startswith("//") else raw  # qdrant+file:///abs/path
        if not raw.strip():
            raise IndexStoreError(f"{spec!r} names no folder: write qdrant+file:PATH, e.g. qdrant+file:./index")
        return QdrantLocation(path=Path(raw).expanduser().resolve(), collection=LOCAL_COLLECTION)
    for scheme, https in (("qdrant://", False), ("qdrants://", True)):
        if lowered.startswith(scheme):
            return _server_location(spec, text[len(scheme):], https)
    raise IndexStoreError(f"{spec!r} is not a Qdrant index: write qdrant://HOST[:PORT]/COLLECTION, "
                          "qdrants://HOST[:PORT]/COLLECTION or qdrant+file:PATH")


def _server_location(spec: str, rest: str, https: bool) -> QdrantLocation:
    """Parse the HOST[:PORT]/COLLECTION[?OPTIONS] part of a server's index string (an IPv6 host in brackets)."""
    usage = "write qdrant://HOST[:PORT]/COLLECTION (qdrants:// for https)"
    rest, _, query = rest.partition("?")
    parts = _SERVER.fullmatch(rest)
    if parts is None:
        raise IndexStoreError(f"{spec!r} is not a Qdrant address: {usage}")
    host, port_text, collection = parts["host"], parts["port"], parts["collection"]
    if not _COLLECTION_NAME.fullmatch(collection):
        raise IndexStoreError(f"{spec!r}: the collection name {collection!r} may only hold letters, digits, '_' and '-'; {usage}")
    if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise IndexStoreError(f"{spec!r}: the port {port_text!r} is not a number from 1 to 65535; {usage}")
    return QdrantLocation(host=host, port=int(port_text) if port_text else DEFAULT_PORT, https=https, collection=collection,
                          **_options(spec, query))


def _options(spec: str, query: str) -> dict[str, int]:
    """The collection options of an index string's query (`shards=3&replicas=2`), each a whole number from 1."""
    options: dict[str, int] = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name not in _OPTIONS:
            raise IndexStoreError(f"{spec!r}: unknown option {name!r}; the options are {', '.join(_OPTIONS)}")
        if not (value.isdigit() and int(value) > 0):
            raise IndexStoreError(f"{spec!r}: {name} must be a whole number from 1, not {value!r}")
        options[name] = int(value)
    return options


def term_id(term: str) -> int:
    """The sparse-vector index of a term: a stable 32-bit hash (not Python's `hash`, which changes per process)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def point_id(pid: PassageId) -> str:
    """The Qdrant point id of a passage: a UUID derived from what the passage is, so updates overwrite it."""
    return str(uuid.uuid5(_NAMESPACE, f"{pid.source}\0{pid.hash}\0{pid.number}"))


def _part_id(source: str, part: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"document\0{source}\0{part}"))


def _day(date: str) -> int:
    """An ISO date as a sortable number (2024-09-06 -> 20240906), for range filters in any Qdrant."""
    if not _ISO_DATE.fullmatch(date):
        raise QuestionError(f"not an ISO date (YYYY-MM-DD): {date!r}")
    return int(date.replace("-", ""))


def sparse_values(passage: Sequence[str], average_length: float) -> tuple[list[int], list[float]]:
    """A passage's BM25 document side: tf / (tf + k1 (1 - b + b len / avg)) per term (the IDF modifier adds idf).

    Example:
        >>> ids, values = sparse_values(["troop", "troop"], 2.0)
        >>> ids == [term_id("troop")], round(values[0], 4)  # 2 / (2 + 0.9)
        (True, 0.6897)
    """
    norm = BM25_K1 * (1 - BM25_B + BM25_B * len(passage) / max(average_length, 1e-9))
    weights: dict[int, float] = defaultdict(float)
    for term, tf in Counter(passage).items():
        weights[term_id(term)] += tf / (tf + norm)  # two terms sharing a hash (rare) add up
    ids = sorted(weights)
    return ids, [weights[i] for i in ids]


def query_vector(query_terms: Iterable[str]) -> models.SparseVector | None:
    """A keyword query: each term weighs as often as the question says it, so the score is the
    sum of idf x saturated tf (BM25), a repeated term counting again as in the local backend;
    None when empty."""
    counts = Counter(term_id(t) for t in query_terms)
    ids = sorted(counts)
    return models.SparseVector(indices=ids, values=[float(counts[i]) for i in ids]) if ids else None


def qdrant_filter(where: Filter | None) -> models.Filter | None:
    """`where` as a Qdrant filter, admitting exactly what `Filter.admits` admits; None for no filter.

    Dates are matched on "day" (the date as a number), present only on dated passages.
    """
    if where is None or where.empty:
        return None
    must: list[Any] = []
    must_not: list[Any] = []
    if where.sources is not None:
        must.append(models.FieldCondition(key="source", match=models.MatchAny(any=sorted(where.sources))))
    if where.exclude:
        must_not.append(models.FieldCondition(key="source", match=models.MatchAny(any=sorted(where.exclude))))
    if where.dated:
        span = models.Range(gte=_day(where.since) if where.since else None, lte=_day(where.until) if where.until else None)
        dated = models.FieldCondition(key="day", range=span)
        undated = models.IsEmptyCondition(is_empty=models.PayloadField(key="day"))
        must.append(models.Filter(should=[dated, undated]) if where.include_undated else dated)
    return models.Filter(must=must or None, must_not=must_not or None)


def _admits_nothing(where: Filter | None) -> bool:
    """An empty source list (Qdrant's MatchAny needs at least one value)."""
    return where is not None and where.sources is not None and not where.sources


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Local mode lets one client hold a folder per process: clients are shared per place, with a
# lock around local ones (QdrantLocal is not meant for several threads at once).
_clients: dict[str, tuple[QdrantClient, contextlib.AbstractContextManager]] = {}
_clients_lock = threading.Lock()


@atexit.register
def _close_clients() -> None:
    """Close the shared clients before the interpreter tears down the modules a local client's close needs."""
    with _clients_lock:
        clients = [client for client, _ in _clients.values()]
        _clients.clear()
    for client in clients:
        client.close()


@dataclass(frozen=True)
class QdrantLocation:
    """A Qdrant collection: on a server (host, port, https) or in a local-mode folder (path)."""

    collection: str
    host: str | None = None
    port: int = DEFAULT_PORT
    https: bool = False
    path: Path | None = None
    shards: int | None = None
    replicas: int | None = None
    write_consistency: int | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"qdrant+file:{self.path}"
        query = "&".join(f"{name}={getattr(self, name)}" for name in _OPTIONS if getattr(self, name) is not None)
        address = f"{'qdrants' if self.https else 'qdrant'}://{self.host}:{self.port}/{self.collection}"
        return f"{address}?{query}" if query else address

    def collection_options(self) -> dict[str, int]:
        """create_collection's sharding arguments the index string set (local mode ignores them)."""
        return {argument: getattr(self, name) for name, argument in _OPTIONS.items() if getattr(self, name) is not None}

    @property
    def documents_collection(self) -> str:
        return f"{self.collection}_documents"

    @property
    def _key(self) -> str:
        return f"file:{self.path}" if self.path is not None else f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def _client(self) -> tuple[QdrantClient, contextlib.AbstractContextManager]:
        """The shared client of this place and the guard to hold while using it."""
        if QdrantClient is None:
            raise IndexStoreError(f"{self}: qdrant-client is not installed (pip install qdrant-client)")
        with _clients_lock:
            if self._key not in _clients:
                with self._talking():
                    _clients[self._key] = self._connect()
            return _clients[self._key]

    def _connect(self) -> tuple[QdrantClient, contextlib.AbstractContextManager]:
        if self.path is not None:
            client = QdrantClient(path=str(self.path), force_disable_check_same_thread=True)
            return client, threading.RLock()
        client = QdrantClient(host=self.host, port=self.port, https=self.https, api_key=os.environ.get("QDRANT_API_KEY") or None,
                              timeout=TIMEOUT_S, check_compatibility=False)
        return client, contextlib.nullcontext()

    def close(self) -> None:
        """Let go of this place's client (local mode: the folder's lock, so another process may open it)."""
        with _clients_lock:
            client, _ = _clients.pop(self._key, (None, None))
        if client is not None:
            client.close()

    @contextlib.contextmanager
    def _talking(self) -> Iterator[None]:
        """Turn the client's errors into IndexStoreError saying what to check."""
        try:
            yield
        except IndexStoreError:
            raise
        except Exception as exc:  # every client failure (connection, refusal, local lock) becomes one message
            raise IndexUnavailableError(self._explain(exc)) from exc

    def _explain(self, exc: Exception) -> str:
        """What went wrong and what to check (only reached with qdrant-client installed)."""
        if self.path is not None:
            if isinstance(exc, RuntimeError) and "already accessed" in str(exc):
                return (f"{self} is open in another process; Qdrant's local mode allows one at a time: "
                        "stop the other one, or use a Qdrant server")
            return f"{self} cannot be used: {exc}"
        if isinstance(exc, UnexpectedResponse) and exc.status_code in (401, 403):
            return f"the Qdrant server at {self} refused access ({exc.status_code}): check QDRANT_API_KEY"
        if isinstance(exc, ApiException | httpx.HTTPError | OSError):
            return (f"cannot use the Qdrant server at {self}: {exc}. Check that it runs, the host and port "
                    f"({'https' if self.https else 'http'}), the network, and QDRANT_API_KEY")
        return f"the Qdrant server at {self} failed: {exc}"

    @contextlib.contextmanager
    def session(self) -> Iterator[QdrantClient]:
        """The client, guarded and with its errors translated."""
        client, guard = self._client()
        with guard, self._talking():
            yield client

    def _exists(self) -> bool:
        if self.path is not None and not (self.path / "meta.json").is_file():
            return False  # don't let a client make the folder just to look
        with self.session() as client:
            return client.collection_exists(self.documents_collection) and client.collection_exists(self.collection)

    def metadata(self) -> dict[str, Any] | None:
        """The metadata point's payload; None when there is no index; IndexStoreError when it is unreadable."""
        if not self._exists():
            return None
        with self.session() as client:
            found = client.retrieve(self.documents_collection, [_INFO_ID], with_payload=True)
        if not found or not found[0].payload or found[0].payload.get("format") != FORMAT:
            raise IndexStoreError(f"{self} holds no qa index description (not made by this qa, or its build "
                                  "stopped first): rebuild it")
        return dict(found[0].payload)

    def info(self) -> IndexInfo | None:
        meta = self.metadata()
        return None if meta is None else _info(meta, self)

    def open(self, loaded: IndexBackend | None = None) -> QdrantBackend:
        meta = self.metadata()
        if meta is None:
            raise IndexStoreError(f"there is no index at {self} yet: build one first")
        if isinstance(loaded, QdrantBackend) and loaded.location == self and loaded.generation == meta["generation"]:
            return loaded
        backend = QdrantBackend(self, _info(meta, self), meta.get("average_length"), meta["generation"])
        backend.reload()
        return backend

    def create(self, info: IndexInfo) -> QdrantBackend:
        return QdrantBackend(self, info, None, None, fresh=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[bool]:
        """The writer lock: a file lock in a local folder. A server serialises each write itself but does
        not keep two qa writers on one collection apart, so there this always yields True."""
        if self.path is None:
            yield True
            return
        with folder_lock(self.path, "qa-writer.lock") as locked:
            yield locked

    def writable(self) -> bool:
        """A local folder: whether it can be written. A server: True (whether the API key may write shows on the first write)."""
        if self.path is None:
            return True
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.path, os.W_OK)

    def work_dir(self) -> Path | None:
        return self.path


def _info(meta: dict[str, Any], where: QdrantLocation) -> IndexInfo:
    try:
        return IndexInfo(model=str(meta["model"]), dimension=int(meta["dimension"]), encoder=str(meta["encoder"]),
                         chunking={str(k): int(v) for k, v in dict(meta["chunking"]).items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexStoreError(f"{where} has a damaged index description ({exc!r}): rebuild it") from exc


class QdrantBackend:
    """An `IndexBackend` on a Qdrant collection. Documents are kept in memory (read once per generation);
    searches, scores, vectors and term tests ask the engine."""

    def __init__(self, where: QdrantLocation, info: IndexInfo, average_length: float | None, generation: str | None,
                 fresh: bool = False) -> None:
        self.location, self.info = where, info
        self.average_length, self.generation = average_length, generation
        self._fresh = fresh  # made by `create`: answers empty, and its first apply recreates the collections
        self._documents: dict[str, StoredDocument] = {}
        self._sorted: tuple[StoredDocument, ...] = ()
        self._passages = 0
        self._df: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"QdrantBackend({str(self.location)!r}, {len(self._documents)} documents, {self._passages} passages)"

    def __len__(self) -> int:
        return self._passages

    @property
    def documents(self) -> Sequence[StoredDocument]:
        return self._sorted

    def document(self, source: str) -> StoredDocument | None:
        return self._documents.get(source)

    # Reading

    def reload(self) -> None:
        """Read every document from the documents collection (once per generation, not per question)."""
        parts: dict[str, dict[int, str]] = defaultdict(dict)
        totals: dict[str, int] = {}
        kind = models.Filter(must=[models.FieldCondition(key="kind", match=models.MatchValue(value="document"))])
        offset = None
        with self.location.session() as client:
            while True:
                points, offset = client.scroll(self.location.documents_collection, scroll_filter=kind, limit=16,
                                               offset=offset, with_payload=True)
                for point in points:
                    payload = point.payload or {}
                    parts[payload["source"]][int(payload["part"])] = payload["json"]
                    totals[payload["source"]] = int(payload["parts"])
                if offset is None:
                    break
        documents = {}
        for source, pieces in parts.items():
            if len(pieces) != totals[source]:
                raise IndexStoreError(f"{self.location}: the stored document {source!r} is incomplete: rebuild the index")
            documents[source] = StoredDocument.from_json("".join(pieces[i] for i in range(totals[source])))
        self._set_documents(documents)

    def _set_documents(self, documents: dict[str, StoredDocument]) -> None:
        self._documents = documents
        self._sorted = tuple(documents[s] for s in sorted(documents))
        self._passages = sum(len(d.passages) for d in self._sorted)
        self._df = {}

    def _live(self, where: Filter | None = None) -> bool:
        """Whether there is anything to ask the engine (a `create`d backend before its first apply answers empty)."""
        return not self._fresh and self._passages > 0 and not _admits_nothing(where)

    @staticmethod
    def _passage_id(payload: dict[str, Any] | None) -> PassageId:
        payload = payload or {}
        return PassageId(payload["source"], payload["hash"], int(payload["number"]))

    def dense_top_k(self, vector: np.ndarray, k: int, where: Filter | None = None) -> list[PassageId]:
        if k <= 0 or not self._live(where):
            return []
        query = np.asarray(vector, dtype=np.float32).ravel().tolist()
        with self.location.session() as client:
            found = client.query_points(self.location.collection, query=query, using=DENSE, limit=k,
                                        query_filter=qdrant_filter(where), with_payload=_PASSAGE_FIELDS)
        return [self._passage_id(p.payload) for p in found.points if self._listed(p.payload)]

    def keyword_top_k(self, query_terms: Sequence[str], k: int, where: Filter | None = None) -> list[tuple[PassageId, float]]:
        query = query_vector(query_terms)
        if k <= 0 or query is None or not self._live(where):
            return []
        with self.location.session() as client:
            found = client.query_points(self.location.collection, query=query, using=SPARSE, limit=k,
                                        query_filter=qdrant_filter(where), with_payload=_PASSAGE_FIELDS)
        return [(self._passage_id(p.payload), float(p.score)) for p in found.points if p.score > 0 and self._listed(p.payload)]

    def _listed(self, payload: dict[str, Any] | None) -> bool:
        """Whether a found passage belongs to a listed document as it is now (a writer killed
        mid-update can leave passages of a document it had not yet listed)."""
        doc = self._documents.get((payload or {}).get("source", ""))
        return doc is not None and doc.hash == (payload or {}).get("hash")

    def keyword_scores(self, query_terms: Sequence[str], ids: Sequence[PassageId]) -> np.ndarray:
        scores = np.zeros(len(ids), dtype=np.float32)
        query = query_vector(query_terms)
        if query is None or not ids or not self._live():
            return scores
        rows: dict[str, list[int]] = defaultdict(list)
        for row, pid in enumerate(ids):
            rows[point_id(pid)].append(row)
        with self.location.session() as client:
            for batch in _batches(list(rows), ID_BATCH):
                only = models.Filter(must=[models.HasIdCondition(has_id=list(batch))])
                found = client.query_points(self.location.collection, query=query, using=SPARSE, limit=len(batch),
                                            query_filter=only, with_payload=False)
                for point in found.points:
                    scores[rows[str(point.id)]] = max(float(point.score), 0.0)
        return scores

    def _retrieve(self, ids: Sequence[PassageId], **what: Any) -> dict[str, Any]:
        """The stored points of `ids` by point id (passages no longer there are left out)."""
        wanted = list(dict.fromkeys(point_id(pid) for pid in ids))
        points: dict[str, Any] = {}
        if not wanted or not self._live():
            return points
        with self.location.session() as client:
            for batch in _batches(wanted, ID_BATCH):
                points.update((str(p.id), p) for p in client.retrieve(self.location.collection, list(batch), **what))
        return points

    def vectors(self, ids: Sequence[PassageId]) -> np.ndarray:
        """The passages' unit vectors; a zero row for one no longer there (another writer replaced it)."""
        out = np.zeros((len(ids), self.info.dimension), dtype=np.float32)
        points = self._retrieve(ids, with_payload=False, with_vectors=[DENSE])
        for row, pid in enumerate(ids):
            point = points.get(point_id(pid))
            if point is not None:
                vector = point.vector[DENSE] if isinstance(point.vector, dict) else point.vector
                out[row] = np.asarray(vector, dtype=np.float32)
        return out

    def contains(self, ids: Sequence[PassageId], query_terms: Sequence[str]) -> np.ndarray:
        """From each point's stored distinct terms (exact strings, so no hash collision can mislead)."""
        out = np.zeros((len(ids), len(query_terms)), dtype=bool)
        if not query_terms:
            return out
        points = self._retrieve(ids, with_payload=["terms"], with_vectors=False)
        for row, pid in enumerate(ids):
            point = points.get(point_id(pid))
            if point is not None:
                held = set((point.payload or {}).get("terms", ()))
                out[row] = [t in held for t in query_terms]
        return out

    def idf(self, query_terms: Sequence[str]) -> dict[str, float]:
        """Lucene's BM25 idf, log(1 + (N - df + 0.5) / (df + 0.5)), the engine's own formula; df counted
        over the points' "terms" payload (Qdrant cannot count a sparse dimension) and kept per generation."""
        n = self._passages
        missing = [t for t in dict.fromkeys(query_terms) if t not in self._df]
        if missing and self._live():
            with self.location.session() as client:
                for term in missing:
                    holds = models.Filter(must=[models.FieldCondition(key="terms", match=models.MatchValue(value=term))])
                    self._df[term] = client.count(self.location.collection, count_filter=holds, exact=True).count
        return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t in dict.fromkeys(query_terms)
                if (df := self._df.get(t, 0)) > 0}

    # Writing

    def apply(self, changes: Changes) -> QdrantBackend:
        """Remove, then upsert documents (delete-by-source, then batched upserts); a `create`d backend first
        recreates the collections. Returns self, refreshed."""
        upserts = list(changes.upserts)
        for doc, vectors in upserts:
            if np.shape(vectors) != (len(doc.passages), self.info.dimension):
                raise ValueError(f"{doc.source}: {np.shape(vectors)} vectors for {len(doc.passages)} passages "
                                 f"of dimension {self.info.dimension}")
        stale = False
        if self._fresh:
            self._recreate()
            documents: dict[str, StoredDocument] = {}
        else:
            meta = self.location.metadata()
            stale = meta is None or meta.get("generation") != self.generation
            documents = dict(self._documents)
        terms = [passage_terms(doc) for doc, _ in upserts]
        if self.average_length is None and upserts:
            lengths = [len(t) for passages in terms for t in passages]
            self.average_length = max(sum(lengths) / max(len(lengths), 1), 1.0)
        gone = sorted(changes.removes | {doc.source for doc, _ in upserts})
        with self.location.session() as client:
            self._delete(client, gone)
            for (doc, vectors), passages in zip(upserts, terms):
                self._upsert(client, doc, np.asarray(vectors, dtype=np.float32), passages)
            self.generation = uuid.uuid4().hex
            client.upsert(self.location.documents_collection, [self._info_point()], wait=True)
        if stale:
            self.reload()
        else:
            for source in gone:
                documents.pop(source, None)
            documents.update((doc.source, doc) for doc, _ in upserts)
            self._set_documents(documents)
        return self

    def _recreate(self) -> None:
        """Drop whatever the collections held and make them anew (payload indexes on a server only:
        local mode scans and warns that they do nothing)."""
        where = self.location
        with where.session() as client:
            for name in (where.collection, where.documents_collection):
                if client.collection_exists(name):
                    client.delete_collection(name)
            client.create_collection(
                where.collection,
                vectors_config={DENSE: models.VectorParams(size=self.info.dimension, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                **where.collection_options(),
            )
            client.create_collection(where.documents_collection,
                                     vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT),
                                     **where.collection_options())
            if where.path is None:
                keyword, integer = models.PayloadSchemaType.KEYWORD, models.PayloadSchemaType.INTEGER
                for name, field, schema in ((where.collection, "source", keyword), (where.collection, "hash", keyword),
                                            (where.collection, "date", keyword), (where.collection, "day", integer),
                                            (where.collection, "terms", keyword), (where.documents_collection, "source", keyword),
                                            (where.documents_collection, "kind", keyword)):
                    client.create_payload_index(name, field, field_schema=schema, wait=True)
        self._fresh = False

    def _delete(self, client: QdrantClient, sources: Sequence[str]) -> None:
        for batch in _batches(sources, ID_BATCH):
            selector = models.FilterSelector(filter=models.Filter(
                must=[models.FieldCondition(key="source", match=models.MatchAny(any=list(batch)))]))
            # The document first: a writer killed after this leaves passages no listed document
            # owns (never returned, replaced by the next update), never a listed document in part.
            for name in (self.location.documents_collection, self.location.collection):
                client.delete(name, points_selector=selector, wait=True)

    def _upsert(self, client: QdrantClient, doc: StoredDocument, vectors: np.ndarray, passages: list[list[str]]) -> None:
        dated = doc.date is not None and _ISO_DATE.fullmatch(doc.date) is not None
        points = []
        for number, (vector, words) in enumerate(zip(vectors, passages)):
            payload: dict[str, Any] = {"source": doc.source, "hash": doc.hash, "number": number, "date": doc.date,
                                       "title": doc.title, "terms": sorted(set(words))}
            if dated:
                payload["day"] = _day(doc.date)
            named: dict[str, Any] = {DENSE: vector.tolist()}
            if words:  # a passage without terms has no sparse vector (and no keyword score)
                indices, values = sparse_values(words, self.average_length or 1.0)
                named[SPARSE] = models.SparseVector(indices=indices, values=values)
            points.append(models.PointStruct(id=point_id(doc.passage_id(number)), vector=named, payload=payload))
        for batch in _batches(points, PASSAGE_BATCH):
            client.upsert(self.location.collection, list(batch), wait=True)
        text = doc.to_json()
        parts = [text[i:i + JSON_PART] for i in range(0, len(text), JSON_PART)] or [""]
        for i, part in enumerate(parts):  # one part per request: each may be a megabyte
            payload = {"kind": "document", "source": doc.source, "part": i, "parts": len(parts), "json": part}
            client.upsert(self.location.documents_collection,
                          [models.PointStruct(id=_part_id(doc.source, i), vector=[1.0], payload=payload)], wait=True)

    def _info_point(self) -> models.PointStruct:
        payload = {"kind": "info", "format": FORMAT, "model": self.info.model, "dimension": self.info.dimension,
                   "encoder": self.info.encoder, "chunking": dict(self.info.chunking),
                   "average_length": self.average_length, "generation": self.generation}
        return models.PointStruct(id=_INFO_ID, vector=[1.0], payload=payload)
