"""`QA`: a sources folder and its index, ready to answer questions.

Opening a `QA` builds or updates the index as needed; each question first checks (at most
every `Settings.rescan_seconds`) whether a source file was added, changed or deleted, and
updates the index if so. The answer is built from the fused search hits: overlapping
passages of one document are merged, passages of different documents that say the same
thing name each other in `also_in`, and each passage's answering sentence is highlighted.

Example:
    >>> from qa import QA
    >>> qa = QA(sources="sources", index="index")                 # doctest: +SKIP
    >>> answer = qa.ask("how many troops stay in Kurdistan?", k=3)  # doctest: +SKIP
    >>> answer.passages[0].source, answer.passages[0].also_in       # doctest: +SKIP
    ('us-military-presence-in-iraq-post-withdrawal.txt', ('us-to-withdraw-most-troops-from-iraq.txt',))
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answers import Answer, Passage
from qa.config import SUPPORTED_SUFFIXES, Settings
from qa.embedding import Embedder
from qa.errors import QAError, QuestionError, SourcesError
from qa.highlighting import best_sentences
from qa.indexing import IndexReport, Progress, sync
from qa.lexical import terms
from qa.retrieval import Hit, Scorer, search
from qa.store import Store, StoredDocument

log = logging.getLogger("qa")


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the collection, as the index knows it."""

    source: str
    title: str
    date: str | None
    passages: int


@dataclass
class _Selected:
    """A passage chosen for the answer, with the sources found to agree with it."""

    hit: Hit
    doc: int
    passage: int  # number of the passage within its document
    start: int
    end: int
    also_in: list[str]


def clean_question(question: str, max_chars: int) -> str:
    """The question without control characters and extra spaces; QuestionError if unusable."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in question)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty: type a question about the articles")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text):,} characters long; keep it under {max_chars:,}")
    if not any(c.isalnum() for c in text):
        raise QuestionError("the question has no words in it: type a question about the articles")
    return text


def _iso_date(value: str | None, label: str) -> str | None:
    """`value` as an ISO date (YYYY-MM-DD), or QuestionError saying what is expected."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError as exc:
        raise QuestionError(f"{label} must be a date written YYYY-MM-DD, not {value!r}") from exc


