"""The evaluation's metrics on a tiny hand-made set, and hybrid search on exact numbers and names."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.answers import Answer, Passage
from qa.embedding import Embedder
from qa.evaluation import (
    Question,
    evaluate,
    highlight_hit,
    judge,
    load_dataset,
    ndcg,
    out_of_collection,
    ranked_documents,
    recall,
    reciprocal_rank,
    summarise,
)

REL = frozenset({"b"})


def test_metrics_on_known_rankings() -> None:
    assert recall(["a", "b", "c"], REL, 1) == 0.0
    assert recall(["a", "b", "c"], REL, 5) == 1.0
    assert reciprocal_rank(["a", "b", "c"], REL) == 0.5
    assert reciprocal_rank(["a", "c"], REL) == 0.0
    assert ndcg(["b"], REL) == 1.0
    assert math.isclose(ndcg(["a", "b"], REL), 1 / math.log2(3))
    assert math.isclose(ndcg(["x", "y"], frozenset({"x", "y"})), 1.0)
    assert math.isclose(ndcg(["y", "z", "x"], frozenset({"x", "y"})), (1 + 0.5) / (1 + 1 / math.log2(3)))
    assert reciprocal_rank(["a"] * 10 + ["b"], REL) == 0.0, "only the top 10 count"


def test_also_reported_by_is_judged_only_beside_a_highlight_that_answers() -> None:
    """A claim names articles that state the highlight's fact; the gold says which state the answer,
    so it judges a claim only where the highlight holds the answer."""
    text = "The strike lasted 19 days. Workers got a $1,800 bonus."
    q = Question("q1", "What bonus did the workers get?", ("$1,800",), frozenset({"a"}), reported_by=frozenset({"a", "b"}))

    def asked(highlight: slice, also: tuple[str, ...]) -> Answer:
        p = Passage(text, "a.txt", "A", None, 0, len(text), 0.9, text[highlight], highlight.start, highlight.stop, also)
        return Answer(q.text, True, (p,))

    right = judge(q, asked(slice(27, len(text)), ("b.txt", "c.txt")), "answerable", 1.0)
    wrong = judge(q, asked(slice(0, 26), ("c.txt",)), "answerable", 1.0)
    assert (right.claims, right.unjudged_claims) == ((True, False), 0)
    assert (wrong.claims, wrong.unjudged_claims) == ((), 1)
    row = summarise("hybrid", "overlap", [right, wrong], {"q1": q.relevant})
    assert (row.also_precision, row.also_claims, row.also_unjudged) == (0.5, 2, 1)


def test_ranked_documents_are_distinct_in_order() -> None:
    assert ranked_documents(["d2.txt", "d1.txt", "d2.txt", "d3.txt"]) == ["d2", "d1", "d3"]


def test_highlight_hit_needs_the_answer_string() -> None:
    assert highlight_hit("About 2,500 US troops are in Iraq.", ["2,500", "about 2,500"])
    assert not highlight_hit("Troops are in Iraq.", ["2,500"])
    assert not highlight_hit("anything", ["  "])


def _write(folder: Path, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str]]) -> Path:
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t1\n" for q, c in qrels))
    return folder


# Ten near-identical reports that differ only by a figure or a name: only the exact number
# or name in the question identifies the right one.
UNITS = [("Thabit al-Abbasi", 2500), ("Hussein Alawi", 900), ("Mohammed al-Sudani", 1400), ("Brett McGurk", 3100),
         ("Fuad Hussein", 650), ("Lloyd Austin", 4700), ("Qasim al-Araji", 1250), ("Masrour Barzani", 2750),
         ("Nechirvan Barzani", 380), ("Falih al-Fayyadh", 5200)]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    corpus = [
        {"_id": f"d{i}", "title": "Troop levels report",
         "text": f"The spokesman {name} said that {count:,} soldiers from the coalition remain at the base this year."}
        for i, (name, count) in enumerate(UNITS)
    ]
    queries = [{"_id": f"n{i}", "text": f"Where do the {count:,} soldiers remain?", "answers": [f"{count:,}"]}
               for i, (_, count) in enumerate(UNITS)]
    queries += [{"_id": f"p{i}", "text": f"What did {name} say?", "answers": [name]} for i, (name, _) in enumerate(UNITS)]
    qrels = [(f"n{i}", f"d{i}") for i in range(len(UNITS))] + [(f"p{i}", f"d{i}") for i in range(len(UNITS))]
    return _write(tmp_path / "tiny", corpus, queries, qrels)


@pytest.mark.slow
def test_hybrid_finds_passages_only_a_number_or_name_identifies(tiny: Path, tmp_path: Path) -> None:
    dataset = load_dataset(tiny)
    # PyTorch's vectors rank 19 of 20 first; the int8 ONNX encoder's happen to rank all 20.
    report = evaluate(dataset, ["dense", "hybrid"], embedder=Embedder(encoder="torch"), workdir=tmp_path,
                      show_progress=False)
    by_method = {m.method: m for m in report.methods}
    assert by_method["hybrid"].recall_at_1 == 1.0
    assert by_method["hybrid"].highlight_accuracy == 1.0
    assert by_method["dense"].recall_at_1 < 1.0, "the vectors alone cannot tell these apart"
    assert report.documents == len(UNITS)


def test_evaluate_builds_and_answers_through_the_index_string_given(tiny: Path, tmp_path: Path,
                                                                    embedder: Embedder) -> None:
    pytest.importorskip("qdrant_client")
    from qa.stores import locate

    spec = f"qdrant+file:{tmp_path / 'qdrant'}"
    try:
        report = evaluate(load_dataset(tiny), ["hybrid"], embedder=embedder, workdir=tmp_path / "work", index=spec,
                          show_progress=False)
    finally:
        locate(spec).close()
    assert report.documents == len(UNITS) and report.methods[0].recall_at_1 >= 0.9
    assert (tmp_path / "qdrant").is_dir() and not (tmp_path / "work" / "index").exists()


def test_out_of_collection_questions_are_those_about_missing_articles(tiny: Path, tmp_path: Path) -> None:
    other = _write(
        tmp_path / "other",
        [{"_id": "x0", "title": "Troop levels report", "text": "Same article title."},
         {"_id": "y0", "title": "Banana bread", "text": "Mash three bananas."}],
        [{"_id": "qx", "text": "troops?"}, {"_id": "qy", "text": "How many bananas?"}],
        [("qx", "x0"), ("qy", "y0")],
    )
    ooc = out_of_collection(load_dataset(tiny), load_dataset(other))
    assert [q.id for q in ooc] == ["qy"]


def test_missing_files_are_a_clear_error(tmp_path: Path) -> None:
    from qa import SourcesError

    with pytest.raises(SourcesError, match="qrels.tsv is missing"):
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "corpus.jsonl").write_text("")
        (tmp_path / "d" / "queries.jsonl").write_text("")
        load_dataset(tmp_path / "d")
