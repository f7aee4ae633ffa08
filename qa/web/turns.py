"""The chat as the browser keeps it (a list of turns, restored after a reload) and as it is
exported (Markdown, with where each cited passage is).

Example:
    >>> asked([{"question": "q?", "answer": {"understood_as": "q?"}}, {"question": "x", "error": "empty"}])
    ['q?']
"""

from __future__ import annotations

import hashlib
import html
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.answers import Answer, AnswerSpan, Passage
from qa.collection import DocumentInfo
from qa.web.render import answer_markdown, render_answer

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


def write_export(folder: Path, turns: Sequence[Turn], documents: Mapping[str, DocumentInfo]) -> str | None:
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
