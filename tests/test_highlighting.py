"""The highlighter picks the sentence that answers, by rare question words and answer type."""

from __future__ import annotations

import doctest

import qa.highlighting
from qa.highlighting import best_sentences
from qa.lexical import terms

SENTENCES = [
    "The decision follows negotiations between American and Iraqi officials.",
    "The withdrawal of most US troops from Iraq will happen over two years.",
    "Currently, the US has around 2,500 troops in Iraq and 900 in Syria.",
    "They will leave by September 2025.",
]


def weights(question: str) -> dict[str, float]:
    rare = {"kurdistan": 4.0, "syria": 3.5, "2500": 4.0, "septemb": 3.0, "leav": 2.5, "negoti": 3.0}
    return {t: rare.get(t, 1.0) for t in terms(question)}


def test_doctests() -> None:
    assert doctest.testmod(qa.highlighting).failed == 0


def test_quantity_questions_prefer_a_sentence_with_a_number() -> None:
    q = "How many US troops are in Iraq?"
    assert best_sentences(SENTENCES, q, weights(q)) == (2, 3)


def test_rare_words_beat_common_ones() -> None:
    q = "What followed the negotiations with Iraqi officials?"
    assert best_sentences(SENTENCES, q, weights(q)) == (0, 1)


def test_a_continuing_sentence_is_read_with_the_one_before() -> None:
    q = "When will the troops in Syria leave?"
    assert best_sentences(SENTENCES, q, weights(q)) == (2, 4)


def test_no_sentences() -> None:
    assert best_sentences([], "anything?", {}) == (0, 0)
