"""Content spans: page furniture (captions, widgets, head and tail lines) is never content."""

from __future__ import annotations

import doctest

import qa.cleaning
from qa.cleaning import content_spans, is_junk, is_substantial, is_widget, paragraphs

BODY_1 = "The council met on Monday to discuss the new budget for the coming year."
BODY_2 = "Members agreed that the library would receive more money than last year."
BODY_3 = "The final vote is expected next week, after a second public hearing."


def shown(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[start:end] for start, end in spans]


def assert_well_formed(text: str, spans: tuple[tuple[int, int], ...]) -> None:
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        previous_end = end


def test_module_doctest() -> None:
    assert doctest.testmod(qa.cleaning).failed == 0


def test_junk_lines_are_recognised_by_shape() -> None:
    for line in ["0", "screenshot 20240913 140245 chrome6826947823168445608", "IMG_1234.jpg",
                 "Photo: Reuters", "Image credit: Getty Images", "DSC00421 3/4", "---", "* * *"]:
        assert is_junk(line), line
    for line in ["The Residual Force in Kurdistan", "U.S. to Withdraw Most Troops from Iraq",
                 "Currently, the US has around 2,500 troops in Iraq.", "Iraq's Perspective"]:
        assert not is_junk(line), line


def test_widgets_and_substantial_paragraphs() -> None:
    for line in ["Leave a Reply", "No comments:", "Post a Comment", "Comments are closed.",
                 "Share this article", "Subscribe to our newsletter", "Labels: politics",
                 "Posted by admin at 10:32 AM", "Your email address will not be published. Required fields are marked *"]:
        assert is_widget(line), line
        assert not is_substantial(line), line
    assert is_substantial(BODY_1)
    assert not is_substantial("A short sentence.")
    assert not is_substantial("A long heading that has many words but no final stop")


def test_head_tail_and_middle_blocks() -> None:
    text = (
        f"Budget Approved\n\nBy Jane Doe\n\n{BODY_1}\n\nWhat Happens Next\n\n{BODY_2}\n\n"
        f"IMG_2041.jpg\n\n{BODY_3}\n\nThanks for reading\n\nLeave a Reply"
    )
    spans = content_spans(text, title_line=(0, len("Budget Approved")))
    assert shown(text, spans) == [f"{BODY_1}\n\nWhat Happens Next\n\n{BODY_2}", BODY_3]
    assert_well_formed(text, spans)


def test_comment_section_ends_the_article_even_with_long_comments() -> None:
    comment = "Great article, I really enjoyed reading about the library and its budget."
    text = f"{BODY_1}\n\n{BODY_2}\n\n2 Comments\n\nJohn says:\n\n{comment}"
    assert shown(text, content_spans(text)) == [f"{BODY_1}\n\n{BODY_2}"]


def test_metadata_lines_are_not_content_even_without_blank_lines() -> None:
    title = "A Long Headline About the Council Budget Vote in Springfield"
    text = f"{title}\nMarch 3, 2024\n{BODY_1}\n{BODY_2}\n"
    date_start = len(title) + 1
    spans = content_spans(text, title_line=(0, len(title)), metadata=[(date_start, date_start + 13)])
    assert shown(text, spans) == [f"{BODY_1}\n{BODY_2}"]


def test_hard_wrapped_paragraph_is_one_block() -> None:
    text = (
        "The council met on Monday to discuss the new budget for\n"
        "the coming year, and members agreed on most of the points\n"
        "raised by the public.\n"
    )
    assert paragraphs(text) == [(0, len(text.rstrip()))]
    assert shown(text, content_spans(text)) == [text.rstrip()]


def test_note_without_substantial_paragraph_keeps_its_sentences() -> None:
    text = "0\n\nThe vault code is 4711.\n\nIMG_1.png\n"
    assert shown(text, content_spans(text)) == ["The vault code is 4711."]


def test_title_only_note_falls_back_to_the_title_line() -> None:
    text = "Meeting notes for the spring fair\n"
    assert shown(text, content_spans(text, title_line=(0, len(text) - 1))) == [text.strip()]


def test_junk_only_text_has_no_content() -> None:
    assert content_spans("0\n\nIMG_1234.jpg\n\n12 34 56\n") == ()


def test_spans_trim_nbsp_and_windows_line_breaks() -> None:
    text = f"\u00a0 {BODY_1}\u00a0\r\n\r\n{BODY_2} \r\n"
    spans = content_spans(text)
    assert shown(text, spans) == [f"{BODY_1}\u00a0\r\n\r\n{BODY_2}"]
    assert_well_formed(text, spans)


def test_widget_words_inside_body_prose_stay_content() -> None:
    text = (
        f"{BODY_1}\n\nThe city will subscribe to the regional library network and share its catalogue "
        "with the newsletter of the county, officials said.\n\nShare this:\n\nTags: budget"
    )
    assert shown(text, content_spans(text)) == [text.split("\n\nShare this:")[0]]
