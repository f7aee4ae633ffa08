"""Loading source files: text, title, date and content spans, on real files in tmp_path."""

from __future__ import annotations

import doctest
import http.server
import os
import random
import re
import shutil
import string
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qa.documents
from qa.documents import Document, load_document, parse_date
from qa.errors import DocumentError

SOURCES = Path(__file__).resolve().parent.parent / "sources"
ARTICLE_1 = "us-to-withdraw-most-troops-from-iraq.txt"
ARTICLE_2 = "us-military-presence-in-iraq-post-withdrawal.txt"


def content(doc: Document) -> str:
    """All content spans of `doc`, joined with a marker that cannot occur in the text."""
    return "\n<SPAN>\n".join(doc.text[start:end] for start, end in doc.content)


def assert_spans_valid(doc: Document) -> None:
    previous_end = 0
    for start, end in doc.content:
        assert previous_end <= start < end <= len(doc.text)
        previous_end = end


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def encoding_read(doc: Document) -> str:
    """The codec a document's warning says its file was read as; UTF-8 if none."""
    named = [re.search(r"read as (?:[^(;]* \()?([\w-]+)\)?;", warning) for warning in doc.warnings]
    return next((match[1] for match in named if match), "utf-8")


def test_module_doctest() -> None:
    assert doctest.testmod(qa.documents).failed == 0


# ---------------------------------------------------------------- the seed articles


def test_seed_article_1(tmp_path: Path) -> None:
    path = Path(shutil.copy(SOURCES / ARTICLE_1, tmp_path / ARTICLE_1))
    doc = load_document(path, tmp_path)
    assert doc.source == ARTICLE_1
    assert doc.title == "U.S. to Withdraw Most Troops from Iraq, Transitioning to Security Partnership"
    assert doc.date is None
    assert doc.text == path.read_text(encoding="utf-8")
    assert doc.warnings == ()
    body = content(doc)
    paragraphs = [p for p in doc.text.split("\n\n") if p.startswith(("In a significant", "Iraq’s Defense",
                  "However, the plan", "The reduction of", "This evolving", "Inherent Resolve’s"))]
    assert len(paragraphs) == 6
    assert body == "\n\n".join(paragraphs)
    for furniture in ["Transitioning to Security", "screenshot", "chrome6826947823168445608",
                      "Leave a Reply", "email address"]:
        assert furniture not in body
    assert "\n0\n" not in f"\n{body}\n"
    assert_spans_valid(doc)


def test_seed_article_2(tmp_path: Path) -> None:
    path = Path(shutil.copy(SOURCES / ARTICLE_2, tmp_path / ARTICLE_2))
    doc = load_document(path, tmp_path)
    assert doc.date == "2024-09-14"
    assert doc.title == (
        "DINAR REVALUATION REPORT: US Military Presence in Iraq Post-Withdrawal: "
        "Details as of September 2024, 14 SEPT"
    )
    assert doc.text == path.read_text(encoding="utf-8")
    assert len(doc.content) == 1
    body = content(doc)
    assert body.startswith("As of September 2024, the United States")
    assert body.endswith("ongoing security challenges in the area.")
    for heading in ["The Residual Force in Kurdistan", "The Global Coalition's Role",
                    "The Withdrawal Agreement", "Iraq's Perspective", "The US and Iraq's Future Relations"]:
        assert f"\n\n{heading}\n\n" in body
    for furniture in ["Saturday", "DINAR", "No comments", "Post a Comment"]:
        assert furniture not in body


def test_real_sources_folder_loads_with_relative_posix_sources() -> None:
    docs = [load_document(path, SOURCES) for path in sorted(SOURCES.glob("*.txt"))]
    assert [doc.source for doc in docs] == sorted(p.name for p in SOURCES.glob("*.txt"))


def test_source_is_relative_posix_for_nested_files(tmp_path: Path) -> None:
    path = write(tmp_path, "sub/dir/a.txt", "Short Title\n\nThe body of this note is a sentence of enough words.\n")
    assert load_document(path, tmp_path).source == "sub/dir/a.txt"


