"""The highlighter picks the sentence that answers, by rare question words and answer type,
and `answer_phrase` the phrase within it."""

from __future__ import annotations

import doctest

import qa.answer_phrase
import qa.answer_types
import qa.highlighting
from qa.answer_phrase import ANSWER_MIN_CONFIDENCE, AnswerPhrase, answer_phrase
from qa.answer_types import answer_type
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
    for module in (qa.answer_types, qa.highlighting, qa.answer_phrase):
        assert doctest.testmod(module).failed == 0


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


def test_a_second_sentence_joins_when_it_adds_the_questions_words() -> None:
    q = "In what language was Luther's last statement written?"
    w = {"languag": 4.0, "luther": 4.0, "last": 2.0, "statement": 4.0, "written": 3.0}
    first = "Luther wrote his last statement in 1546."
    assert best_sentences([first, "The language he used was Latin.", "It rained."], q, w) == (0, 2)
    assert best_sentences(["It rained.", first, "It was written in Latin."], q, w) == (1, 3)
    # A neighbour that adds none of the question's words is left out.
    assert best_sentences([first, "It was a Tuesday.", "It rained."], q, w) == (0, 1)


def test_a_telling_number_beats_a_plain_one() -> None:
    q = "How many US troops are in Iraq?"
    assert best_sentences(SENTENCES[1:3], q, weights(q)) == (1, 2)  # "2,500 troops", not "two years"


# -- answer_phrase ------------------------------------------------------------------------


def _check(question: str, text: str, expected: str, kind: str) -> AnswerPhrase:
    phrase = answer_phrase(question, text)
    assert phrase is not None, (question, text)
    assert (phrase.text, phrase.kind) == (expected, kind)
    assert text[phrase.start : phrase.end] == phrase.text
    assert ANSWER_MIN_CONFIDENCE <= phrase.confidence <= 1.0
    return phrase


def test_a_number_comes_with_its_unit() -> None:
    phrase = _check("How many US troops are in Iraq?", SENTENCES[2], "2,500 troops", "number")
    assert (phrase.start, phrase.end) == (29, 41)
    _check("How much did the project cost?", "The project cost $412 million, officials said.", "$412 million", "number")
    _check("What percentage of voters backed the plan?", "About 43 percent of voters backed the plan.",
           "43 percent", "number")


def test_a_date() -> None:
    phrase = _check("When will the troops leave?", SENTENCES[3], "September 2025", "date")
    assert (phrase.start, phrase.end) == (19, 33)
    # A year already in the question is not the answer.
    _check("When did the 2003 invasion end?", "The 2003 invasion ended in 2011.", "2011", "date")
    _check("In what year did Tesla die?", "Tesla died in New York on 7 January 1943.", "1943", "date")
    _check("The rule is set to expire in which month?", "The rule, in place since 2020, will expire in May.",
           "May", "date")


def test_a_person() -> None:
    phrase = _check("Who founded Oracle?", "Oracle was founded in 1977 by Larry Ellison.", "Larry Ellison", "person")
    assert (phrase.start, phrase.end) == (30, 43)


def test_a_place_and_a_name() -> None:
    place = answer_phrase("Which state is Santos from?", "Santos, of New York, was expelled on Friday.", min_confidence=0)
    assert place is not None and (place.text, place.kind) == ("New York", "place")
    name = answer_phrase("What company did Microsoft buy?", "Microsoft bought Activision Blizzard for $69 billion.",
                         min_confidence=0)
    assert name is not None and (name.text, name.kind) == ("Activision Blizzard", "name")


def test_offsets_are_exact_within_a_longer_highlight() -> None:
    text = " ".join(SENTENCES[2:])
    phrase = _check("When will the US troops leave Iraq?", text, "September 2025", "date")
    assert phrase.start == text.index("September")


def test_no_phrase_for_why_and_how_questions() -> None:
    assert answer_phrase("Why are the US troops leaving Iraq?", SENTENCES[1]) is None
    assert answer_phrase("How will the troops leave?", SENTENCES[3]) is None
    assert answer_phrase("Why did they leave in 2025?", "They left in September 2025 because the war ended.") is None


def test_no_phrase_when_none_is_clearly_the_answer() -> None:
    # Several names in a list, several years: found, but not confidently enough to show.
    text = "Smith, Jones and Brown met the president."
    assert answer_phrase("Who met the president?", text) is None
    assert answer_phrase("Who met the president?", text, min_confidence=0.0) is not None
    twice = "The first store opened in 1990 and the second store opened in 1995."
    assert answer_phrase("When did the store open?", twice) is None
    assert answer_phrase("When did the store open?", twice, min_confidence=0.0).confidence < ANSWER_MIN_CONFIDENCE
    # Nothing of the asked kind, or only what the question already says.
    assert answer_phrase("How many troops left?", "The troops left.") is None
    assert answer_phrase("When did the 2003 invasion start?", "The 2003 invasion started without warning.") is None
    assert answer_phrase("What did the officials decide?", SENTENCES[0]) is None


def test_answer_type() -> None:
    asks = answer_type("How many US troops are in Iraq?")
    assert asks is not None and asks.kind == "number"
    assert asks.search(SENTENCES[2]) == (29, 41)
    assert asks.search("The troops left.") is None
    assert answer_type("Which former pope was laid to rest?").kind == "person"
    assert answer_type("Why did the troops leave?") is None
