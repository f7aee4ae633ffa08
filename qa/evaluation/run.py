"""Running an evaluation: index the articles, ask every question with every method, and score it.

`evaluate` writes a BEIR-layout set's corpus as documents and `evaluate_suite` copies a
suite's article folders into one; both open a collection over them (`QA`, or what `open_qa`
opens: the bench scripts pass an older commit's `QA` or a timed one) and hand it to
`evaluate_subsets`, which asks each question through `ask_question` (its history, filters and
hidden documents applied, the time taken) and scores the answers with `judge` and `summarise`.
The collection only has to be an `Asker`, so a stand-in does for a test.

Example:
    >>> from qa.answers import Answer
    >>> from qa.evaluation.data import Question
    >>> from qa.evaluation.run import run_questions
    >>> class Empty:
    ...     def ask(self, question, **options): return Answer(question, answered=False)
    ...     def documents(self): return []
    >>> question = Question("q1", "Who won?", ("Ada",), frozenset({"d1"}))
    >>> [(r.id, r.answered, r.correct) for r in run_questions(Empty(), [(question, "answerable")], "hybrid")]
    [('q1', False, False)]
    >>> from qa.evaluation import evaluate, format_table, load_dataset
    >>> print(format_table(evaluate(load_dataset("../shared/data/xquad-en"), ["bm25", "hybrid"])))  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from qa.answers import Answer
from qa.config import METHODS, Settings
from qa.embedding import Embedder
from qa.errors import SourcesError
from qa.pipeline import QA

from .data import Dataset, Question, hidden_negatives, split_of, write_sources
from .metrics import Record, judge, summarise
from .report import MethodReport, Report


class Asker(Protocol):
    """What evaluation needs of a collection: `QA` is one."""

    def ask(self, question: str, k: int = 5, sources: Sequence[str] | None = None, since: str | None = None,
            until: str | None = None, include_undated: bool = True, method: str | None = None,
            history: Sequence[str] = ()) -> Answer: ...

    def documents(self) -> list: ...


def ask_question(qa: Asker, q: Question, method: str, stems: dict[str, str], k: int = 10) -> tuple[Answer, float]:
    """Ask `q` (with its history, filters and hidden documents) and time it."""
    filters = dict(q.filters)
    sources = filters.get("sources")
    if sources is not None:
        sources = [stems[s] for s in sources if s in stems]
    if q.hidden:
        sources = [src for stem, src in stems.items() if stem not in q.hidden and (sources is None or src in sources)]
    t0 = time.perf_counter()
    answer = qa.ask(q.text, k=k, sources=sources, since=filters.get("since"), until=filters.get("until"),
                    include_undated=filters.get("include_undated", True), method=method, history=q.history)
    return answer, (time.perf_counter() - t0) * 1000


def run_questions(qa: Asker, questions: Sequence[tuple[Question, str]], method: str,
                  progress: Callable[[], None] | None = None) -> list[Record]:
    """Ask each (question, kind) with one method; the records, in order."""
    stems = {Path(d.source).stem: d.source for d in qa.documents()}
    records = []
    for q, kind in questions:
        answer, ms = ask_question(qa, q, method, stems)
        records.append(judge(q, answer, kind, ms))
        if progress:
            progress()
    return records


def evaluate_subsets(qa: Asker, subsets: dict[str, list[tuple[Question, str]]], methods: Sequence[str],
                     show_progress: bool = True) -> list[MethodReport]:
    """Every subset of questions with every method, side by side."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SourcesError(f"unknown method {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    total = len(methods) * sum(len(v) for v in subsets.values())
    rows = []
    with tqdm(total=total, desc="asking", unit=" questions", disable=not show_progress) as bar:
        for name, questions in subsets.items():
            relevant = {q.id: q.relevant for q, _ in questions}
            for method in methods:
                records = run_questions(qa, questions, method, progress=lambda: bar.update(1))
                rows.append(summarise(method, name, records, relevant))
    return rows


def evaluate(dataset: Dataset, methods: Sequence[str] = ("hybrid",), ooc: Sequence[Question] = (),
             settings: Settings | None = None, embedder: Embedder | None = None,
             workdir: str | Path | None = None, show_progress: bool = True, negatives: bool = False,
             paraphrases: Sequence[Question] = (), split: str = "all",
             open_qa: Callable[..., Asker] | None = None, index: str | Path | None = None) -> Report:
    """Index the dataset's corpus, then run every method over its questions, side by side.

    `workdir` keeps the written sources and the index there, so a later run reuses them
    (only changes are re-indexed); without it a temporary folder is used. `index` (a folder
    or an index string such as `qdrant+file:PATH`) is used instead of the work folder's. `split` ("all",
    "fit" or "test") keeps that half of the questions (see `split_of`). `negatives` adds a
    hidden-document negative for every question; `ooc` adds another set's questions.
    """
    keep = [q for q in dataset.questions if split == "all" or split_of(q.id) == split]
    main = [(q, "answerable") for q in keep]
    if negatives:
        main += [(q, "negative") for q in hidden_negatives(dataset, keep)]
    main += [(q, "negative") for q in ooc if split == "all" or split_of(q.id) == split]
    subsets = {dataset.name: main}
    if paraphrases:
        para = [(q, "answerable") for q in paraphrases]
        if negatives:
            para += [(q, "negative") for q in hidden_negatives(dataset, paraphrases)]
        subsets["paraphrases"] = para
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        root = Path(workdir) if workdir is not None else Path(tmp)
        write_sources(dataset, root / "sources")
        t0 = time.perf_counter()
        opener = open_qa or QA
        qa = opener(root / "sources", index or root / "index", settings=settings, embedder=embedder)
        index_seconds = time.perf_counter() - t0
        qa.ask("warm-up question")
        report = Report(dataset.name, qa.last_report.documents, qa.last_report.passages, index_seconds)
        report.methods.extend(evaluate_subsets(qa, subsets, methods, show_progress))
    return report


def evaluate_suite(questions: Sequence[Question], folders: Sequence[str | Path], name: str,
                   methods: Sequence[str] = ("hybrid",), settings: Settings | None = None,
                   embedder: Embedder | None = None, workdir: str | Path | None = None,
                   show_progress: bool = True, open_qa: Callable[..., Asker] | None = None,
                   index: str | Path | None = None) -> Report:
    """Run a scenario suite over the articles of `folders` (copied into one sources folder);
    `index` as for `evaluate`."""
    with tempfile.TemporaryDirectory(prefix="qa-suite-") as tmp:
        root = Path(workdir) if workdir is not None else Path(tmp)
        sources = root / "sources"
        sources.mkdir(parents=True, exist_ok=True)
        for folder in folders:
            for path in sorted(Path(folder).iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    target = sources / path.name
                    if not target.is_file() or target.read_bytes() != path.read_bytes():
                        target.write_bytes(path.read_bytes())
        t0 = time.perf_counter()
        qa = (open_qa or QA)(sources, index or root / "index", settings=settings, embedder=embedder)
        index_seconds = time.perf_counter() - t0
        report = Report(name, qa.last_report.documents, qa.last_report.passages, index_seconds)
        subset = [(q, "answerable" if q.answerable else "negative") for q in questions]
        report.methods.extend(evaluate_subsets(qa, {name: subset}, methods, show_progress))
    return report
