"""A segment's dense index switches to HNSW above EXACT_SEARCH_MAX; everything that reads vectors still works."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from qa import QA, Settings
from qa.embedding import Embedder
from qa.stores.base import StoredDocument
from qa.stores.bm25 import Postings
from qa.stores.local import load_store
from qa.stores.segments import Segment, build_dense


def test_hnsw_above_the_threshold_answers_like_exact(seed_dir: Path, tmp_path: Path, embedder: Embedder,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    exact = QA(seed_dir, tmp_path / "exact", settings=Settings(rescan_seconds=0.0, update_wait_seconds=600.0), embedder=embedder)
    monkeypatch.setattr("qa.stores.segments.EXACT_SEARCH_MAX", 0)
    graph = QA(seed_dir, tmp_path / "hnsw", settings=Settings(rescan_seconds=0.0, update_wait_seconds=600.0), embedder=embedder)
    store = load_store(tmp_path / "hnsw")
    dense = store.segments[0].dense
    assert isinstance(dense, faiss.IndexHNSWFlat) and dense.hnsw.efSearch > 16
    assert isinstance(load_store(tmp_path / "exact").segments[0].dense, faiss.IndexFlatIP)
    first = store.documents[0].source
    np.testing.assert_allclose(store.document_vectors(first), load_store(tmp_path / "exact").document_vectors(first), atol=1e-6)
    for question in ("how many troops stay in Kurdistan?", "Who is Iraq's defense minister?"):
        assert [p.text for p in graph.ask(question).passages] == [p.text for p in exact.ask(question).passages]
    only = "us-to-withdraw-most-troops-from-iraq.txt"
    assert {p.source for p in graph.ask("how many troops stay in Kurdistan?", sources=[only]).passages} == {only}
    (seed_dir / "more.txt").write_text("Harbour news\n\nThe harbour of Vell handled 431 ships in May.\n", encoding="utf-8")
    assert graph.ask("How many ships did the harbour of Vell handle?").passages[0].source == "more.txt"


@pytest.mark.parametrize("exact_max, kind", [(1000, faiss.IndexFlatIP), (0, faiss.IndexHNSWFlat)])
def test_segment_search_ranks_and_filters_like_brute_force(exact_max: int, kind: type) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    doc = StoredDocument(source="a.txt", title="A", date=None, hash="0" * 64, text="x" * 500,
                         units=tuple((i, i + 1) for i in range(500)), passages=tuple((i, i + 1) for i in range(500)))
    segment = Segment("seg-000001", [doc], build_dense(vectors, 16, exact_max), Postings.build([["x"]] * 500))
    assert isinstance(segment.dense, kind)
    query = vectors[7]
    scores = vectors @ query
    found, rows = segment.nearest(query, 5)
    assert list(rows) == list(np.argsort(-scores)[:5])
    np.testing.assert_allclose(found, scores[rows], atol=1e-5)
    allowed = np.zeros(500, dtype=bool)
    allowed[[3, 99, 250, 401]] = True
    assert list(segment.nearest(query, 10, allowed)[1]) == sorted([3, 99, 250, 401], key=lambda i: -scores[i])
    np.testing.assert_allclose(segment.vectors(np.array([3, 401])), vectors[[3, 401]])
