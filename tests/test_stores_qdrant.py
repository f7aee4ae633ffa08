"""The Qdrant backend for real, through Qdrant's local mode in a temporary folder (no server, no mocks)."""

from __future__ import annotations

import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qdrant_client")

from qa.errors import IndexStoreError  # noqa: E402
from qa.stores.base import Changes, Filter, IndexBackend, IndexInfo, PassageId, StoredDocument, passage_terms  # noqa: E402
from qa.stores.qdrant import QdrantBackend, QdrantLocation, handles, location, qdrant_filter  # noqa: E402

DIM = 8
INFO = IndexInfo(model="test-model", dimension=DIM, encoder="test", chunking={"max_passage_tokens": 64})


def make_doc(source: str, date: str | None, sentences: list[str], per_passage: int = 2, title: str = "") -> StoredDocument:
    """A document whose units are `sentences` (joined by spaces) and whose passages take `per_passage` units each."""
    units, start = [], 0
    for sentence in sentences:
        units.append((start, start + len(sentence)))
        start += len(sentence) + 1
    passages = tuple((i, min(i + per_passage, len(units))) for i in range(0, len(units), per_passage))
    return StoredDocument(source=source, title=title or source.split(".")[0].title(), date=date, hash=f"h-{source}",
                          text=" ".join(sentences), units=tuple(units), passages=passages)


def unit_rows(rng: np.random.RandomState, n: int) -> np.ndarray:
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture()
def corpus() -> list[tuple[StoredDocument, np.ndarray]]:
    rng = np.random.RandomState(7)
    docs = [
        make_doc("iraq.txt", "2024-09-06", ["Troops stay in Kurdistan.", "The base near Erbil remains open.",
                                            "Officials spoke on Friday.", "Talks continue in Baghdad."]),
        make_doc("markets.txt", "2024-10-02", ["Oil prices rose sharply.", "Traders watched the Brent contract.",
                                               "A zeppelin flew over the exchange floor."]),
        make_doc("notes.txt", None, ["Undated notes about troops.", "Nothing else here."]),
    ]
    return [(doc, unit_rows(rng, len(doc.passages))) for doc in docs]


@pytest.fixture()
def spec(tmp_path: Path) -> str:
    return f"qdrant+file:{tmp_path / 'qdrant'}"


@pytest.fixture()
def backend(spec: str, corpus) -> QdrantBackend:
    where = location(spec)
    with where.lock() as locked:
        assert locked
        return where.create(INFO).apply(Changes(upserts=corpus))


def pid(doc: StoredDocument, number: int) -> PassageId:
    return doc.passage_id(number)


def test_is_an_index_backend(backend: QdrantBackend, corpus) -> None:
    assert isinstance(backend, IndexBackend)
    assert len(backend) == sum(len(doc.passages) for doc, _ in corpus) == 5
    assert [d.source for d in backend.documents] == ["iraq.txt", "markets.txt", "notes.txt"]
    assert backend.document("markets.txt") == corpus[1][0]
    assert backend.document("missing.txt") is None


def test_dense_top_k_orders_by_cosine(backend: QdrantBackend, corpus) -> None:
    ids = [pid(doc, i) for doc, vectors in corpus for i in range(len(vectors))]
    matrix = np.vstack([vectors for _, vectors in corpus])
    query = matrix[3] + 0.3 * matrix[0]
    query /= np.linalg.norm(query)
    expected = [ids[i] for i in np.argsort(-(matrix @ query))]
    assert backend.dense_top_k(query, 5) == expected
    assert backend.dense_top_k(query, 2) == expected[:2]
    np.testing.assert_allclose(backend.vectors([ids[4], ids[0]]), matrix[[4, 0]], atol=1e-6)


def test_keyword_top_k_finds_the_rare_term_first(backend: QdrantBackend, corpus) -> None:
    markets = corpus[1][0]
    hits = backend.keyword_top_k(["zeppelin", "troop"], 5)
    assert hits[0][0] == pid(markets, 1)
    assert all(score > 0 for _, score in hits)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    assert {p.source for p, _ in hits} == {"markets.txt", "iraq.txt", "notes.txt"}
    assert backend.keyword_top_k(["unheardof"], 5) == []
    assert backend.keyword_top_k([], 5) == []


