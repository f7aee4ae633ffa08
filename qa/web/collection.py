"""The collection panel, the article filter and the status line: what is indexed, as HTML.

Example:
    >>> from qa.collection import DocumentInfo
    >>> [d.source for d in matching([DocumentInfo("oslo.txt", "Oslo council", None, 1)], "council")]
    ['oslo.txt']
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from qa.collection import DocumentInfo
from qa.progress import IndexStatus
from qa.readers import supported_types
from qa.web.render import display_date, source_line

# The collection list shows this many articles a page; titles are cut for display (CSS then
# keeps each to one line), dropdown labels shorter still.
PAGE_SIZE = 50
TITLE_CHARS = 200
CHOICE_CHARS = 120

# The article filter offers at most this many articles at a time (a search box finds the others):
# 10,000 choices make the page slow to load and the dropdown slow to open.
FILTER_CHOICES = 200


def matching(documents: Sequence[DocumentInfo], query: str = "") -> list[DocumentInfo]:
    """The documents whose title or file holds every word of `query` (any case), newest first.

    Example:
        >>> from qa.collection import DocumentInfo
        >>> docs = [DocumentInfo("oslo.txt", "Oslo council", "2024-01-02", 1), DocumentInfo("rome.txt", "Rome", None, 2)]
        >>> [d.source for d in matching(docs)], [d.source for d in matching(docs, "COUNCIL oslo")]
        (['oslo.txt', 'rome.txt'], ['oslo.txt'])
    """
    ordered = sorted(documents, key=lambda d: (d.date or "", d.title), reverse=True)
    words = query.casefold().split()
    return [d for d in ordered if all(w in f"{d.title}\n{d.source}".casefold() for w in words)] if words else ordered


def list_page(found: Sequence[DocumentInfo], page: int) -> tuple[int, list[DocumentInfo]]:
    """Page `page` of `found` (clamped to the pages there are) and its documents, PAGE_SIZE a page.

    Example:
        >>> list_page(list(range(120)), 9)[0], list_page([], 3)
        (2, (0, []))
    """
    last = max(0, (len(found) - 1) // PAGE_SIZE)
    page = min(max(int(page or 0), 0), last)
    return page, list(found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def short_title(title: str, limit: int = TITLE_CHARS) -> str:
    """A title cut to `limit` characters for display ("…" marks the cut)."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def render_collection(documents: Sequence[DocumentInfo], query: str = "", page: int = 0, indexing: bool = False) -> str:
    """The collection panel: counts, then one page of the documents matching `query`, each with
    its title (cut to one line), file, date, passages and reading warnings. `indexing`: the first
    build runs, so an empty collection is not yet known to be empty.

    Example:
        >>> from qa.collection import DocumentInfo
        >>> page = render_collection([DocumentInfo("a.txt", "<b>A</b>", None, 3, ("read as cp1252",))])
        >>> "<strong>1 article</strong>, 3 passages" in page and 'title="&lt;b&gt;A&lt;/b&gt;"' in page
        True
        >>> '<span class="qa-source">a.txt · undated · 3 passages</span><span class="qa-warn">⚠ read as cp1252</span>' in page
        True
    """
    if not documents:
        empty = ("The articles are listed once the first indexing is done." if indexing
                 else f"<strong>No articles yet.</strong> Add {supported_types(' or ')} files above.")
        return f'<div class="qa-collection"><div class="qa-title">{empty}</div></div>'
    found = matching(documents, query)
    page, shown = list_page(found, page)
    head = (f'<div class="qa-title">In the collection: <strong>{_plural(len(documents), "article")}</strong>, '
            f'{_plural(sum(d.passages for d in documents), "passage")}</div>')
    first = page * PAGE_SIZE + 1
    span = f"showing {first:,}–{first + len(shown) - 1:,}"
    if query.strip():
        where = f"“{html.escape(query.strip())}”"
        verb = "matches" if len(found) == 1 else "match"
        head += (f'<div class="qa-range">{_plural(len(found), "article")} {verb} {where}; {span}</div>' if found
                 else f'<div class="qa-range">No article matches {where}.</div>')
    elif len(found) > PAGE_SIZE:
        head += f'<div class="qa-range">{span.capitalize()} of {len(found):,}</div>'
    return f'<div class="qa-collection">{head}<ol start="{first}">{"".join(map(_item, shown))}</ol></div>'


