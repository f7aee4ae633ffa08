"""How qa's passages and documents are written as Qdrant points, and how questions and filters ask for them.

A passage is a point with a stable id (a UUID of source, hash and number, so an update
overwrites it), a named dense vector ("dense"), a named sparse vector ("bm25": the BM25
document side, Qdrant's IDF modifier adds the idf) and its source, date and distinct terms as
payload. A document's JSON is a few points of the documents collection, and one more point
there describes the index. Pure functions of the data: the backend (`qa.stores.qdrant.backend`)
sends what they build.

Example:
    >>> from qa.stores.qdrant.points import day, point_id
    >>> from qa.stores.base import PassageId
    >>> point_id(PassageId("iraq.txt", "3f2a", 4))  # the same in every version: an update overwrites it
    '1070ec90-186f-592f-b8c8-502f348ee601'
    >>> day("2024-09-06")
    20240906
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from qa.errors import QuestionError
from qa.stores.base import Filter, IndexInfo, PassageId, StoredDocument
from qa.stores.bm25 import K1, B
from qa.stores.qdrant.client import models

DENSE, SPARSE = "dense", "bm25"
# The local backend's BM25 parameters, so both rank alike.
BM25_K1, BM25_B = K1, B
# Document JSON is stored in parts of this many characters: a server refuses requests over 32 MB.
JSON_PART = 1 << 20
FORMAT = 1

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "qdrant.stores.qa")  # fixed: point ids must not change between versions
INFO_ID = str(uuid.uuid5(_NAMESPACE, "info"))
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def term_id(term: str) -> int:
    """The sparse-vector index of a term: a stable 32-bit hash (not Python's `hash`, which changes per process)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def point_id(pid: PassageId) -> str:
    """The Qdrant point id of a passage: a UUID derived from what the passage is, so updates overwrite it."""
    return str(uuid.uuid5(_NAMESPACE, f"{pid.source}\0{pid.hash}\0{pid.number}"))


def _part_id(source: str, part: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"document\0{source}\0{part}"))


def day(date: str) -> int:
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
        span = models.Range(gte=day(where.since) if where.since else None, lte=day(where.until) if where.until else None)
        dated = models.FieldCondition(key="day", range=span)
        undated = models.IsEmptyCondition(is_empty=models.PayloadField(key="day"))
        must.append(models.Filter(should=[dated, undated]) if where.include_undated else dated)
    return models.Filter(must=must or None, must_not=must_not or None)


def admits_nothing(where: Filter | None) -> bool:
    """An empty source list (Qdrant's MatchAny needs at least one value)."""
    return where is not None and where.sources is not None and not where.sources


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def passage_points(doc: StoredDocument, vectors: np.ndarray, passages: list[list[str]],
                   average_length: float) -> list[models.PointStruct]:
    """A document's passages as points: the dense vector, the BM25 sparse vector (a passage
    without terms has none, and no keyword score) and the payload filters and term tests read."""
    dated = doc.date is not None and _ISO_DATE.fullmatch(doc.date) is not None
    points = []
    for number, (vector, words) in enumerate(zip(vectors, passages)):
        payload: dict[str, Any] = {"source": doc.source, "hash": doc.hash, "number": number, "date": doc.date,
                                   "title": doc.title, "terms": sorted(set(words))}
        if dated:
            payload["day"] = day(doc.date)
        named: dict[str, Any] = {DENSE: vector.tolist()}
        if words:
            indices, values = sparse_values(words, average_length)
            named[SPARSE] = models.SparseVector(indices=indices, values=values)
        points.append(models.PointStruct(id=point_id(doc.passage_id(number)), vector=named, payload=payload))
    return points


def document_points(doc: StoredDocument) -> list[models.PointStruct]:
    """A document's JSON as points of the documents collection, in parts of JSON_PART characters."""
    text = doc.to_json()
    parts = [text[i:i + JSON_PART] for i in range(0, len(text), JSON_PART)] or [""]
    return [models.PointStruct(id=_part_id(doc.source, i), vector=[1.0],
                               payload={"kind": "document", "source": doc.source, "part": i, "parts": len(parts), "json": part})
            for i, part in enumerate(parts)]


def info_point(info: IndexInfo, average_length: float | None, generation: str | None) -> models.PointStruct:
    """The point that describes the index: its `IndexInfo`, the BM25 average passage length and the generation."""
    payload = {"kind": "info", "format": FORMAT, "model": info.model, "dimension": info.dimension,
               "encoder": info.encoder, "chunking": dict(info.chunking),
               "average_length": average_length, "generation": generation}
    return models.PointStruct(id=INFO_ID, vector=[1.0], payload=payload)