def test_keyword_scores_and_idf_agree_with_bm25(backend: QdrantBackend, corpus) -> None:
    iraq, markets, notes = (doc for doc, _ in corpus)
    ids = [pid(markets, 1), pid(iraq, 1), pid(iraq, 0), pid(markets, 1)]
    scores = backend.keyword_scores(["zeppelin"], ids)
    assert scores[0] > 0 and scores[0] == scores[3] and scores[1] == 0 and scores[2] == 0
    top = dict(backend.keyword_top_k(["zeppelin"], 3))
    assert scores[0] == pytest.approx(top[pid(markets, 1)], rel=1e-5)

    n = len(backend)
    df = {"troop": 2, "zeppelin": 1}  # iraq.txt passage 0 and notes.txt passage 0
    assert backend.idf(["troop", "zeppelin", "unheardof"]) == pytest.approx(
        {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()})
    # The engine's score is idf x tf / (tf + k1 (1 - b + b len / avg)), tf = 1 here.
    length = len(passage_terms(markets)[1])
    lengths = [len(t) for doc, _ in corpus for t in passage_terms(doc)]
    norm = 0.9 * (1 - 0.4 + 0.4 * length / (sum(lengths) / len(lengths)))
    assert scores[0] == pytest.approx(backend.idf(["zeppelin"])["zeppelin"] / (1 + norm), rel=1e-5)


def test_contains(backend: QdrantBackend, corpus) -> None:
    iraq, _, notes = (doc for doc, _ in corpus)
    held = backend.contains([pid(iraq, 0), pid(notes, 0), PassageId("gone.txt", "x", 0)], ["troop", "kurdistan", "iraq"])
    # The title ("Iraq") is indexed with every passage of iraq.txt.
    assert held.tolist() == [[True, True, True], [True, False, False], [False, False, False]]


@pytest.mark.parametrize(("where", "expected"), [
    (Filter(sources=frozenset({"iraq.txt"})), {"iraq.txt"}),
    (Filter(sources=frozenset()), set()),
    (Filter(exclude=frozenset({"iraq.txt"})), {"markets.txt", "notes.txt"}),
    (Filter(since="2024-10-01"), {"markets.txt", "notes.txt"}),
    (Filter(since="2024-10-01", include_undated=False), {"markets.txt"}),
    (Filter(until="2024-09-06", include_undated=False), {"iraq.txt"}),
    (Filter(since="2024-09-07", until="2024-10-01"), {"notes.txt"}),
    (Filter(since="2024-09-07", until="2024-10-01", include_undated=False), set()),
    (Filter(sources=frozenset({"iraq.txt", "notes.txt"}), exclude=frozenset({"notes.txt"}), until="2024-12-31"), {"iraq.txt"}),
    (Filter(include_undated=False), {"iraq.txt", "markets.txt", "notes.txt"}),
])
def test_filters_admit_what_filter_admits(backend: QdrantBackend, corpus, where: Filter, expected: set[str]) -> None:
    assert {doc.source for doc, _ in corpus if where.admits(doc.source, doc.date)} == expected
    vector = corpus[0][1][0]
    assert {p.source for p in backend.dense_top_k(vector, 10, where)} == expected
    keyword = backend.keyword_top_k(["troop", "oil", "zeppelin", "talk", "note"], 10, where)
    assert {p.source for p, _ in keyword} == expected


def test_apply_replaces_and_removes(backend: QdrantBackend, spec: str, corpus) -> None:
    iraq, markets, notes = (doc for doc, _ in corpus)
    generation = backend.generation
    changed = make_doc("markets.txt", "2024-10-03", ["Gold prices fell.", "A blimp drifted by."], per_passage=1)
    changed = StoredDocument(**{**changed.__dict__, "hash": "h-new"})
    rows = unit_rows(np.random.RandomState(3), 2)
    after = backend.apply(Changes(upserts=[(changed, rows)], removes=frozenset({"notes.txt"})))
    assert after is backend and after.generation != generation
    assert [d.source for d in after.documents] == ["iraq.txt", "markets.txt"]
    assert after.document("markets.txt") == changed and after.document("notes.txt") is None
    assert len(after) == 4
    assert after.keyword_top_k(["zeppelin"], 5) == [] and after.keyword_top_k(["note"], 5) == []
    assert after.keyword_top_k(["blimp"], 5)[0][0] == PassageId("markets.txt", "h-new", 1)
    assert after.dense_top_k(rows[0], 1) == [PassageId("markets.txt", "h-new", 0)]
    assert after.keyword_scores(["zeppelin"], [pid(markets, 1)]).tolist() == [0.0]
    assert after.vectors([pid(markets, 1)]).tolist() == [[0.0] * DIM]  # gone: a zero row
    assert after.idf(["troop"]) == pytest.approx({"troop": math.log(1 + (4 - 1 + 0.5) / 1.5)})
    recent = Filter(since="2024-10-03", include_undated=False)
    assert {p.source for p in after.dense_top_k(rows[0], 10, recent)} == {"markets.txt"}
    reopened = location(spec).open()
    assert reopened.documents == after.documents and reopened.generation == after.generation


def test_reopened_location_sees_the_same_index(backend: QdrantBackend, spec: str, corpus) -> None:
    where = location(spec)
    assert where.info() == INFO
    assert where.open(backend) is backend  # still current: no reload
    where.close()  # let go of the folder, as another process would open it
    reopened = location(spec).open()
    assert reopened is not backend
    assert reopened.info == INFO and reopened.documents == backend.documents
    assert reopened.dense_top_k(corpus[2][1][0], 1) == [pid(corpus[2][0], 0)]
    assert reopened.keyword_top_k(["zeppelin"], 1) == backend.keyword_top_k(["zeppelin"], 1)


