"""Measure answer quality through the normal pipeline: public sets and our own scenario suites.

Two kinds of input, one set of metrics:
- a BEIR-layout set (xquad-en, squad2-dev, news-2023): each corpus entry becomes a .txt
  document (title line, blank line, text), indexed as usual; every question is asked
  through `QA.ask`; a document hit is any passage of a relevant document;
- a scenario suite (eval/*.jsonl): cases of one to three turns over a folder of articles,
  each turn with gold answer strings, the files that answer it, and optional filters.

The package in rooms: `data` (questions, sets, suites, negatives and the fit/test split),
`metrics` (an answer judged against its gold; ranks, answer strings and phrases,
calibration, confidently wrong answers), `run` (indexing and asking: `evaluate`,
`evaluate_suite`) and `report` (the report and the Markdown tables `qa eval` prints). Every
public name is importable from `qa.evaluation` itself. The modules import one another
relatively, so bench/common.py's `this_evaluation` can run this tree's evaluation over
another commit's `qa`.

Example:
    >>> from qa.evaluation import calibration, Record
    >>> table, ece = calibration([Record("q", "answerable", True, 0.95, True)])
    >>> round(ece, 2)
    0.05
"""

from __future__ import annotations

from .data import (
    Dataset,
    Question,
    hidden_negatives,
    load_dataset,
    load_paraphrases,
    load_suite,
    out_of_collection,
    split_of,
    write_sources,
)
from .metrics import (
    CALIBRATION_BINS,
    CONFIDENT,
    Record,
    calibration,
    highlight_hit,
    judge,
    ndcg,
    phrase_scores,
    ranked_documents,
    recall,
    reciprocal_rank,
    summarise,
    token_f1,
)
from .report import MethodReport, Report, format_table
from .run import Asker, ask_question, evaluate, evaluate_subsets, evaluate_suite, run_questions

__all__ = [
    "CALIBRATION_BINS", "CONFIDENT", "Asker", "Dataset", "MethodReport", "Question", "Record", "Report",
    "ask_question", "calibration", "evaluate", "evaluate_subsets", "evaluate_suite", "format_table",
    "hidden_negatives", "highlight_hit", "judge", "load_dataset", "load_paraphrases", "load_suite", "ndcg",
    "out_of_collection", "phrase_scores", "ranked_documents", "recall", "reciprocal_rank", "run_questions",
    "split_of", "summarise", "token_f1", "write_sources",
]
