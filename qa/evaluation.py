"""Measure retrieval quality on a BEIR-layout set through the normal pipeline.

Each corpus entry becomes a .txt document (title line, blank line, text) in a scratch
sources folder, indexed as usual; every question is asked through `QA.ask`; a hit is any
passage of a relevant document. Ranks are counted over distinct documents.

Metrics: Recall@1/5/10, MRR@10, nDCG@10 (binary relevance), latency p50/p95 of `ask`,
highlight accuracy (share of questions whose top passage's highlight contains a gold
answer), the share of answerable questions wrongly refused, and, with `ooc`, the share of
out-of-collection questions (from another set, about articles this corpus lacks) that are
wrongly answered.

Example:
    >>> from qa.evaluation import evaluate, load_dataset
    >>> data = load_dataset("../shared/data/xquad-en")                 # doctest: +SKIP
    >>> report = evaluate(data, methods=["bm25", "dense", "hybrid"])   # doctest: +SKIP
    >>> print(format_table(report))                                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qa.config import METHODS, Settings
from qa.embedding import Embedder
from qa.errors import SourcesError
from qa.pipeline import QA


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]
    relevant: frozenset[str]  # corpus ids


@dataclass(frozen=True)
class Dataset:
    name: str
    corpus: dict[str, tuple[str, str]]  # corpus id -> (title, text)
    questions: tuple[Question, ...]  # answerable questions (with qrels)

    def titles(self) -> set[str]:
        return {title for title, _ in self.corpus.values()}

    def question_titles(self, q: Question) -> set[str]:
        return {self.corpus[c][0] for c in q.relevant if c in self.corpus}


@dataclass(frozen=True)
class MethodReport:
    method: str
    questions: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    highlight_accuracy: float
    wrongly_refused: float
    latency_p50_ms: float
    latency_p95_ms: float
    ooc_questions: int = 0
    ooc_wrongly_answered: float | None = None


@dataclass(frozen=True)
class Report:
    dataset: str
    documents: int
    passages: int
    index_seconds: float
    methods: list[MethodReport] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_dataset(folder: str | Path) -> Dataset:
    """Read corpus.jsonl, queries.jsonl and qrels.tsv; questions without qrels are left out."""
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (folder / name).is_file():
            raise SourcesError(f"{folder} is not a BEIR-layout dataset: {name} is missing")
    corpus = {d["_id"]: (d.get("title") or d["_id"], d["text"]) for d in _jsonl(folder / "corpus.jsonl")}
    relevant: dict[str, set[str]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as fh:
        next(fh, None)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and float(parts[2]) > 0:
                relevant.setdefault(parts[0], set()).add(parts[1])
    questions = tuple(
        Question(q["_id"], q["text"], tuple(q.get("answers") or ()), frozenset(relevant[q["_id"]]))
        for q in _jsonl(folder / "queries.jsonl")
        if q["_id"] in relevant and not q.get("is_impossible", False)
    )
    return Dataset(folder.name, corpus, questions)


def out_of_collection(dataset: Dataset, other: Dataset) -> list[Question]:
    """Questions of `other` about articles (titles) that `dataset`'s corpus does not hold."""
    titles = dataset.titles()
    return [q for q in other.questions if not other.question_titles(q) & titles]


def write_sources(dataset: Dataset, folder: Path) -> None:
    """One .txt document per corpus entry: the title, a blank line, the text."""
    folder.mkdir(parents=True, exist_ok=True)
    for cid, (title, text) in dataset.corpus.items():
        (folder / f"{cid}.txt").write_text(f"{title.replace('_', ' ')}\n\n{text}\n", encoding="utf-8")


def ranked_documents(sources: Sequence[str], k: int = 10) -> list[str]:
    """Distinct corpus ids in rank order, from passage source paths ("<id>.txt")."""
    seen: dict[str, None] = {}
    for s in sources:
        seen.setdefault(Path(s).stem, None)
    return list(seen)[:k]


def ndcg(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if d in relevant), 0.0)


