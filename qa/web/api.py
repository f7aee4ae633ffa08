"""The page's API: /ask (markdown), /ask_json (structured) and /status, as gradio_client calls them.

Example:
    >>> from gradio_client import Client
    >>> Client("http://127.0.0.1:7860/").predict("how many troops stay?", api_name="/ask")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gradio as gr

from qa.answers import Answer
from qa.collection import DocumentInfo
from qa.errors import QAError
from qa.pipeline import QA
from qa.web.render import answer_markdown

log = logging.getLogger("qa")


def add_api(qa: QA, info: Callable[[], dict[str, DocumentInfo]]) -> None:
    """Add the endpoints to the Blocks being built (call inside its `with`); `info()` maps sources to their info."""

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
