"""Split a document's content into passages of whole sentences, sized for the embedder.

A passage is a run of consecutive sentences whose word pieces, together with the title
embedded in front of it, fit the model's window, so nothing is ever silently truncated.
Consecutive passages share `overlap` sentences, so an answer that straddles a boundary is
still whole in one of them. Only a single sentence longer than the window is cut, at word
boundaries, because there is no other way to embed all of it.

Everything is kept as character offsets into the document text, so
`text[passage.start:passage.end] == passage_text` always holds.

Example:
    >>> from qa.chunking import split_sentences, pack_passages
    >>> text = "First one. Second one.\\n\\nThird one."
    >>> units = split_sentences(text, [(0, len(text))])
    >>> [text[s:e] for s, e in units]
    ['First one.', 'Second one.', 'Third one.']
    >>> pack_passages([3, 3, 3], max_tokens=6, overlap=1)
    [(0, 2), (1, 3)]
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence

import nupunkt

Span = tuple[int, int]
TokenCounter = Callable[[list[str]], list[int]]

_LINE = re.compile(r"[^\n]+")
_COUNT_SLICE = 4096  # sentences whose word pieces are counted at a time
_WORD = re.compile(r"\S+")


def _trimmed(text: str, start: int, end: int) -> Span | None:
    """The span without surrounding whitespace, or None if nothing is left."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)


def split_sentences(text: str, content: Sequence[Span]) -> list[Span]:
    """Sentence spans inside the content spans, in order, whitespace trimmed.

    Lines are split first (a heading or list item never runs into the next line), then
    each line into sentences with nupunkt.
    """
    spans: list[Span] = []
    for c_start, c_end in content:
        for line in _LINE.finditer(text, c_start, c_end):
            for s, e in nupunkt.sent_spans(line.group()):
                trimmed = _trimmed(text, line.start() + s, line.start() + e)
                if trimmed:
                    spans.append(trimmed)
    return spans


def split_long_sentence(text: str, span: Span, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    """Cut one over-long sentence at word boundaries into pieces of at most max_tokens."""
    words = [(span[0] + m.start(), span[0] + m.end()) for m in _WORD.finditer(text[span[0] : span[1]])]
    counts = count_tokens([text[s:e] for s, e in words])
    pieces: list[Span] = []
    start: int | None = None  # where the piece being filled begins (always at a word)
    end = used = 0
    for (w_start, w_end), n in zip(words, counts):
        if start is not None and used + n > max_tokens:
            pieces.append((start, end))
            start = None
        if n > max_tokens:  # one "word" longer than the window (a URL, a hash): cut by characters
            pieces.extend(_split_chars(text, w_start, w_end, count_tokens, max_tokens))
            continue
        if start is None:
            start, used = w_start, 0
        used += n
        end = w_end
    if start is not None:
        pieces.append((start, end))
    return [fitted for piece in pieces for fitted in _fit(text, piece, count_tokens, max_tokens)]


def _fit(text: str, span: Span, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    """`span` if it fits, else its halves (at a word), each fitted: words can count more
    together than apart, when what separates them is a control character the tokenizer drops."""
    if count_tokens([text[span[0] : span[1]]])[0] <= max_tokens:
        return [span]
    words = list(_WORD.finditer(text, span[0], span[1]))
    if len(words) < 2:
        return _split_chars(text, span[0], span[1], count_tokens, max_tokens)
    middle = len(words) // 2
    return [*_fit(text, (span[0], words[middle - 1].end()), count_tokens, max_tokens),
            *_fit(text, (words[middle].start(), span[1]), count_tokens, max_tokens)]


def _split_chars(text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int) -> list[Span]:
    """Cut one enormous whitespace-free run into windows of at most max_tokens word pieces.

    A window starts at max_tokens characters (most characters are at most one word piece)
    and is halved until it fits: "한," is four word pieces in two characters.
    """
    pieces: list[Span] = []
    while start < end:
        stop = min(start + max(1, max_tokens), end)
        while stop - start > 1 and count_tokens([text[start:stop]])[0] > max_tokens:
            stop = start + (stop - start) // 2
        pieces.append((start, stop))
        start = stop
    return pieces


def pack_passages(
    token_counts: Sequence[int], max_tokens: int, overlap: int, pages: Sequence[int] = ()
) -> list[Span]:
    """Group consecutive units into [first, last) ranges of at most max_tokens each.

    Each range after the first starts `overlap` units before the previous one ended,
    unless that would leave no room for a new unit. With `pages` (each unit's page), a
    range never takes in a unit of a later page, nor reaches back into an earlier one.

    >>> pack_passages([3, 3, 3], max_tokens=9, overlap=1, pages=[1, 1, 2])
    [(0, 2), (2, 3)]
    """
    ranges: list[Span] = []
    n = len(token_counts)
    first = 0
    while first < n:
        last, used = first, 0
        while last < n and (last == first or (used + token_counts[last] <= max_tokens
                                               and (not pages or pages[last] == pages[first]))):
            used += token_counts[last]
            last += 1
        ranges.append((first, last))
        if last >= n:
            break
        first = last if pages and pages[last] != pages[last - 1] else max(last - overlap, first + 1)
    return ranges


def chunk(
    text: str,
    content: Sequence[Span],
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int,
    pages: Sequence[int] = (),
) -> tuple[list[Span], list[Span]]:
    """Sentence units and passages (as [first, last) unit ranges) of one document.

    Units are sentences, except that a sentence over max_tokens is cut into word-boundary
    pieces. Every passage's units fit in max_tokens word pieces. For a paged document,
    `pages` holds where each page starts in `text`: passages then keep to the page their
    first sentence starts on, so one spans two pages only where a sentence does.
    """
    sentences = split_sentences(text, content)
    units: list[Span] = []
    unit_counts: list[int] = []
    # Counted a slice at a time, so a huge document's sentences are never all held as strings.
    for begin in range(0, len(sentences), _COUNT_SLICE):
        part = sentences[begin : begin + _COUNT_SLICE]
        for span, n in zip(part, count_tokens([text[s:e] for s, e in part])):
            if n <= max_tokens:
                units.append(span)
                unit_counts.append(n)
                continue
            pieces = split_long_sentence(text, span, count_tokens, max_tokens)
            units.extend(pieces)
            unit_counts.extend(count_tokens([text[s:e] for s, e in pieces]))
    unit_pages = [bisect.bisect_right(pages, start) for start, _ in units] if pages else ()
    passages = pack_passages(unit_counts, max_tokens, overlap, unit_pages)
    return units, [_drop_trailing_heading(text, units, p, n) for p, n in zip(passages, passages[1:] + [None])]


def _drop_trailing_heading(text: str, units: Sequence[Span], passage: Span, following: Span | None) -> Span:
    """A passage should not end on a heading when the next passage starts with it."""
    first, last = passage
    s, e = units[last - 1]
    if following is not None and following[0] <= last - 1 and last - first > 1 and _is_heading(text[s:e]):
        return first, last - 1
    return passage


def _is_heading(unit: str) -> bool:
    """A short line with no sentence-ending punctuation, like "The Withdrawal Agreement"."""
    return len(unit.split()) <= 12 and unit.rstrip()[-1:] not in '.!?:;"\'”’)'
