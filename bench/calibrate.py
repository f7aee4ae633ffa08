"""Fit the Scorer (qa.retrieval) on a mixture of sets, cross-validated, and calibrate its score.

Data: the "fit" half (qa.evaluation.split_of) of xquad-en, squad2-dev and news-2023, each
question asked as it is (answerable) and again with every document that holds its answer
hidden (a negative: the collection cannot answer it); and, as off-topic negatives, the fit
half of the other Wikipedia set's questions about articles this one lacks. The "test" halves are never read here;
`qa eval --split test` and bench/compare_main.py report on them.

Three steps, each a logistic regression (Newton's method, L2):
1. the first model over the four cheap FEATURES ranks every candidate; label: the passage
   holds a gold answer (for xquad and squad: and belongs to the gold paragraph);
2. the full model over all FEATURES ranks that model's best `rerank` candidates; it is
   fitted on the negatives' candidates too (none answers), so it also learns abstention;
3. calibration: a logistic model of "the top passage is correct" (holds a gold answer or
   belongs to a relevant document; never, for a negative) over the full model's top logit,
   so that the score reads as the chance the top passage is right; applied to every
   passage's logit, so ranks stay. (The margin of the top logit over the second calibrated
   the public sets better but made a two-article collection answer off-topic questions.)
Then the threshold: the lowest score at which the fit data's negatives are answered at most
NEGATIVE_TARGET of the time, unless that refuses more than REFUSED_TARGET of its answerable
questions (then the threshold that refuses REFUSED_TARGET).

Cross-validation: every step is fitted leaving one set out and reported on that set's fit
half (which the fold did not see), then fitted on all three for the printed defaults.

Run:  .venv/bin/python bench/calibrate.py [--workdir /tmp/qa-eval]
      (indexes each set under WORKDIR/<set>, reusing what bench/compare_main.py built)
Prints the cross-validated table and the `Scorer(...)` to paste as the defaults in qa/retrieval.py.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from common import DATA, fit_logistic

from qa.config import Settings
from qa.embedding import Embedder
from qa.evaluation import (
    Question,
    hidden_negatives,
    highlight_hit,
    load_dataset,
    out_of_collection,
    split_of,
    write_sources,
)
from qa.indexing import update_index
from qa.lexical import terms
from qa.retrieval import FEATURES, FIRST_STAGE, Scorer, add_sentence_signals, candidates
from qa.stores import Filter, IndexBackend
from qa.stores.local import load_store

SETS = ("xquad-en", "squad2-dev", "news-2023")
RERANK = 12
OFF_TOPIC = {"xquad-en": "squad2-dev", "squad2-dev": "xquad-en"}
NEGATIVE_TARGET = 0.10
REFUSED_TARGET = 0.04


@dataclass
class Asked:
    """One question's candidates: feature rows, labels, and whether each makes a correct top passage."""

    set: str
    negative: bool
    features: np.ndarray
    label: np.ndarray  # the passage holds the answer (ranking target)
    correct: np.ndarray  # as a top passage it would count as correct (calibration target)


def collect(name: str, workdir: Path, embedder: Embedder) -> list[Asked]:
    """Candidates with all features for the fit half of one set, answerable and hidden-document negatives."""
    dataset = load_dataset(DATA / name)
    write_sources(dataset, workdir / name / "sources")
    update_index(workdir / name / "sources", workdir / name / "index", embedder, Settings())
    store = load_store(workdir / name / "index")
    fit = [q for q in dataset.questions if split_of(q.id) == "fit"]
    negatives = hidden_negatives(dataset, fit)
    vectors = embedder.encode([q.text for q in fit], batch_size=64)
    stem_source = {Path(d.source).stem: d.source for d in store.documents}
    out = []
    for q, neg, v in zip(fit, negatives, vectors):
        out.append(_asked(name, store, q, v, None, False))
        hidden = Filter(exclude=frozenset(stem_source[s] for s in neg.hidden if s in stem_source))
        out.append(_asked(name, store, q, v, hidden, True))
    # Questions about topics the collection lacks altogether: the other Wikipedia set's
    # questions about articles this one does not hold (their fit half).
    other = OFF_TOPIC.get(name)
    if other:
        off = [q for q in out_of_collection(dataset, load_dataset(DATA / other)) if split_of(q.id) == "fit"]
        for q, v in zip(off, embedder.encode([q.text for q in off], batch_size=64)):
            out.append(_asked(name, store, q, v, None, True))
    return out


def _asked(name: str, store: IndexBackend, q: Question, vector: np.ndarray, where: Filter | None,
           negative: bool) -> Asked:
    query_terms = terms(q.text)
    passages, features = candidates(store, vector, query_terms, Settings().candidates, where)
    add_sentence_signals(store, passages, features, np.arange(len(passages)), query_terms, q.text)
    label, correct = np.zeros(len(passages)), np.zeros(len(passages))
    for r, p in enumerate(passages):
        doc = store.document(p.source)
        start, end = doc.passage_span(p.number)
        relevant = Path(doc.source).stem in q.relevant
        holds = highlight_hit(doc.text[start:end], q.answers)
        if not negative:
            label[r] = holds and (relevant or name == "news-2023")
            correct[r] = holds or relevant
    return Asked(name, negative, features, label, correct)


