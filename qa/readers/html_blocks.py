"""A web page's visible text as blocks of lines, with its title, headings and date hints, read from its markup.

`parse` runs the standard library's HTMLParser over the page: every block element (<p>, <div>,
<li>, <tr>, ...) starts a block, <br> and line breaks in <pre> a line; nothing in nav, header,
footer, aside, form, scripts or the like is kept. On the way it notes the <title>, each h1-h3
(and whether it is visible), the meta tags and the first <time datetime>, and which furniture
and fine-print elements hold each piece of a line (`qa.readers.html_furniture`).

Example:
    >>> page = parse("<title>Quay | Gazette</title><nav>Home</nav><h1>Quay Reopens</h1>"
    ...              "<p>The quay <b>reopens</b> in May.<br>It shut in 2023.</p><table><tr><td>North</td><td>120</td></tr>")
    >>> page.blocks
    ['Quay Reopens', 'The quay reopens in May.\\nIt shut in 2023.', 'North 120']
    >>> page.title, page.headings
    ('Quay | Gazette', [('h1', 'Quay Reopens', True)])
"""

from __future__ import annotations

from html.parser import HTMLParser

from qa.readers.html_furniture import NEVER_FURNITURE, Marks, Piece, is_fine_print, is_furniture_element
from qa.titles import flatten

_SKIPPED_TAGS = frozenset((
    "script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe",
    "button", "select", "title", "figcaption"
))
_BLOCK_TAGS = frozenset((
    "address", "article", "blockquote", "body", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "hr", "html", "li", "main", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "caption", "center"
))
_CELL_TAGS = frozenset({"td", "th"})
_TITLE_TAGS = ("h1", "h2", "h3")
_VOID_TAGS = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"
))


class HTMLText(HTMLParser):
    """Collect an HTML page's visible text as blocks, plus its title, headings and date hints,
    and which marked elements (furniture-named, fine print) hold each line's text (`line_pieces`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.title = ""
        self.headings: list[tuple[str, str, bool]] = []  # (tag, text, visible) of each h1, h2, h3
        self.meta: dict[str, str] = {}
        self.time: str | None = None
        self.line_pieces: list[list[list[Piece]]] = []  # per block, per line
        self._lines: list[str] = []
        self._pieces: list[list[Piece]] = []
        self._line: list[str] = []
        self._line_pieces: list[Piece] = []
        self._furniture = Marks()
        self._fine = Marks()
        self._skipping: list[str] = []
        self._pre = 0
        self._title: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop") or "").lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag == "time" and self.time is None and values.get("datetime"):
            self.time = values["datetime"]
        if tag in _BLOCK_TAGS:
            self._end_block()
        elif tag == "br":
            self._end_line()
        elif tag in _CELL_TAGS:
            self._line.append(" ")
        if tag == "pre":
            self._pre += 1
        if tag == "title":
            self._title = []
        if tag in _TITLE_TAGS:
            self._heading = []
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)
        if tag not in _VOID_TAGS:
            self._furniture.start(tag, tag not in NEVER_FURNITURE and is_furniture_element(values))
            self._fine.start(tag, is_fine_print(tag, values))

    def handle_endtag(self, tag: str) -> None:
        self._furniture.end(tag)
        self._fine.end(tag)
        if tag in self._skipping:
            while self._skipping.pop() != tag:
                pass
        if tag == "title" and self._title is not None:
            self.title = self.title or flatten("".join(self._title))
            self._title = None
        if tag in _TITLE_TAGS and self._heading is not None:
            self.headings.append((tag, flatten("".join(self._heading)), not self._skipping))
            self._heading = None
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK_TAGS:
            self._end_block()

    def handle_data(self, data: str) -> None:
        for capture in (self._title, self._heading):
            if capture is not None:
                capture.append(data)
        if self._skipping:
            return
        if not self._pre:
            self._add(data)
            return
        first, *rest = data.split("\n")
        self._add(first)
        for line in rest:
            self._end_line()
            self._add(line)

    def _add(self, data: str) -> None:
        self._line.append(data)
        visible = len("".join(data.split()))
        if visible:
            self._line_pieces.append((visible, self._furniture.holding, self._fine.holding))

    def close(self) -> None:
        super().close()
        self._end_block()

    def _end_line(self) -> None:
        line = " ".join("".join(self._line).split())
        if line:
            self._lines.append(line)
            self._pieces.append(self._line_pieces)
        self._line, self._line_pieces = [], []

    def _end_block(self) -> None:
        self._end_line()
        if self._lines:
            self.blocks.append("\n".join(self._lines))
            self.line_pieces.append(self._pieces)
        self._lines, self._pieces = [], []


def parse(markup: str) -> HTMLText:
    """The page's markup parsed (see the module docstring), its line breaks made "\\n" first."""
    parser = HTMLText()
    parser.feed(markup.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    return parser
