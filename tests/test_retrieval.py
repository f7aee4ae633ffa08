"""Candidates, features, the scorer and abstention (qa.retrieval), on the real seed index."""

from __future__ import annotations

import numpy as np
import pytest

from qa import QA
from qa.lexical import terms
from qa.retrieval import FEATURES, Scorer, coverage, rank, unknown_weight
from qa.stores import PassageId
from qa.stores.local import Store, load_store

KURDISTAN = "how many troops stay in Kurdistan?"


@pytest.fixture(scope="module")
def store(seed_qa: QA) -> Store:
    return load_store(seed_qa.index)


def everything(store: Store) -> list[PassageId]:
    return [d.passage_id(i) for d in store.documents for i in range(len(d.passages))]


def ranked(seed_qa: QA, store: Store, question: str, method: str = "hybrid"):
    vector = seed_qa.embedder.encode([question])[0]
    return rank(store, vector, terms(question), Scorer(), 50, None, method, question)


def test_a_passage_covers_its_own_terms_fully_and_others_less(store: Store) -> None:
    doc = store.documents[0]
    first, last = doc.passages[0]
    own = terms(doc.text[doc.units[first][0] : doc.units[last - 1][1]])
    found = coverage(store, everything(store), own)
    assert found[0] == pytest.approx(1.0)
    assert (found[1:] < 1.0).any()


def test_a_word_no_article_uses_costs_one_average_term(store: Store) -> None:
    known = terms("US troops in the Kurdistan region")
    weights = store.idf(known)
    assert unknown_weight(weights, [*known, "zyxwvut"]) == pytest.approx(sum(weights.values()) / len(weights))
    passages = everything(store)
    with_unknown = coverage(store, passages, [*known, "zyxwvut"])
    share = sum(weights.values()) / (sum(weights.values()) * (1 + 1 / len(weights)))
    assert with_unknown == pytest.approx(coverage(store, passages, known) * share)


def test_hybrid_answers_an_asked_question_and_abstains_on_an_unasked_one(seed_qa: QA, store: Store) -> None:
    hits = ranked(seed_qa, store, KURDISTAN)
    doc = store.document(hits[0].passage.source)
    assert hits[0].score >= Scorer().threshold and "Kurdistan" in doc.text
    off_topic = ranked(seed_qa, store, "What is the best recipe for sourdough bread?")
    assert off_topic[0].score < Scorer().threshold


def test_scores_are_best_first_and_only_the_head_is_reranked(seed_qa: QA, store: Store) -> None:
    hits = ranked(seed_qa, store, "Who is Iraq's defense minister?")
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert len({h.passage for h in hits}) == len(hits) == len(store)
    head = Scorer().rerank
    sentence = FEATURES.index("sentence_coverage")
    assert all(h.features[sentence] == 0.0 for h in hits[head:])


def test_the_scorer_rewards_a_closer_match_and_punishes_a_missing_answer_type() -> None:
    scorer = Scorer()
    row = np.array([[0.5, 0.0, 0.8, 0.6, 0.6, 0.0]], dtype=np.float32)
    closer, typed = row.copy(), row.copy()
    closer[0, FEATURES.index("cosine")] = 0.7
    typed[0, FEATURES.index("type_missing")] = 1.0
    assert scorer(closer)[0] > scorer(row)[0] > scorer(typed)[0]
    assert 0.0 < scorer(typed)[0] < scorer(closer)[0] < 1.0


@pytest.mark.parametrize("method", ["bm25", "dense"])
def test_single_retrievers_rank_by_their_own_score(seed_qa: QA, store: Store, method: str) -> None:
    hits = ranked(seed_qa, store, KURDISTAN, method)
    column = FEATURES.index("cosine" if method == "dense" else "bm25")
    values = [h.features[column] for h in hits]
    assert values == sorted(values, reverse=True)