def _item(d: DocumentInfo) -> str:
    """One article of the collection list: its title on one line, file · date · passages, its warnings."""
    title = html.escape(short_title(d.title))
    warnings = "".join(f'<span class="qa-warn">⚠ {html.escape(w)}</span>' for w in d.warnings)
    return (f'<li><span class="qa-item" title="{title}">{title}</span><span class="qa-source">'
            f'{source_line(d.source, d.date)} · {_plural(d.passages, "passage")}</span>{warnings}</li>')


def article_choices(documents: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """Dropdown choices: a readable label ("Title (14 Sep 2024)") for each source path, by title."""
    return [(short_title(f"{d.title} ({display_date(d.date)})" if d.date else d.title, CHOICE_CHARS), d.source)
            for d in sorted(documents, key=lambda d: d.title.lower())]


def collection_signature(documents: Sequence[DocumentInfo]) -> int:
    """A number that changes when the collection does (files, titles, dates, passages, warnings)."""
    return hash(tuple((d.source, d.title, d.date, d.passages, d.warnings) for d in documents))


def status_key(status: IndexStatus) -> tuple:
    """What changes in the status when the collection may have: an update starting or ending, counts, errors."""
    return status.indexing, status.documents, status.passages, id(status.report), status.error


def filter_choices(documents: Sequence[DocumentInfo], query: str, chosen: Sequence[str]) -> list[tuple[str, str]]:
    """The article filter's choices: the chosen articles and up to FILTER_CHOICES (newest first) matching `query`.

    Example:
        >>> from qa.collection import DocumentInfo
        >>> docs = [DocumentInfo("oslo.txt", "Oslo", "2024-01-02", 1), DocumentInfo("rome.txt", "Rome", None, 2)]
        >>> filter_choices(docs, "oslo", ["rome.txt"])
        [('Oslo (2 Jan 2024)', 'oslo.txt'), ('Rome', 'rome.txt')]
    """
    found = matching(documents, query)[:FILTER_CHOICES]
    picked = set(chosen) - {d.source for d in found}
    return article_choices([*found, *(d for d in documents if d.source in picked)])


def status_line(status: IndexStatus) -> str:
    """The index status as one escaped line of HTML ("15 articles, 1,234 passages; up to date")."""
    kind = "qa-busy" if status.indexing else "qa-error" if status.error else "qa-idle"
    return f'<div class="qa-status-line {kind}">{html.escape(str(status))}</div>'


def scope_note(sources: Sequence[str], since: str | None, until: str | None, total: int) -> str:
    """A short description of active filters ("" when the whole collection is searched)."""
    parts = []
    if sources:
        parts.append(f"{len(sources)} of {total} articles")
    if since or until:
        parts.append(f"dated {since or 'any time'} to {until or 'now'}")
    return ("Searched only " + ", ".join(parts) + ".") if parts else ""


def upload_status(saved: Sequence[str], problems: Sequence[str], documents: Mapping[str, DocumentInfo]) -> str:
    """What happened to each uploaded file, as HTML: indexed already, or being indexed."""
    lines = []
    for source in saved:
        info = documents.get(source)
        what = (f"“{html.escape(short_title(info.title))}” ({_plural(info.passages, 'passage')}). Ask about it now." if info
                else "indexing it now; it is listed when done (see the status line).")
        lines.append(f'<div class="qa-ok">Added {html.escape(source)}: {what}</div>')
    lines.extend(f'<div class="qa-error">Not added: {html.escape(problem)}</div>' for problem in problems)
    return "".join(lines)
