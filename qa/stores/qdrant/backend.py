"""The Qdrant `IndexBackend`: searches, scores and reads passages in a collection, and applies changes to it.

Two collections make an index: the passages (qa.stores.qdrant.points says what a point
holds) and "<name>_documents", each document's JSON and the point that describes the index,
with a generation token that changes with every update. The documents are read once per
generation and kept in memory; everything else is asked of the engine. A location
(`qa.stores.qdrant.connection`) makes the backend: `open` for an index that is there,
`create` for a new one, whose first `apply` (re)creates the collections.

Example:
    >>> from qa.stores.base import IndexInfo
    >>> from qa.stores.qdrant.connection import location
    >>> fresh = location("qdrant://localhost/news").create(IndexInfo("all-MiniLM-L6-v2", 384, "torch", {}))
    >>> fresh, fresh.dense_top_k([0.0] * 384, 5)  # nothing is asked of the server before the first apply
    (QdrantBackend('qdrant://localhost:6333/news', 0 documents, 0 passages), [])
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import IndexStoreError
from qa.stores.base import Changes, Filter, IndexInfo, PassageId, StoredDocument, passage_terms
from qa.stores.qdrant.client import QdrantClient, models
from qa.stores.qdrant.points import (
    DENSE,
    SPARSE,
    admits_nothing,
    batches,
    document_points,
    info_point,
    passage_points,
    point_id,
    qdrant_filter,
    query_vector,
)

if TYPE_CHECKING:
    from qa.stores.qdrant.connection import QdrantLocation

PASSAGE_BATCH = 128
ID_BATCH = 256
_PASSAGE_FIELDS = ["source", "hash", "number"]


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
        return not self._fresh and self._passages > 0 and not admits_nothing(where)

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
            for batch in batches(list(rows), ID_BATCH):
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
            for batch in batches(wanted, ID_BATCH):
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
            described = info_point(self.info, self.average_length, self.generation)
            client.upsert(self.location.documents_collection, [described], wait=True)
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
        for batch in batches(sources, ID_BATCH):
            selector = models.FilterSelector(filter=models.Filter(
                must=[models.FieldCondition(key="source", match=models.MatchAny(any=list(batch)))]))
            # The document first: a writer killed after this leaves passages no listed document
            # owns (never returned, replaced by the next update), never a listed document in part.
            for name in (self.location.documents_collection, self.location.collection):
                client.delete(name, points_selector=selector, wait=True)


    def _upsert(self, client: QdrantClient, doc: StoredDocument, vectors: np.ndarray, passages: list[list[str]]) -> None:
        for batch in batches(passage_points(doc, vectors, passages, self.average_length or 1.0), PASSAGE_BATCH):
            client.upsert(self.location.collection, list(batch), wait=True)
        for point in document_points(doc):  # one part per request: each may be a megabyte
            client.upsert(self.location.documents_collection, [point], wait=True)