def recall(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """1 if any relevant document is in the top k (the usual single-answer QA recall)."""
    return 1.0 if set(ranked[:k]) & relevant else 0.0


def highlight_hit(highlight: str, answers: Sequence[str]) -> bool:
    folded = highlight.casefold()
    return any(a.strip() and a.strip().casefold() in folded for a in answers)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def evaluate_method(qa: QA, dataset: Dataset, method: str, ooc: Sequence[Question] = (),
                    progress: Callable[[], None] | None = None) -> MethodReport:
    """Ask every question with one retrieval method and aggregate the metrics."""
    qa.settings = replace(qa.settings, method=method)
    r1 = r5 = r10 = mrr = nd = hl = refused = 0.0
    latencies: list[float] = []
    for q in dataset.questions:
        t0 = time.perf_counter()
        answer = qa.ask(q.text, k=10)
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked = ranked_documents([p.source for p in answer.passages])
        r1 += recall(ranked, q.relevant, 1)
        r5 += recall(ranked, q.relevant, 5)
        r10 += recall(ranked, q.relevant, 10)
        mrr += reciprocal_rank(ranked, q.relevant)
        nd += ndcg(ranked, q.relevant)
        hl += bool(answer.passages) and highlight_hit(answer.passages[0].highlight, q.answers)
        refused += not answer.answered
        if progress:
            progress()
    wrongly_answered = 0
    for q in ooc:
        wrongly_answered += qa.ask(q.text, k=1).answered
        if progress:
            progress()
    n = max(1, len(dataset.questions))
    return MethodReport(
        method=method, questions=len(dataset.questions), recall_at_1=r1 / n, recall_at_5=r5 / n,
        recall_at_10=r10 / n, mrr_at_10=mrr / n, ndcg_at_10=nd / n, highlight_accuracy=hl / n,
        wrongly_refused=refused / n, latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95), ooc_questions=len(ooc),
        ooc_wrongly_answered=(wrongly_answered / len(ooc)) if ooc else None,
    )


def evaluate(dataset: Dataset, methods: Sequence[str] = ("hybrid",), ooc: Sequence[Question] = (),
             settings: Settings | None = None, embedder: Embedder | None = None,
             workdir: str | Path | None = None, show_progress: bool = True) -> Report:
    """Index the dataset's corpus, then run every method over its questions, side by side."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SourcesError(f"unknown method {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    with tempfile.TemporaryDirectory(prefix="qa-eval-", dir=workdir) as tmp:
        sources = Path(tmp) / "sources"
        write_sources(dataset, sources)
        t0 = time.perf_counter()
        qa = QA(sources, Path(tmp) / "index", settings=settings, embedder=embedder)
        index_seconds = time.perf_counter() - t0
        qa.ask("warm-up question")
        report = Report(dataset.name, qa.last_report.documents, qa.last_report.passages, index_seconds)
        total = len(methods) * (len(dataset.questions) + len(ooc))
        with tqdm(total=total, desc="asking", unit=" questions", disable=not show_progress) as bar:
            for method in methods:
                report.methods.append(evaluate_method(qa, dataset, method, ooc, progress=lambda: bar.update(1)))
    return report


def format_table(report: Report) -> str:
    """A Markdown table of the report, one row per method."""
    head = (f"{report.dataset}: {report.documents} documents, {report.passages} passages, "
            f"indexed in {report.index_seconds:.1f} s\n\n"
            "| method | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | highlight | refused | OOC answered | p50 ms | p95 ms |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [
        f"| {m.method} | {m.recall_at_1:.3f} | {m.recall_at_5:.3f} | {m.recall_at_10:.3f} | {m.mrr_at_10:.3f} | "
        f"{m.ndcg_at_10:.3f} | {m.highlight_accuracy:.3f} | {m.wrongly_refused:.3f} | "
        f"{'-' if m.ooc_wrongly_answered is None else f'{m.ooc_wrongly_answered:.3f} (n={m.ooc_questions})'} | "
        f"{m.latency_p50_ms:.1f} | {m.latency_p95_ms:.1f} |"
        for m in report.methods
    ]
    return "\n".join([head, *rows])
