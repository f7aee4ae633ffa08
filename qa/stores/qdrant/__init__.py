"""qa's index in Qdrant: a server or cluster (`qdrant://`, `qdrants://`) or local mode in a folder (`qdrant+file:`).

One collection holds the passages: a named dense vector ("dense", cosine) and a named sparse
vector ("bm25", with Qdrant's IDF modifier, so the engine keeps the term statistics), with
source, hash, number, date, title and the passage's distinct terms as payload. A second,
small collection ("<name>_documents") holds each document's JSON (in parts, so a large one
stays under a server's request limit) and one metadata point: the `IndexInfo`, the BM25
average passage length and a generation token that changes with every update.

In rooms: `connection` (index strings, the `QdrantLocation` and its shared client),
`backend` (the `QdrantBackend` that searches and applies changes), `points` (what a passage,
a document and the index description are as points; queries and filters) and `client`
(qdrant-client, optional). `qa.stores.locate` calls `location(spec)` here.

Example:
    >>> from qa.stores.qdrant import handles, location
    >>> handles("qdrant://localhost/news"), handles("index/")
    (True, False)
    >>> str(location("qdrants://qdrant.example.org/news"))
    'qdrants://qdrant.example.org:6333/news'
    >>> backend = location("qdrant://localhost:6333/news").open()  # doctest: +SKIP
    >>> backend.keyword_top_k(["kurdistan"], 2)  # doctest: +SKIP
    [(PassageId(source='iraq.txt', hash='3f2a...', number=4), 3.1), ...]
"""

from qa.stores.qdrant.backend import QdrantBackend
from qa.stores.qdrant.connection import QdrantLocation, handles, location
from qa.stores.qdrant.points import BM25_B, BM25_K1, DENSE, SPARSE, point_id, qdrant_filter, query_vector, sparse_values, term_id

__all__ = ["BM25_B", "BM25_K1", "DENSE", "SPARSE", "QdrantBackend", "QdrantLocation", "handles", "location", "point_id",
           "qdrant_filter", "query_vector", "sparse_values", "term_id"]
