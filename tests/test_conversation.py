"""Follow-up questions in a chat: elliptical fragments rewritten from the previous question, on the real index."""

from __future__ import annotations

import pytest

from qa import QA
from qa.conversation import readings, resolve


@pytest.mark.parametrize(("follow_up", "previous", "expected"), [
    ("and in Syria?", "how many US troops are in Iraq?", "how many US troops are in Syria?"),
    ("And in Syria", "How many US troops are in Iraq?", "How many US troops are in Syria?"),
    ("what about in Syria?", "how many US troops are in Iraq?", "how many US troops are in Syria?"),
    ("and Syria?", "how many US troops are in Iraq?", "how many US troops are in Syria?"),
    ("in Syria?", "how many US troops are in Iraq?", "how many US troops are in Syria?"),
    ("and by 2026?", "how many troops leave Iraq by September 2025?", "how many troops leave Iraq by 2026?"),
    ("and 2026?", "how many troops leave in 2025?", "how many troops leave in 2026?"),
    ("what about the Kurdistan region?", "how many troops stay in Iraq after 2025?",
     "how many troops stay in the Kurdistan region after 2025?"),
    ("what about the coalition?", "who leads the withdrawal?", "who leads the withdrawal, the coalition?"),
])
def test_fragments_are_rewritten_from_the_previous_question(follow_up: str, previous: str, expected: str) -> None:
    resolution = resolve(follow_up, ["an older question about something else?", previous])
    assert resolution.question == expected
    assert resolution.rewritten and resolution.previous == previous
    assert resolution.rule, "every rewrite says which rule made it"


@pytest.mark.parametrize("question", [
    "Who is Iraq's defense minister?",
    "and how many are in Syria?",      # a whole question after "and"
    "and why?",                        # a bare question word has nothing to substitute
    "Syria",                           # a keyword search, not a follow-up
    "When will the coalition troops leave Iraq after the announcement in Baghdad?",
])
def test_whole_questions_are_left_alone(question: str) -> None:
    resolution = resolve(question, ["how many US troops are in Iraq?"])
    assert resolution.question == question and not resolution.rewritten and resolution.rule == ""


def test_the_first_question_has_nothing_to_lean_on() -> None:
    assert resolve("and in Syria?", []).question == "and in Syria?"
    assert resolve("and in Syria?", ["", "  "]).question == "and in Syria?"


def test_follow_ups_chain_on_the_resolved_question() -> None:
    asked = ["how many US troops are in Iraq?"]
    asked.append(resolve("and in Syria?", asked).question)
    assert resolve("and in Kuwait?", asked).question == "how many US troops are in Kuwait?"


@pytest.mark.parametrize(("question", "previous", "expected"), [
    ("what will it cost to build?", "How much money does the Eastside rail line get in the city budget?",
     "what will the Eastside rail line cost to build?"),
    ("what is it still waiting for?", "Is the US-Iraq withdrawal agreement final?",
     "what is the US-Iraq withdrawal agreement still waiting for?"),
    ("when will it be fully running?", "How many turbines will the Norland wind farm have?",
     "when will the Norland wind farm be fully running?"),
    ("who runs it?", "How many beds does St. Anselm have?", "who runs St. Anselm?"),
    ("when was it set up?", "What is Operation Northern Shield?", "when was Operation Northern Shield set up?"),
    ("how long is his contract?", "How much did Westport pay for Ivo Marsh?", "how long is Ivo Marsh's contract?"),
])
def test_it_and_his_are_read_as_what_the_previous_question_was_about(question: str, previous: str,
                                                                     expected: str) -> None:
    """The readings offered for a pronoun include the thing or person asked about before (the
    pipeline then keeps whichever the articles support best); the verb after a subject stays out."""
    assert expected in [r.question for r in readings(question, [previous])]


def test_the_syria_follow_up_retrieves_the_syria_figure(seed_qa: QA) -> None:
    first = "how many US troops are in Iraq?"
    assert "2,500" in seed_qa.ask(first).passages[0].text
    follow_up = resolve("and in Syria?", [first])
    passage = seed_qa.ask(follow_up.question).passages[0]
    assert "900" in passage.highlight and "Syria" in passage.highlight
