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

import os

for _name, _value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1")):
    os.environ.setdefault(_name, _value)

import datetime as dt  # noqa: E402
import html  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from qa.answers import Answer, AnswerSpan, Passage  # noqa: E402
from qa.errors import DocumentError, QAError  # noqa: E402
from qa.pipeline import QA, DocumentInfo  # noqa: E402
from qa.uploads import MAX_UPLOAD_BYTES, save_upload  # noqa: E402

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
# After a reply, scroll the chat so the question and the top of its answer are in view.
SHOW_REPLY_JS = """() => setTimeout(() => {
  const answers = document.querySelectorAll('#qa-chat .qa-answer');
  const last = answers[answers.length - 1];
  let box = last && last.parentElement;
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 90;
}, 60)"""
# Documents longer than this are shown as a window around the passage in the full view.
DOCUMENT_VIEW_CHARS = 40_000
# Around a cited passage, its article is shown this far either side: every reply carries it,
# and the whole chat history travels with each question, so replies must stay light.
CITED_CONTEXT_CHARS = 6_000

CSS = """
.qa-answer { line-height: 1.55; }
.qa-answer p { margin: 0; }
.qa-note { color: var(--body-text-color-subdued); font-size: 0.9em; margin-bottom: 0.4em; }
.qa-none { border-left: 3px solid #d97706; background: rgba(217, 119, 6, 0.09); padding: 0.45em 0.75em;
           margin-bottom: 0.6em; border-radius: 4px; }
.qa-none-note { color: var(--body-text-color-subdued); font-size: 0.9em; }
.qa-passage { padding: 0.55em 0 0.65em; }
.qa-passage + .qa-passage { border-top: 1px solid var(--border-color-primary); }
.qa-miss .qa-text { color: var(--body-text-color-subdued); }
.qa-head { font-weight: 700; font-size: 1.02em; }
.qa-num { color: var(--color-accent); margin-right: 0.35em; }
.qa-source { color: var(--body-text-color-subdued); font-size: 0.85em; }
details.qa-doc > summary, details.qa-more > summary, details.qa-wording > summary { cursor: pointer; }
.qa-open { text-decoration: underline; }
.qa-score { opacity: 0.75; }
.qa-text { margin-top: 0.3em; }
.qa-para { display: block; height: 0.55em; }
.qa-answer mark, .qa-docview mark { background: #fde68a; color: #1f2937; padding: 0 0.12em; border-radius: 2px; }
.qa-inpassage { background: rgba(59, 130, 246, 0.13); }
.qa-doctext { max-height: 22em; overflow: auto; font-size: 0.9em; padding: 0.6em 0.8em; margin-top: 0.3em;
              background: var(--background-fill-secondary); border-radius: 6px; }
details.qa-more > summary, details.qa-wording > summary { color: var(--body-text-color-subdued); font-size: 0.85em; }
.qa-also { font-size: 0.92em; margin-top: 0.45em; padding-left: 0.7em; border-left: 2px solid var(--border-color-primary); }
.qa-error { color: #b91c1c; }
.qa-answer-phrase { margin-top: 0.3em; }
.qa-phrase { font-weight: 700; }
.qa-ok { color: #15803d; }
.qa-collection { padding: 0.2em 0.2em 0; }
.qa-collection .qa-title { font-size: 1.05em; }
.qa-collection ol { margin: 0.3em 0 0 1.2em; padding: 0; }
.qa-collection li { margin-bottom: 0.35em; line-height: 1.35; }
.qa-collection .qa-source { display: block; }
.qa-docview { max-height: 30em; overflow: auto; font-size: 0.92em; line-height: 1.5; }
"""


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
                   upload_limit: int = MAX_UPLOAD_BYTES) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch`: local only, no share link, no SSR, our theme and css.

    Example:
        >>> launch_options(port=7860)["server_name"]
        '127.0.0.1'
    """
    return {
        "server_name": host, "server_port": port, "share": False, "ssr_mode": False, "auth": auth,
        "theme": theme(), "css": CSS, "max_file_size": 4 * upload_limit, "show_error": True,
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


def source_line(source: str, date: str | None) -> str:
    """The muted line under a title: file and date ("undated" when it has none), escaped.

    Example:
        >>> source_line("a.txt", "2024-09-14")
        'a.txt · 14 Sep 2024'
        >>> source_line("b.txt", None)
        'b.txt · undated'
    """
    return " · ".join(html.escape(part) for part in (source, _date(date) or "undated") if part)


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
    passage = _marked(text[start:end], start, hl_start if hl_start is not None else start, hl_end if hl_end is not None else start)
    return f'{head}{_text(text[lo:start])}<span class="qa-inpassage">{passage}</span>{_text(text[end:hi])}{tail}'


@dataclass
class _Group:
    """Passages that say the same thing: the best one leads, the others are "also reported by"."""

    lead: Passage
    others: list[Passage] = field(default_factory=list)

    def takes(self, p: Passage) -> bool:
        sources = {self.lead.source, *(o.source for o in self.others)}
        agree = p.source in self.lead.also_in or self.lead.source in p.also_in
        return agree and p.source not in sources


def group_passages(passages: Sequence[Passage]) -> list[_Group]:
    """Passages in answer order, each joined to the first better passage of another article that agrees.

    Example:
        >>> from qa.answers import Passage
        >>> a = Passage("x", "a.txt", "A", None, 0, 1, 0.9, "x", 0, 1, also_in=("b.txt",))
        >>> b = Passage("y", "b.txt", "B", None, 0, 1, 0.8, "y", 0, 1, also_in=("a.txt",))
        >>> [(g.lead.source, [o.source for o in g.others]) for g in group_passages([a, b])]
        [('a.txt', ['b.txt'])]
    """
    groups: list[_Group] = []
    for p in passages:
        home = next((g for g in groups if g.takes(p)), None)
        if home is None:
            groups.append(_Group(p))
        else:
            home.others.append(p)
    return groups


def _doc_details(p: Passage, document: Callable[[str], str] | None, label: str) -> str:
    """The source line; opening it shows the whole document with the passage marked."""
    if document is None:
        return f'<div class="qa-source">{label}</div>'
    try:
        body = document_view(document(p.source), p.start, p.end, p.highlight_start, p.highlight_end)
    except QAError:
        return f'<div class="qa-source">{label}</div>'
    return (f'<details class="qa-doc"><summary class="qa-source">{label} · <span class="qa-open">open article</span>'
            f'</summary><div class="qa-doctext">{body}</div></details>')


def _also(group: _Group, documents: Mapping[str, DocumentInfo], document: Callable[[str], str] | None) -> str:
    """The "also reported by" block: agreeing passages shown, other agreeing articles named."""
    items = []
    for o in group.others:
        label = source_line(o.source, o.date)
        items.append(f'<div><strong>{html.escape(o.title)}</strong> {_doc_details(o, document, label)}'
                     f'<details class="qa-wording"><summary>their passage</summary>{passage_body(o)}</details></div>')
    shown = {group.lead.source, *(o.source for o in group.others)}
    for source in group.lead.also_in:
        if source not in shown and source in documents:
            info = documents[source]
            items.append(f'<div><strong>{html.escape(info.title)}</strong> '
                         f'<span class="qa-source">{source_line(source, info.date)}</span></div>')
    return f'<div class="qa-also">Also reported by {"".join(items)}</div>' if items else ""


def _render_group(n: int, group: _Group, documents: Mapping[str, DocumentInfo],
                  document: Callable[[str], str] | None = None, missed: bool = False) -> str:
    """One cited passage as HTML: [n] title, source line (opens the article), text, agreeing sources."""
    p = group.lead
    unsure = "" if missed or p.score >= CONFIDENT else " · not sure"
    label = f'{source_line(p.source, p.date)} · <span class="qa-score">score {p.score:.2f}{unsure}</span>'
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
        date = f", {p.date}" if p.date else ", undated"
        phrase = f"Answer: **{html.escape(p.answer.text)}**\n" if p.answer is not None and answer.answered else ""
        block = f"[{n}] **{html.escape(p.title)}** — {html.escape(p.source)}{date} (score {p.score:.2f})\n{phrase}{quoted}"
        also = dict.fromkeys([*(o.source for o in group.others), *p.also_in])
        if also:
            named = [f"{titles[s]} ({s})" if s in titles else s for s in also]
            block += "\n\nAlso reported by: " + "; ".join(html.escape(name) for name in named)
        blocks.append(block)
    return "\n".join(lines) + "\n\n".join(blocks)


def render_collection(documents: Sequence[DocumentInfo]) -> str:
    """The collection panel: how many articles, then each title with its file and date.

    Example:
        >>> from qa.pipeline import DocumentInfo
        >>> render_collection([DocumentInfo("a.txt", "<b>A</b>", None, 3)])
        '<div class="qa-collection"><div class="qa-title">In the collection: <strong>1 article</strong></div><ol><li>&lt;b&gt;A&lt;/b&gt;<span class="qa-source">a.txt · undated · 3 passages</span></li></ol></div>'
    """
    if not documents:
        return '<div class="qa-collection"><div class="qa-title"><strong>No articles yet.</strong> Add .txt, .md or .html files below.</div></div>'
    ordered = sorted(documents, key=lambda d: (d.date or "", d.title), reverse=True)
    items = "".join(
        f'<li>{html.escape(d.title)}<span class="qa-source">{source_line(d.source, d.date)} · '
        f'{d.passages} passage{"s" if d.passages != 1 else ""}</span></li>' for d in ordered)
    count = f'{len(documents)} article{"s" if len(documents) != 1 else ""}'
    return f'<div class="qa-collection"><div class="qa-title">In the collection: <strong>{count}</strong></div><ol>{items}</ol></div>'


def _choices(documents: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """Dropdown choices: a readable label ("Title (14 Sep 2024)") for each source path."""
    return [(f"{d.title} ({_date(d.date)})" if d.date else d.title, d.source) for d in sorted(documents, key=lambda d: d.title.lower())]


def _iso(value: str | None, label: str) -> str | None:
    """A date filter as ISO text, None when blank; QAError for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise QAError(f"the {label} date {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-09-01") from exc


def _scope(sources: Sequence[str], since: str | None, until: str | None, total: int) -> str:
    """A short description of active filters ("" when the whole collection is searched)."""
    parts = []
    if sources:
        parts.append(f"{len(sources)} of {total} articles")
    if since or until:
        parts.append(f"dated {since or 'any time'} to {until or 'now'}")
    return ("Searched only " + ", ".join(parts) + ".") if parts else ""


# ------------------------------------------------------------------ the page


def _upload_status(saved: Sequence[Path], problems: Sequence[str], documents: Mapping[str, DocumentInfo], root: Path) -> str:
    """What happened to each uploaded file, as HTML."""
    lines = []
    for path in saved:
        source = path.relative_to(root).as_posix()
        info = documents.get(source)
        what = (f"“{html.escape(info.title)}” ({info.passages} passage{'s' if info.passages != 1 else ''})" if info
                else "not indexed: see the server log")
        lines.append(f'<div class="qa-ok">Added {html.escape(source)}: {what}. Ask about it now.</div>')
    lines.extend(f'<div class="qa-error">Not added: {html.escape(problem)}</div>' for problem in problems)
    return "".join(lines)


def build_app(qa: QA, *, examples: Sequence[str] = EXAMPLES, k: int = 4, upload_limit: int = MAX_UPLOAD_BYTES) -> gr.Blocks:
    """The chat page over `qa`, with /ask (markdown) and /ask_json (structured) API endpoints.

    Example:
        >>> app = build_app(QA("sources", "index"))                    # doctest: +SKIP
        >>> app.launch(**launch_options(port=7860))                    # doctest: +SKIP
    """

    def info() -> dict[str, DocumentInfo]:
        return {d.source: d for d in qa.documents()}

    def panel_updates() -> tuple[str, Any, Any]:
        docs = qa.documents()
        return render_collection(docs), gr.update(choices=_choices(docs)), gr.update(choices=_choices(docs))

    def add_question(message: str, history: list[dict]) -> tuple[str, list[dict], str]:
        message = (message or "").strip()
        if not message:
            return "", history, ""
        return "", [*history, {"role": "user", "content": message}], message

    def reply(question: str, history: list[dict], asked: list[str], sources: list[str] | None,
              since: str, until: str, undated: bool, count: float) -> tuple[list[dict], list[str]]:
        if not question:
            return history, asked
        try:
            start, end = _iso(since, "from"), _iso(until, "to")
            docs = info()
            answer = qa.ask(question, k=int(count), sources=sources or None, since=start, until=end,
                            include_undated=bool(undated), history=asked)
            scope = _scope(sources or [], start, end, len(docs))
            body = render_answer(answer, docs, qa.document_text, scope)
            asked = [*asked, answer.understood_as]
        except QAError as exc:
            log.info("question not answered: %s", exc)
            body = f'<div class="qa-answer qa-error">{html.escape(str(exc))}</div>'
        return [*history, {"role": "assistant", "content": body}], asked

    def show_document(source: str | None) -> str:
        if not source:
            return ""
        try:
            return f'<div class="qa-docview">{document_view(qa.document_text(source))}</div>'
        except QAError as exc:
            return f'<div class="qa-error">{html.escape(str(exc))}</div>'

    def add_files(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        saved, problems = [], []
        for upload in files or []:
            path = Path(upload)
            try:
                if path.stat().st_size > upload_limit:
                    raise DocumentError(f"{path.name}: over the {upload_limit / 1024 / 1024:.0f} MB upload limit; nothing was added")
                saved.append(save_upload(qa.sources, path.name, path.read_bytes(), max_bytes=upload_limit))
            except (DocumentError, OSError) as exc:
                problems.append(str(exc))
        if saved:
            progress(0.0, desc="Indexing")
            try:
                qa.update(progress=lambda p: progress((p.passages_done, max(p.passages_total, 1)), desc="Indexing the new articles"))
            except QAError as exc:
                problems.append(f"saved, but not indexed yet: {exc}")
        status = _upload_status(saved, problems, info(), qa.sources)
        return (status, *panel_updates(), None)

    docs = qa.documents()
    # Uploaded files are copied into the sources folder; Gradio's own copies are dropped hourly.
    with gr.Blocks(title="Ask the articles", delete_cache=(3600, 3600)) as app:
        asked = gr.State([])
        pending = gr.State("")
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
                with gr.Accordion("Filters", open=False):
                    chosen = gr.Dropdown(choices=_choices(docs), multiselect=True, label="Only these articles",
                                         info="Leave empty to search them all.", elem_id="qa-filter-sources")
                    with gr.Row():
                        since = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", elem_id="qa-since")
                        until = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="qa-until")
                    undated = gr.Checkbox(value=True, label="Include undated articles in a date filter",
                                          elem_id="qa-undated")
                    count = gr.Slider(1, 10, value=k, step=1, label="Passages to show")
                example_set = gr.Examples([[q] for q in examples], inputs=[box], label="Try asking")
            with gr.Column(scale=2, min_width=300):
                collection = gr.HTML(render_collection(docs), label="Collection", elem_id="qa-collection")
                files = gr.File(label=f"Add articles (.txt, .md, .html; up to {upload_limit // 1024 // 1024} MB)",
                                file_count="multiple", type="filepath", elem_id="qa-upload", height=120)
                status = gr.HTML(elem_id="qa-upload-status")
                with gr.Accordion("Read an article", open=False):
                    reader = gr.Dropdown(choices=_choices(docs), label="Article", elem_id="qa-reader")
                    page = gr.HTML(elem_id="qa-document")

        ask_inputs = [pending, chat, asked, chosen, since, until, undated, count]
        for trigger in (box.submit, ask_button.click, example_set.load_input_event.then):
            trigger(add_question, [box, chat], [box, chat, pending], queue=False, api_visibility="private").then(
                reply, ask_inputs, [chat, asked], api_visibility="private").then(
                None, js=SHOW_REPLY_JS, api_visibility="private")
        clear.click(lambda: ([], [], ""), None, [chat, asked, box], queue=False, api_visibility="private")
        files.upload(add_files, [files], [status, collection, chosen, reader, files], api_visibility="private")
        reader.change(show_document, [reader], [page], api_visibility="private")

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
                return qa.ask(question, k=int(k), sources=sources or None, since=_iso(since, "since"),
                              until=_iso(until, "until"), include_undated=include_undated, history=history or ())
            except QAError as exc:
                log.info("question not answered: %s", exc)
                raise gr.Error(str(exc)) from exc

        gr.api(ask, api_name="ask")
        gr.api(ask_json, api_name="ask_json")
    return app
