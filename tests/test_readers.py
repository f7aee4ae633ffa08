"""The readers (qa.readers): PDF, Word and saved web pages, on fixtures built at test time.

PDFs are made with fpdf2, Word files with python-docx, so every fact asserted here is known
from how the file was built: which page a sentence is on, what the running header says.
"""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import io
import json
import pkgutil
import re
import shutil
from pathlib import Path

import docx
import pypdfium2
import pytest
from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfs import FOOTER, HEADER, Report, add_paragraph, filler
from PIL import Image, ImageChops, ImageDraw

import qa.dates
import qa.documents
import qa.readers
import qa.readers.docx
import qa.readers.html
import qa.readers.html_blocks
import qa.readers.html_furniture
import qa.readers.markdown
import qa.readers.pdf
import qa.readers.pdf_layout
import qa.readers.pdf_lines
import qa.readers.pdf_paragraphs
import qa.readers.pdf_render
import qa.readers.text
import qa.titles
from qa import QA, Settings
from qa.answers import Passage
from qa.chunking import chunk
from qa.documents import Document, load_document, page_range
from qa.errors import DocumentError
from qa.readers import READERS, SUPPORTED_SUFFIXES, supported_types
from qa.readers.pdf import render_page

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
TITLE = "Harbour Trust Annual Report 2023"
ANSWER = ("The operating margin in 2023 was 7.4 percent, up from 5.1 percent in 2022, because cargo fees "
          "rose faster than staff and fuel costs.")
HYPHENATED = ("The trust reviewed its accounts for the year, and the infor-\nmation in this report was checked "
              "by independent auditors before the board approved it.")
COMPOUND = ("The board also agreed a long-term plan for the quay. Under the plan the dredging contract "
            "becomes a long-\nterm agreement with the port authority.")
LEFT = ("The left column tells how the fishing fleet landed more cod in 2023 than in any year since 2015, "
        "thanks to a cold spring that kept the shoals close to the shore for most of April and May.")
RIGHT = ("The right column turns to the ferry timetable, which gained two late sailings on Fridays after "
         "islanders asked for a way home from evening shifts on the mainland.")
CROSSING_START = "The crossing paragraph begins near the foot of the first page"


def report_pdf(title: str = TITLE) -> bytes:
    """Four pages: a title, a dateline, hyphenated line ends and a paragraph that runs from page 1
    onto page 2; on page 3 the answer and a table; page 4 in two columns. Every page has the
    running header and a footer with its page number."""
    pdf = Report()
    pdf.set_title(title)
    pdf.set_creation_date(dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    pdf.add_page()
    add_paragraph(pdf, "Annual Report 2023", size=20, style="B")
    add_paragraph(pdf, "March 4, 2024")
    add_paragraph(pdf, HYPHENATED)
    add_paragraph(pdf, COMPOUND)
    seed = 0
    while pdf.get_y() < 200:
        seed += 1
        add_paragraph(pdf, filler(seed, 4))
    add_paragraph(pdf, f"{CROSSING_START}, and it goes on. " + filler(99, 30))
    add_paragraph(pdf, filler(100, 5))
    pdf.add_page()
    add_paragraph(pdf, "Results", size=14, style="B")
    add_paragraph(pdf, filler(200, 3))
    add_paragraph(pdf, ANSWER)
    pdf.set_font("helvetica", size=11)
    with pdf.table(col_widths=(40, 30, 30), width=100) as table:
        for cells in [("Region", "Revenue", "Margin"), ("North quay", "120", "8%"), ("South quay", "95", "6%")]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(4)
    add_paragraph(pdf, filler(201, 3))
    pdf.add_page()
    add_paragraph(pdf, "Fleet and ferries", size=14, style="B")
    pdf.set_font("helvetica", size=11)
    with pdf.text_columns(ncols=2, gutter=8, balance=True) as columns:
        columns.write(f"{LEFT} {filler(300, 3)}")
        columns.ln()
        columns.write(f"{RIGHT} {filler(301, 3)}")
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """One page that is only a picture of text, as a scanner makes it."""
    image = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(image).text((100, 100), "The harbour trust spent its budget on dredging.", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=0, y=0, w=210)
    return bytes(pdf.output())


def encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "The trust's payroll for 2023 is in this file.")
    pdf.set_encryption(owner_password="owner", user_password="secret", encryption_method=EncryptionMethod.RC4)
    return bytes(pdf.output())