class QA:
    """Question answering over one sources folder, with its index on disk.

    Args:
        sources: folder of .txt, .md and .html articles (default: `settings.sources`).
        index: folder where the index is kept, created if needed (default: `settings.index`).
        settings: model, chunking and ranking settings (defaults: `Settings()`).
        embedder: an `Embedder` to share between instances (it loads its model once).
        scorer: the ranking and abstention model (defaults: the calibrated `Scorer()`).
        progress: `progress(stage, done, total)` for the first build; a console bar if None.
    """

    def __init__(
        self,
        sources: str | Path | None = None,
        index: str | Path | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        scorer: Scorer | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.sources = Path(sources if sources is not None else self.settings.sources)
        self.index = Path(index if index is not None else self.settings.index)
        self.embedder = embedder or Embedder(self.settings.model)
        self.scorer = scorer or Scorer()
        self._lock = threading.RLock()
        self._store: Store | None = None
        self._checked = 0.0
        self._signature: tuple | None = None
        self.last_report: IndexReport = self.update(progress)

    # -- the collection ---------------------------------------------------------------

    def update(self, progress: Progress | None = None) -> IndexReport:
        """Bring the index in line with the sources folder now; returns what changed."""
        with self._lock:
            signature = self._source_signature()
            report, self._store = sync(self.sources, self.index, self.embedder, self.settings, progress, self._store)
            # A stale index is retried at the next rescan even if the sources stay as they are.
            self._signature, self._checked = None if report.stale else signature, time.monotonic()
            self.last_report = report
            return report

    def _source_signature(self) -> tuple:
        """Names, sizes and modification times of the files under sources: cheap change detection."""
        entries = []
        for dirpath, dirnames, filenames in os.walk(self.sources):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith(".") or os.path.splitext(name)[1].lower() not in SUPPORTED_SUFFIXES:
                    continue  # what the indexer ignores (editor swap files, uploads in progress)
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                entries.append((dirpath, name, st.st_size, st.st_mtime_ns))
        return tuple(sorted(entries))

    def _current_store(self) -> Store:
        """The store, updated first if the sources changed since the last look.

        While another thread is updating the index (an upload, say), questions are answered
        from the index as it is instead of waiting for the update.
        """
        if time.monotonic() - self._checked >= self.settings.rescan_seconds and self._lock.acquire(blocking=False):
            try:
                signature = self._source_signature()
                if signature != self._signature:
                    try:
                        self.update()
                    except (QAError, OSError) as exc:
                        # Keep answering from the index we have; say why it is not current.
                        log.warning("index not updated: %s", exc)
                        self._signature = signature
                self._checked = time.monotonic()
            finally:
                self._lock.release()
        assert self._store is not None
        return self._store

    def documents(self) -> list[DocumentInfo]:
        """The documents in the index, by source path."""
        store = self._current_store()
        return [DocumentInfo(d.source, d.title, d.date, len(d.passages)) for d in store.documents]

    def document_text(self, source: str) -> str:
        """The text that passage offsets of `source` refer to (for HTML: the extracted text)."""
        store = self._current_store()
        if source not in store.by_source:
            raise SourcesError(f"{source} is not in the index")
        return store.documents[store.by_source[source]].text

    # -- asking -----------------------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int = 5,
        sources: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Answer:
        """The passages that answer `question`, best first (at most k).

        `sources` restricts the search to those documents (paths relative to the sources
        folder); `since`/`until` (ISO dates, inclusive) to documents dated in that range.
        """
        text = clean_question(question, self.settings.max_question_chars)
        since, until = _iso_date(since, "since"), _iso_date(until, "until")
        store = self._current_store()
        if not store.documents:
            raise SourcesError(f"no documents to search in {self.sources}: add .txt, .md or .html files")
        query_terms = terms(text)
        vector = self.embedder.encode([text])[0]
        allowed = self._allowed(store, sources, since, until)
        hits = search(store, vector, query_terms, self.scorer, self.settings.candidates, allowed, self.settings.method)
        selected = self._select(store, hits, max(1, int(k)))
        # Whatever the ranking method, the calibrated model decides whether anything answers.
        answered = bool(hits) and float(self.scorer(np.array([hits[0].features]))[0]) >= self.scorer.threshold
        weights = store.term_weights(query_terms)
        passages = tuple(self._passage(store, s, text, weights) for s in selected)
        return Answer(question=question, answered=answered, passages=passages)

    def _allowed(self, store: Store, sources: Sequence[str] | None, since: str | None, until: str | None) -> np.ndarray | None:
        if sources is None and since is None and until is None:
            return None
        wanted = set(sources) if sources is not None else None
        ok_docs = np.array([
            (wanted is None or d.source in wanted)
            and (since is None or (d.date is not None and d.date >= since))
            and (until is None or (d.date is not None and d.date <= until))
            for d in store.documents
        ], dtype=bool)
        return ok_docs[store.passage_doc]

    def _select(self, store: Store, hits: list[Hit], k: int) -> list[_Selected]:
        """Best hits, skipping passages that overlap a better one of the same document, noting agreement."""
        chosen: list[_Selected] = []
        for hit in hits:
            if len(chosen) == k:
                break
            doc, i = store.locate(hit.passage)
            d = int(store.passage_doc[hit.passage])
            start, end = doc.passage_span(i)
            if any(c.doc == d and start < c.end and c.start < end for c in chosen):
                continue  # overlaps a better passage of the same document: grouped under it
            chosen.append(_Selected(hit, d, i, start, end, []))
        vectors = store.vectors(np.array([c.hit.passage for c in chosen], dtype=np.int64)) if chosen else None
        for a, va in zip(chosen, vectors if vectors is not None else []):
            for b, vb in zip(chosen, vectors):
                if a.doc != b.doc and float(va @ vb) >= self.settings.agreement_cosine:
                    a.also_in.append(store.documents[b.doc].source)
        return chosen

    def _passage(self, store: Store, s: _Selected, question: str, weights: dict[str, float]) -> Passage:
        doc: StoredDocument = store.documents[s.doc]
        first_unit, last_unit = doc.passages[s.passage]
        units = doc.units[first_unit:last_unit]
        first, last = best_sentences([doc.text[a:b] for a, b in units], question, weights)
        best = (units[first][0], units[last - 1][1]) if units else (s.start, s.end)
        return Passage(
            text=doc.text[s.start : s.end], source=doc.source, title=doc.title, date=doc.date,
            start=s.start, end=s.end, score=round(s.hit.score, 4),
            highlight=doc.text[best[0] : best[1]], highlight_start=best[0], highlight_end=best[1],
            also_in=tuple(dict.fromkeys(s.also_in)),
        )


_default: dict[tuple[Path, Path], QA] = {}
_default_lock = threading.Lock()


def ask(question: str, k: int = 5) -> Answer:
    """Ask the default collection (./sources, indexed in ./index).

    The first call loads the model and builds or updates the index; later calls reuse it.

    Example:
        >>> from qa import ask
        >>> print(ask("how many troops stay in Kurdistan?"))   # doctest: +SKIP
    """
    settings = Settings()
    key = (Path(settings.sources).resolve(), Path(settings.index).resolve())
    with _default_lock:
        if key not in _default:
            _default[key] = QA(settings.sources, settings.index, settings)
    return _default[key].ask(question, k=k)
