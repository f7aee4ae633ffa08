"""The app's API (/ask, /ask_json) through gradio_client against a real server, and the reply's HTML."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import logging  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AuthenticationError  # noqa: E402
from helpers import KURDISTAN, free_port  # noqa: E402
from pdfs import Report, add_paragraph, filler  # noqa: E402

import qa.chat  # noqa: E402
from qa import QA, Answer, Passage  # noqa: E402
from qa.chat import (  # noqa: E402
    NO_ANSWER,
    Cited,
    PageImages,
    answer_markdown,
    build_app,
    export_markdown,
    launch_options,
    render_answer,
    render_collection,
)
from qa.errors import DocumentError, QAError  # noqa: E402
from qa.pipeline import DocumentInfo  # noqa: E402
from qa.readers import supported_types  # noqa: E402
from qa.uploads import MAX_DOCUMENT_UPLOAD_BYTES, MAX_UPLOAD_BYTES, UPLOAD_LIMITS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QA, str]]:
    """The real app over a copy of the seed articles, served on a free local port, with a login."""
    base = tmp_path_factory.mktemp("app")
    shutil.copytree(ROOT / "sources", base / "sources")
    qa = QA(base / "sources", base / "index", embedder=embedder)
    app = build_app(qa)
    options = launch_options(port=free_port(), auth=("ana", "s3cret"))
    app.launch(prevent_thread_lock=True, quiet=True, **options)
    try:
        yield qa, f"http://127.0.0.1:{options['server_port']}/"
    finally:
        app.close()


@pytest.fixture(scope="module")
def client(served: tuple[QA, str]) -> Client:
    return Client(served[1], auth=("ana", "s3cret"), verbose=False)


def test_ask_returns_the_cited_answer_as_markdown(client: Client) -> None:
    text = client.predict(KURDISTAN, api_name="/ask")
    assert isinstance(text, str)
    first = text.split("\n\n[2]")[0]
    assert first.startswith("[1] **") and "us-" in first and ".txt" in first
    assert "Kurdistan" in first and "**" in first.split("\n", 1)[1], "the answering sentence is in bold"
    assert "Also reported by" in text


def test_ask_json_gives_offsets_that_map_back_into_the_files(client: Client, served: tuple[QA, str]) -> None:
    qa, _ = served
    data = client.predict(KURDISTAN, k=3, api_name="/ask_json")
    assert data["question"] == KURDISTAN and data["answered"] is True
    assert 1 <= len(data["passages"]) <= 3
    for p in data["passages"]:
        file_text = (qa.sources / p["source"]).read_text(encoding="utf-8")
        assert file_text[p["start"]:p["end"]] == p["text"]
        assert file_text[p["highlight_start"]:p["highlight_end"]] == p["highlight"]
        assert {"title", "date", "score", "also_in"} <= set(p)


def test_api_filters_and_abstention(client: Client) -> None:
    only = "us-to-withdraw-most-troops-from-iraq.txt"
    data = client.predict(KURDISTAN, sources=[only], api_name="/ask_json")
    assert {p["source"] for p in data["passages"]} == {only}
    dated = client.predict(KURDISTAN, since="2024-09-01", until="2024-09-30", include_undated=False, api_name="/ask_json")
    assert {p["source"] for p in dated["passages"]} == {"us-military-presence-in-iraq-post-withdrawal.txt"}
    assert dated["undated_excluded"] == 1
    with_undated = client.predict(KURDISTAN, since="2024-09-01", until="2024-09-30", api_name="/ask_json")
    assert with_undated["undated_included"] == 1 and only in {p["source"] for p in with_undated["passages"]}
    text = client.predict("What is a good recipe for banana bread?", api_name="/ask")
    assert text.startswith(f"**{NO_ANSWER}**")


def test_api_reads_a_follow_up_against_its_history(client: Client) -> None:
    data = client.predict("and in Syria?", history=["how many US troops are in Iraq?"], api_name="/ask_json")
    assert data["understood_as"] == "how many US troops are in Syria?"
    assert "900" in data["passages"][0]["highlight"]
    text = client.predict("and in Syria?", history=["how many US troops are in Iraq?"], api_name="/ask")
    assert text.startswith("*Read as “how many US troops are in Syria?”")


def test_api_errors_carry_the_message(client: Client) -> None:
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        client.predict(KURDISTAN, since="last week", api_name="/ask_json")


def test_status_says_what_the_index_holds(client: Client) -> None:
    assert re.fullmatch(r"2 articles, \d+ passages; up to date", client.predict(api_name="/status"))


def test_a_refused_question_logs_one_line_not_a_traceback(client: Client, caplog: pytest.LogCaptureFixture,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.WARNING, logger="qa"), pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    refused = [r for r in caplog.records if r.getMessage().startswith("question not answered: the question is empty")]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING and refused[0].exc_info is None
    assert "Traceback" not in capfd.readouterr().err


def test_upload_limits_by_type_in_the_label_the_check_and_gradio(seed_qa: QA) -> None:
    assert launch_options()["max_file_size"] == max(UPLOAD_LIMITS.values()) == MAX_DOCUMENT_UPLOAD_BYTES
    assert (MAX_UPLOAD_BYTES, MAX_DOCUMENT_UPLOAD_BYTES) == (5 * 1024 * 1024, 50 * 1024 * 1024)
    upload = next(c for c in build_app(seed_qa).get_config_file()["components"] if c["props"].get("elem_id") == "qa-upload")
    assert upload["props"]["label"] == f"Add articles ({supported_types()}; up to 5 MB; .pdf and .docx up to 50 MB)"
    assert "Add .txt, .md, .markdown, .html, .htm, .pdf or .docx files" in render_collection([])


def test_the_login_is_required(served: tuple[QA, str]) -> None:
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(served[1], verbose=False).predict(KURDISTAN, api_name="/ask")


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
    render_page = qa.chat.pdf.render_page

    def counted(data: bytes, page: int, *args, **kwargs) -> bytes:
        drawings.append(page)
        return render_page(data, page, *args, **kwargs)

    monkeypatch.setattr(qa.chat.pdf, "render_page", counted)
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
