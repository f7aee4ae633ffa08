"""Tell an article's content from the page furniture around it.

A page saved from a blog holds more than the article: headline and dateline, image captions
and file names, share buttons, comment forms, tags. Only the article itself may ever be
shown as an answer, so `content_spans` returns the `[start, end)` offsets of the text that
is content. The rules look at the shape of a block and where it sits, not at one site's
exact strings, so they carry over to other blogs:

* junk lines (bare numbers, file names, caption credits) are never content;
* the title line and date line (found by `qa.documents`) are metadata, never content;
* the body runs from the first to the last *substantial* paragraph (a sentence of eight or
  more words); short blocks before it are headline furniture, short blocks after it and
  everything from a comment-section marker on are footer furniture;
* short blocks between substantial paragraphs (section headings) are content;
* widget blocks (share, subscribe, tags, comment forms) are furniture wherever they are;
* a short note without any substantial paragraph keeps its lines that are not furniture.

Example:
    >>> text = "A Headline\\n\\n0\\n\\nThe body says something useful about the topic.\\n\\nLeave a Reply"
    >>> [text[start:end] for start, end in content_spans(text, title_line=(0, 10))]
    ['The body says something useful about the topic.']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum

Span = tuple[int, int]

_MIN_BODY_WORDS = 8
_MAX_MARKER_WORDS = 15
_MAX_WIDGET_WORDS = 25
_WRAP_MIN_CHARS = 40

_TOKEN_EDGES = "\"'“”‘’«»()[]{}<>,;:!?…*_|\\#~`"
_WORD = re.compile(r"[^\W\d_]+(?:['’.\-–—/][^\W\d_]+)*\.?")
_FILE_NAME = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|bmp|tiff?|heic|avif|pdf|docx?|mp[34]|mov|avi)$", re.I
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CLAUSE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_CAPTION = re.compile(
    r"^(?:photo|image|picture|pic|illustration|screenshot|video|graphic|caption|credit|source)s?"
    r"(?:\s+(?:credit|courtesy|by|via|source))?\s*[:|/–—-]"
    r"|^(?:photo|image|picture)s?\s+(?:by|courtesy|credit|via)\b",
    re.I,
)
# Where a blog's comment section starts: nothing after it belongs to the article.
_COMMENTS_START = re.compile(
    r"^(?:(?:leave|post|add|write|submit)\s+(?:a\s+|your\s+)?(?:reply|comment|response)"
    r"|no\s+(?:comments?|responses?|replies)\b"
    r"|\d+\s+(?:comments?|responses?|replies|thoughts)\b"
    r"|comments?\s*(?::|$|\(|\d|(?:are|is)\s+(?:closed|disabled|off))"
    r"|your\s+email(?:\s+address)?\s+will\s+not\s+be\s+published)",
    re.I,
)
# Blocks that belong to the page's widgets (sharing, tags, sign-ups, legal lines); matched at
# the start of a short block only, so body prose that mentions "subscribe to" stays content.
_WIDGET = re.compile(
    r"(?:share|like)\s+(?:this|it|on|via)\b|share\s*:?$"
    r"|(?:labels?|tags?|tagged|filed\s+under|categor(?:y|ies)|posted\s+in|topics?)\s*:"
    r"|posted\s+(?:by|on|at)\b"
    r"|(?:related|recent|popular|more)\s+(?:posts?|articles?|stories|news|reading)\b"
    r"|you\s+(?:may|might)\s+also\s+like\b|read\s+(?:more|next|also)\b"
    r"|(?:next|previous|older|newer)\s+(?:post|article|entry|story)\b"
    r"|(?:subscribe|sign\s+up)(?:\s+(?:to|for|now|today|here)\b|\s*$)"
    r"|(?:get\s+|join\s+)?(?:our|the)\s+newsletter\b"
    r"|all\s+rights\s+reserved\b|©|copyright\b|(?:cookie|privacy)\s+(?:policy|settings)\b"
    r"|we\s+use\s+cookies\b|advertisement$|click\s+here\b"
    r"|(?:page\s+)?last\s+(?:updated|modified|reviewed)\b"
    r"|.*\bnot\s+responsible\s+for\s+the\s+content\s+of\s+external\b",
    re.I,
)
_ALNUM = re.compile(r"[^\W_]")


class _Kind(Enum):
    FURNITURE = "furniture"  # junk, metadata or widget: never content
    BODY = "body"  # a substantial paragraph
    SHORT = "short"  # a heading, byline or short note: content only inside the body


def _numbered_lines(text: str) -> Iterator[tuple[int, int, int]]:
    """(line number, start, end) of each non-blank line, trimmed (NBSP counts as space)."""
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        stripped = line.strip()
        if stripped:
            start = offset + len(line) - len(line.lstrip())
            yield number, start, start + len(stripped)
        offset += len(line)


def _tokens(block: str) -> list[str]:
    """Whitespace-separated tokens holding a letter or digit, their edge punctuation removed."""
    tokens = (token.strip(_TOKEN_EDGES) for token in block.split())
    return [token for token in tokens if _ALNUM.search(token)]


def _is_word(token: str) -> bool:
    return _WORD.fullmatch(token) is not None


def word_count(block: str) -> int:
    """How many tokens of `block` hold a letter or digit."""
    return len(_tokens(block))


def is_junk(block: str) -> bool:
    """True for a block with too few real words to be prose: "0", "IMG_1234.jpg",
    "screenshot 20240913 140245 chrome68…", or a caption credit such as "Photo: Reuters"."""
    tokens = _tokens(block)
    words = sum(_is_word(token) for token in tokens)
    if words == 0 or _CAPTION.match(block.strip()):
        return True
    if words < _MIN_BODY_WORDS and any(_FILE_NAME.search(token) for token in tokens):
        return True
    return words / len(tokens) < 0.5


def is_widget(block: str) -> bool:
    """True for a short block that reads like a page widget: comment form, share bar, tags,
    sign-up box, copyright line."""
    flat = " ".join(block.split())
    if word_count(flat) > _MAX_WIDGET_WORDS:
        return False
    return _COMMENTS_START.match(flat) is not None or _WIDGET.match(flat) is not None


def starts_comments(block: str) -> bool:
    """True for a short block that opens a comment section ("Leave a Reply", "3 Comments")."""
    flat = " ".join(block.split())
    return word_count(flat) <= _MAX_MARKER_WORDS and _COMMENTS_START.match(flat) is not None


def is_substantial(block: str) -> bool:
    """True for a paragraph of real prose: eight or more words ending like a sentence."""
    stripped = block.strip()
    return (
        word_count(stripped) >= _MIN_BODY_WORDS
        and _SENTENCE_END.search(stripped) is not None
        and not is_junk(stripped)
        and not is_widget(stripped)
    )


def _looks_like_headline(line: str) -> bool:
    """True when most words are capitalised, as in "U.S. to Withdraw Most Troops"."""
    words = [token for token in _tokens(line) if _is_word(token)]
    return bool(words) and sum(word[0].isupper() for word in words) / len(words) >= 0.6


def _wraps_on(line: str) -> bool:
    """True when `line` looks hard-wrapped: long, ends mid-sentence, not a headline."""
    return (
        len(line) >= _WRAP_MIN_CHARS
        and _CLAUSE_END.search(line) is None
        and not _looks_like_headline(line)
    )


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in others)


def iter_paragraphs(text: str, keep_apart: Sequence[Span] = ()) -> Iterator[Span]:
    """Paragraph spans of `text`, in order: a blank line ends a paragraph, and so does a line
    break unless the line before looks hard-wrapped. Lines overlapping `keep_apart` (title,
    date) and junk lines always stand alone, so they can be dropped without their neighbours."""
    current: Span | None = None
    previous_number = -2
    joinable = False
    for number, start, end in _numbered_lines(text):
        line = text[start:end]
        alone = _overlaps((start, end), keep_apart) or is_junk(line)
        if current and joinable and not alone and number == previous_number + 1:
            current = (current[0], end)
        else:
            if current:
                yield current
            current = (start, end)
        joinable = not alone and _wraps_on(line)
        previous_number = number
    if current:
        yield current


def paragraphs(text: str, keep_apart: Sequence[Span] = ()) -> list[Span]:
    """All paragraph spans of `text` (see `iter_paragraphs`)."""
    return list(iter_paragraphs(text, keep_apart))


def _classify(block: str, span: Span, metadata: Sequence[Span]) -> _Kind:
    if _overlaps(span, metadata) or is_junk(block) or is_widget(block):
        return _Kind.FURNITURE
    return _Kind.BODY if is_substantial(block) else _Kind.SHORT


def _keep(kinds: Sequence[_Kind], blocks: Sequence[str]) -> list[bool]:
    """Which blocks are content, given their kinds and the position of the body."""
    body = [index for index, kind in enumerate(kinds) if kind is _Kind.BODY]
    if not body:
        return [kind is _Kind.SHORT for kind in kinds]
    first = body[0]
    after_first = range(first + 1, len(kinds))
    cut = next(
        (i for i in after_first if kinds[i] is not _Kind.BODY and starts_comments(blocks[i])), len(kinds)
    )
    last = max(index for index in body if index < cut)
    return [first <= index <= last and kind is not _Kind.FURNITURE for index, kind in enumerate(kinds)]


def _runs(spans: Sequence[Span], keep: Sequence[bool]) -> tuple[Span, ...]:
    """Merge consecutive kept spans into maximal runs (covering the blank lines between)."""
    runs: list[Span] = []
    extend = False
    for span, kept in zip(spans, keep):
        if kept and extend:
            runs[-1] = (runs[-1][0], span[1])
        elif kept:
            runs.append(span)
        extend = kept
    return tuple(runs)


def content_spans(
    text: str, title_line: Span | None = None, metadata: Sequence[Span] = ()
) -> tuple[Span, ...]:
    """The sorted, non-overlapping `[start, end)` spans of `text` that are article content.

    `title_line` and `metadata` (date line, front matter) are spans that are never content;
    the title line comes back only when a note has nothing else worth showing."""
    excluded = [*metadata, *([title_line] if title_line else [])]
    spans = paragraphs(text, excluded)
    # Blocks are sliced when looked at, never all held: a 50 MB file would be held twice.
    blocks = _Blocks(text, spans)
    kinds = [_classify(blocks[i], span, excluded) for i, span in enumerate(spans)]
    keep = _keep(kinds, blocks)
    if not any(keep) and title_line is not None:
        keep = [span == title_line and not is_junk(blocks[i]) for i, span in enumerate(spans)]
    return _runs(spans, keep)


class _Blocks(Sequence[str]):
    """The text of each span, sliced on demand."""

    def __init__(self, text: str, spans: Sequence[Span]) -> None:
        self.text, self.spans = text, spans

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i):  # type: ignore[override]
        start, end = self.spans[i]
        return self.text[start:end]