# ---------------------------------------------------------------- text files


def test_windows_line_breaks_follow_read_text(tmp_path: Path) -> None:
    path = write(tmp_path, "crlf.txt", "Council Votes\r\n\r\nThe council voted on the budget for next year today.\r\n")
    doc = load_document(path, tmp_path)
    assert doc.text == path.read_text(encoding="utf-8")
    assert "\r" not in doc.text
    assert content(doc) == "The council voted on the budget for next year today."


def test_title_falls_back_to_readable_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, "vault_code-note.txt", "The vault code is 4711.\n")
    doc = load_document(path, tmp_path)
    assert doc.title == "Vault code note"
    assert content(doc) == "The vault code is 4711."


def test_dates_in_many_formats() -> None:
    cases = {
        "Saturday, September 14, 2024": "2024-09-14",
        "September 14, 2024": "2024-09-14",
        "Sept. 14, 2024": "2024-09-14",
        "14 September 2024": "2024-09-14",
        "2024-09-14": "2024-09-14",
        "14 SEPT 2024": "2024-09-14",
        "Posted on Mar 3rd, 2021": "2021-03-03",
        "February 30, 2024": None,
        "2024-13-01": None,
        "Details as of September 2024, 14 SEPT": None,
    }
    for value, expected in cases.items():
        assert parse_date(value) == expected, value


def test_date_line_is_found_near_the_top_and_is_not_content(tmp_path: Path) -> None:
    text = ("City Opens New Park\n\nSept. 3, 2023\n\nThe city opened a new park on the river bank this weekend.\n\n"
            "On January 5, 2020, the land was bought by the city for a small sum.\n")
    doc = load_document(write(tmp_path, "park.txt", text), tmp_path)
    assert doc.date == "2023-09-03"
    assert doc.title == "City Opens New Park"
    assert "Sept. 3, 2023" not in content(doc)
    assert content(doc).startswith("The city opened")


def test_body_dates_are_not_the_document_date(tmp_path: Path) -> None:
    text = "Park History\n\nOn January 5, 2020, the land was bought by the city for a small sum.\n"
    assert load_document(write(tmp_path, "history.txt", text), tmp_path).date is None


# ---------------------------------------------------------------- encodings and non-text

CP1252_WARNING = "not UTF-8; read as Windows-1252 (cp1252); offsets refer to the text as decoded"
REPLACED_WARNING = "not valid UTF-8; undecodable bytes replaced"
SENTENCE = "The body of this page is a sentence of enough words."


def random_text_bytes(size: int = 20_000) -> bytes:
    """`size` random bytes (fixed seed) with the zero bytes removed, so no binary probe catches them."""
    return random.Random(20240914).randbytes(size).replace(b"\x00", b"")


def test_windows_1252_text_is_read_as_cp1252_with_a_warning(tmp_path: Path) -> None:
    text = ("Straße in Zürich geöffnet\r\n\r\nDer Bürgermeister sagte: \u201eGroßartig\u201c. "
            "L\u2019été était \u201cvraiment\u201d très long \u2013 und süß.\r\n")
    data = text.encode("cp1252")
    assert b"\x93" in data and b"\x94" in data
    path = write(tmp_path, "notes.txt", data)
    doc = load_document(path, tmp_path)
    assert doc.text == path.read_text(encoding="cp1252") == text.replace("\r\n", "\n")
    assert doc.title == "Straße in Zürich geöffnet"
    assert doc.warnings == (f"notes.txt: {CP1252_WARNING}",)
    assert "“vraiment” très long – und süß." in content(doc)
    assert "\ufffd" not in doc.text
    assert_spans_valid(doc)


