"""`QA`: a sources folder and its index, ready to answer questions.

Opening a `QA` builds or updates the index as needed; each question first checks (at most
every `Settings.rescan_seconds`) whether a source file was added, changed or deleted, and
updates the index if so (`qa.collection`). A follow-up is read against the questions before it (see
`qa.conversation`); date filters count the undated articles they meet. The answer is built
from the fused search hits: overlapping passages of one document are merged and each
passage's answering sentence and answer phrase are marked (`qa.selection`), and passages of
different documents that state the same numbers and names name each other in `also_in`
(`qa.agreement`).

Example:
    >>> from qa import QA
    >>> qa = QA(sources="sources", index="index")                 # doctest: +SKIP
    >>> answer = qa.ask("how many troops stay in Kurdistan?", k=3)  # doctest: +SKIP
    >>> answer.passages[0].source, answer.passages[0].also_in       # doctest: +SKIP
    ('us-military-presence-in-iraq-post-withdrawal.txt', ('us-to-withdraw-most-troops-from-iraq.txt',))
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.agreement import agreeing
from qa.answers import Answer
from qa.collection import Collection
from qa.config import METHODS, Settings
from qa.conversation import Conversation, Resolution, readings
from qa.dates import date_filter
from qa.embedding import Embedder
from qa.errors import QuestionError, SourcesError
from qa.lexical import terms
from qa.progress import Progress
from qa.readers import supported_types
from qa.retrieval import Hit, Scorer, rank
from qa.selection import answer_passage, select_passages
from qa.stores import Filter, IndexBackend, index_spec


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


class QA(Collection):
    """Question answering over one sources folder, with its index on disk.

    Args:
        sources: folder of articles and documents (`qa.readers.supported_types()`; default: `settings.sources`).
        index: folder where the index is kept, created if needed (default: `settings.index`), or
            another engine's index string: `qdrant://host:6333/collection`, `qdrant+file:PATH`.
        settings: model, chunking and ranking settings (defaults: `Settings()`).
        embedder: an `Embedder` to share between instances (it loads its model once).
        scorer: the ranking and abstention model (defaults: the calibrated `Scorer()`).
        progress: called with an `IndexProgress` as the first build goes; a console bar if None.
        wait: build or update the index before returning (default); with False, answer from
            the index on disk at once (if there is one) while the update runs in the background.
    """

    def __init__(
        self,
        sources: str | Path | None = None,
        index: str | Path | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        scorer: Scorer | None = None,
        progress: Progress | None = None,
        wait: bool = True,
    ) -> None:
        settings = settings or Settings()
        self.scorer = scorer or Scorer()
        super().__init__(Path(sources if sources is not None else settings.sources),
                         index_spec(index if index is not None else settings.index), settings,
                         embedder or Embedder(settings.model, encoder=settings.encoder), progress, wait)

    def conversation(self) -> Conversation:
        """A conversation over this collection: each question is read against the turns before it.

        Example:
            >>> chat = QA("sources", "index").conversation()       # doctest: +SKIP
            >>> chat.ask("how many US troops are in Iraq?")         # doctest: +SKIP
            >>> chat.ask("and in Syria?").understood_as             # doctest: +SKIP
            'how many US troops are in Syria?'
        """
        return Conversation(self)

    def ask(
        self,
        question: str,
        k: int = 5,
        sources: Sequence[str] | str | None = None,
        since: str | None = None,
        until: str | None = None,
        include_undated: bool = True,
        method: str | None = None,
        history: Sequence[str] = (),
    ) -> Answer:
        """The passages that answer `question`, best first (at most k, 1 to MAX_K).

        `sources` restricts the search to those documents (paths relative to the sources
        folder; one path may be given as a string); `since`/`until` (ISO dates, inclusive)
        to documents dated in that range, and to undated ones unless `include_undated` is
        False (the answer counts them either way). `method` ranks with "hybrid" (default),
        "bm25" or "dense" only. `history` holds the questions asked before in a
        conversation, oldest first: a follow-up is read against them, and the reading that
        the articles support best is answered (see `Answer.understood_as`).
        """
        text = clean_question(question, self.settings.max_question_chars)
        k = _check_k(k)
        since, until = date_filter(since, "since"), date_filter(until, "until")
        method = method or self.settings.method
        if method not in METHODS:
            raise QuestionError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
        store = self._current_store()
        if not store.documents:
            raise SourcesError(f"no documents to search in {self.sources}: add {supported_types()} files")
        scope = self._scope(store, _check_sources(store, sources, self._removed), since, until, include_undated)
        earlier = [h for h in history if isinstance(h, str) and h.strip()]
        options = readings(text, earlier, self._previous_answer_text(store, text, earlier, scope.where)) if earlier else []
        if options and options[0].fragment:
            # A fragment ("what about France?") is no question on its own: its completion is what was asked.
            best = self._retrieve(store, options[0].question, scope.where, method, options[0])
        else:
            # A whole question is re-read only when the articles support a re-reading clearly better.
            best = typed = self._retrieve(store, text, scope.where, method)
            for reading in options:
                found = self._retrieve(store, reading.question, scope.where, method, reading)
                if found.support >= typed.support + REWRITE_MARGIN and found.support > best.support:
                    best = found
        selected = select_passages(store, best.hits, k)
        weights = store.idf(best.terms)
        passages = [answer_passage(s, best.question, weights) for s in selected]
        passages = agreeing(passages, selected, store, self.settings.agreement_cosine)
        reading = best.reading
        return Answer(
            question=question, answered=bool(best.hits) and best.support >= self.scorer.threshold,
            passages=tuple(passages), understood_as=best.question if reading else text,
            note=reading.note if reading else "", undated_included=scope.undated_included,
            undated_excluded=scope.undated_excluded,
        )

    def _retrieve(self, store: IndexBackend, question: str, where: Filter | None, method: str,
                  reading: Resolution | None = None) -> _Retrieval:
        query_terms = terms(question)
        vector = self.embedder.encode([question])[0]
        hits = rank(store, vector, query_terms, self.scorer, self.settings.candidates, where, method, question)
        # Whatever the ranking method, the calibrated model says how well the top passage answers
        # (hybrid hits carry that score already).
        if not hits:
            support = 0.0
        elif method == "hybrid":
            support = hits[0].score
        else:
            support = float(self.scorer(np.array([hits[0].features], dtype=np.float32))[0])
        return _Retrieval(question, query_terms, hits, support, reading)

    def _previous_answer_text(self, store: IndexBackend, question: str, earlier: list[str], where: Filter | None) -> str:
        """The highlight that answered the last question, when this one may refer to it ("he", "that deal")."""
        if not _REFERS.search(question):
            return ""
        previous = self._retrieve(store, earlier[-1], where, self.settings.method)
        if not previous.hits:
            return ""
        chosen = select_passages(store, previous.hits, 1)
        top = answer_passage(chosen[0], previous.question, store.idf(previous.terms))
        return top.answer.text + " " + top.highlight if top.answer else top.highlight

    def _scope(self, store: IndexBackend, sources: list[str] | None, since: str | None, until: str | None,
               include_undated: bool) -> _Scope:
        """The filter a question searches with, and the undated articles a date filter met.

        Sources moved to the trash are left out at once, before the index drops them.
        """
        where = Filter(None if sources is None else frozenset(sources), frozenset(self._removed), since, until,
                       include_undated)
        if where.empty:
            return _Scope(None)
        undated = sum(1 for d in store.documents if d.date is None and where.admits_source(d.source)) if where.dated else 0
        return _Scope(where, undated if include_undated else 0, 0 if include_undated else undated)


# A whole question is re-read from the turns before only when its best passage scores this much higher.
REWRITE_MARGIN = 0.1
# At most this many passages per answer.
MAX_K = 50
# Words by which a question may refer to the previous answer.
_REFERS = re.compile(r"\b(he|she|him|his|her|that|this|those|these)\b", re.I)


@dataclass(frozen=True)
class _Retrieval:
    """One reading of a question and what it found."""

    question: str
    terms: list[str]
    hits: list[Hit]
    support: float  # the calibrated score of the top passage
    reading: Resolution | None = None


@dataclass(frozen=True)
class _Scope:
    """What a question may search (None: all) and the undated articles a date filter met."""

    where: Filter | None
    undated_included: int = 0
    undated_excluded: int = 0


def _check_k(k: object) -> int:
    """`k` as an int from 1 to MAX_K, or QuestionError saying what is expected."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= MAX_K:
        raise QuestionError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
    return int(k)


