"""Fuzz loading and chunking: any bytes, any text, no crash and no out-of-bounds passage.

`load_document` on arbitrary bytes written as .txt, .md or .html either raises a
DocumentError naming the file or returns a Document whose content spans lie in its text;
chunking that document gives sentence units inside the content and passages whose offsets
cut exactly their text out of the document (and, for .txt/.md, out of the file as
`read_text` gives it), also after the documents.jsonl round trip. Two stricter properties
(units trimmed, passages within the token budget) pin bugs found here, with their examples.
Examples are bounded so the file runs in seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.chunking import TokenCounter, chunk
from qa.documents import Document, load_document
from qa.embedding import Embedder
from qa.errors import DocumentError
from qa.stores.local import StoredDocument

Span = tuple[int, int]

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of real articles and of the things that go wrong in them, mixed with random text.
FRAGMENTS = [
    "Troops Leave Iraq", "\n", "\n\n", "\r\n", "\r", " ", "\t", "\u00a0", "\u2028", "\ufeff", "\x0c",
    "The last troops left the base on Monday morning. ", "Mr. Smith, the U.S. envoy, said so! ", "Why? ", "...",
    "May 2, 2024", "2024-09-14", "Posted on Sept. 14, 2024", "# Heading", "## Sub", "* item", "1. item",
    "---\ntitle: Front\ndate: 2024-01-02\n---\n", "<h1>Head</h1>", "<p>", "</p>", "<br>", "<div>", "</div>",
    "<script>var x = 1;</script>", "<title>T | Site</title>", "<pre>a\n  b</pre>", "<meta charset='latin-1'>",
    "&amp;", "&#x1F600;", "<!--", "-->", "Leave a Reply", "Your email address will not be published.",
    "Share this:", "Click to share on X", "é", "e\u0301", "한국어 문장입니다. ", "库尔德斯坦有多少军队。", "🪖",
    "x" * 300, "https://example.com/" + "a" * 200, "word " * 60,
]
texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=10)), max_size=40).map("".join),
)
raw_bytes = st.one_of(
    st.binary(max_size=400),
    texts.map(lambda t: t.encode("utf-8")),
    st.lists(st.one_of(st.sampled_from([f.encode() for f in FRAGMENTS] + [b"\xff", b"\xe9", b"\x80", b"\x00"]),
                       st.binary(max_size=4)), max_size=40).map(b"".join),
)
suffixes = st.sampled_from([".txt", ".md", ".html"])
budgets = st.integers(min_value=4, max_value=64)
overlaps = st.integers(min_value=0, max_value=2)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def count_tokens(embedder: Embedder) -> TokenCounter:
    """The real model's word-piece counter (the tokenizer only; nothing is embedded)."""
    return embedder.count_tokens


def load(folder: Path, suffix: str, data: bytes) -> Document | None:
    """Load `data` as a file; None after checking that a DocumentError names the file."""
    path = folder / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        return load_document(path, folder)
    except DocumentError as error:
        assert str(error).startswith(f"fuzz{suffix}: ")
        return None


def check_document(doc: Document, suffix: str) -> None:
    """Content spans sorted, disjoint and inside the text; one-line title; ISO date or none."""
    previous_end = 0
    for start, end in doc.content:
        assert previous_end <= start < end <= len(doc.text)
        previous_end = end
    assert doc.title.strip() and "\n" not in doc.title
    assert doc.date is None or (len(doc.date) == 10 and doc.date[4] == doc.date[7] == "-")
    assert doc.source == f"fuzz{suffix}"


def check_chunks(text: str, content: tuple[Span, ...], units: list[Span], passages: list[Span]) -> None:
    """Units are ordered and inside one content span; passages cover all units in order."""
    previous_end = 0
    for start, end in units:
        assert previous_end <= start < end <= len(text) and text[start:end].strip()
        assert any(c_start <= start and end <= c_end for c_start, c_end in content)
        previous_end = end
    if not units:
        assert passages == []
        return
    assert passages[0][0] == 0 and passages[-1][1] == len(units)
    for (first, last), (next_first, _) in zip(passages, passages[1:]):
        assert first < next_first <= last
    assert all(0 <= first < last <= len(units) for first, last in passages)


