"""Fit the Scorer (qa.retrieval) on xquad-en: ranking weights and the abstention threshold.

Data, all from xquad-en (of squad2-dev only its article titles are read, to split xquad):
- xquad's 48 articles are split by title: the 16 that squad2-dev shares, and the other 32,
  alternately into OOC-cal (left out of the corpus: their questions are the negatives) and
  OOC-test (kept in the corpus: their questions are fitted as positives, never used as
  out-of-collection negatives);
- the calibration corpus is every xquad paragraph except OOC-cal's;
- positives: candidates from relevant paragraphs for the questions of corpus articles;
  negatives: every other candidate, including all candidates of OOC-cal's questions,
  which the corpus cannot answer.
A logistic regression over qa.retrieval.FEATURES is fitted (Newton's method, L2), then the
threshold is the lowest that keeps OOC-cal questions answered at <= 5%.

Run:  .venv/bin/python bench/calibrate.py [../shared/data]
Prints the fitted Scorer to paste as the defaults in qa/retrieval.py.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedding import Embedder
from qa.evaluation import Dataset, load_dataset, write_sources
from qa.indexing import update_index
from qa.lexical import terms
from qa.retrieval import FEATURES, candidates
from qa.store import load_store

OOC_TARGET = 0.05


def split_titles(xquad: Dataset, squad_titles: set[str]) -> tuple[set[str], set[str]]:
    """(OOC-cal, OOC-test): xquad titles not in squad2-dev, alternately."""
    own = sorted(xquad.titles() - squad_titles)
    return set(own[0::2]), set(own[1::2])


def collect(corpus: Dataset, questions: list, embedder: Embedder,
            workdir: Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Feature rows, labels and per-question row counts for the questions against corpus."""
    write_sources(corpus, workdir / "sources")
    update_index(workdir / "sources", workdir / "index", embedder, Settings())
    store = load_store(workdir / "index")
    vectors = embedder.encode([q.text for q in questions], batch_size=64)
    rows, labels, counts = [], [], []
    for q, v in zip(questions, vectors):
        passages, features = candidates(store, v, terms(q.text), Settings().candidates)
        docs = [Path(store.locate(int(p))[0].source).stem for p in passages]
        rows.append(features)
        labels.append(np.array([d in q.relevant for d in docs], dtype=np.float32))
        counts.append(len(passages))
    return np.concatenate(rows), np.concatenate(labels), counts


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50) -> tuple[float, np.ndarray]:
    """Bias and weights of an L2-regularised logistic regression (Newton's method)."""
    xb = np.column_stack([np.ones(len(x)), x]).astype(np.float64)
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + l2 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), w[1:]


def top_scores(x: np.ndarray, counts: list[int], bias: float, w: np.ndarray) -> np.ndarray:
    scores = 1.0 / (1.0 + np.exp(-(bias + x @ w)))
    out, start = [], 0
    for n in counts:
        out.append(scores[start : start + n].max() if n else 0.0)
        start += n
    return np.array(out)


def main(data_dir: str = "../shared/data") -> None:
    xquad = load_dataset(Path(data_dir) / "xquad-en")
    squad_titles = {line.split('"title": "')[1].split('"')[0]
                    for line in (Path(data_dir) / "squad2-dev" / "corpus.jsonl").read_text().splitlines() if line}
    ooc_cal, _ = split_titles(xquad, squad_titles)
    corpus = Dataset("xquad-cal", {c: v for c, v in xquad.corpus.items() if v[0] not in ooc_cal}, ())
    inside = [q for q in xquad.questions if not xquad.question_titles(q) & ooc_cal]
    outside = [q for q in xquad.questions if xquad.question_titles(q) & ooc_cal]
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        x, y, counts = collect(corpus, inside + outside, embedder, Path(tmp))
    bias, w = fit_logistic(x, y)
    n_in = len(inside)
    tops = top_scores(x, counts, bias, w)
    tops_in, tops_out = tops[:n_in], tops[n_in:]
    threshold = float(np.quantile(tops_out, 1 - OOC_TARGET))
    print(f"calibration: {len(corpus.corpus)} paragraphs, {n_in} answerable questions, "
          f"{len(outside)} out-of-collection questions ({len(ooc_cal)} articles left out of the corpus)")
    print(f"features: {FEATURES}")
    # Shift the bias so that the threshold lands at 0.5: a score reads "answers" from 0.5 up.
    shifted = bias - float(np.log(threshold / (1 - threshold)))
    print(f"Scorer(bias={shifted:.3f}, weights=({', '.join(f'{v:.3f}' for v in w)}), threshold=0.5)"
          f"  # fitted threshold {threshold:.3f} moved to 0.5")
    print(f"on calibration data: answerable refused {np.mean(tops_in < threshold):.3f}, "
          f"OOC answered {np.mean(tops_out >= threshold):.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
