"""An evaluation's report: one row of figures per subset and method, and the Markdown it prints as.

`MethodReport` holds what `qa.evaluation.metrics.summarise` makes of one subset asked with
one method; `Report` gathers them with the collection's size and indexing time, and
`to_dict()` gives the JSON that `qa eval --json` prints and bench/compare_main.py reads
back. `format_table` is what `qa eval` prints: one row per subset and method, then a
calibration table for each hybrid row.

Example:
    >>> from qa.evaluation.report import Report, format_table
    >>> print(format_table(Report("tiny", 2, 3, 0.5)).splitlines()[0])
    tiny: 2 documents, 3 passages, indexed in 0.5 s
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class MethodReport:
    """The figures of one subset asked with one method (`summarise` makes it from the records)."""

    method: str
    subset: str
    questions: int
    negatives: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    answer_top1: float
    answer_top5: float
    highlight_accuracy: float
    wrongly_refused: float
    negatives_answered: float | None
    confidently_wrong: float
    ece: float
    calibration: list[tuple[float, float, int, float, float]]
    phrase_shown: float
    phrase_precision: float | None
    phrase_em: float
    phrase_f1: float
    also_claims: int  # "also reported by" claims judged: named beside a highlight that holds the answer
    also_precision: float | None
    latency_p50_ms: float
    latency_p95_ms: float
    also_unjudged: int = 0  # "also reported by" claims beside a highlight that does not hold the answer


@dataclass
class Report:
    """One evaluation: the collection's size, its indexing time and a row per subset and method."""

    dataset: str
    documents: int
    passages: int
    index_seconds: float
    methods: list[MethodReport] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(report: Report) -> str:
    """Markdown tables of the report: one row per subset and method, then a calibration table each."""
    head = (f"{report.dataset}: {report.documents} documents, {report.passages} passages, "
            f"indexed in {report.index_seconds:.1f} s\n\n"
            "| subset | method | questions | R@1 | R@5 | nDCG@10 | answer top-1 | answer top-5 | highlight | "
            "refused | negatives answered | confidently wrong | ECE | phrase shown | phrase precision | phrase EM | "
            "phrase F1 | also-in precision | p50 ms | p95 ms |\n" + "|---" * 20 + "|")
    rows = [
        f"| {m.subset} | {m.method} | {m.questions}+{m.negatives} | {_f(m.recall_at_1)} | {_f(m.recall_at_5)} | "
        f"{_f(m.ndcg_at_10)} | {_f(m.answer_top1)} | {_f(m.answer_top5)} | {_f(m.highlight_accuracy)} | "
        f"{_f(m.wrongly_refused)} | {_f(m.negatives_answered)} | {_f(m.confidently_wrong)} | {_f(m.ece)} | "
        f"{_f(m.phrase_shown)} | {_f(m.phrase_precision)} | {_f(m.phrase_em)} | {_f(m.phrase_f1)} | "
        f"{_f(m.also_precision)} (n={m.also_claims}, {m.also_unjudged} unjudged) | "
        f"{m.latency_p50_ms:.1f} | {m.latency_p95_ms:.1f} |"
        for m in report.methods
    ]
    tables = []
    for m in report.methods:
        if m.method != "hybrid":
            continue
        lines = [f"\nCalibration, {m.subset} ({m.method}): ECE {m.ece:.3f}\n",
                 "| score | questions | mean score | share correct |", "|---|---|---|---|"]
        lines += [f"| {lo:.1f}–{hi:.1f} | {n} | {_f(mean if n else None, 2)} | {_f(share if n else None, 2)} |"
                  for lo, hi, n, mean, share in m.calibration]
        tables.append("\n".join(lines))
    return "\n".join([head, *rows, *tables])