def _balanced(asked: list[Asked]) -> list[Asked]:
    """Each set weighs the same: repeat the smaller sets' questions (sets differ 5x in size)."""
    sizes = {s: sum(a.set == s for a in asked) for s in {a.set for a in asked}}
    biggest = max(sizes.values())
    out = []
    for a in asked:
        out.extend([a] * max(1, round(biggest / max(1, sizes[a.set]))))
    return out


def fit(asked: list[Asked]) -> Scorer:
    """All three steps on `asked`; the threshold is set separately."""
    asked = _balanced(asked)
    pos = [a for a in asked if not a.negative and len(a.label)]
    x1 = np.concatenate([a.features[:, :FIRST_STAGE] for a in pos])
    b1, w1 = fit_logistic(x1, np.concatenate([a.label for a in pos]))
    # The full model learns from negatives too: none of their candidates answers, so it
    # learns what an answerable question's best passage looks like, not only how to rank.
    rows = [a for a in asked if len(a.label)]
    heads = [np.argsort(-(b1 + a.features[:, :FIRST_STAGE] @ w1), kind="stable")[:RERANK] for a in rows]
    x2 = np.concatenate([a.features[h] for a, h in zip(rows, heads)])
    b2, w2 = fit_logistic(x2, np.concatenate([a.label[h] for a, h in zip(rows, heads)]))
    raw = Scorer(bias=float(b2), weights=tuple(float(v) for v in w2), first_bias=float(b1),
                 first=tuple(float(v) for v in w1), rerank=RERANK)
    tops, correct = [], []
    for a in asked:
        if not len(a.features):
            continue
        head = np.argsort(-raw.first_stage(a.features), kind="stable")[:RERANK]
        z = raw.logits(a.features[head])
        best = int(np.argmax(z))
        tops.append(z[best])
        correct.append(a.correct[head][best])
    c0, c = fit_logistic(np.array(tops)[:, None], np.array(correct, dtype=float), l2=1e-4)
    return replace(raw, calibration=(float(c0), float(c[0])))


def top_scores(scorer: Scorer, asked: list[Asked]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top score, top correct, is negative) per question under `scorer`."""
    scores, correct, negative = [], [], []
    for a in asked:
        if not len(a.features):
            scores.append(0.0)
            correct.append(False)
            negative.append(a.negative)
            continue
        head = np.argsort(-scorer.first_stage(a.features), kind="stable")[: scorer.rerank]
        s = scorer(a.features[head])
        best = int(np.argmax(s))
        scores.append(float(s[best]))
        correct.append(bool(a.correct[head][best]))
        negative.append(a.negative)
    return np.array(scores), np.array(correct), np.array(negative)


def choose_threshold(scorer: Scorer, asked: list[Asked]) -> float:
    scores, _, negative = top_scores(scorer, asked)
    by_negatives = float(np.quantile(scores[negative], 1 - NEGATIVE_TARGET))
    by_refusals = float(np.quantile(scores[~negative], REFUSED_TARGET))
    return min(by_negatives, by_refusals)


def report(scorer: Scorer, asked: list[Asked], threshold: float) -> str:
    scores, correct, negative = top_scores(scorer, asked)
    pos = ~negative
    answered = scores >= threshold
    bins = np.minimum((scores * 10).astype(int), 9)
    ece = sum(abs(scores[bins == b].mean() - correct[bins == b].mean()) * (bins == b).sum()
              for b in range(10) if (bins == b).any()) / len(scores)
    return (f"top correct {correct[pos].mean():.3f} | refused {np.mean(~answered[pos]):.3f} | "
            f"negatives answered {np.mean(answered[negative]):.3f} | "
            f"confidently wrong {np.mean(answered & (scores >= 0.8) & ~correct):.3f} | ECE {ece:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/qa-eval")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated (default: all three)")
    parser.add_argument("--cache", help="keep the collected features in this .pkl file and reuse them")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    embedder = Embedder()
    cached: dict[str, list[Asked]] = {}
    if args.cache and Path(args.cache).is_file():
        cached = pickle.loads(Path(args.cache).read_bytes())
    sets = args.sets.split(",")
    for name in sets:
        if name not in cached:
            t0 = time.perf_counter()
            cached[name] = collect(name, Path(args.workdir), embedder)
            print(f"{name}: features in {time.perf_counter() - t0:.0f} s", flush=True)
            if args.cache:
                Path(args.cache).write_bytes(pickle.dumps(cached))
    asked = [a for name in sets for a in cached[name]]
    print(f"features: {FEATURES}; first stage: the first {FIRST_STAGE}")
    print("\ncross-validation (fitted without the set, reported on its fit half):")
    for held in sets:
        train = [a for a in asked if a.set != held]
        scorer = fit(train)
        threshold = choose_threshold(scorer, train)
        print(f"  {held:11s} {report(scorer, [a for a in asked if a.set == held], threshold)}")
    scorer = fit(asked)
    threshold = choose_threshold(scorer, asked)
    print("\nfitted on all three (in-sample):")
    for name in sets:
        print(f"  {name:11s} {report(scorer, [a for a in asked if a.set == name], threshold)}")
    w = ", ".join(f"{v:.3f}" for v in scorer.weights)
    f = ", ".join(f"{v:.3f}" for v in scorer.first)
    k = ", ".join(f"{v:.3f}" for v in scorer.calibration)
    print(f"\nScorer(bias={scorer.bias:.3f}, weights=({w}), first_bias={scorer.first_bias:.3f}, "
          f"first=({f}), threshold={threshold:.3f}, rerank={RERANK}, calibration=({k}))")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
