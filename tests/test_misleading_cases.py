"""Answers that must not mislead: paraphrased questions, date filters with undated articles,
overlapping passages, comment-only answers, follow-ups, "also reported by", the answer phrase.

Each case was seen to go wrong as a user asked it; the corpus is the seed articles plus the
articles written for the scenario suites (eval/articles), on the real model and index.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa import QA, QuestionError

ROOT = Path(__file__).resolve().parent.parent
CONFIDENT = 0.8
DATED = "us-military-presence-in-iraq-post-withdrawal.txt"
UNDATED = "us-to-withdraw-most-troops-from-iraq.txt"


@pytest.fixture(scope="module")
def qa(embedder, tmp_path_factory: pytest.TempPathFactory) -> QA:
    base = tmp_path_factory.mktemp("scenario")
    shutil.copytree(ROOT / "sources", base / "sources")
    for path in (ROOT / "eval" / "articles").iterdir():
        shutil.copy(path, base / "sources" / path.name)
    return QA(base / "sources", base / "index", embedder=embedder)


def not_confidently_wrong(answer, must_contain: str | None = None) -> bool:
    """Refused, or below the confident score, or right."""
    if not answer.answered or not answer.passages or answer.passages[0].score < CONFIDENT:
        return True
    return must_contain is not None and must_contain in answer.passages[0].text


PARAPHRASE_MISS = pytest.mark.xfail(strict=True, reason=(
    "open: sharing almost no word with the articles, these score under the threshold "
    "(the scorer leans on BM25; see README, Quality)"))


@pytest.mark.parametrize(("question", "expected"), [
    pytest.param("How big is the American force in Iraq right now?", "2,500", marks=PARAPHRASE_MISS),
    pytest.param("What will the remaining soldiers in the north do?", "Kurdistan", marks=PARAPHRASE_MISS),
])
def test_questions_in_other_words_are_answered(qa: QA, question: str, expected: str) -> None:
    answer = qa.ask(question, k=3)
    assert answer.answered, answer
    assert any(expected in p.text for p in answer.passages[:2]), answer


def test_a_date_filter_includes_undated_articles_and_says_so(qa: QA) -> None:
    answer = qa.ask("who is Iraq's defense minister?", since="2024-09-01", k=3)
    assert answer.answered and "Thabit al-Abbasi" in answer.passages[0].text, answer
    assert answer.passages[0].date is None and answer.undated_included >= 1
    assert "undated" in answer.notes()[0]


def test_leaving_undated_articles_out_is_counted_and_never_confidently_wrong(qa: QA) -> None:
    answer = qa.ask("who is Iraq's defense minister?", since="2024-09-01", include_undated=False, k=3)
    assert answer.undated_excluded >= 1 and "left out" in answer.notes()[0]
    assert all(p.source != UNDATED for p in answer.passages)
    assert not_confidently_wrong(answer), answer


def test_overlapping_passages_are_merged_never_dropped(qa: QA) -> None:
    answer = qa.ask("How much will the Riverton budget be?", k=3)
    assert any("$412 million" in p.text for p in answer.passages), answer
    spans = [(p.source, p.start, p.end) for p in answer.passages]
    for i, (source, start, end) in enumerate(spans):
        for other, a, b in spans[i + 1:]:
            assert source != other or end <= a or b <= start, "passages of one article overlap: merge them"


def test_an_answer_only_in_a_reader_comment_is_not_given(qa: QA) -> None:
    answer = qa.ask("Who is the new head librarian at the Maple Hollow library?", k=3)
    assert all("Dana Whitcombe" not in p.text for p in answer.passages), answer
    assert not_confidently_wrong(answer), answer


def test_a_follow_up_about_syria_does_not_answer_with_the_iraq_timetable(qa: QA) -> None:
    answer = qa.ask("and in Syria?", history=["when will the troops leave?"], k=3)
    assert answer.note.count("previous question") == 0 and answer.note.count("“") <= 2, answer.note
    top = answer.passages[0]
    assert not (answer.answered and top.score >= CONFIDENT and "Syria" not in top.highlight), answer


def test_what_about_france_is_not_confidently_answered(qa: QA) -> None:
    answer = qa.ask("what about France?", history=["how many troops are in Iraq?"], k=3)
    assert not_confidently_wrong(answer), answer


def test_a_named_reference_is_resolved(qa: QA) -> None:
    answer = qa.ask("and the prime minister?", history=["who is Iraq's defense minister?"], k=3)
    assert answer.understood_as == "who is Iraq's prime minister?"
    assert answer.note == ("Read as “who is Iraq's prime minister?”, following on from "
                           "“who is Iraq's defense minister?”.")
    assert answer.answered and "Al-Sudani" in answer.passages[0].text, answer


def test_a_whole_question_is_taken_as_typed(qa: QA) -> None:
    answer = qa.ask("how many troops stay in Kurdistan?", history=["who is Iraq's defense minister?"])
    assert answer.understood_as == "how many troops stay in Kurdistan?" and answer.note == ""


def test_a_conversation_reads_each_turn_against_the_last(qa: QA) -> None:
    chat = qa.conversation()
    first = chat.ask("how many US troops are in Iraq?")
    assert first.understood_as == "how many US troops are in Iraq?"
    second = chat.ask("and in Syria?")
    assert second.understood_as == "how many US troops are in Syria?"
    assert "900" in second.passages[0].highlight
    chat.clear()
    assert chat.ask("and in Syria?").understood_as == "and in Syria?"


def test_also_reported_by_names_only_articles_stating_the_fact(qa: QA) -> None:
    answer = qa.ask("who is Iraq's defense minister?", k=5)
    top = answer.passages[0]
    assert top.source == UNDATED
    assert DATED not in top.also_in, "the other article never names the defense minister"


def test_a_when_question_gets_the_date_as_its_answer_phrase(qa: QA) -> None:
    answer = qa.ask("when was the Global Coalition formed?")
    phrase = answer.passages[0].answer
    assert phrase is not None and phrase.text == "2014" and phrase.kind == "date"
    text = qa.document_text(answer.passages[0].source)
    assert text[phrase.start:phrase.end] == phrase.text
    assert answer.passages[0].highlight_start <= phrase.start < phrase.end <= answer.passages[0].highlight_end
    assert "Answer: " + phrase.text in str(answer)


def test_no_answer_phrase_when_two_figures_compete(qa: QA) -> None:
    answer = qa.ask("how many US troops are in Syria?")
    top = answer.passages[0]
    assert "900" in top.highlight and "2,500" in top.highlight
    assert top.answer is None or top.answer.text.startswith("900")


@pytest.mark.parametrize(("options", "message"), [
    ({"k": 0}, "k must be"),
    ({"k": None}, "k must be"),
    ({"k": 51}, "k must be"),
    ({"sources": ["nonexistent.txt"]}, "nonexistent.txt"),
    ({"method": "magic"}, "unknown method"),
])
def test_bad_options_are_clear_errors(qa: QA, options: dict, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        qa.ask("how many troops stay in Kurdistan?", **options)
    with pytest.raises(ValueError):
        qa.ask("how many troops stay in Kurdistan?", **options)


def test_one_source_may_be_given_as_a_string(qa: QA) -> None:
    answer = qa.ask("how many troops stay in Kurdistan?", sources=UNDATED)
    assert {p.source for p in answer.passages} == {UNDATED}