def report_docx(title: str | None = "Ferry Timetable Review", dateline: str | None = None) -> bytes:
    """Headings, paragraphs, a table, a running header and core properties."""
    document = docx.Document()
    document.core_properties.title = title or ""
    document.core_properties.created = dt.datetime(2024, 2, 10, 9, 0)
    document.sections[0].header.paragraphs[0].text = "DRAFT - internal circulation only"
    document.add_heading("Ferry Timetable Review", level=1)
    if dateline:
        document.add_paragraph(dateline)
    document.add_paragraph("The review looked at every sailing between Penmorrow and St Elwyn during 2023, "
                           "and at the complaints the operator received about late boats.")
    document.add_heading("Findings", level=2)
    document.add_paragraph("Two sailings in three left on time, and the late ones were mostly on Friday "
                           "evenings when the mainland trains arrived late.")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, [("Route", "Sailings", "On time"), ("Penmorrow to St Elwyn", "2,190", "68%"),
                                       ("St Elwyn to Penmorrow", "2,185", "71%")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph("The operator will add a later Friday sailing from June so that train passengers "
                           "no longer miss the last boat.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def load(tmp_path: Path, name: str, data: bytes) -> Document:
    path = tmp_path / name
    path.write_bytes(data)
    return load_document(path, tmp_path)


def squashed(text: str) -> str:
    """Letters and digits only, lower case: text compared across line breaks and hyphens."""
    return re.sub(r"[\W_]+", "", text.casefold())


def passages(doc: Document) -> list[tuple[int, int]]:
    """Every passage the indexer cuts from `doc` (kept to its pages), as [start, end) offsets."""
    units, spans = chunk(doc.text, doc.content, lambda texts: [len(t.split()) for t in texts], 60, 1, doc.pages)
    return [(units[first][0], units[last - 1][1]) for first, last in spans]


@pytest.fixture(scope="module")
def report() -> bytes:
    return report_pdf()


@pytest.fixture()
def report_doc(tmp_path: Path, report: bytes) -> Document:
    return load(tmp_path, "report.pdf", report)


def raw_pages(data: bytes) -> list[str]:
    """Each page's text as PDFium gives it, squashed."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        return [squashed(pdf[i].get_textpage().get_text_range().replace("\ufffe", "")) for i in range(len(pdf))]
    finally:
        pdf.close()


@pytest.mark.parametrize("module", [qa.readers, qa.readers.pdf, qa.readers.pdf_layout, qa.readers.pdf_lines,
                                    qa.readers.pdf_paragraphs, qa.readers.pdf_render, qa.readers.docx, qa.readers.html,
                                    qa.readers.html_blocks, qa.readers.html_furniture, qa.readers.markdown,
                                    qa.readers.text, qa.dates, qa.titles])
def test_module_doctests(module) -> None:
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_registry_lists_every_reader() -> None:
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
    assert supported_types(" or ").endswith(".pdf or .docx")
    assert all(callable(READERS[suffix]) for suffix in SUPPORTED_SUFFIXES)


def test_helper_modules_are_not_readers() -> None:
    modules = [importlib.import_module(f"qa.readers.{info.name}") for info in pkgutil.iter_modules(qa.readers.__path__)]
    formats = {module.__name__ for module in modules if hasattr(module, "read")}
    assert formats == {reader.__module__ for reader in READERS.values()}, "a module with a read() is a registered format"
    assert {"qa.readers.common", "qa.readers.pdf_render", "qa.readers.html_blocks"} <= {m.__name__ for m in modules} - formats


# ---------------------------------------------------------------- PDF


def test_pdf_title_date_and_pages(report_doc: Document, report: bytes) -> None:
    assert report_doc.title == TITLE
    assert report_doc.date == "2024-03-04", "the dateline wins over the file's creation date"
    assert len(report_doc.pages) == 4 == len(raw_pages(report))
    assert report_doc.pages[0] == 0 and list(report_doc.pages) == sorted(report_doc.pages)
    assert report_doc.warnings == ()


def test_pdf_running_header_footer_and_page_numbers_are_left_out(report_doc: Document) -> None:
    for furniture in (HEADER, FOOTER, "Page 1 of 4", "Page 3 of 4", "Page 4"):
        assert furniture not in report_doc.text
    for start, end in passages(report_doc):
        assert not re.search(r"Page \d|Confidential|Annual Report 2023$", report_doc.text[start:end])


def test_pdf_line_ends_are_joined_into_whole_sentences(report_doc: Document) -> None:
    flat = report_doc.text
    assert "and the information in this report was checked by independent auditors" in flat
    assert "infor-" not in flat and "infor " not in flat
    assert "becomes a long-term agreement" in flat, "a hyphen the document spells elsewhere stays"
    assert ANSWER in flat
    crossing = flat.index(CROSSING_START)
    assert "\n" not in flat[crossing : flat.index(".", crossing)], "a sentence runs on across line breaks"


def test_pdf_two_columns_read_one_after_the_other(report_doc: Document) -> None:
    assert LEFT in report_doc.text and RIGHT in report_doc.text
    assert report_doc.text.index(LEFT) < report_doc.text.index(RIGHT)


def test_pdf_table_rows_keep_their_cells(report_doc: Document) -> None:
    assert "Region | Revenue | Margin\nNorth quay | 120 | 8%\nSouth quay | 95 | 6%" in report_doc.text


def test_pdf_passages_know_their_pages(report_doc: Document, report: bytes) -> None:
    pages = raw_pages(report)
    seen = set()
    for start, end in passages(report_doc):
        first, last = page_range(report_doc.pages, start, end)
        head = squashed(" ".join(report_doc.text[start:end].split()[:4]))
        tail = squashed(" ".join(report_doc.text[start:end].split()[-4:]))
        assert head in pages[first - 1] and tail in pages[last - 1]
        seen.add((first, last))
    assert (1, 2) in seen, "the sentence that runs from page 1 onto page 2 makes a passage of both"
    assert {pages for pages in seen if pages[0] != pages[1]} == {(1, 2)}, "no other passage leaves its page"
    answer = report_doc.text.index(ANSWER)
    assert page_range(report_doc.pages, answer, answer + len(ANSWER)) == (3, 3)
    assert qa.readers.pdf.page_of(report, answer) == 3


def test_pdf_offsets_map_back_to_the_page_characters(report: bytes) -> None:
    layout = qa.readers.pdf_layout.extract(report)
    pdf = pypdfium2.PdfDocument(report)
    for number, runs in enumerate(layout.runs):
        page_text = pdf[number].get_textpage().get_text_range().replace("\ufffe", "-")  # PDFium's line-end hyphen
        for offset, index, length in runs:
            assert layout.text[offset : offset + length] == page_text[index : index + length]
    pdf.close()


def test_pdf_metadata_title_that_names_a_file_gives_way_to_the_heading(tmp_path: Path) -> None:
    doc = load(tmp_path, "r.pdf", report_pdf(title="Microsoft Word - annual_report_final2.docx"))
    assert doc.title == "Annual Report 2023"


@pytest.mark.parametrize(
    ("name", "build", "message"),
    [
        ("scan.pdf", scanned_pdf, "scan.pdf: no text layer; it looks scanned, and qa does not do OCR; skipped"),
        ("locked.pdf", encrypted_pdf,
         "locked.pdf: encrypted: it needs a password to open, and qa does not read protected PDFs; skipped"),
        ("cut.pdf", lambda: report_pdf()[:2000], "cut.pdf: damaged or truncated; PDFium cannot read it; skipped"),
        ("tail.pdf", lambda: report_pdf()[:-200], "tail.pdf: "),
    ],
)
def test_unreadable_pdfs_are_refused_with_the_reason(tmp_path: Path, name: str, build, message: str) -> None:
    with pytest.raises(DocumentError) as raised:
        load(tmp_path, name, build())
    assert str(raised.value).startswith(message)
    assert "truncated" in str(raised.value) or name != "tail.pdf"


def test_a_scanned_page_among_text_pages_is_named_in_a_warning(tmp_path: Path) -> None:
    scan = pypdfium2.PdfDocument(scanned_pdf())
    merged = pypdfium2.PdfDocument(report_pdf())
    merged.import_pages(scan)
    buffer = io.BytesIO()
    merged.save(buffer)
    doc = load(tmp_path, "mixed.pdf", buffer.getvalue())
    assert doc.warnings == (
        "mixed.pdf: page 5 has no text layer (scanned?); qa does not do OCR, so that text is missing",)
    assert len(doc.pages) == 5 and doc.pages[4] == len(doc.text)


def test_rendered_page_marks_the_passage(report: bytes, report_doc: Document) -> None:
    start = report_doc.text.index(ANSWER)
    plain = Image.open(io.BytesIO(render_page(report, 3))).convert("RGB")
    marked = Image.open(io.BytesIO(render_page(report, 3, [(start, start + len(ANSWER))],
                                               strong=[(start, start + 24)]))).convert("RGB")
    assert plain.size == marked.size and plain.width == qa.readers.pdf.RENDER_WIDTH
    box = ImageChops.difference(plain, marked).getbbox()
    assert box is not None, "the highlight changes pixels"
    left, top, _, bottom = box
    assert bottom - top < plain.height / 8, "only the passage's lines are marked"
    strong = marked.getpixel((left + 6, top + 6))
    assert strong[0] > 200 and strong[2] < 180, "the strongly marked words are tinted orange"
    other_page = Image.open(io.BytesIO(render_page(report, 2, [(start, start + len(ANSWER))]))).convert("RGB")
    unmarked = Image.open(io.BytesIO(render_page(report, 2))).convert("RGB")
    assert ImageChops.difference(other_page, unmarked).getbbox() is None, "ranges on other pages are not drawn"
    with pytest.raises(DocumentError, match="page 9 does not exist"):
        render_page(report, 9)


# ---------------------------------------------------------------- Word


def test_docx_headings_table_and_core_properties(tmp_path: Path) -> None:
    doc = load(tmp_path, "review.docx", report_docx())
    assert (doc.title, doc.date, doc.pages) == ("Ferry Timetable Review", "2024-02-10", ())
    assert "\n\nFindings\n\n" in doc.text
    assert ("Route | Sailings | On time\nPenmorrow to St Elwyn | 2,190 | 68%\n"
            "St Elwyn to Penmorrow | 2,185 | 71%") in doc.text
    assert "DRAFT" not in doc.text
    body = "\n".join(doc.text[a:b] for a, b in doc.content)
    assert body.startswith("The review looked at every sailing") and body.endswith("miss the last boat.")


def test_docx_without_core_title_takes_heading_and_dateline(tmp_path: Path) -> None:
    doc = load(tmp_path, "review.docx", report_docx(title=None, dateline="12 March 2024"))
    assert (doc.title, doc.date) == ("Ferry Timetable Review", "2024-03-12")


def test_broken_docx_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^old\.docx: not a readable Word document"):
        load(tmp_path, "old.docx", b"\xd0\xcf\x11\xe0 an old binary Word file")


# ---------------------------------------------------------------- saved web pages


def _checked(page: Path, extractor: str) -> tuple[list[str], list[str]]:
    """The furniture strings a page's content lets through, and the article sentences it loses."""
    truth = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    doc = qa.documents.build(page.name, page, qa.readers.html.read(page.name, page.read_bytes(), extractor=extractor))
    content = " ".join(" ".join(doc.text[a:b] for a, b in doc.content).split()).casefold()
    leaked = [s for s in truth["furniture"] if " ".join(s.split()).casefold() in content]
    return leaked, [s for s in truth["article"] if " ".join(s.split()).casefold() not in content]


@pytest.mark.parametrize("page", sorted(PAGES.glob("*.html")), ids=lambda p: p.stem)
def test_saved_pages_keep_the_article_and_drop_the_furniture(page: Path) -> None:
    leaked, lost = _checked(page, "hybrid")
    assert lost == []
    if json.loads(page.with_suffix(".json").read_text(encoding="utf-8")).get("held_out"):
        assert set(leaked) <= set(_checked(page, "rules")[0]), "never more furniture than qa's own rules"
    else:
        assert leaked == []


def _content(name: str, markup: str) -> str:
    """The text of a page that qa may return as an answer."""
    parsed = qa.readers.html.read(name, markup.encode("utf-8"))
    doc = qa.documents.build(name, Path(name), parsed)
    return " ".join(" ".join(doc.text[a:b] for a, b in doc.content).split())


_STORY = ("The council approved the new swimming pool on Tuesday after a two-hour debate. "
          "Work will begin in March and the pool should open in the summer of 2026. ")


def test_furniture_class_names_mark_furniture_but_not_the_wrapper_around_the_article() -> None:
    page = ('<html><body class="single has-sidebar"><div id="page" class="site sidebar-right">'
            f'<article class="post has-comments"><h1>Pool approved</h1><p>{_STORY * 3}</p>'
            '<p>The vote was <span class="share-count">unanimous</span> in the end, the clerk said.</p></article>'
            '<div class="newsletter-box">Get our daily briefing in your inbox every morning</div>'
            '<div class="story-comments"><div>Have your say</div>'
            + '<div>About time too, my kids need lessons and the old pool closed years ago.</div>' * 12
            + '</div></div></body></html>')
    content = _content("pool.html", page)
    assert _STORY.strip() in content
    assert "The vote was unanimous in the end, the clerk said." in content  # a marked word inside a line
    for furniture in ("daily briefing", "Have your say", "About time too"):
        assert furniture not in content


def test_fine_print_ending_a_page_is_furniture_but_not_fine_print_inside_it() -> None:
    page = (f'<html><body><table><tr><td><p>{_STORY * 3}</p>'
            '<p><small>The pool will cost four million pounds, the treasurer said.</small></p>'
            f'<p>{_STORY}</p><hr><p><font size="1">Site built by a volunteer. Best viewed at 800 x 600.</font></p>'
            '</td></tr></table></body></html>')
    content = _content("pool.html", page)
    assert "The pool will cost four million pounds, the treasurer said." in content
    assert "Best viewed" not in content and "volunteer" not in content


# ---------------------------------------------------------------- every format


_WORD = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
_SENTENCE = st.lists(_WORD, min_size=3, max_size=14).map(lambda words: " ".join(words).capitalize() + ".")
_PARAGRAPHS = st.lists(st.lists(_SENTENCE, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=5)


def _as(suffix: str, paragraphs: list[str]) -> bytes:
    """The paragraphs written as a file of the format `suffix` names."""
    if suffix == ".pdf":
        pdf = FPDF()
        pdf.add_page()
        for paragraph in paragraphs:
            add_paragraph(pdf, paragraph)
        return bytes(pdf.output())
    if suffix == ".docx":
        document = docx.Document()
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()
    if suffix in (".html", ".htm"):
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        return f"<html><body><article>{body}</article></body></html>".encode()
    return "\n\n".join(paragraphs).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=_PARAGRAPHS, suffix=st.sampled_from(SUPPORTED_SUFFIXES))
def test_every_format_keeps_every_word_in_order(tmp_path: Path, paragraphs: list[str], suffix: str) -> None:
    doc = load(tmp_path, f"doc{suffix}", _as(suffix, paragraphs))
    assert re.findall(r"\w+", doc.text) == re.findall(r"\w+", " ".join(paragraphs))
    for start, end in passages(doc):
        assert doc.text[start:end].strip() == doc.text[start:end] != ""
        assert (page_range(doc.pages, start, end) is None) == (suffix != ".pdf")


@pytest.fixture(scope="module")
def mixed_qa(tmp_path_factory: pytest.TempPathFactory, embedder) -> QA:
    """One QA over a folder holding the report PDF, a Word file, two saved pages, the seed
    articles and three PDFs it cannot read."""
    base = tmp_path_factory.mktemp("mixed")
    sources = base / "sources"
    shutil.copytree(Path(__file__).resolve().parent.parent / "sources", sources)
    (sources / "report.pdf").write_bytes(report_pdf())
    (sources / "review.docx").write_bytes(report_docx())
    for name in ("news-ferry.html", "docs-backup.html"):
        shutil.copy(PAGES / name, sources / name)
    (sources / "scan.pdf").write_bytes(scanned_pdf())
    (sources / "locked.pdf").write_bytes(encrypted_pdf())
    (sources / "cut.pdf").write_bytes(report_pdf()[:2000])
    return QA(sources, base / "index", settings=Settings(rescan_seconds=0.0), embedder=embedder)


def test_bad_pdfs_are_skipped_with_their_reason_not_a_crash(mixed_qa: QA) -> None:
    skipped = "\n".join(mixed_qa.last_report.skipped)
    assert "scan.pdf: no text layer; it looks scanned" in skipped
    assert "locked.pdf: encrypted" in skipped
    assert "cut.pdf: damaged or truncated" in skipped
    assert {d.source for d in mixed_qa.documents()} >= {"report.pdf", "review.docx", "news-ferry.html"}


def test_answer_on_page_3_is_ranked_first_and_cited_by_page(mixed_qa: QA) -> None:
    answer = mixed_qa.ask("what was the operating margin in 2023?")
    top = answer.passages[0]
    assert top.source == "report.pdf" and ANSWER in top.text
    first, last = top.pages
    assert top.pages == (3, 3) and top.page == 3 and top.page_label == "p. 3", "a passage keeps to its page"
    report = (mixed_qa.sources / "report.pdf").read_bytes()
    assert qa.readers.pdf.page_of(report, top.highlight_start) == 3, "the answering sentence is on page 3"
    assert f"{top.page_label}, chars {top.start}-{top.end}" in str(answer)
    data = answer.to_dict()["passages"][0]
    assert (data["page"], data["pages"]) == (first, [first, last])
    assert json.loads(json.dumps(data))["pages"] == [first, last]


@pytest.mark.parametrize("question", ["what was the operating margin in 2023?", "how many sailings left on time?",
                                      "how many troops stay in Kurdistan?", "how do I restore a backup?",
                                      "when does the second ferry boat start?", "how many cod did the fleet land?"])
def test_every_passage_maps_back_to_its_document_text(mixed_qa: QA, question: str) -> None:
    for p in mixed_qa.ask(question, k=8).passages:
        assert mixed_qa.document_text(p.source)[p.start : p.end] == p.text
        assert (p.pages is None) == (not p.source.endswith(".pdf"))


def test_passage_from_json_keeps_its_pages() -> None:
    p = Passage("x", "a.pdf", "T", None, 0, 1, 0.5, "x", 0, 1, pages=[4, 5])
    assert (p.page, p.pages, p.page_label) == (4, (4, 5), "pp. 4–5")
    assert "pp. 4–5" in p.location()
    assert Passage("x", "a.txt", "T", None, 0, 1, 0.5, "x", 0, 1).page_label == ""
