"""The web layer without a server: an answer rendered as HTML and markdown, the collection panel,
the exported chat, PDF citations and their drawn pages, and the page's temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import KURDISTAN
from pdfs import Report, add_paragraph, filler

import qa.web.pdf_pages
from qa import QA, Answer, Passage
from qa.collection import DocumentInfo
from qa.errors import DocumentError, QAError
from qa.web.collection import render_collection
from qa.web.pdf_pages import Cited, PageImages
from qa.web.render import NO_ANSWER, answer_markdown, render_answer
from qa.web.turns import export_markdown

# ---------------------------------------------------------------- the reply's HTML, on real answers


def test_the_reply_escapes_document_text_and_marks_the_answer() -> None:
    hostile = 'Intro <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=2">. The pier reopened.'
    start = hostile.index("The pier")
    p = Passage(hostile, "pwn.txt", "<b>Pier</b>", "2024-05-01", 0, len(hostile), 0.7, "The pier reopened.", start, len(hostile))
    shown = render_answer(Answer("when?", True, (p,)), {}, lambda source: hostile)
    assert "<script" not in shown and "<img" not in shown and "<b>Pier" not in shown
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in shown and "&lt;b&gt;Pier&lt;/b&gt;" in shown
    assert "<mark>The pier reopened.</mark>" in shown
    assert "\n" not in shown, "one HTML block: markdown must not reinterpret the article text"
    assert "&lt;b&gt;" in render_collection([DocumentInfo("pwn.txt", "<b>Pier</b>", None, 1)])


def test_agreeing_passages_are_grouped_not_repeated(seed_qa: QA) -> None:
    answer = seed_qa.ask(KURDISTAN, k=4)
    docs = {d.source: d for d in seed_qa.documents()}
    shown = render_answer(answer, docs, seed_qa.document_text)
    assert shown.count('class="qa-num"') < len(answer.passages)
    assert "Also reported by" in shown and "[1]" in shown
    assert docs[answer.passages[0].source].title.split(":")[0] in shown


def test_no_answer_says_so_and_explains_a_follow_up(seed_qa: QA) -> None:
    miss = seed_qa.ask("What is a good recipe for banana bread?")
    shown = render_answer(miss, {})
    assert NO_ANSWER in shown and "nearest passages" in shown
    follow = seed_qa.ask("and in Syria?", history=["how many US troops are in Iraq?"])
    shown = render_answer(follow, {})
    assert "Read as “how many US troops are in Syria?”, following on from “how many US troops are in Iraq?”." in shown


def test_the_collection_list_is_paged_searchable_and_shows_warnings() -> None:
    docs = [DocumentInfo(f"a{i:03}.txt", f"Article {i:03}", f"2024-01-{1 + i % 28:02}", 1) for i in range(120)]
    docs.append(DocumentInfo("odd.txt", "x" * 5000, None, 2, ("read as windows-1252",)))
    first = render_collection(docs)
    assert "<strong>121 articles</strong>, 122 passages" in first and "Showing 1–50 of 121" in first
    assert first.count("<li>") == 50
    last = render_collection(docs, page=99)
    assert "Showing 101–121 of 121" in last and last.count("<li>") == 21
    assert "⚠ read as windows-1252" in last and "x" * 200 + "…" not in last and "x" * 199 + "…" in last
    found = render_collection(docs, query="Article 11")
    assert "11 articles match “Article 11”; showing 1–11" in found and found.count("<li>") == 11
    assert "No article matches “&lt;b&gt;”." in render_collection(docs, query="<b>")


def test_the_export_cites_file_date_and_offsets(seed_qa: QA) -> None:
    answer = seed_qa.ask(KURDISTAN, k=3)
    text = export_markdown([{"question": KURDISTAN, "answer": answer.to_dict(), "scope": ""},
                            {"question": "  ", "error": "the question is empty"}])
    assert text.startswith("# Ask the articles: conversation") and f"## 1. {KURDISTAN}" in text
    assert "## 2." in text and "*Not answered: the question is empty*" in text
    for p in answer.passages:
        assert f"- {p.title} — {p.source}, {p.date or 'undated'}, chars {p.start}-{p.end}" in text


# ---------------------------------------------------------------- PDF citations and their pages


def test_a_pdf_citation_names_its_pages_everywhere() -> None:
    text = "Intro. The lighthouse was repainted in 1987."
    end = len(text)
    pdf = Passage(text[7:], "survey.pdf", "Survey", "2024-03-04", 7, end, 0.9, text[7:], 7, end, pages=(2, 3))
    article = Passage(text[7:], "notes.txt", "Notes", None, 7, end, 0.5, text[7:], 7, end)
    answer = Answer("when?", True, (pdf, article))
    shown = render_answer(answer, {}, lambda source: text)
    assert "survey.pdf · 4 Mar 2024 · pp. 2–3 · " in shown and "notes.txt · undated · " in shown
    assert f'open page</span><button hidden class="qa-cite" value="7|{end}|7|{end}|survey.pdf"></button>' in shown
    assert shown.count('class="qa-cite"') == 1 and "open article" in shown, "only a PDF's page is drawn"
    assert "[1] **Survey** — survey.pdf, 2024-03-04, pp. 2–3 (score 0.90)" in answer_markdown(answer)
    assert "[2] **Notes** — notes.txt, undated (score 0.50)" in answer_markdown(answer)
    exported = export_markdown([{"question": "when?", "answer": answer.to_dict(), "scope": ""}])
    assert f"- Survey — survey.pdf, 2024-03-04, pp. 2–3, chars 7-{end}" in exported
    assert Cited.parse(Cited.of(pdf).token()) == Cited("survey.pdf", (7, end), (7, end))
    with pytest.raises(QAError):
        Cited.parse("7|x|1|2|survey.pdf")


def survey_pdf(pages: int) -> bytes:
    pdf = Report()
    for number in range(1, pages + 1):
        pdf.add_page()
        add_paragraph(pdf, filler(number, 8))
    return bytes(pdf.output())


def test_cited_pages_are_drawn_when_asked_once_and_a_few_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "survey.pdf"
    path.write_bytes(survey_pdf(3))
    drawings: list[int] = []
    render_page = qa.web.pdf_pages.pdf.render_page

    def counted(data: bytes, page: int, *args, **kwargs) -> bytes:
        drawings.append(page)
        return render_page(data, page, *args, **kwargs)

    monkeypatch.setattr(qa.web.pdf_pages.pdf, "render_page", counted)
    (tmp_path / "pages").mkdir()
    images = PageImages(tmp_path / "pages", keep=2)
    cited = Cited("survey.pdf", (0, 80), (0, 40))
    first = images.draw(path, 1, cited)
    assert first.read_bytes().startswith(b"\x89PNG") and images.draw(path, 1, cited) == first
    assert drawings == [1], "drawn once, then taken from the cache"
    images.draw(path, 2, cited)
    images.draw(path, 3, cited)
    assert drawings == [1, 2, 3] and len(list((tmp_path / "pages").glob("*.png"))) == 2
    assert not first.exists(), "the page shown longest ago goes first"
    with pytest.raises(DocumentError, match="page 4 does not exist"):
        images.draw(path, 4, cited)


# Builds the page, prints the names of the temporary folders it made, and exits.
BUILD_AND_EXIT = """
import os, sys, tempfile
from qa import QA
from qa.web import build_app
app = build_app(QA(sys.argv[1], sys.argv[2]))
print(" ".join(sorted(name for name in os.listdir(tempfile.gettempdir()) if name.startswith("qa-"))))
"""


@pytest.mark.slow
def test_the_page_s_temporary_folders_go_when_the_process_ends(seed_dir: Path, tmp_path: Path) -> None:
    """Exported chats and drawn pages are kept in two temporary folders while the page lives; a
    process that ends (every test, every run of the app) leaves neither behind."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run([sys.executable, "-c", BUILD_AND_EXIT, str(seed_dir), str(tmp_path / "index")],
                          env={**os.environ, "TMPDIR": str(temp)}, capture_output=True, text=True, timeout=300, check=True)
    made = done.stdout.split()
    assert [name.split("-")[1] for name in made] == ["export", "pages"], "while the page lives, its folders exist"
    assert [p.name for p in temp.iterdir() if p.name.startswith("qa-")] == [], "and they go when the process ends"
