"""End to end on the seed articles: the right passage first, exact offsets, no furniture, abstention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import QA, QuestionError

QUESTIONS = [
    "how many troops stay in Kurdistan?",
    "Who is Iraq's defense minister?",
    "How many US troops are in Syria?",
    "When will the coalition troops leave Iraq?",
    "What did Hussein Alawi say?",
    "Why was the announcement delayed?",
    "What is Operation Inherent Resolve?",
    "Leave a reply",
    "post a comment",
    "screenshot chrome",
    "email address required fields",
]

# Lines of page furniture in the seed pages; none may ever be part of an answer.
FURNITURE = ["Leave a Reply", "Your email address will not be published", "Required fields are marked",
             "No comments:", "Post a Comment", "screenshot 20240913", "chrome6826947823168445608"]


def test_kurdistan_question_finds_the_residual_force(seed_qa: QA) -> None:
    answer = seed_qa.ask("how many troops stay in Kurdistan?")
    assert answer.answered
    first = answer.passages[0]
    assert "Kurdistan" in first.highlight
    assert "small" in first.text and ("residual force" in first.text or "military force" in first.text)
    titles = {doc.source: doc.title for doc in seed_qa.documents()}
    assert first.title == titles[first.source]
    sources = {first.source, *first.also_in} | {p.source for p in answer.passages}
    assert sources == set(titles), "both articles report the Kurdistan force"


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_passage_maps_back_to_its_file(seed_qa: QA, question: str) -> None:
    answer = seed_qa.ask(question, k=10)
    assert answer.passages
    for p in answer.passages:
        file_text = Path(seed_qa.sources / p.source).read_text(encoding="utf-8")
        assert file_text[p.start : p.end] == p.text
        assert file_text[p.highlight_start : p.highlight_end] == p.highlight
        assert p.highlight and p.highlight in p.text
        assert 0.0 <= p.score <= 1.0
        for line in FURNITURE:
            assert line not in p.text, f"page furniture {line!r} returned for {question!r}"


def test_passages_are_best_first_and_distinct(seed_qa: QA) -> None:
    answer = seed_qa.ask("What is the Global Coalition?", k=10)
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    spans = [(p.source, p.start, p.end) for p in answer.passages]
    for i, (src, s, e) in enumerate(spans):
        for src2, s2, e2 in spans[i + 1 :]:
            assert src != src2 or e <= s2 or e2 <= s, "overlapping passages of one document are grouped"


@pytest.mark.parametrize("question", [
    "What is a good recipe for banana bread?",
    "Who won the 2022 World Cup final?",
    "How do I change a flat bicycle tyre?",
])
def test_questions_the_articles_never_answer_are_not_answered(seed_qa: QA, question: str) -> None:
    answer = seed_qa.ask(question)
    assert answer.answered is False
    assert "No passage in the sources answers this" in str(answer)


def test_answer_is_plain_data_and_readable(seed_qa: QA) -> None:
    answer = seed_qa.ask("Who is Iraq's defense minister?", k=2)
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["question"] == "Who is Iraq's defense minister?"
    assert data["answered"] is True
    assert {"text", "source", "title", "date", "start", "end", "score", "highlight", "also_in"} <= set(data["passages"][0])
    assert "Thabit al-Abbasi" in data["passages"][0]["highlight"]
    shown = str(answer)
    assert answer.passages[0].source in shown and answer.passages[0].title in shown


def test_dates_and_titles_come_from_the_articles(seed_qa: QA) -> None:
    docs = {d.source: d for d in seed_qa.documents()}
    assert docs["us-military-presence-in-iraq-post-withdrawal.txt"].date == "2024-09-14"
    assert docs["us-to-withdraw-most-troops-from-iraq.txt"].date is None
    assert docs["us-to-withdraw-most-troops-from-iraq.txt"].title.startswith("U.S. to Withdraw Most Troops")


def test_filters_restrict_the_search(seed_qa: QA) -> None:
    only = "us-to-withdraw-most-troops-from-iraq.txt"
    answer = seed_qa.ask("how many troops stay in Kurdistan?", sources=[only])
    assert {p.source for p in answer.passages} == {only}
    dated = seed_qa.ask("how many troops stay in Kurdistan?", since="2024-09-01", until="2024-09-30",
                        include_undated=False)
    assert {p.source for p in dated.passages} == {"us-military-presence-in-iraq-post-withdrawal.txt"}
    assert dated.undated_excluded == 1
    assert seed_qa.ask("troops", since="2030-01-01", include_undated=False).passages == ()
    later = seed_qa.ask("troops", since="2030-01-01")
    assert {p.source for p in later.passages} == {only} and later.undated_included == 1


@pytest.mark.parametrize("question", ["", "   \n\t", "?!?...", "\x00\x01\x02", "x" * 100_000])
def test_unusable_questions_get_a_clear_error(seed_qa: QA, question: str) -> None:
    with pytest.raises(QuestionError):
        seed_qa.ask(question)


@pytest.mark.parametrize("question",
                         ["¿Cuántas tropas se quedan en Kurdistán?", "库尔德斯坦有多少军队？", "troops 🪖 Kurdistan\x00?"])
def test_other_languages_and_emoji_still_get_an_answer_object(seed_qa: QA, question: str) -> None:
    answer = seed_qa.ask(question)
    assert answer.passages, "even a question in another script gets the closest passages, answered or not"
    for p in answer.passages:
        assert p.text and seed_qa.document_text(p.source)[p.start:p.end] == p.text
