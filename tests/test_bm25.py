"""qa's BM25 over segments (qa.stores.bm25): bm25s's scores to the bit, and the same scores
whichever segment holds a passage, deleted rows left out of the statistics."""

from __future__ import annotations

import bm25s
import numpy as np

from qa.lexical import terms
from qa.stores.base import passage_terms
from qa.stores.bm25 import Collection, Postings
from qa.stores.local import Store, load_store

QUESTIONS = ("how many troops stay in Kurdistan?", "Who is Iraq's defense minister?", "troops troops Iraq 2026",
             "What is the best recipe for sourdough bread?")


def all_terms(store: Store) -> list[list[str]]:
    return [words for doc in store.documents for words in passage_terms(doc)]


def test_scores_equal_bm25s_to_the_bit(seed_qa) -> None:
    passages = all_terms(load_store(seed_qa.index))
    reference = bm25s.BM25(k1=0.9, b=0.4)
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in words or [""]] for words in passages]
    reference.index((ids, vocab), show_progress=False)
    mine = Collection([(Postings.build(passages), None)])
    for question in QUESTIONS:
        query = [t for t in terms(question) if t in vocab]
        expected = reference.get_scores(query) if query else np.zeros(len(passages), np.float32)
        np.testing.assert_array_equal(mine.scores(terms(question))[0], expected)


def test_a_passage_scores_the_same_in_any_segment_and_after_a_merge(seed_qa) -> None:
    passages = all_terms(load_store(seed_qa.index))
    half = len(passages) // 2
    whole = Collection([(Postings.build(passages), None)])
    first, second = Postings.build(passages[:half]), Postings.build(passages[half:])
    split = Collection([(first, None), (second, None)])
    merged = Postings.merge([(first, np.arange(half)), (second, np.arange(half, len(passages)))], len(passages))
    for question in QUESTIONS:
        expected = whole.scores(terms(question))[0]
        np.testing.assert_array_equal(np.concatenate(split.scores(terms(question))), expected)
        np.testing.assert_array_equal(Collection([(merged, None)]).scores(terms(question))[0], expected)


def test_deleted_rows_leave_the_statistics() -> None:
    kept = [["troop", "iraq"], ["syria", "border"], ["troop", "leav"]]
    gone = [["troop", "troop", "troop"], ["troop"]]
    alone = Collection([(Postings.build(kept), None)])
    masked = Collection([(Postings.build(kept + gone), np.array([True, True, True, False, False]))])
    assert (masked.passages, masked.average_length) == (alone.passages, alone.average_length)
    assert masked.document_frequency("troop") == alone.document_frequency("troop") == 2
    np.testing.assert_array_equal(masked.scores(["troop"])[0][:3], alone.scores(["troop"])[0])
    dropped = Postings.merge([(Postings.build(kept + gone), np.array([0, 1, 2, -1, -1]))], 3)
    np.testing.assert_array_equal(Collection([(dropped, None)]).scores(["troop", "syria"])[0],
                                  alone.scores(["troop", "syria"])[0])
