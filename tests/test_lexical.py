"""The analyser both BM25 sides and the highlighter share (qa.lexical)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from qa.lexical import STOPWORDS, term_set, terms


def test_numbers_are_one_term_however_they_are_written() -> None:
    assert terms("2,500 troops") == terms("2500 troops") == ["2500", "troop"]
    assert terms("1,250,000 people")[0] == "1250000"
    assert terms("3.5 percent")[0] == "3.5"
    assert terms("1,5 litres")[0] == "1,5", "a comma before fewer than three digits is no thousands separator"


def test_stopwords_and_single_letters_go_but_single_digits_stay() -> None:
    assert terms("What is the number of a U.S. base in 7 cities?") == ["number", "base", "7", "citi"]
    assert not set(terms(" ".join(sorted(STOPWORDS)))), "every stopword is dropped"


def test_words_are_stemmed_and_lower_cased() -> None:
    assert terms("Troops") == terms("troop") == ["troop"]
    assert terms("Iraq's") == ["iraq"]


def test_a_sentence_is_read_once_and_remembered() -> None:
    sentence = "The remaining soldiers will advise Kurdish forces."
    assert term_set(sentence) == frozenset(terms(sentence))
    assert term_set(sentence) is term_set(sentence)


def test_threads_get_the_same_terms_as_one_thread() -> None:
    texts = [f"Officials said {n:,} troops would stay in the region until {2020 + n % 9}." for n in range(400)]
    expected = [terms(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(terms, texts)) == expected