def test_latin1_markdown_is_read_as_cp1252_with_a_warning(tmp_path: Path) -> None:
    text = "# Café Opens\n\nThe new café on Main Street opened its doors to the public today, said Müller.\n"
    path = write(tmp_path, "latin.md", text.encode("latin-1"))
    doc = load_document(path, tmp_path)
    assert doc.text == text
    assert doc.title == "Café Opens"
    assert doc.warnings == (f"latin.md: {CP1252_WARNING}",)
    assert content(doc) == "The new café on Main Street opened its doors to the public today, said Müller."


def test_cp1252_html_without_a_declared_charset_is_read_as_cp1252(tmp_path: Path) -> None:
    page = ("<html><head><title>Café Reopens | Gazette</title></head><body><h1>Café Reopens</h1>"
            "<p>The café on the corner reopened \u201ctoday\u201d after a long renovation, said Anaïs.</p></body></html>")
    doc = load_document(write(tmp_path, "cafe.html", page.encode("cp1252")), tmp_path)
    assert doc.title == "Café Reopens"
    assert doc.warnings == (f"cafe.html: {CP1252_WARNING}",)
    assert content(doc) == "The café on the corner reopened “today” after a long renovation, said Anaïs."


@pytest.mark.parametrize(
    ("codec", "text", "label"),
    [
        ("cp1251", "Библиотека открыта\n\nВчера в Москве открылась новая городская библиотека.\n", "Windows-1251 (cp1251)"),
        ("cp1253", "Νέα βιβλιοθήκη\n\nΧθες άνοιξε μια νέα δημοτική βιβλιοθήκη στην Αθήνα.\n", "Windows-1253 (cp1253)"),
        ("gb18030", "新图书馆开放\n\n昨天，北京一座新的城市图书馆开放了，每天都将开放。读者们非常高兴。\n", "gb18030"),
    ],
)
def test_other_single_and_multibyte_encodings_are_detected(tmp_path: Path, codec: str, text: str, label: str) -> None:
    doc = load_document(write(tmp_path, "other.txt", text.encode(codec)), tmp_path)
    assert doc.text == text
    assert doc.warnings == (f"other.txt: not UTF-8; read as {label}; offsets refer to the text as decoded",)


@pytest.mark.parametrize(
    "text",
    [
        "Neue Brücke eröffnet\n\nDie Straße über den Fluß ist ab heute für Fußgänger geöffnet.\n",
        "Le pont rouvre\n\nLe pont « Saint-Éloi » a rouvert ce matin après deux ans de travaux.\n",
        "Νέα γέφυρα\n\nΗ γέφυρα άνοιξε σήμερα το πρωί μετά από δύο χρόνια εργασιών.\n",
        "Новый мост\n\nМост открылся сегодня утром после двух лет ремонта.\n",
        "新桥开通\n\n经过两年的施工，这座桥今天早上重新开通。\n",
        "جسر جديد\n\nافتتح الجسر صباح اليوم بعد عامين من أعمال الصيانة.\n",
        "Emoji and symbols 🪖 € © ½\n\nA note with a few symbols in it is still text.\n",
    ],
)
def test_utf8_text_in_any_script_is_read_unchanged_without_warning(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "script.md", text)
    doc = load_document(path, tmp_path)
    assert doc.text == path.read_text(encoding="utf-8") == text
    assert doc.warnings == ()
    assert doc.title == text.split("\n")[0]


def test_utf8_file_with_a_stray_byte_is_replaced_with_a_warning(tmp_path: Path) -> None:
    data = "Café Straße\n\nThe “new” café on Main Street opened its doors today.\n".encode().replace(b"new", b"n\xffew")
    path = write(tmp_path, "stray.txt", data)
    doc = load_document(path, tmp_path)
    assert doc.text == path.read_text(encoding="utf-8", errors="replace")
    assert "The “n\ufffdew” café" in doc.text
    assert doc.warnings == (f"stray.txt: {REPLACED_WARNING}",)
    assert doc.title == "Café Straße"


