"""What the page is launched with: its theme (fonts Gradio bundles, nothing fetched), its CSS and
small scripts (files in qa/web/static), the launch options, and a warm-up question.

Example:
    >>> launch_options(port=7860)["server_name"]
    '127.0.0.1'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr

from qa.errors import QAError
from qa.pipeline import QA
from qa.uploads import UPLOAD_LIMITS


def _static(name: str) -> str:
    """A file of qa/web/static (the page's CSS and its small scripts, kept as files so they read as such)."""
    return (Path(__file__).parent / "static" / name).read_text(encoding="utf-8").rstrip("\n")


# After a reply, scroll the chat so the question and the top of its answer are in view.
SHOW_REPLY_JS = _static("show-reply.js")

# Gradio refuses a file over max_file_size in the browser with one message (a toast) but leaves the
# upload box in an error state: clear that state, so the box takes the next file as usual.
RESET_UPLOAD_JS = _static("reset-upload.js")

# "open" on a PDF citation also shows its page: a click that opens such a citation sends the passage
# (the value of the hidden button in its summary) to the server, as a click event of #qa-page-opener.
OPEN_PAGE_JS = _static("open-page.js")
SHOW_PAGE_JS = _static("show-page.js")

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
