"""The chat page: its layout and the handlers behind it, plus the /ask, /ask_json and /status API.

Example:
    >>> from qa import QA
    >>> app = build_app(QA("sources", "index"))                        # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import shutil
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from qa.collection import TRASH, DocumentInfo
from qa.dates import date_filter
from qa.errors import DocumentError, QAError
from qa.pipeline import QA
from qa.readers import pdf, supported_types
from qa.uploads import UPLOAD_LIMITS, check_size, limits_text, safe_name, save_upload
from qa.web.api import add_api
from qa.web.collection import (
    FILTER_CHOICES,
    article_choices,
    collection_signature,
    filter_choices,
    list_page,
    matching,
    render_collection,
    scope_note,
    short_title,
    status_key,
    status_line,
    upload_status,
)
from qa.web.launch import OPEN_PAGE_JS, SHOW_PAGE_JS, SHOW_REPLY_JS
from qa.web.pdf_pages import Cited, PageImages, has_page_view
from qa.web.render import document_view
from qa.web.turns import Turn, asked, render_turn, write_export

log = logging.getLogger("qa")

EXAMPLES = (
    "how many troops stay in Kurdistan?",
    "Who is Iraq's defense minister?",
    "How many US troops are in Syria?",
    "When will the coalition troops leave Iraq?",
)

# The status line (and a check for a changed collection) every this many seconds; the collection
# itself is read again when the index status changes, and at least every RESCAN_SECONDS (which
# notices files copied into the folder: reading 10,000 file names takes ~0.1 s).
STATUS_SECONDS = 1.5
RESCAN_SECONDS = 5.0

# An upload waits this long for its indexing: a small article is then listed and askable at once.
UPLOAD_WAIT_SECONDS = 2.0

# The chat kept in the browser (for a reload) holds at most this many turns.
MAX_SAVED_TURNS = 100


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
        key = status_key(qa.status())
        if key != shared["key"] or time.monotonic() - shared["at"] >= RESCAN_SECONDS:
            docs = qa.documents()  # also notices files added to or removed from the folder
            shared.update(key=key, at=time.monotonic(), docs=docs, signature=collection_signature(docs))
        return shared["docs"], shared["signature"]

    def collection_view(docs: Sequence[DocumentInfo], query: str, page: int, reader: str | None) -> tuple[str, Any, int]:
        """The list page, the reader's choices (that page, and the article being read) and the page shown."""
        page, shown = list_page(matching(docs, query or ""), page)
        current = [d for d in docs if d.source == reader]
        choices = article_choices([*shown, *(d for d in current if d not in shown)])
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
            turn = {"question": question, "answer": answer.to_dict(), "scope": scope_note(sources or [], start, end, len(docs))}
        except QAError as exc:
            log.warning("question not answered: %s", exc)
            turn = {"question": question, "error": str(exc)}
        turns = [*turns, turn][-MAX_SAVED_TURNS:]
        body = render_turn(turn, docs, qa.document_text)
        return [*history, {"role": "assistant", "content": body}], turns, export(turns, docs)

    def export(turns: Sequence[Turn], docs: Mapping[str, DocumentInfo]) -> dict[str, Any]:
        path = write_export(exports, turns, docs)
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

    def show_document(source: str | None) -> tuple[str, Any, Any]:
        """The article picked in the reader; a removal asked for another article is called off.
        A reader emptied (the article just removed) keeps the note that says where it went."""
        if not source:
            return "", gr.skip(), gr.update(visible=False)
        try:
            shown = f'<div class="qa-docview">{document_view(qa.document_text(source))}</div>'
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
        return upload_status(saved, problems, info() if saved else {}), status_line(qa.status()), None

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
        head = (f'<div class="qa-head">{html.escape(short_title(docs[cited.source].title))}</div>'
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
        title, where = html.escape(short_title(docs[source].title)), html.escape((qa.sources / TRASH).as_posix())
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

        add_api(qa, info)
    # The exported chats and drawn pages live as long as the page does (and go at exit).
    for folder in (exports, page_images.folder):
        weakref.finalize(app, shutil.rmtree, folder, ignore_errors=True)
    return app
