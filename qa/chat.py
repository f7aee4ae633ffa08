"""The browser chat: a Gradio page over one `QA` collection, plus its /ask and /ask_json API.

`build_app(qa)` returns the page (`gr.Blocks`); `launch_options()` gives what `launch()`
needs for it (local theme font, css, local-only defaults). Everything shown from the
articles (titles, passages, whole documents) goes through `html.escape` first, so an
article that contains `<script>` is displayed as text, never run.

Example:
    >>> from qa import QA
    >>> from qa.chat import build_app, launch_options, warm_up
    >>> qa = QA("sources", "index")                                   # doctest: +SKIP
    >>> warm_up(qa)                                                   # doctest: +SKIP
    >>> build_app(qa).launch(**launch_options())                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import html  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from qa.answers import Answer, AnswerSpan, Passage, PassageGroup, group_passages  # noqa: E402
from qa.dates import date_filter  # noqa: E402
from qa.errors import DocumentError, QAError  # noqa: E402
from qa.pipeline import QA, TRASH, DocumentInfo  # noqa: E402
from qa.progress import IndexStatus  # noqa: E402
from qa.readers import pdf, supported_types  # noqa: E402
from qa.uploads import UPLOAD_LIMITS, check_size, limits_text, safe_name, save_upload  # noqa: E402

log = logging.getLogger("qa")
# From this score an answer is shown as sure; below it (and above the threshold) as "not sure".
CONFIDENT = 0.8

EXAMPLES = (
    "how many troops stay in Kurdistan?",
    "Who is Iraq's defense minister?",
    "How many US troops are in Syria?",
    "When will the coalition troops leave Iraq?",
)
NO_ANSWER = "No passage in the articles answers this."
# Passages longer than this show a window around the answering sentence, the rest on request.
PREVIEW_CHARS = 700
CONTEXT_CHARS = 260


def _static(name: str) -> str:
    """A file of qa/static (the page's CSS and its small scripts, kept as files so they read as such)."""
    return (Path(__file__).parent / "static" / name).read_text(encoding="utf-8").rstrip("\n")


# After a reply, scroll the chat so the question and the top of its answer are in view.
SHOW_REPLY_JS = _static("show-reply.js")
# Documents longer than this are shown as a window around the passage in the full view.
DOCUMENT_VIEW_CHARS = 40_000
# Around a cited passage, its article is shown this far either side: every reply carries it,
# and the whole chat history travels with each question, so replies must stay light.
CITED_CONTEXT_CHARS = 6_000
# The collection list shows this many articles a page; titles are cut for display (CSS then
# keeps each to one line), dropdown labels shorter still.
PAGE_SIZE = 50
TITLE_CHARS = 200
CHOICE_CHARS = 120
# The status line (and a check for a changed collection) every this many seconds; the collection
# itself is read again when the index status changes, and at least every RESCAN_SECONDS (which
# notices files copied into the folder: reading 10,000 file names takes ~0.1 s).
STATUS_SECONDS = 1.5
RESCAN_SECONDS = 5.0
# The article filter offers at most this many articles at a time (a search box finds the others):
# 10,000 choices make the page slow to load and the dropdown slow to open.
FILTER_CHOICES = 200
# An upload waits this long for its indexing: a small article is then listed and askable at once.
UPLOAD_WAIT_SECONDS = 2.0
# The chat kept in the browser (for a reload) holds at most this many turns.
MAX_SAVED_TURNS = 100
# Gradio refuses a file over max_file_size in the browser with one message (a toast) but leaves the
# upload box in an error state: clear that state, so the box takes the next file as usual.
RESET_UPLOAD_JS = _static("reset-upload.js")
# "open" on a PDF citation also shows its page: a click that opens such a citation sends the passage
# (the value of the hidden button in its summary) to the server, as a click event of #qa-page-opener.
OPEN_PAGE_JS = _static("open-page.js")
SHOW_PAGE_JS = _static("show-page.js")
# The last this many cited pages drawn are kept (as PNG files) for when they are shown again.
PAGE_CACHE = 32

CSS = _static("chat.css")


def theme() -> gr.themes.Base:
    """The page theme: the font Gradio bundles (regular and bold only), then system fonts; nothing fetched.

    Example:
        >>> theme().font.startswith("'IBM Plex Sans'")
        True
    """
    return gr.themes.Soft(
        primary_hue="blue",
        neutral_hue="slate",
        font=(gr.themes.LocalFont("IBM Plex Sans", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"),
        font_mono=(gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "monospace"),
    )


def launch_options(host: str = "127.0.0.1", port: int | None = None, auth: tuple[str, str] | None = None,
                   upload_limits: Mapping[str, int] = UPLOAD_LIMITS) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch`: local only, no share link, no SSR, our theme and css,
    and Gradio's own upload limit the largest of ours (`upload_limits`, as `build_app` takes them);
    the check of each upload then applies the limit for its type.

    Example:
        >>> launch_options(port=7860)["server_name"]
        '127.0.0.1'
    """
    return {
        "server_name": host, "server_port": port, "share": False, "ssr_mode": False, "auth": auth,
        "theme": theme(), "css": CSS, "js": RESET_UPLOAD_JS, "max_file_size": max(upload_limits.values()),
        "show_error": True,
    }


def warm_up(qa: QA) -> None:
    """Run one question through the whole pipeline so the first real question is fast.

    Example:
        >>> warm_up(QA("sources", "index"))   # doctest: +SKIP
    """
    try:
        qa.ask("warm up the model", k=1)
    except QAError:
        pass  # an empty collection: nothing to warm, the page says so


# ------------------------------------------------------------------ rendering


def _text(value: str) -> str:
    """Document text as safe HTML on one line: escaped; a line break as <br>, a blank line as a small gap."""
    paragraphs = re.split(r"\n[ \t\u00a0]*\n\s*", html.escape(value.replace("\r", ""), quote=True))
    return '<span class="qa-para"></span>'.join(part.replace("\n", "<br>") for part in paragraphs)


def _marked(text: str, start: int, hl_start: int, hl_end: int, phrase: AnswerSpan | None = None) -> str:
    """`text` (starting at document offset `start`) as HTML with the highlight in <mark>, its answer phrase bold."""
    a, b = max(0, hl_start - start), max(0, min(len(text), hl_end - start))
    if b <= a:
        return _text(text)
    inner = _text(text[a:b])
    if phrase is not None and hl_start <= phrase.start < phrase.end <= hl_end:
        pa, pb = max(a, phrase.start - start), min(b, phrase.end - start)
        if pa < pb:
            inner = f'{_text(text[a:pa])}<strong class="qa-phrase">{_text(text[pa:pb])}</strong>{_text(text[pb:b])}'
    return f"{_text(text[:a])}<mark>{inner}</mark>{_text(text[b:])}"


def _window(text: str, a: int, b: int, context: int, within_paragraph: bool = False) -> tuple[int, int]:
    """Bounds around text[a:b] with about `context` characters each side, cut at spaces;
    `within_paragraph` keeps them inside the paragraph of text[a:b]."""
    floor, ceiling = 0, len(text)
    if within_paragraph:
        floor = text.rfind("\n", 0, a) + 1
        ceiling = text.find("\n", b) if "\n" in text[b:] else len(text)
    lo, hi = max(floor, a - context), min(ceiling, b + context)
    if lo > floor:
        space = text.find(" ", lo)
        lo = space + 1 if 0 <= space < a else lo
    if hi < ceiling:
        space = text.rfind(" ", b, hi)
        hi = space if space > b else hi
    return lo, hi


def _date(value: str | None) -> str:
    """An ISO date as "14 Sep 2024"; "" for none."""
    if not value:
        return ""
    try:
        return dt.date.fromisoformat(value).strftime("%-d %b %Y")
    except ValueError:
        return value


def source_line(source: str, date: str | None, page: str = "") -> str:
    """The muted line under a title: file, date ("undated" when it has none) and page (`Passage.page_label`), escaped.

    Example:
        >>> source_line("a.txt", "2024-09-14")
        'a.txt · 14 Sep 2024'
        >>> source_line("b.pdf", None, "pp. 2–3")
        'b.pdf · undated · pp. 2–3'
    """
    return " · ".join(html.escape(part) for part in (source, _date(date) or "undated", page) if part)


def passage_body(p: Passage) -> str:
    """The passage as HTML: the answering sentence marked; long passages shortened, expandable.

    Example:
        >>> from qa.answers import Passage
        >>> p = Passage("A <b>. Kurds stay.", "a.txt", "T", None, 0, 18, 0.5, "Kurds stay.", 7, 18)
        >>> passage_body(p)
        '<div class="qa-text">A &lt;b&gt;. <mark>Kurds stay.</mark></div>'
    """
    full = _marked(p.text, p.start, p.highlight_start, p.highlight_end, p.answer)
    if len(p.text) <= PREVIEW_CHARS:
        return f'<div class="qa-text">{full}</div>'
    lo, hi = _window(p.text, p.highlight_start - p.start, p.highlight_end - p.start, CONTEXT_CHARS, within_paragraph=True)
    preview = _marked(p.text[lo:hi], p.start + lo, p.highlight_start, p.highlight_end, p.answer)
    before, after = ("… " if lo > 0 else ""), (" …" if hi < len(p.text) else "")
    return (f'<div class="qa-text">{before}{preview}{after}</div>'
            f'<details class="qa-more"><summary>Show the whole passage</summary><div class="qa-text">{full}</div></details>')


def document_view(text: str, start: int | None = None, end: int | None = None,
                  hl_start: int | None = None, hl_end: int | None = None) -> str:
    """A whole document as HTML, with the passage `start:end` tinted and its highlight marked.

    Example:
        >>> document_view("Intro. Kurds stay. End.", 7, 18, 7, 18)
        'Intro. <span class="qa-inpassage"><mark>Kurds stay.</mark></span> End.'
    """
    if start is None or end is None:
        lo, hi = 0, min(len(text), DOCUMENT_VIEW_CHARS)
        cut = f"<br>… ({len(text) - hi:,} more characters)" if hi < len(text) else ""
        return _text(text[lo:hi]) + cut
    lo, hi = _window(text, start, end, CITED_CONTEXT_CHARS)
    head = f"… ({lo:,} characters before) … " if lo else ""
    tail = f" … ({len(text) - hi:,} characters after) …" if hi < len(text) else ""
    passage = _marked(text[start:end], start, hl_start if hl_start is not None else start,
                      hl_end if hl_end is not None else start)
    return f'{head}{_text(text[lo:start])}<span class="qa-inpassage">{passage}</span>{_text(text[end:hi])}{tail}'


# ------------------------------------------------------------------ the cited page of a PDF


def has_page_view(source: str) -> bool:
    """Whether "open" on a passage of `source` also shows its page drawn: a PDF.

    Example:
        >>> has_page_view("report.PDF"), has_page_view("notes.docx")
        (True, False)
    """
    return Path(source).suffix.lower() == ".pdf"


@dataclass(frozen=True)
class Cited:
    """A cited passage as its "open" button names it: the source and the document offsets of the
    passage and of its answering sentence (`token()` and `parse()` write and read that name).

    Example:
        >>> Cited.parse(Cited("a|b.pdf", (10, 90), (40, 60)).token())
        Cited(source='a|b.pdf', passage=(10, 90), sentence=(40, 60))
    """

    source: str
    passage: tuple[int, int]
    sentence: tuple[int, int]

    @classmethod
    def of(cls, p: Passage) -> Cited:
        return cls(p.source, (p.start, p.end), (p.highlight_start, p.highlight_end))

    def token(self) -> str:
        return f"{self.passage[0]}|{self.passage[1]}|{self.sentence[0]}|{self.sentence[1]}|{self.source}"

    @classmethod
    def parse(cls, token: str) -> Cited:
        """The passage a token names; QAError for anything else."""
        *numbers, source = (token or "").split("|", 4)
        if len(numbers) != 4 or not all(n.isdigit() for n in numbers) or not source:
            raise QAError("that citation cannot be opened")
        a, b, c, d = map(int, numbers)
        return cls(source, (a, b), (c, d))


class PageImages:
    """Pages of PDFs drawn on demand with a cited passage marked, kept as PNG files in `folder`: the
    `keep` most recently shown stay, keyed by the file (path, size, time changed), page and passage."""

    def __init__(self, folder: Path, keep: int = PAGE_CACHE) -> None:
        self.folder, self.keep = folder, keep
        self._lock = threading.Lock()  # one drawing at a time (PDFium draws one at a time anyway)

    def draw(self, path: Path, page: int, cited: Cited) -> Path:
        """The PNG of page `page` of the PDF at `path`: the passage in yellow, its answering sentence in orange.
        Raises DocumentError for a page or PDF that cannot be drawn, OSError for a file that cannot be read."""
        stat = path.stat()
        key = repr((str(path), stat.st_size, stat.st_mtime_ns, page, cited.passage, cited.sentence))
        target = self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.png"
        with self._lock:
            if target.exists():
                target.touch()  # recently shown: kept longer
                return target
            png = pdf.render_page(path.read_bytes(), page, [cited.passage], strong=[cited.sentence])
            part = target.with_suffix(".part")
            part.write_bytes(png)
            part.replace(target)
            for old in sorted(self.folder.glob("*.png"), key=lambda f: f.stat().st_mtime_ns)[:-self.keep]:
                old.unlink()
        return target


def _doc_details(p: Passage, document: Callable[[str], str] | None, label: str) -> str:
    """The source line; opening it shows the whole document with the passage marked, and for a PDF
    its page too (the summary's hidden button names the passage: OPEN_PAGE_JS sends it)."""
    if document is None:
        return f'<div class="qa-source">{label}</div>'
    try:
        body = document_view(document(p.source), p.start, p.end, p.highlight_start, p.highlight_end)
    except QAError:
        return f'<div class="qa-source">{label}</div>'
    paged = has_page_view(p.source)
    cite = f'<button hidden class="qa-cite" value="{html.escape(Cited.of(p).token())}"></button>' if paged else ""
    return (f'<details class="qa-doc"><summary class="qa-source">{label} · <span class="qa-open">open '
            f'{"page" if paged else "article"}</span>{cite}</summary><div class="qa-doctext">{body}</div></details>')


def _also(group: PassageGroup, documents: Mapping[str, DocumentInfo], document: Callable[[str], str] | None) -> str:
    """The "also reported by" block: agreeing passages shown, other agreeing articles named."""
    items = []
    for o in group.others:
        label = source_line(o.source, o.date, o.page_label)
        items.append(f'<div><strong>{html.escape(o.title)}</strong> {_doc_details(o, document, label)}'
                     f'<details class="qa-wording"><summary>their passage</summary>{passage_body(o)}</details></div>')
    shown = {group.lead.source, *(o.source for o in group.others)}
    for source in group.lead.also_in:
        if source not in shown and source in documents:
            info = documents[source]
            items.append(f'<div><strong>{html.escape(info.title)}</strong> '
                         f'<span class="qa-source">{source_line(source, info.date)}</span></div>')
    return f'<div class="qa-also">Also reported by {"".join(items)}</div>' if items else ""


def _render_group(n: int, group: PassageGroup, documents: Mapping[str, DocumentInfo],
                  document: Callable[[str], str] | None = None, missed: bool = False) -> str:
    """One cited passage as HTML: [n] title, source line (opens the article), text, agreeing sources."""
    p = group.lead
    unsure = "" if missed or p.score >= CONFIDENT else " · not sure"
    score = f'<span class="qa-score">score {p.score:.2f}{unsure}</span>'
    label = f"{source_line(p.source, p.date, p.page_label)} · {score}"
    phrase = (f'<div class="qa-answer-phrase">Answer: <strong>{html.escape(p.answer.text)}</strong></div>'
              if p.answer is not None and not missed else "")
    return (f'<div class="qa-passage{" qa-miss" if missed else ""}">'
            f'<div class="qa-head"><span class="qa-num">[{n}]</span>{html.escape(p.title)}</div>'
            f'{_doc_details(p, document, label)}{phrase}{passage_body(p)}{_also(group, documents, document)}</div>')


def render_answer(answer: Answer, documents: Mapping[str, DocumentInfo], document: Callable[[str], str] | None = None,
                  scope: str = "") -> str:
    """The chat reply for an answer, as one HTML block (no blank lines, so markdown leaves it alone).

    `documents` maps sources to their info (for "also reported by"); `document(source)`
    gives a document's text for the full view; `scope` describes active filters. The
    answer's notes (how a follow-up was read, undated articles a date filter met) lead.

    Example:
        >>> from qa.answers import Answer
        >>> render_answer(Answer("banana bread?", False), {})
        '<div class="qa-answer"><div class="qa-none"><strong>No passage in the articles answers this.</strong></div></div>'
    """
    parts = [f'<div class="qa-note">{html.escape(line)}</div>' for line in answer.notes()]
    if scope:
        parts.append(f'<div class="qa-note">{html.escape(scope)}</div>')
    if not answer.answered:
        nearest = ('<div class="qa-none-note">The nearest passages are below; they are close in wording, '
                   'but none of them answers the question.</div>') if answer.passages else ""
        unmatched = " No article matches these filters." if scope and not answer.passages else ""
        parts.append(f'<div class="qa-none"><strong>{NO_ANSWER}</strong>{unmatched}{nearest}</div>')
    groups = group_passages(answer.passages)
    parts.extend(_render_group(n, g, documents, document, missed=not answer.answered) for n, g in enumerate(groups, 1))
    return f'<div class="qa-answer">{"".join(parts)}</div>'


def answer_markdown(answer: Answer, documents: Mapping[str, DocumentInfo] | None = None) -> str:
    """The answer as plain markdown (for the /ask API): cited passages, answering sentence in bold.

    `documents` (source -> info) lets "Also reported by" name titles, not only files.

    Example:
        >>> from qa.answers import Answer, Passage
        >>> p = Passage("Kurds stay.", "a.txt", "Title", "2024-09-14", 0, 11, 0.5, "Kurds stay.", 0, 11, ("b.txt",))
        >>> print(answer_markdown(Answer("q?", True, (p,))))
        [1] **Title** — a.txt, 2024-09-14 (score 0.50)
        > **Kurds stay.**
        <BLANKLINE>
        Also reported by: b.txt

    A passage of a paged document (PDF) names its page(s) after the date:
    "— report.pdf, 2024-03-04, p. 2 (score …)".
    """
    titles = {source: info.title for source, info in (documents or {}).items()}
    lines = [f"*{line}*\n" for line in answer.notes()]
    lines += [] if answer.answered else [f"**{NO_ANSWER}**" + (" Nearest passages:" if answer.passages else ""), ""]
    blocks = []
    for n, group in enumerate(group_passages(answer.passages), 1):
        p = group.lead
        titles.update({o.source: o.title for o in group.others})
        a, b = p.highlight_start - p.start, p.highlight_end - p.start
        text = f"{p.text[:a]}**{p.text[a:b]}**{p.text[b:]}" if b > a else p.text
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in html.escape(text, quote=False).strip().split("\n"))
        date = (f", {p.date}" if p.date else ", undated") + (f", {p.page_label}" if p.page_label else "")
        phrase = f"Answer: **{html.escape(p.answer.text)}**\n" if p.answer is not None and answer.answered else ""
        block = f"[{n}] **{html.escape(p.title)}** — {html.escape(p.source)}{date} (score {p.score:.2f})\n{phrase}{quoted}"
        also = dict.fromkeys([*(o.source for o in group.others), *p.also_in])
        if also:
            named = [f"{titles[s]} ({s})" if s in titles else s for s in also]
            block += "\n\nAlso reported by: " + "; ".join(html.escape(name) for name in named)
        blocks.append(block)
    return "\n".join(lines) + "\n\n".join(blocks)


def matching(documents: Sequence[DocumentInfo], query: str = "") -> list[DocumentInfo]:
    """The documents whose title or file holds every word of `query` (any case), newest first.

    Example:
        >>> from qa.pipeline import DocumentInfo
        >>> docs = [DocumentInfo("oslo.txt", "Oslo council", "2024-01-02", 1), DocumentInfo("rome.txt", "Rome", None, 2)]
        >>> [d.source for d in matching(docs)], [d.source for d in matching(docs, "COUNCIL oslo")]
        (['oslo.txt', 'rome.txt'], ['oslo.txt'])
    """
    ordered = sorted(documents, key=lambda d: (d.date or "", d.title), reverse=True)
    words = query.casefold().split()
    return [d for d in ordered if all(w in f"{d.title}\n{d.source}".casefold() for w in words)] if words else ordered


def list_page(found: Sequence[DocumentInfo], page: int) -> tuple[int, list[DocumentInfo]]:
    """Page `page` of `found` (clamped to the pages there are) and its documents, PAGE_SIZE a page.

    Example:
        >>> list_page(list(range(120)), 9)[0], list_page([], 3)
        (2, (0, []))
    """
    last = max(0, (len(found) - 1) // PAGE_SIZE)
    page = min(max(int(page or 0), 0), last)
    return page, list(found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _short(title: str, limit: int = TITLE_CHARS) -> str:
    """A title cut to `limit` characters for display ("…" marks the cut)."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def render_collection(documents: Sequence[DocumentInfo], query: str = "", page: int = 0, indexing: bool = False) -> str:
    """The collection panel: counts, then one page of the documents matching `query`, each with
    its title (cut to one line), file, date, passages and reading warnings. `indexing`: the first
    build runs, so an empty collection is not yet known to be empty.

    Example:
        >>> from qa.pipeline import DocumentInfo
        >>> page = render_collection([DocumentInfo("a.txt", "<b>A</b>", None, 3, ("read as cp1252",))])
        >>> "<strong>1 article</strong>, 3 passages" in page and 'title="&lt;b&gt;A&lt;/b&gt;"' in page
        True
        >>> '<span class="qa-source">a.txt · undated · 3 passages</span><span class="qa-warn">⚠ read as cp1252</span>' in page
        True
    """
    if not documents:
        empty = ("The articles are listed once the first indexing is done." if indexing
                 else f"<strong>No articles yet.</strong> Add {supported_types(' or ')} files above.")
        return f'<div class="qa-collection"><div class="qa-title">{empty}</div></div>'
    found = matching(documents, query)
    page, shown = list_page(found, page)
    head = (f'<div class="qa-title">In the collection: <strong>{_plural(len(documents), "article")}</strong>, '
            f'{_plural(sum(d.passages for d in documents), "passage")}</div>')
    first = page * PAGE_SIZE + 1
    span = f"showing {first:,}–{first + len(shown) - 1:,}"
    if query.strip():
        where = f"“{html.escape(query.strip())}”"
        verb = "matches" if len(found) == 1 else "match"
        head += (f'<div class="qa-range">{_plural(len(found), "article")} {verb} {where}; {span}</div>' if found
                 else f'<div class="qa-range">No article matches {where}.</div>')
    elif len(found) > PAGE_SIZE:
        head += f'<div class="qa-range">{span.capitalize()} of {len(found):,}</div>'
    return f'<div class="qa-collection">{head}<ol start="{first}">{"".join(map(_item, shown))}</ol></div>'


def _item(d: DocumentInfo) -> str:
    """One article of the collection list: its title on one line, file · date · passages, its warnings."""
    title = html.escape(_short(d.title))
    warnings = "".join(f'<span class="qa-warn">⚠ {html.escape(w)}</span>' for w in d.warnings)
    return (f'<li><span class="qa-item" title="{title}">{title}</span><span class="qa-source">'
            f'{source_line(d.source, d.date)} · {_plural(d.passages, "passage")}</span>{warnings}</li>')


def _choices(documents: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """Dropdown choices: a readable label ("Title (14 Sep 2024)") for each source path, by title."""
    return [(_short(f"{d.title} ({_date(d.date)})" if d.date else d.title, CHOICE_CHARS), d.source)
            for d in sorted(documents, key=lambda d: d.title.lower())]


def collection_signature(documents: Sequence[DocumentInfo]) -> int:
    """A number that changes when the collection does (files, titles, dates, passages, warnings)."""
    return hash(tuple((d.source, d.title, d.date, d.passages, d.warnings) for d in documents))


def _status_key(status: IndexStatus) -> tuple:
    """What changes in the status when the collection may have: an update starting or ending, counts, errors."""
    return status.indexing, status.documents, status.passages, id(status.report), status.error


def filter_choices(documents: Sequence[DocumentInfo], query: str, chosen: Sequence[str]) -> list[tuple[str, str]]:
    """The article filter's choices: the chosen articles and up to FILTER_CHOICES (newest first) matching `query`.

    Example:
        >>> from qa.pipeline import DocumentInfo
        >>> docs = [DocumentInfo("oslo.txt", "Oslo", "2024-01-02", 1), DocumentInfo("rome.txt", "Rome", None, 2)]
        >>> filter_choices(docs, "oslo", ["rome.txt"])
        [('Oslo (2 Jan 2024)', 'oslo.txt'), ('Rome', 'rome.txt')]
    """
    found = matching(documents, query)[:FILTER_CHOICES]
    picked = set(chosen) - {d.source for d in found}
    return _choices([*found, *(d for d in documents if d.source in picked)])


def status_line(status: IndexStatus) -> str:
    """The index status as one escaped line of HTML ("15 articles, 1,234 passages; up to date")."""
    kind = "qa-busy" if status.indexing else "qa-error" if status.error else "qa-idle"
    return f'<div class="qa-status-line {kind}">{html.escape(str(status))}</div>'


def _scope(sources: Sequence[str], since: str | None, until: str | None, total: int) -> str:
    """A short description of active filters ("" when the whole collection is searched)."""
    parts = []
    if sources:
        parts.append(f"{len(sources)} of {total} articles")
    if since or until:
        parts.append(f"dated {since or 'any time'} to {until or 'now'}")
    return ("Searched only " + ", ".join(parts) + ".") if parts else ""


# ------------------------------------------------------------------ the conversation, kept and exported

# A turn of the chat as the browser keeps it: {"question", "answer": Answer.to_dict(), "scope"} or {"question", "error"}.
Turn = dict[str, Any]


def answer_from_dict(data: Mapping[str, Any]) -> Answer:
    """The `Answer` whose `to_dict()` gave `data` (a conversation restored from the browser).

    Example:
        >>> from qa.answers import Answer, Passage
        >>> a = Answer("q?", True, (Passage("x", "a.txt", "T", None, 0, 1, 0.5, "x", 0, 1, ("b.txt",)),))
        >>> answer_from_dict(a.to_dict()) == a
        True
    """
    passages = tuple(Passage(**{**p, "also_in": tuple(p["also_in"]),
                                "answer": AnswerSpan(**p["answer"]) if p.get("answer") else None})
                     for p in data["passages"])
    return Answer(**{**data, "passages": passages})


def asked(turns: Sequence[Turn]) -> list[str]:
    """The questions of the answered turns, as they were read: the history a follow-up is read against."""
    return [turn["answer"]["understood_as"] for turn in turns if "answer" in turn]


def render_turn(turn: Turn, documents: Mapping[str, DocumentInfo], document: Callable[[str], str] | None = None) -> str:
    """A turn's reply as the chat shows it: the rendered answer, or the reason it was not answered."""
    if "error" in turn:
        return f'<div class="qa-answer qa-error">{html.escape(turn["error"])}</div>'
    return render_answer(answer_from_dict(turn["answer"]), documents, document, turn.get("scope", ""))


def export_markdown(turns: Sequence[Turn], documents: Mapping[str, DocumentInfo] | None = None) -> str:
    """The conversation as Markdown: each question, its answer as /ask gives it, and where each cited
    passage is (`Passage.location()`: title, file, date, page where the format has pages, character offsets).

    Example:
        >>> print(export_markdown([{"question": "when?", "error": "the question is empty"}]))
        # Ask the articles: conversation
        <BLANKLINE>
        ## 1. when?
        <BLANKLINE>
        *Not answered: the question is empty*
        <BLANKLINE>
    """
    lines = ["# Ask the articles: conversation", ""]
    for n, turn in enumerate(turns, 1):
        lines += [f"## {n}. {turn['question']}", ""]
        if "error" in turn:
            lines += [f"*Not answered: {turn['error']}*", ""]
            continue
        answer = answer_from_dict(turn["answer"])
        lines += [f"*{turn['scope']}*", ""] if turn.get("scope") else []
        lines += [answer_markdown(answer, documents), "", "Cited:" if answer.answered else "Nearest passages:"]
        lines += [f"- {p.location()}" for p in answer.passages] + [""]
    return "\n".join(lines)


def _write_export(folder: Path, turns: Sequence[Turn], documents: Mapping[str, DocumentInfo]) -> str | None:
    """The conversation's Markdown written under `folder` (files older than an hour go); None for no turns."""
    if not turns:
        return None
    text = export_markdown(turns, documents)
    for old in folder.glob("*.md"):
        if time.time() - old.stat().st_mtime > 3600:
            old.unlink(missing_ok=True)
    target = folder / f"qa-chat-{hashlib.sha256(text.encode()).hexdigest()[:12]}.md"
    target.write_text(text, encoding="utf-8")
    return str(target)


# ------------------------------------------------------------------ the page


def _upload_status(saved: Sequence[str], problems: Sequence[str], documents: Mapping[str, DocumentInfo]) -> str:
    """What happened to each uploaded file, as HTML: indexed already, or being indexed."""
    lines = []
    for source in saved:
        info = documents.get(source)
        what = (f"“{html.escape(_short(info.title))}” ({_plural(info.passages, 'passage')}). Ask about it now." if info
                else "indexing it now; it is listed when done (see the status line).")
        lines.append(f'<div class="qa-ok">Added {html.escape(source)}: {what}</div>')
    lines.extend(f'<div class="qa-error">Not added: {html.escape(problem)}</div>' for problem in problems)
    return "".join(lines)


def build_app(qa: QA, *, examples: Sequence[str] = EXAMPLES, k: int = 4,
              upload_limits: Mapping[str, int] = UPLOAD_LIMITS) -> gr.Blocks:
    """The chat page over `qa`, with /ask (markdown), /ask_json (structured) and /status API endpoints.

    The status line, collection list, reader and article filter follow the collection as it
    changes (a timer checks it); the chat is kept in the browser and survives a reload. "open"
    on a PDF citation shows the page of its answering sentence drawn, with the passage marked,
    beside the chat. `upload_limits`: bytes allowed per suffix.

    Example:
        >>> app = build_app(QA("sources", "index"))                    # doctest: +SKIP
        >>> app.launch(**launch_options(port=7860))                    # doctest: +SKIP
    """
    exports = Path(tempfile.mkdtemp(prefix="qa-export-"))
    page_images = PageImages(Path(tempfile.mkdtemp(prefix="qa-pages-")))

    shared: dict[str, Any] = {"key": None, "at": 0.0, "docs": [], "signature": None}

    def info() -> dict[str, DocumentInfo]:
        return {d.source: d for d in qa.documents()}

    def current() -> tuple[list[DocumentInfo], int]:
        """The collection and its signature, shared by every open page: read again when the index
        status changes and at least every RESCAN_SECONDS."""
        key = _status_key(qa.status())
        if key != shared["key"] or time.monotonic() - shared["at"] >= RESCAN_SECONDS:
            docs = qa.documents()  # also notices files added to or removed from the folder
            shared.update(key=key, at=time.monotonic(), docs=docs, signature=collection_signature(docs))
        return shared["docs"], shared["signature"]

    def collection_view(docs: Sequence[DocumentInfo], query: str, page: int, reader: str | None) -> tuple[str, Any, int]:
        """The list page, the reader's choices (that page, and the article being read) and the page shown."""
        page, shown = list_page(matching(docs, query or ""), page)
        current = [d for d in docs if d.source == reader]
        choices = _choices([*shown, *(d for d in current if d not in shown)])
        shown_html = render_collection(docs, query or "", page, indexing=qa.indexing)
        return shown_html, gr.update(choices=choices, value=reader if current else None), page

    def filter_update(docs: Sequence[DocumentInfo], find: str, chosen: list[str] | None) -> dict[str, Any]:
        """The article filter's choices; articles no longer in the collection leave its selection."""
        sources = {d.source for d in docs}
        kept = [s for s in chosen or [] if s in sources]
        update = gr.update(choices=filter_choices(docs, find or "", kept))
        if kept != list(chosen or []):
            update["value"] = kept
        return update

    def refresh(last: int | None, query: str, page: int, reader: str | None, find: str,
                chosen: list[str] | None) -> tuple[Any, ...]:
        """The status line; the list, reader and filter too when the collection changed since `last`."""
        docs, signature = current()
        line = status_line(qa.status())
        if signature == last:
            return line, gr.skip(), gr.skip(), gr.skip(), gr.skip(), last
        return (line, *collection_view(docs, query, page, reader), filter_update(docs, find, chosen), signature)

    def browse(query: str, page: int, reader: str | None) -> tuple[str, Any, int]:
        return collection_view(current()[0], query, page, reader)

    def add_question(message: str, history: list[dict]) -> tuple[str, list[dict], str]:
        message = (message or "").strip()
        if not message:
            return "", history, ""
        return "", [*history, {"role": "user", "content": message}], message

    def reply(question: str, history: list[dict], turns: list[Turn], sources: list[str] | None,
              since: str, until: str, undated: bool, count: float) -> tuple[Any, ...]:
        if not question:
            return history, turns, gr.skip()
        docs = info()
        try:
            start, end = date_filter(since, "from"), date_filter(until, "to")
            answer = qa.ask(question, k=int(count), sources=sources or None, since=start, until=end,
                            include_undated=bool(undated), history=asked(turns))
            turn = {"question": question, "answer": answer.to_dict(), "scope": _scope(sources or [], start, end, len(docs))}
        except QAError as exc:
            log.warning("question not answered: %s", exc)
            turn = {"question": question, "error": str(exc)}
        turns = [*turns, turn][-MAX_SAVED_TURNS:]
        body = render_turn(turn, docs, qa.document_text)
        return [*history, {"role": "assistant", "content": body}], turns, export(turns, docs)

    def export(turns: Sequence[Turn], docs: Mapping[str, DocumentInfo]) -> dict[str, Any]:
        path = _write_export(exports, turns, docs)
        return gr.update(value=path, interactive=path is not None)

    def restore(turns: list[Turn] | None) -> tuple[list[dict], dict[str, Any]]:
        """The chat kept in this browser, shown again after a reload."""
        docs, history, kept = info(), [], []
        for turn in turns if isinstance(turns, list) else []:
            try:
                body = render_turn(turn, docs, qa.document_text)
            except (KeyError, TypeError, ValueError):
                continue  # kept by an older version of the page: dropped
            history += [{"role": "user", "content": turn["question"]}, {"role": "assistant", "content": body}]
            kept.append(turn)
        return history, export(kept, docs)

    def show_document(source: str | None) -> tuple[str, str, Any]:
        """The article picked in the reader; a removal asked for another article is called off."""
        try:
            shown = f'<div class="qa-docview">{document_view(qa.document_text(source))}</div>' if source else ""
        except QAError as exc:
            shown = f'<div class="qa-error">{html.escape(str(exc))}</div>'
        return shown, "", gr.update(visible=False)

    def add_files(files: list[str] | None) -> tuple[str, str, None]:
        """Save the uploads, start indexing them and wait a moment: a small article is ready at once."""
        saved, problems = [], []
        for upload in files or []:
            path = Path(upload)
            try:
                check_size(safe_name(path.name), path.stat().st_size, upload_limits)  # before reading it
                target = save_upload(qa.sources, path.name, path.read_bytes(), limits=upload_limits)
                saved.append(target.relative_to(qa.sources).as_posix())
            except (DocumentError, OSError) as exc:
                problems.append(str(exc))
        if saved:
            qa.start_update()
            qa.wait(UPLOAD_WAIT_SECONDS)
        return _upload_status(saved, problems, info() if saved else {}), status_line(qa.status()), None

    def show_page(token: str, page: int | None = None, count: int = 0) -> tuple[Any, ...]:
        """The page viewer for the cited passage `token` names: heading, page buttons, the page drawn
        (`page` of `count`, else the page of the answering sentence) and what it shows (for the page buttons)."""
        off = gr.update(interactive=False)
        try:
            cited = Cited.parse(token)
            docs = {d.source: d for d in current()[0]}
            if cited.source not in docs or not has_page_view(cited.source):
                raise QAError(f"{cited.source} is not a PDF in the collection")
            path = qa.sources / cited.source
            if page is None:
                data = path.read_bytes()
                page, count = pdf.page_of(data, cited.sentence[0]), pdf.page_count(data)
            image = page_images.draw(path, page, cited)
        except QAError as exc:
            return gr.update(visible=True), f'<div class="qa-error">{html.escape(str(exc))}</div>', None, off, off, None
        except OSError as exc:
            problem = html.escape(f"{cited.source} cannot be read ({exc.strerror or exc})")
            return gr.update(visible=True), f'<div class="qa-error">{problem}</div>', None, off, off, None
        key = ('<span class="qa-key qa-key-passage">the passage</span> '
               '<span class="qa-key qa-key-sentence">the answering sentence</span>')
        head = (f'<div class="qa-head">{html.escape(_short(docs[cited.source].title))}</div>'
                f'<div class="qa-source">{html.escape(cited.source)} · page {page} of {count} · {key}</div>')
        return (gr.update(visible=True), head, str(image), gr.update(interactive=page > 1),
                gr.update(interactive=page < count), {"cite": token, "page": page, "pages": count})

    def open_page(event: gr.EventData) -> tuple[Any, ...]:
        return show_page(getattr(event, "cite", ""))

    def turn_page(shown: dict[str, Any] | None, step: int) -> tuple[Any, ...]:
        if not shown:
            return (gr.skip(),) * 6
        return show_page(shown["cite"], min(max(shown["page"] + step, 1), shown["pages"]), shown["pages"])

    def ask_remove(source: str | None) -> tuple[str, Any]:
        docs = info()
        if source not in docs:
            return '<div class="qa-error">Pick an article first.</div>', gr.update(visible=False)
        title, where = html.escape(_short(docs[source].title)), html.escape((qa.sources / TRASH).as_posix())
        note = f'Remove “{title}” ({html.escape(source)})? The file is moved to {where}; nothing is deleted.'
        return f'<div class="qa-note">{note}</div>', gr.update(visible=True)

    def confirm_remove(source: str | None, query: str, page: int, find: str, chosen: list[str] | None) -> tuple[Any, ...]:
        try:
            target = qa.remove(source or "")
            note = f'<div class="qa-ok">Moved {html.escape(source or "")} to {html.escape(target.as_posix())}.</div>'
        except QAError as exc:
            note = f'<div class="qa-error">{html.escape(str(exc))}</div>'
        return (note, gr.update(visible=False), *refresh(None, query, page, None, find, chosen))

    def reindex(source: str | None) -> tuple[str, str]:
        try:
            qa.reindex(source or "")
            note = f'<div class="qa-ok">Reading {html.escape(source or "")} again; the status line shows the progress.</div>'
        except QAError as exc:
            note = f'<div class="qa-error">{html.escape(str(exc))}</div>'
        return note, status_line(qa.status())

    # Uploaded files are copied into the sources folder; Gradio's own copies are dropped hourly.
    with gr.Blocks(title="Ask the articles", delete_cache=(3600, 3600)) as app:
        saved = gr.BrowserState([], storage_key="qa-chat")
        pending = gr.State("")
        signature, page_no = gr.State(None), gr.State(0)
        gr.Markdown("## Ask the articles\nAsk a question in plain words: the answer is the passages that say it, "
                    "each with its source. Follow-up questions such as *“and in Syria?”* are understood.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):
                chat = gr.Chatbot(show_label=False, height=560, latex_delimiters=[], feedback_options=None,
                                  placeholder="Answers appear here, with their sources.", elem_id="qa-chat",
                                  layout="panel", buttons=[], autoscroll=False)
                with gr.Row():
                    box = gr.Textbox(show_label=False, placeholder="Ask the articles a question…", scale=5,
                                     elem_id="qa-question", autofocus=True, max_lines=3)
                    ask_button = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-ask")
                    clear = gr.Button("Clear", scale=1, min_width=80, elem_id="qa-clear")
                download = gr.DownloadButton("Export chat (Markdown)", value=None, interactive=False, size="sm",
                                             elem_id="qa-export")
                with gr.Accordion("Filters", open=False):
                    find = gr.Textbox(show_label=False, placeholder="Find articles to choose from: title or file…",
                                      elem_id="qa-filter-find", max_lines=1)
                    chosen = gr.Dropdown(choices=[], multiselect=True, label="Only these articles",
                                         info=f"Leave empty to search them all. Offers {FILTER_CHOICES} articles at "
                                              "most, the newest: find others with the box above.",
                                         elem_id="qa-filter-sources")
                    with gr.Row():
                        since = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", elem_id="qa-since")
                        until = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="qa-until")
                    undated = gr.Checkbox(value=True, label="Include undated articles in a date filter",
                                          elem_id="qa-undated")
                    count = gr.Slider(1, 10, value=k, step=1, label="Passages to show")
                example_set = gr.Examples([[q] for q in examples], inputs=[box], label="Try asking")
            with gr.Column(scale=2, min_width=300):
                with gr.Column(visible=False, variant="panel", elem_id="qa-page-view") as viewer:
                    page_head = gr.HTML(elem_id="qa-page-head")
                    with gr.Row():
                        page_prev = gr.Button("← Previous page", size="sm", min_width=60, elem_id="qa-page-prev")
                        page_next = gr.Button("Next page →", size="sm", min_width=60, elem_id="qa-page-next")
                        page_close = gr.Button("Close", size="sm", min_width=60, elem_id="qa-page-close")
                    page_image = gr.Image(show_label=False, interactive=False, type="filepath", elem_id="qa-page-image",
                                          buttons=["fullscreen"], alt_text="The cited page, the passage marked")
                opener = gr.HTML("", js_on_load=OPEN_PAGE_JS, elem_id="qa-page-opener")
                status = gr.HTML(status_line(qa.status()), elem_id="qa-status")
                files = gr.File(label=f"Add articles ({supported_types()}; {limits_text(upload_limits)})",
                                file_count="multiple", type="filepath", elem_id="qa-upload", height=140)
                upload_note = gr.HTML(elem_id="qa-upload-status")
                search = gr.Textbox(show_label=False, placeholder="Search the collection by title or file…",
                                    elem_id="qa-search", max_lines=1)
                collection = gr.HTML('<div class="qa-collection">Loading the collection…</div>', elem_id="qa-collection")
                with gr.Row():
                    previous = gr.Button("← Previous", size="sm", elem_id="qa-prev")
                    following = gr.Button("Next →", size="sm", elem_id="qa-next")
                with gr.Accordion("Read or manage an article", open=False):
                    reader = gr.Dropdown(choices=[], label="Article (from the list above; search it to narrow)",
                                         elem_id="qa-reader")
                    with gr.Row():
                        reindex_button = gr.Button("Re-index", size="sm", elem_id="qa-reindex")
                        remove_button = gr.Button("Remove", size="sm", variant="stop", elem_id="qa-remove")
                        confirm = gr.Button("Confirm remove", size="sm", variant="stop", visible=False,
                                            elem_id="qa-confirm-remove")
                    manage_note = gr.HTML(elem_id="qa-manage-status")
                    article_view = gr.HTML(elem_id="qa-document")
        timer = gr.Timer(STATUS_SECONDS)
        shown_page = gr.State(None)

        private = {"api_visibility": "private"}
        quiet = {"api_visibility": "private", "show_progress": "hidden"}
        ask_inputs = [pending, chat, saved, chosen, since, until, undated, count]
        for trigger in (box.submit, ask_button.click, example_set.load_input_event.then):
            trigger(add_question, [box, chat], [box, chat, pending], queue=False, **private).then(
                reply, ask_inputs, [chat, saved, download], **private).then(None, js=SHOW_REPLY_JS, **private)
        clear.click(lambda: ([], [], "", gr.update(value=None, interactive=False)), None, [chat, saved, box, download],
                    queue=False, **private)

        watched = [signature, search, page_no, reader, find, chosen]
        shown = [status, collection, reader, page_no, chosen, signature]
        app.load(restore, [saved], [chat, download], **private)
        app.load(refresh, watched, shown, **quiet)
        timer.tick(refresh, watched, shown, **quiet)
        listing = [collection, reader, page_no]
        search.change(lambda q, r: browse(q, 0, r), [search, reader], listing, **quiet)
        previous.click(lambda q, n, r: browse(q, n - 1, r), [search, page_no, reader], listing, **quiet)
        following.click(lambda q, n, r: browse(q, n + 1, r), [search, page_no, reader], listing, **quiet)
        find.change(lambda q, c: filter_update(current()[0], q, c), [find, chosen], [chosen], **quiet)

        files.upload(add_files, [files], [upload_note, status, files], **private)
        reader.change(show_document, [reader], [article_view, manage_note, confirm], **private)
        remove_button.click(ask_remove, [reader], [manage_note, confirm], **private)
        confirm.click(confirm_remove, [reader, search, page_no, find, chosen], [manage_note, confirm, *shown], **private)
        reindex_button.click(reindex, [reader], [manage_note, status], **private)
        viewing = [viewer, page_head, page_image, page_prev, page_next, shown_page]
        opener.click(open_page, None, viewing, **private).then(None, js=SHOW_PAGE_JS, **private)
        page_prev.click(lambda shown: turn_page(shown, -1), [shown_page], viewing, **private)
        page_next.click(lambda shown: turn_page(shown, 1), [shown_page], viewing, **private)
        page_close.click(lambda: (gr.update(visible=False), None), None, [viewer, shown_page], queue=False, **private)

        def ask(question: str, k: int = 5, sources: list[str] | None = None, since: str | None = None,
                until: str | None = None, history: list[str] | None = None, include_undated: bool = True) -> str:
            """Ask the articles; returns the cited passages as markdown.

            `history`: the questions asked before in this conversation, oldest first.
            """
            return answer_markdown(_ask(question, k, sources, since, until, history, include_undated), info())

        def ask_json(question: str, k: int = 5, sources: list[str] | None = None, since: str | None = None,
                     until: str | None = None, history: list[str] | None = None, include_undated: bool = True) -> dict:
            """Ask the articles; returns the answer as data: passages with source, title, date and offsets.

            `history`: the questions asked before in this conversation, oldest first.
            """
            return _ask(question, k, sources, since, until, history, include_undated).to_dict()

        def _ask(question: str, k: int, sources: list[str] | None, since: str | None, until: str | None,
                 history: list[str] | None, include_undated: bool) -> Answer:
            try:
                return qa.ask(question, k=k, sources=sources or None, since=since,
                              until=until, include_undated=include_undated, history=history or ())
            except QAError as exc:
                log.warning("question not answered: %s", exc)  # one line: a refused question is no server fault
                raise gr.Error(str(exc), print_exception=False) from exc

        def index_status() -> str:
            """The index in one line: "15 articles, 1,234 passages; up to date", or how far indexing has got."""
            return str(qa.status())

        gr.api(ask, api_name="ask")
        gr.api(ask_json, api_name="ask_json")
        gr.api(index_status, api_name="status")
    return app