@pytest.mark.parametrize("name", ["data.txt", "data.md", "data.html"])
def test_random_bytes_without_zero_bytes_are_refused(tmp_path: Path, name: str) -> None:
    data = random_text_bytes()
    assert b"\x00" not in data and len(data) > 19_000
    path = write(tmp_path, name, data)
    with pytest.raises(DocumentError) as raised:
        load_document(path, tmp_path)
    assert str(raised.value) == f"{name}: does not look like text (random or binary bytes); skipped"


def test_os_urandom_without_zero_bytes_is_refused(tmp_path: Path) -> None:
    """Unseeded bytes too: refusal does not hinge on one lucky sample."""
    for name in ("noise.md", "noise.html"):
        path = write(tmp_path, name, os.urandom(20_000).replace(b"\x00", b""))
        with pytest.raises(DocumentError, match=f"^{name}: does not look like text"):
            load_document(path, tmp_path)


def test_control_characters_in_valid_utf8_are_refused(tmp_path: Path) -> None:
    data = bytes(range(1, 128)) * 100
    with pytest.raises(DocumentError, match="^ctl.txt: does not look like text"):
        load_document(write(tmp_path, "ctl.txt", data), tmp_path)


def test_long_titles_are_cut_at_a_word_boundary(tmp_path: Path) -> None:
    words = ("Springfield Council Approves Expanded Library Opening Hours, Longer Weekend Schedules, Additional "
             "Reading Programmes for Children and Renovated Rooms After Months of Public Consultation")
    doc = load_document(write(tmp_path, "long.txt", f"{words}\n\n{SENTENCE}\n"), tmp_path)
    assert len(words) > 150 and len(words.split()) <= 30
    assert doc.title == ("Springfield Council Approves Expanded Library Opening Hours, Longer Weekend Schedules, "
                         "Additional Reading Programmes for Children and Renovated…")
    assert len(doc.title) <= 150
    assert content(doc) == SENTENCE


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("token.html", "<html><body><h1>{title}</h1><p>{body}</p>"),
        ("token.md", "---\ntitle: {title}\n---\n\n{body}\n"),
    ],
)
def test_a_title_of_one_huge_token_is_cut(tmp_path: Path, name: str, page: str) -> None:
    token = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=20_000))
    doc = load_document(write(tmp_path, name, page.format(title=token, body=SENTENCE)), tmp_path)
    assert doc.title == token[:149] + "…"
    assert content(doc) == SENTENCE


