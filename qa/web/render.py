"""An answer as the chat and the /ask API show it: HTML (escaped; the answering sentence marked,
its answer phrase bold, the source line opening the whole article) and plain markdown.

Pure functions of an `Answer` and the collection's `DocumentInfo`: no server needed.

Example:
    >>> from qa.answers import Answer
    >>> render_answer(Answer("banana bread?", False), {})
    '<div class="qa-answer"><div class="qa-none"><strong>No passage in the articles answers this.</strong></div></div>'
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Mapping

from qa.answers import Answer, AnswerSpan, Passage, PassageGroup, group_passages
from qa.collection import DocumentInfo
from qa.errors import QAError
from qa.web.pdf_pages import Cited, has_page_view

# From this score an answer is shown as sure; below it (and above the threshold) as "not sure".
CONFIDENT = 0.8
NO_ANSWER = "No passage in the articles answers this."
# Passages longer than this show a window around the answering sentence, the rest on request.
PREVIEW_CHARS = 700
CONTEXT_CHARS = 260

# Documents longer than this are shown as a window around the passage in the full view.
DOCUMENT_VIEW_CHARS = 40_000

# Around a cited passage, its article is shown this far either side: every reply carries it,
# and the whole chat history travels with each question, so replies must stay light.
CITED_CONTEXT_CHARS = 6_000


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


def display_date(value: str | None) -> str:
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
    return " · ".join(html.escape(part) for part in (source, display_date(date) or "undated", page) if part)


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