def test_create_answers_empty_until_applied_then_replaces(backend: QdrantBackend, spec: str, corpus) -> None:
    other = IndexInfo(model="other", dimension=4, encoder="test", chunking={})
    fresh = location(spec).create(other)
    assert len(fresh) == 0 and fresh.documents == () and fresh.keyword_top_k(["troop"], 3) == []
    assert location(spec).info() == INFO  # nothing is touched before the first apply
    doc = make_doc("solo.txt", None, ["Only troops here."])
    fresh.apply(Changes(upserts=[(doc, np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32))]))
    assert location(spec).info() == other
    assert [d.source for d in location(spec).open().documents] == ["solo.txt"]
    with pytest.raises(ValueError, match="vectors"):
        fresh.apply(Changes(upserts=[(doc, np.zeros((1, DIM), dtype=np.float32))]))


def test_location_strings(tmp_path: Path) -> None:
    assert handles("qdrant://h/c") and handles("QDRANTS://h/c") and handles("qdrant+file:x")
    assert not handles(str(tmp_path)) and not handles("qdrantx://h/c")
    assert str(location("qdrant://db.local:7000/news")) == "qdrant://db.local:7000/news"
    assert location("qdrants://db.local/news").https
    assert str(location("qdrant://[::1]:7000/news")) == "qdrant://[::1]:7000/news"
    assert location(f"qdrant+file://{tmp_path}").path == tmp_path.resolve()
    assert location(f"qdrant+file:{tmp_path}").work_dir() == tmp_path.resolve()
    assert location("qdrant://db.local/news").work_dir() is None
    for bad in ("qdrant://", "qdrant://host", "qdrant://host/", "qdrant://host:port/c", "qdrant://host:99999/c",
                "qdrant://host/a/b", "qdrant+file:", "/srv/index"):
        with pytest.raises(IndexStoreError):
            location(bad)


def test_cluster_options_in_the_index_string() -> None:
    where = location("qdrant://db.local/news?shards=6&replicas=2&write_consistency=2")
    assert (where.shards, where.replicas, where.write_consistency) == (6, 2, 2)
    assert where.collection_options() == {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 2}
    assert str(where) == "qdrant://db.local:6333/news?shards=6&replicas=2&write_consistency=2"
    assert location(str(where)) == where
    assert location("qdrant://db.local/news").collection_options() == {}
    for bad, says in (("?shards=0", "whole number"), ("?replicas=two", "whole number"), ("?shard=2", "unknown option"),
                      ("?shards=", "whole number")):
        with pytest.raises(IndexStoreError, match=says):
            location(f"qdrant://db.local/news{bad}")


def test_collections_are_created_with_the_cluster_options(tmp_path: Path, corpus) -> None:
    """Local mode ignores sharding, but the client checks that every argument is one create_collection takes."""
    where = QdrantLocation(collection="qa", path=tmp_path / "qdrant", shards=2, replicas=2, write_consistency=1)
    try:
        where.create(INFO).apply(Changes(upserts=corpus))
        assert len(where.open()) == sum(len(doc.passages) for doc, _ in corpus)
    finally:
        where.close()


def test_nothing_there_yet(tmp_path: Path) -> None:
    where = location(f"qdrant+file:{tmp_path / 'none'}")
    assert where.info() is None and not (tmp_path / "none").exists()
    with pytest.raises(IndexStoreError, match="no index"):
        where.open()
    assert where.writable()


def test_threads_share_the_local_client(backend: QdrantBackend, corpus) -> None:
    vector = corpus[0][1][0]
    expected = (backend.dense_top_k(vector, 3), backend.keyword_top_k(["troop"], 3))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: (backend.dense_top_k(vector, 3), backend.keyword_top_k(["troop"], 3)), range(16)))
    assert results == [expected] * 16


def test_folder_open_in_another_process(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    script = f"from qdrant_client import QdrantClient as Q; c = Q(path={str(folder)!r}); print('ready', flush=True); input()"
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(IndexStoreError, match="another process"):
            location(f"qdrant+file:{folder}").info()
    finally:
        holder.communicate("\n", timeout=30)


def test_unreachable_server_says_what_to_check() -> None:
    where = location("qdrant://127.0.0.1:9/news")  # the discard port: nothing answers
    with pytest.raises(IndexStoreError, match="Check that it runs"):
        where.info()


def test_filter_conversion() -> None:
    assert qdrant_filter(None) is None and qdrant_filter(Filter()) is None
    dated = qdrant_filter(Filter(since="2024-01-01", include_undated=False))
    assert dated.must[0].range.gte == 20240101 and dated.must[0].range.lte is None