def test_a_title_of_150_characters_is_kept_whole(tmp_path: Path) -> None:
    title = "A" * 150
    doc = load_document(write(tmp_path, "t.md", f"# {title}\n\n{SENTENCE}\n"), tmp_path)
    assert doc.title == title


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "looks like a binary file"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", " \n\t\n\u00a0\n".encode(), "empty file"),
        ("blank.html", b"  \n", "empty file"),
        ("scripts.html", b"<html><script>var a = 1;</script></html>", "no visible text"),
        ("report.pdf", b"%PDF-1.4", "damaged or truncated"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
        ("README", b"plain words", "unsupported file type (no extension)"),
    ],
)
def test_unusable_files_raise_document_error(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(DocumentError, match="^" + name.replace(".", r"\.") + ": ") as raised:
        load_document(path, tmp_path)
    assert message in str(raised.value)


def test_missing_file_and_directory_raise_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="gone.txt: cannot read"):
        load_document(tmp_path / "gone.txt", tmp_path)
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(DocumentError, match="folder.txt: cannot read"):
        load_document(tmp_path / "folder.txt", tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_raises_document_error(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.txt", "Secret\n\nThis file cannot be read by anyone but its owner.\n")
    path.chmod(0)
    try:
        with pytest.raises(DocumentError, match="secret.txt: cannot read"):
            load_document(path, tmp_path)
    finally:
        path.chmod(0o600)


def test_too_large_file_raises_document_error(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "Big\n\n" + "word " * 100)
    with pytest.raises(DocumentError, match="big.txt: larger than 100 bytes"):
        load_document(path, tmp_path, max_bytes=100)


# ---------------------------------------------------------------- markdown


def test_markdown_front_matter_wins(tmp_path: Path) -> None:
    text = ('---\ntitle: "Budget Vote: What Changed"\ndate: 2024-03-05\nauthor: Jane\n---\n\n'
            "# A Different Heading\n\nThe council voted on Tuesday to approve the new budget.\n")
    path = write(tmp_path, "notes/vote.md", text)
    doc = load_document(path, tmp_path)
    assert doc.text == path.read_text(encoding="utf-8")
    assert (doc.title, doc.date) == ("Budget Vote: What Changed", "2024-03-05")
    assert "title:" not in content(doc) and "author" not in content(doc)
    assert content(doc) == "The council voted on Tuesday to approve the new budget."


def test_markdown_heading_is_the_title(tmp_path: Path) -> None:
    text = ("![banner](img/banner.png)\n\n# Budget Vote\n\n*March 5, 2024*\n\n"
            "The council voted on Tuesday to approve the new budget.\n\n## Next Steps\n\n"
            "A second reading is planned for the first week of April.\n")
    doc = load_document(write(tmp_path, "vote.markdown", text), tmp_path)
    assert (doc.title, doc.date) == ("Budget Vote", "2024-03-05")
    assert content(doc) == ("The council voted on Tuesday to approve the new budget.\n\n## Next Steps\n\n"
                            "A second reading is planned for the first week of April.")


# ---------------------------------------------------------------- HTML

HTML_PAGE = """<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>Library Budget Doubles | Springfield Gazette</title>
<meta property="article:published_time" content="2024-05-06T08:30:00+00:00">
<style>body { font-family: serif; } .secret-style { color: red; }</style>
<script>var trackingSecret = "do-not-show";</script>
</head>
<body>
<header><a href="/">Springfield Gazette</a><nav><a href="/news">News</a> <a href="/sports">Sports</a></nav></header>
<article>
<h1>Library Budget   Doubles</h1>
<p>The city council voted   on Monday to double the library&rsquo;s budget,
   a move welcomed by readers &amp; staff.</p>
<figure><img src="reading-room.jpg" alt="reading room"><figcaption>Photo: the reading room</figcaption></figure>
<h2>What the money buys</h2>
<p>Most of the money will pay for longer opening hours<br>and new books for children.</p>
<p>One reader asked why the site showed &lt;script&gt;alert(1)&lt;/script&gt; in a comment box last year.</p>
<noscript>Enable JavaScript to see comments.</noscript>
</article>
<aside>Most read: Bridge closes for repairs</aside>
<footer>&copy; 2024 Springfield Gazette. All rights reserved.</footer>
<script type="text/javascript">document.write("<p>injected</p>");</script>
</body></html>
"""


def test_html_page(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "news/library.html", HTML_PAGE), tmp_path)
    assert doc.source == "news/library.html"
    assert doc.title == "Library Budget Doubles"
    assert doc.date == "2024-05-06"
    for hidden in ["trackingSecret", "do-not-show", "font-family", "injected", "Sports", "Most read",
                   "All rights reserved", "Enable JavaScript", "Photo:", "Springfield Gazette"]:
        assert hidden not in doc.text, hidden
    assert "the library’s budget, a move welcomed by readers & staff." in doc.text
    assert "longer opening hours\nand new books" in doc.text
    assert "<script>alert(1)</script>" in content(doc)
    assert content(doc) == (
        "The city council voted on Monday to double the library’s budget, a move welcomed by readers & staff."
        "\n\nWhat the money buys\n\nMost of the money will pay for longer opening hours\nand new books for "
        "children.\n\nOne reader asked why the site showed <script>alert(1)</script> in a comment box last year."
    )
    assert_spans_valid(doc)


def test_html_title_element_and_time_tag(tmp_path: Path) -> None:
    page = ("<html><head><title>Bridge Closes for Repairs | Gazette</title></head><body>"
            "<p><time datetime=\"2023-11-02\">2 Nov 2023</time></p>"
            "<div>The old bridge will close for three months while engineers repair it.</div></body></html>")
    doc = load_document(write(tmp_path, "bridge.htm", page), tmp_path)
    assert (doc.title, doc.date) == ("Bridge Closes for Repairs", "2023-11-02")
    assert content(doc) == "The old bridge will close for three months while engineers repair it."


def test_html_meta_date_and_declared_charset(tmp_path: Path) -> None:
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
            '<meta name="date" content="2022-01-31"></head><body><h1>Caf\xe9 Reopens</h1>'
            "<p>The caf\xe9 on the corner reopened this week after a long renovation.</p></body></html>")
    doc = load_document(write(tmp_path, "cafe.html", page.encode("cp1252")), tmp_path)
    assert (doc.title, doc.date, doc.warnings) == ("Café Reopens", "2022-01-31", ())
    assert "café on the corner" in content(doc)