def _check_sources(store: IndexBackend, sources: Sequence[str] | str | None, removed: set[str]) -> list[str] | None:
    """The source filter as a list of known sources; one string is one source; unknown ones are an error."""
    if sources is None:
        return None
    if isinstance(sources, str):
        sources = [sources]
    sources = list(sources)
    unknown = [s for s in sources if not isinstance(s, str) or store.document(s) is None or s in removed]
    if unknown:
        raise QuestionError(f"no article {unknown[0]!r} in the collection; sources are paths relative to the "
                            f"sources folder, as listed by QA.documents()")
    return sources


_default: dict[tuple[Path, Path], QA] = {}
_default_lock = threading.Lock()


def _default_qa() -> QA:
    """The QA over the default folders (./sources, indexed in ./index), opened once."""
    settings = Settings()
    key = (Path(settings.sources).resolve(), Path(settings.index).resolve())
    with _default_lock:
        if key not in _default:
            _default[key] = QA(settings.sources, settings.index, settings)
        return _default[key]


def ask(question: str, k: int = 5, **options) -> Answer:
    """Ask the default collection (./sources, indexed in ./index); options as for `QA.ask`.

    The first call loads the model and builds or updates the index; later calls reuse it.

    Example:
        >>> from qa import ask
        >>> print(ask("how many troops stay in Kurdistan?"))   # doctest: +SKIP
    """
    return _default_qa().ask(question, k=k, **options)


def conversation() -> Conversation:
    """A conversation over the default collection: follow-ups are read against earlier turns.

    Example:
        >>> from qa import conversation
        >>> chat = conversation()                                   # doctest: +SKIP
        >>> chat.ask("who is Iraq's defense minister?")             # doctest: +SKIP
        >>> chat.ask("and the prime minister?").understood_as       # doctest: +SKIP
        "who is Iraq's prime minister?"
    """
    return _default_qa().conversation()
