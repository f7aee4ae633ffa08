"""The browser chat: a Gradio page over one `QA` collection, plus its /ask and /ask_json API.

The web layer in rooms: `render` (an answer as HTML and markdown, pure functions),
`collection` (the collection panel, filter and status line), `turns` (the chat kept and
exported), `pdf_pages` (a cited PDF page drawn), `launch` (theme, CSS and scripts from
`static/`, launch options), `page` (the layout and its handlers) and `api` (/ask,
/ask_json, /status). Everything shown from the articles goes through `html.escape` first,
so an article that contains `<script>` is displayed as text, never run.

Example:
    >>> from qa import QA
    >>> from qa.web import build_app, launch_options, warm_up
    >>> qa = QA("sources", "index")                                   # doctest: +SKIP
    >>> warm_up(qa)                                                   # doctest: +SKIP
    >>> build_app(qa).launch(**launch_options())                      # doctest: +SKIP
"""

from qa.web.launch import launch_options, warm_up
from qa.web.page import build_app

__all__ = ["build_app", "launch_options", "warm_up"]