def test_a_page_that_is_only_a_link_is_read_never_fetched(tmp_path: Path) -> None:
    """htmldate takes a string that starts with "http" for an address and downloads it: reading a
    file must never reach the network, whatever the file says."""
    requests: list[str] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html><body><p>Fetched from the network on 2020-02-02.</p></body></html>")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        link = f"http://127.0.0.1:{server.server_port}/article"
        doc = load_document(write(tmp_path, "link.html", link), tmp_path)
    finally:
        server.shutdown()
    assert requests == [], "the page's text was fetched as an address"
    assert link in doc.text and doc.date is None


def test_html_undecodable_bytes_give_a_warning(tmp_path: Path) -> None:
    page = "<html><body><h1>Bad \xff Bytes in “UTF-8”</h1><p>The page has one byte that is not valid UTF-8.</p></body></html>"
    doc = load_document(write(tmp_path, "bad.html", page.encode().replace(b"\xc3\xbf", b"\xff")), tmp_path)
    assert doc.title == "Bad \ufffd Bytes in “UTF-8”"
    assert doc.warnings == (f"bad.html: {REPLACED_WARNING}",)


# ---------------------------------------------------------------- other blogs' furniture

BLOG_POST = """Sunday, March 10, 2024
Posted by admin at 10:32 AM

Harbour Festival Returns After Five Years

IMG_20240310_093215.jpg

Image credit: Harbour Trust

The harbour festival returns this summer for the first time in five years, organisers said on Friday.

Food and Music

Dozens of local restaurants will serve food along the quay, and bands will play on two stages each evening.

Tickets go on sale in April, with free entry for children under twelve.

Share this article
Facebook Twitter Email
Subscribe to our newsletter
Labels: politics, harbour
Comments are closed.
"""


def test_other_blog_furniture_is_dropped_by_general_rules(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "blog/harbour.txt", BLOG_POST), tmp_path)
    assert doc.title == "Harbour Festival Returns After Five Years"
    assert doc.date == "2024-03-10"
    body = content(doc)
    assert body.startswith("The harbour festival returns this summer")
    assert "\n\nFood and Music\n\n" in body
    assert body.endswith("free entry for children under twelve.")
    for furniture in ["Posted by", "IMG_", "Image credit", "Share this", "Facebook", "Subscribe",
                      "Labels", "Comments are closed", "Sunday"]:
        assert furniture not in body, furniture
    assert_spans_valid(doc)


# ---------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_text_file_loads_or_raises_document_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "prop.txt", text)
    try:
        doc = load_document(path, tmp_path)
    except DocumentError:
        return
    assert doc.text == path.read_text(encoding="utf-8", errors="replace")
    assert doc.title and doc.title == doc.title.strip()
    assert doc.date is None or len(doc.date) == 10
    assert_spans_valid(doc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_any_bytes_load_or_raise_document_error(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "prop.txt", data)
    try:
        doc = load_document(path, tmp_path)
    except DocumentError:
        return
    assert doc.text == path.read_text(encoding=encoding_read(doc), errors="replace")
    assert_spans_valid(doc)