def stored(doc: Document, units: list[Span], passages: list[Span]) -> StoredDocument:
    """The document as the index writes it and reads it back (documents.jsonl round trip)."""
    written = StoredDocument(source=doc.source, title=doc.title, date=doc.date, hash="0" * 64, text=doc.text,
                             units=tuple(units), passages=tuple(passages), warnings=doc.warnings)
    return StoredDocument.from_json(written.to_json())


@FUZZ
@given(data=raw_bytes, suffix=suffixes, budget=budgets, overlap=overlaps)
def test_any_file_loads_and_chunks_into_in_bounds_passages(folder: Path, count_tokens: TokenCounter, data: bytes,
                                                           suffix: str, budget: int, overlap: int) -> None:
    doc = load(folder, suffix, data)
    if doc is None:
        return
    check_document(doc, suffix)
    units, passages = chunk(doc.text, doc.content, count_tokens, budget, overlap)
    check_chunks(doc.text, doc.content, units, passages)
    back = stored(doc, units, passages)
    read_as = [m[1] for w in doc.warnings if (m := re.search(r"read as (?:[^(;]* \()?([\w-]+)\)?;", w))]
    codec = read_as[0] if read_as else "utf-8"
    file_text = (folder / f"fuzz{suffix}").read_text(encoding=codec, errors="replace") if suffix != ".html" else None
    for i, (first, last) in enumerate(passages):
        start, end = back.passage_span(i)
        passage = back.text[start:end]
        assert passage == doc.text[units[first][0] : units[last - 1][1]]
        assert passage.strip()
        if file_text is not None:
            assert file_text[start:end] == passage


@FUZZ
@given(text=texts, cuts=st.lists(st.integers(min_value=0, max_value=500), max_size=6), budget=budgets,
       overlap=overlaps)
def test_any_text_chunks_into_in_bounds_passages(count_tokens: TokenCounter, text: str, cuts: list[int],
                                                 budget: int, overlap: int) -> None:
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    content = tuple((s, e) for s, e in zip(bounds[::2], bounds[1::2]) if s < e)
    units, passages = chunk(text, content, count_tokens, budget, overlap)
    check_chunks(text, content, units, passages)


@FUZZ
@given(text=texts, suffix=suffixes)
def test_any_text_file_loads_as_read_text_gives_it(folder: Path, text: str, suffix: str) -> None:
    doc = load(folder, suffix, text.encode("utf-8"))
    if doc is None:
        return
    check_document(doc, suffix)
    if suffix != ".html":
        assert doc.text == (folder / f"fuzz{suffix}").read_text(encoding="utf-8")
        assert not doc.warnings


@FUZZ
@given(text=texts, budget=budgets, overlap=overlaps)
@example(text="0::0: 0", budget=4, overlap=0)
def test_every_unit_is_trimmed(count_tokens: TokenCounter, text: str, budget: int, overlap: int) -> None:
    units, _ = chunk(text, ((0, len(text)),), count_tokens, budget, overlap)
    assert all(text[s:e] == text[s:e].strip() for s, e in units)


@FUZZ
@given(text=texts, budget=budgets, overlap=overlaps)
@example(text="한," * 20, budget=16, overlap=0)
@example(text="0J\x1fTORN0", budget=4, overlap=0)  # the tokenizer drops \x1f: "0JTORN0" is one word
def test_every_passage_fits_the_token_budget(count_tokens: TokenCounter, text: str, budget: int, overlap: int) -> None:
    units, passages = chunk(text, ((0, len(text)),), count_tokens, budget, overlap)
    for first, last in passages:
        assert sum(count_tokens([text[s:e] for s, e in units[first:last]])) <= budget
