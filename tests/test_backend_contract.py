"""The contract every index backend keeps (qa.stores.base.IndexBackend), run against each one.

Each test gets an empty location of one backend: the local folder (FAISS + BM25 segments) and Qdrant
in local mode (`qdrant+file:`, Qdrant's own client running in-process). A backend that
passes here can sit under `QA` unchanged: updates and deletes by file, filters as values,
dense and keyword search, term statistics, reopening, a writer killed mid-update, and the
same answers as the default backend on the seed articles.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import QA, Settings
from qa.embedding import Embedder
from qa.errors import IndexStoreError, IndexUnavailableError
from qa.lexical import terms
from qa.stores import Changes, Filter, IndexBackend, IndexInfo, PassageId, StoredDocument, locate
from qa.stores.base import passage_terms
from tests.conftest import SEED_SOURCES
from tests.helpers import KURDISTAN, free_port

# "server" runs the contract against a real Qdrant server when QDRANT_URL names one
# (e.g. qdrant://localhost:6333); none can be installed on the machines qa is built on.
BACKENDS = ["local", "qdrant", pytest.param("server", marks=pytest.mark.skipif(
    not os.environ.get("QDRANT_URL"), reason="QDRANT_URL is not set: no Qdrant server to test against"))]
DIM = 16
INFO = IndexInfo("test-model", DIM, "test-encoder", {"chunker_version": 1})


def spec(kind: str, folder: Path) -> str:
    if kind == "server":  # a collection of its own for each test
        return f"{os.environ['QDRANT_URL'].rstrip('/')}/qa_test_{abs(hash(str(folder))):x}"
    return str(folder / "index") if kind == "local" else f"qdrant+file:{folder / 'qdrant'}"


def document(source: str, sentences: list[str], date: str | None = None, version: int = 0) -> StoredDocument:
    """A document whose passages are its sentences, one each."""
    text, units = "", []
    for sentence in sentences:
        units.append((len(text), len(text) + len(sentence)))
        text += sentence + " "
    return StoredDocument(source=source, title=source.split(".")[0].title(), date=date, hash=f"{source}-v{version}",
                          text=text, units=tuple(units), passages=tuple((i, i + 1) for i in range(len(units))))


def unit_vectors(seed: int, n: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


CORPUS = [
    document("budget.txt", ["The Riverton council approved a budget of 412 million dollars.",
                            "A new transit line will cost 24 million dollars.",
                            "The mayor called the vote historic."], "2024-03-05"),
    document("troops.txt", ["About 2,500 US troops are in Iraq.",
                            "Most will leave by September 2025.",
                            "Some stay in Kurdistan until 2026."], "2024-09-06"),
    document("zebra.txt", ["Tromso painted 17 purple zebra crossings.",
                           "The paint stays visible under snow."]),  # undated
]
VECTORS = {doc.source: unit_vectors(i, len(doc.passages)) for i, doc in enumerate(CORPUS)}


def ids_of(doc: StoredDocument) -> list[PassageId]:
    return [doc.passage_id(i) for i in range(len(doc.passages))]


@pytest.fixture(params=BACKENDS)
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, IndexBackend]:
    """(index string, backend) holding CORPUS."""
    where = spec(request.param, tmp_path)
    backend = locate(where).create(INFO).apply(Changes([(d, VECTORS[d.source]) for d in CORPUS]))
    return where, backend


def test_it_holds_what_was_applied(filled) -> None:
    where, backend = filled
    assert isinstance(backend, IndexBackend)
    assert len(backend) == sum(len(d.passages) for d in CORPUS)
    assert [d.source for d in backend.documents] == sorted(d.source for d in CORPUS)
    assert backend.document("troops.txt") == CORPUS[1] and backend.document("nothing.txt") is None
    ids = ids_of(CORPUS[0])
    np.testing.assert_allclose(backend.vectors(ids), VECTORS["budget.txt"], atol=1e-5)
    assert locate(where).info() == INFO


def test_dense_search_ranks_by_cosine(filled) -> None:
    _, backend = filled
    every = [pid for d in CORPUS for pid in ids_of(d)]
    vectors = np.concatenate([VECTORS[d.source] for d in CORPUS])
    query = vectors[4] + 0.3 * vectors[1]
    query /= np.linalg.norm(query)
    expected = [every[i] for i in np.argsort(-(vectors @ query))[:5]]
    assert backend.dense_top_k(query, 5) == expected


def test_keyword_search_finds_the_rare_term_and_scores_agree(filled) -> None:
    _, backend = filled
    query = terms("purple zebra crossings in snow")
    found = backend.keyword_top_k(query, 3)
    assert found[0][0] == PassageId("zebra.txt", "zebra.txt-v0", 0)
    assert all(score > 0 for _, score in found) and [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    scores = backend.keyword_scores(query, [pid for pid, _ in found] + [PassageId("budget.txt", "budget.txt-v0", 2)])
    np.testing.assert_allclose(scores[:-1], [s for _, s in found], rtol=1e-4)
    assert scores[-1] == 0


def test_term_statistics(filled) -> None:
    _, backend = filled
    idf = backend.idf(["purpl", "million", "notaword"])
    assert set(idf) == {"purpl", "million"} and idf["purpl"] > idf["million"] > 0
    ids = ids_of(CORPUS[0]) + ids_of(CORPUS[2])
    holds = backend.contains(ids, ["million", "purpl", "notaword"])
    expected = [[("million" in t), ("purpl" in t), False] for d in (CORPUS[0], CORPUS[2]) for t in passage_terms(d)]
    assert holds.tolist() == expected


@pytest.mark.parametrize(("where", "sources"), [
    (Filter(sources=frozenset({"troops.txt"})), {"troops.txt"}),
    (Filter(exclude=frozenset({"troops.txt"})), {"budget.txt", "zebra.txt"}),
    (Filter(since="2024-06-01"), {"troops.txt", "zebra.txt"}),
    (Filter(since="2024-06-01", include_undated=False), {"troops.txt"}),
    (Filter(until="2024-06-01", include_undated=False), {"budget.txt"}),
    (Filter(sources=frozenset({"budget.txt"}), since="2024-06-01"), set()),
])
def test_filters_are_applied_by_the_engine(filled, where: Filter, sources: set[str]) -> None:
    _, backend = filled
    query = unit_vectors(99, 1)[0]
    dense = backend.dense_top_k(query, 20, where)
    keyword = backend.keyword_top_k(terms("million troops purple paint council"), 20, where)
    assert {pid.source for pid in dense} == sources
    assert {pid.source for pid, _ in keyword} <= sources and (keyword or not sources)


def test_a_changed_file_replaces_its_passages_and_a_deleted_one_goes(filled) -> None:
    where, backend = filled
    changed = document("troops.txt", ["All US troops leave Iraq in 2026."], "2024-10-01", version=1)
    after = backend.apply(Changes([(changed, unit_vectors(7, 1))], frozenset({"zebra.txt"})))
    assert [d.source for d in after.documents] == ["budget.txt", "troops.txt"]
    assert after.document("troops.txt") == changed and len(after) == 4
    found = after.keyword_top_k(terms("troops Kurdistan purple"), 10)
    assert {pid for pid, _ in found} == {changed.passage_id(0)}
    np.testing.assert_allclose(after.vectors([changed.passage_id(0)]), unit_vectors(7, 1), atol=1e-5)
    reopened = locate(where).open()
    assert [d.hash for d in reopened.documents] == ["budget.txt-v0", "troops.txt-v1"] and len(reopened) == 4


def test_a_bad_change_is_refused_and_the_index_is_unchanged(filled) -> None:
    where, backend = filled
    with pytest.raises(ValueError, match="vectors for"):
        backend.apply(Changes([(CORPUS[0], unit_vectors(1, 1))]))
    assert [d.hash for d in locate(where).open().documents] == [d.hash for d in sorted(CORPUS, key=lambda d: d.source)]


@pytest.mark.parametrize("kind", BACKENDS)
def test_nothing_there_is_none_and_opening_it_says_so(kind: str, tmp_path: Path) -> None:
    location = locate(spec(kind, tmp_path))
    assert location.info() is None
    with pytest.raises(IndexStoreError):
        location.open()


WRITER = """
import sys, numpy as np
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tests.test_backend_contract import INFO, document, unit_vectors
from qa.stores import Changes, locate
backend = locate(sys.argv[1]).create(INFO)
for n in range(10_000):
    doc = document(f"doc{n:05d}.txt", [f"Sentence {i} of document {n} about topic {n % 7}." for i in range(20)])
    backend = backend.apply(Changes([(doc, unit_vectors(n, 20))]))
    Path(sys.argv[2]).write_text(str(n + 1))
