"""Passages are whole sentences, fit the model, overlap, and map back to the text exactly."""

from __future__ import annotations

import doctest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qa.chunking
from qa.chunking import chunk, pack_passages, split_sentences
from qa.embedding import Embedder
from qa.stores.base import embedding_text


def test_doctests() -> None:
    assert doctest.testmod(qa.chunking).failed == 0


def test_sentences_are_never_cut(embedder: Embedder) -> None:
    sentences = [f"Sentence number {i} says that {i * 7} troops moved to base {i}." for i in range(40)]
    text = " ".join(sentences)
    units, passages = chunk(text, [(0, len(text))], embedder.count_tokens, max_tokens=60, overlap=1)
    assert [text[s:e] for s, e in units] == sentences
    assert len(passages) > 1
    for (_, a_last), (b_first, _) in zip(passages, passages[1:]):
        assert b_first == a_last - 1, "consecutive passages share one sentence"


def test_passages_fit_the_model_window(embedder: Embedder) -> None:
    long_sentence = " ".join(["extraordinarily"] * 400) + "."
    text = "Short opener. " + long_sentence + " Short closer."
    units, passages = chunk(text, [(0, len(text))], embedder.count_tokens, max_tokens=100, overlap=1)
    for first, last in passages:
        passage = text[units[first][0] : units[last - 1][1]]
        assert embedder.count_tokens([passage])[0] <= 100
    covered = "".join(text[s:e] for s, e in units).replace(" ", "")
    assert covered == text.replace(" ", ""), "every character of content is in some unit"


def test_only_content_spans_are_chunked(embedder: Embedder) -> None:
    text = "Headline\n\nThe body says one thing. And another.\n\nLeave a Reply"
    body = (text.index("The body"), text.index("another.") + len("another."))
    units, _ = chunk(text, [body], embedder.count_tokens, max_tokens=50, overlap=0)
    assert [text[s:e] for s, e in units] == ["The body says one thing.", "And another."]


def test_lines_are_split_before_sentences() -> None:
    text = "The Residual Force in Kurdistan\nThe US is expected to stay. It will."
    units = split_sentences(text, [(0, len(text))])
    assert text[units[0][0] : units[0][1]] == "The Residual Force in Kurdistan"


def test_pack_without_overlap_covers_each_unit_once() -> None:
    assert pack_passages([5, 5, 5, 5], max_tokens=10, overlap=0) == [(0, 2), (2, 4)]
    assert pack_passages([50], max_tokens=10, overlap=1) == [(0, 1)]
    assert pack_passages([], max_tokens=10, overlap=1) == []


text_strategy = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=600
) | st.lists(
    st.sampled_from(["Mr. Smith", "said", "2,500", "troops.", "\n", "\n\n", "U.S.", "?", "é", "日本", "  ", "withdrawal!"]),
    max_size=120,
).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=text_strategy, max_tokens=st.integers(min_value=8, max_value=120), overlap=st.integers(0, 2))
def test_offsets_always_map_back(embedder: Embedder, text: str, max_tokens: int, overlap: int) -> None:
    units, passages = chunk(text, [(0, len(text))], embedder.count_tokens, max_tokens, overlap)
    previous_end = 0
    for s, e in units:
        assert 0 <= s < e <= len(text) and s >= previous_end
        assert text[s:e] == text[s:e].strip()
        previous_end = e
    for first, last in passages:
        assert 0 <= first < last <= len(units)
        start, end = units[first][0], units[last - 1][1]
        # The passage's text runs from its first unit to its last and holds each unit in between, in order.
        passage = text[start:end]
        assert passage.startswith(text[slice(*units[first])]) and passage.endswith(text[slice(*units[last - 1])])
        assert embedder.count_tokens([passage])[0] <= max_tokens
    assert {i for first, last in passages for i in range(first, last)} == set(range(len(units)))


def test_embedding_text_is_never_truncated(embedder: Embedder, seed_qa) -> None:
    store = seed_qa._current_store()
    for doc in store.documents:
        for i in range(len(doc.passages)):
            s, e = doc.passage_span(i)
            assert embedder.count_tokens([embedding_text(doc.title, doc.text[s:e])])[0] <= embedder.max_tokens
