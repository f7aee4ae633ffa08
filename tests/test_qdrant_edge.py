"""qa's Qdrant points in Qdrant's own engine (qdrant-edge-py, in-process), where local mode cannot tell.

tests/test_stores_qdrant.py runs the backend against qdrant-client's local mode, a Python
re-implementation. qa.stores.qdrant relies on two things only the real engine can confirm:
that the sparse "bm25" vector with `Modifier.IDF` scores a keyword query as qa's BM25
(idf(t) = log(1 + (N - df + 0.5) / (df + 0.5)), Lucene's, the formula `QdrantBackend.idf`
assumes, times the stored tf part), and that a dense + sparse query fused by RRF works over
qa's vectors. Here the seed articles are indexed by qa, each passage is written into an
EdgeShard as qa.stores.qdrant writes it (`point_id`, `sparse_values`, `term_id`, the stored
dense vector), and the engine's answers are compared with qa's own numbers.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

edge = pytest.importorskip("qdrant_edge", reason="qdrant-edge-py (Qdrant's engine in-process) is not installed")

from qa.config import Settings  # noqa: E402
from qa.embedding import Embedder  # noqa: E402
from qa.indexing import update_index  # noqa: E402
from qa.lexical import terms  # noqa: E402
from qa.stores.base import Changes, PassageId, passage_terms  # noqa: E402
from qa.stores.local import Store, load_store  # noqa: E402
from qa.stores.qdrant import BM25_B, BM25_K1, DENSE, SPARSE, location, point_id, sparse_values, term_id  # noqa: E402

SOURCES = Path(__file__).resolve().parent.parent / "sources"
KURDISTAN = "how many troops stay in Kurdistan?"
QUESTIONS = [
    KURDISTAN,
    "who is Iraq's defence minister?",
    "when will US troops withdraw from Iraq?",
    "security partnership after the coalition mission ends",
]
TOP = 3


def lucene_idf(n: int, df: int) -> float:
    """The idf `QdrantBackend.idf` (and qa's local BM25) uses: Lucene's, always positive."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def distinct(question: str) -> list[str]:
    """A question's terms once each (weight 1 in qa's Qdrant query vector, which weighs a term by its count)."""
    return list(dict.fromkeys(terms(question)))


@dataclass
class Corpus:
    store: Store  # qa's local index of the seed articles: its BM25 is the reference
    ids: list[PassageId]
    words: list[list[str]]  # each passage's terms, as qa.stores.qdrant writes them
    values: list[dict[int, float]]  # each passage's sparse vector as written: term id -> tf part
    average_length: float
    shard: edge.EdgeShard
    folder: Path

    def pid(self, point: edge.ScoredPoint) -> PassageId:
        return self._by_point[str(point.id)]

    def __post_init__(self) -> None:
        self._by_point = {point_id(pid): pid for pid in self.ids}

    def df(self, term: str) -> int:
        return sum(term in passage for passage in self.words)

    def sparse_search(self, query_terms: Sequence[str], limit: int) -> list[edge.ScoredPoint]:
        """The engine's keyword search, with the query vector `qa.stores.qdrant.query_vector` sends."""
        ids = sorted({term_id(t) for t in query_terms})
        query = edge.Query.Nearest(edge.SparseVector(indices=ids, values=[1.0] * len(ids)), using=SPARSE)
        return self.shard.query(edge.QueryRequest(limit=limit, query=query, with_payload=False))


@pytest.fixture(scope="module")
def corpus(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("edge")
    shutil.copytree(SOURCES, base / "sources")
    update_index(base / "sources", base / "index", embedder, Settings(), progress=lambda *_: None)
    store = load_store(base / "index")
    ids = [doc.passage_id(i) for doc in store.documents for i in range(len(doc.passages))]
    words = [w for doc in store.documents for w in passage_terms(doc)]
    vectors = store.vectors(ids)
    # As QdrantBackend.apply sets it for a first build: the mean passage length in terms.
    average_length = max(sum(map(len, words)) / len(words), 1.0)

    config = edge.EdgeConfig(
        vectors={DENSE: edge.EdgeVectorParams(size=store.info.dimension, distance=edge.Distance.Cosine)},
        sparse_vectors={SPARSE: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
        max_search_threads=1,
    )
    shard = edge.EdgeShard.create(str(base / "shard"), config)
    points, values = [], []
    for pid, passage, vector in zip(ids, words, vectors):
        named: dict = {DENSE: vector.tolist()}
        indices, weights = sparse_values(passage, average_length)
        values.append(dict(zip(indices, weights)))
        if passage:  # as qa: a passage without terms gets no sparse vector
            named[SPARSE] = edge.SparseVector(indices=indices, values=weights)
        payload = {"source": pid.source, "hash": pid.hash, "number": pid.number, "terms": sorted(set(passage))}
        points.append(edge.Point(id=point_id(pid), vector=named, payload=payload))
    shard.update(edge.UpdateOperation.upsert_points(points))
    yield Corpus(store, ids, words, values, average_length, shard, base)
    shard.close()


def test_the_corpus_is_qas_seed_index(corpus: Corpus) -> None:
    assert len(corpus.ids) == len(corpus.store) >= 8
    assert corpus.shard.count(edge.CountRequest(exact=True)) == len(corpus.ids)
    assert all(corpus.words), "every seed passage has terms, so N is the same for the engine and for qa"
    # qa's local BM25 normalises with the same average length the Qdrant backend writes with.
    assert corpus.store.bm25.average_length == pytest.approx(corpus.average_length, rel=1e-9)
    assert (BM25_K1, BM25_B) == (0.9, 0.4)


def test_document_frequency_counted_on_the_terms_payload_as_qdrantbackend_idf_does(corpus: Corpus) -> None:
    for term in {t for q in QUESTIONS for t in distinct(q)}:
        holds = edge.Filter(must=[edge.FieldCondition(key="terms", match=edge.MatchValue(value=term))])
        assert corpus.shard.count(edge.CountRequest(exact=True, filter=holds)) == corpus.df(term), term


def test_the_engines_idf_is_lucenes(corpus: Corpus) -> None:
    """One term at a time, the engine's score divided by the stored tf part is its idf: it must be
    the one `QdrantBackend.idf` computes. Any other formula shows here, term by term."""
    n = len(corpus.ids)
    checked = 0
    for term in sorted({t for q in QUESTIONS for t in distinct(q)}):
        df = corpus.df(term)
        found = corpus.sparse_search([term], limit=n)
        assert len(found) == df, f"{term!r}: the engine found {len(found)} passages, {df} hold it"
        if not df:
            continue
        point = found[0]
        stored = corpus.values[corpus.ids.index(corpus.pid(point))][term_id(term)]
        engine_idf = point.score / stored
        expected = lucene_idf(n, df)
        assert engine_idf == pytest.approx(expected, rel=1e-4), (
            f"{term!r} (N={n}, df={df}): the engine's idf is {engine_idf:.6f}; Lucene's log(1 + (N - df + 0.5) / (df + 0.5)) "
            f"= {expected:.6f}, classic BM25 log((N - df + 0.5) / (df + 0.5)) = {math.log((n - df + 0.5) / (df + 0.5)):.6f}, "
            f"log(N / df) = {math.log(n / df):.6f}")
        assert corpus.store.idf([term])[term] == pytest.approx(expected, rel=1e-6)  # qa's local BM25: the same idf
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("question", QUESTIONS)
def test_sparse_scores_are_qas_bm25(corpus: Corpus, question: str) -> None:
    """The engine's score of each top passage is sum over query terms of idf(t) x stored value(t),
    and equals qa's local BM25 score of that passage."""
    query = distinct(question)
    n = len(corpus.ids)
    idf = {t: lucene_idf(n, df) for t in query if (df := corpus.df(t))}
    found = corpus.sparse_search(query, limit=10)
    assert len(found) >= TOP
    pids = [corpus.pid(p) for p in found]
    local = corpus.store.keyword_scores(query, pids)
    for point, pid, local_score in zip(found, pids, local):
        stored = corpus.values[corpus.ids.index(pid)]
        expected = sum(weight * stored.get(term_id(t), 0.0) for t, weight in idf.items())
        assert point.score == pytest.approx(expected, rel=1e-4), (question, pid)
        assert point.score == pytest.approx(float(local_score), rel=1e-4), (question, pid)


@pytest.mark.parametrize("question", QUESTIONS)
def test_sparse_ranking_is_qas_local_bm25_ranking(corpus: Corpus, question: str) -> None:
    query = distinct(question)
    local = corpus.store.keyword_top_k(query, 10)
    found = corpus.sparse_search(query, limit=10)
    scores = [s for _, s in local]
    # A tie among the first TOP + 1 would let either order stand: the questions are chosen without one.
    assert all(a - b > 1e-3 * a for a, b in zip(scores[:TOP], scores[1:TOP + 1])), (question, scores)
    assert [corpus.pid(p) for p in found[:TOP]] == [pid for pid, _ in local[:TOP]], question


def test_rrf_fusion_of_dense_and_sparse_finds_kurdistan(corpus: Corpus, embedder: Embedder) -> None:
    query = distinct(KURDISTAN)
    ids = sorted({term_id(t) for t in query})
    sparse = edge.Query.Nearest(edge.SparseVector(indices=ids, values=[1.0] * len(ids)), using=SPARSE)
    dense = edge.Query.Nearest(embedder.encode([KURDISTAN])[0].tolist(), using=DENSE)
    request = edge.QueryRequest(limit=5, query=edge.Fusion.Rrf(k=60), with_payload=True,
                                prefetches=[edge.Prefetch(limit=10, query=dense), edge.Prefetch(limit=10, query=sparse)])
    found = corpus.shard.query(request)
    assert len(found) == 5
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    top = corpus.pid(found[0])
    assert found[0].payload["source"] == top.source and found[0].payload["number"] == top.number
    doc = corpus.store.document(top.source)
    start, end = doc.passage_span(top.number)
    assert "kurdistan" in doc.text[start:end].lower(), doc.text[start:end]
    # RRF with k=60 scores a passage 1/(60 + rank) per list it is in: the top is in both, ranked high.
    assert found[0].score > 1 / 61


def test_qdrantbackend_writes_these_vectors_and_its_idf_is_the_engines(corpus: Corpus) -> None:
    """The same passages through qa's QdrantBackend (into local mode): it writes the sparse vectors
    and average length written to the shard above, and its `idf` is the idf the engine applies."""
    pytest.importorskip("qdrant_client", reason="qdrant-client is not installed")
    where = location(f"qdrant+file:{corpus.folder / 'local-mode'}")
    vectors = corpus.store.vectors(corpus.ids)
    upserts, row = [], 0
    for doc in corpus.store.documents:
        upserts.append((doc, vectors[row:row + len(doc.passages)]))
        row += len(doc.passages)
    try:
        with where.lock() as locked:
            assert locked
            backend = where.create(corpus.store.info).apply(Changes(upserts=upserts))
        assert backend.average_length == pytest.approx(corpus.average_length, rel=1e-12)
        with where.session() as client:
            points = client.retrieve(where.collection, [point_id(pid) for pid in corpus.ids], with_vectors=[SPARSE])
        written = {str(p.id): dict(zip(p.vector[SPARSE].indices, p.vector[SPARSE].values)) for p in points}
        for pid, values in zip(corpus.ids, corpus.values):
            assert written[point_id(pid)].keys() == values.keys(), pid
            assert list(written[point_id(pid)].values()) == pytest.approx(list(values.values()), rel=1e-6), pid
        idf = backend.idf(sorted({t for q in QUESTIONS for t in distinct(q)}))
        assert len(idf) >= 8
        for term, weight in idf.items():
            point = corpus.sparse_search([term], limit=1)[0]
            engine_idf = point.score / corpus.values[corpus.ids.index(corpus.pid(point))][term_id(term)]
            assert engine_idf == pytest.approx(weight, rel=1e-4), term
    finally:
        where.close()