"""


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_writer_killed_mid_update_leaves_a_usable_index(kind: str, tmp_path: Path) -> None:
    where, progress = spec(kind, tmp_path), tmp_path / "applied"
    root = Path(__file__).resolve().parent.parent
    writer = subprocess.Popen([sys.executable, "-c", WRITER, where, str(progress), str(root)])
    try:
        deadline = time.monotonic() + 120
        while not (progress.exists() and int(progress.read_text() or 0) >= 3):
            assert writer.poll() is None and time.monotonic() < deadline, "the writer stopped before three updates"
            time.sleep(0.05)
        time.sleep(0.15)  # most likely inside a later update now
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
    backend = locate(where).open()
    documents = list(backend.documents)
    assert len(documents) >= 3
    assert len(backend) == sum(len(d.passages) for d in documents)
    ids = [pid for d in documents for pid in ids_of(d)]
    norms = np.linalg.norm(backend.vectors(ids), axis=1)
    assert norms == pytest.approx(np.ones(len(ids)), abs=1e-4), "every listed document is whole"
    assert {pid.source for pid, _ in backend.keyword_top_k(terms("document 1"), 50)} <= {d.source for d in documents}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["qdrant"])
def test_the_seed_articles_answer_the_same_on_every_backend(kind: str, embedder: Embedder, tmp_path: Path,
                                                            seed_qa: QA) -> None:
    other = QA(SEED_SOURCES, spec(kind, tmp_path), settings=Settings(), embedder=embedder)
    for question in (KURDISTAN, "Who is Iraq's defense minister?", "What is the best recipe for sourdough bread?",
                     "troops troops troops in Kurdistan or Baghdad?"):
        mine, default = other.ask(question), seed_qa.ask(question)
        assert mine.answered == default.answered
        assert [(p.source, p.start, p.end) for p in mine.passages] == [(p.source, p.start, p.end) for p in default.passages]
        assert [p.score for p in mine.passages] == pytest.approx([p.score for p in default.passages], abs=0.02)


def test_a_server_that_is_down_is_one_clear_error_and_nothing_else_changes(embedder: Embedder, tmp_path: Path,
                                                                           seed_qa: QA) -> None:
    before = sorted(p.name for p in Path(seed_qa.index).iterdir())
    with pytest.raises(IndexUnavailableError, match="cannot use the Qdrant server .* Check that it runs"):
        QA(SEED_SOURCES, f"qdrant://127.0.0.1:{free_port()}/news", embedder=embedder)
    assert sorted(p.name for p in Path(seed_qa.index).iterdir()) == before


def test_answering_at_once_from_a_server_that_is_down_says_so_and_asks_for_no_rebuild(
        embedder: Embedder, caplog: pytest.LogCaptureFixture) -> None:
    qa = QA(SEED_SOURCES, f"qdrant://127.0.0.1:{free_port()}/news", embedder=embedder, wait=False)
    qa.wait()
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "Check that it runs" in said and "rebuilt" not in said
    assert "Check that it runs" in str(qa.status()) and not qa.documents()
