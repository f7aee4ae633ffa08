"""Which ranking anchors the measurements support: each candidate signal added to the scorer's
features, the ranker refitted on a set's *fit* half and reported on its *test* half.

Prints, per set, the share of answerable test questions whose top-1 (and any top-5) passage
holds a gold answer string, for the shipped scorer (qa.retrieval.Scorer) and for a ranker
refitted on that set's fit half with: the scorer's own FEATURES only; plus each document-level
anchor (the idf-weighted share of the question's terms anywhere in the passage's document, the
same in its title, how far the passage's cosine is below its document's best, how many
candidates its document has); plus the share of the question's consecutive term pairs the
passage holds (word order, which BM25 ignores); and plus a sentence-level dense match (the question's cosine
to the passage's best sentence, each sentence embedded at question time; only with
--sentences, since that embeds every sentence of the top 12 candidates of every question).

Run:  .venv/bin/python bench/anchors.py [--sets news-2023,xquad-en] [--sentences] [--workdir /tmp/qa-eval]
      (indexes each set under WORKDIR/<set>, reusing what bench/compare_main.py built)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import DATA, fit_logistic, stamp

from qa.config import Settings
from qa.embedding import Embedder
from qa.evaluation import highlight_hit, load_dataset, split_of, write_sources
from qa.indexing import update_index
from qa.lexical import term_set, terms
from qa.retrieval import FEATURES, Scorer, add_sentence_signals, candidates, passage_sentences, unknown_weight
from qa.stores.local import Store, load_store

ANCHORS = ("document coverage", "title coverage", "document cosine gap", "document candidates")
RERANK = 12


@dataclass
class Candidates:
    """One answerable question's candidates: FEATURES, then ANCHORS, the bigram share, the sentence cosine."""

    split: str
    features: np.ndarray
    holds: np.ndarray  # the passage holds a gold answer string


def document_anchors(store: Store, sources: list[str], vector: np.ndarray, query_terms: list[str]) -> dict:
    """ANCHORS' document-level values (the last is filled per candidate) for each source."""
    weights = store.idf(list(dict.fromkeys(query_terms)))
    total = sum(weights.values()) + unknown_weight(weights, query_terms)
    known = list(weights)
    out = {}
    for source in sources:
        doc = store.document(source)
        held = store.contains([doc.passage_id(i) for i in range(len(doc.passages))], known).any(axis=0)
        title = term_set(doc.title)
        out[source] = (sum(weights[t] for t, h in zip(known, held) if h) / total if total else 0.0,
                       sum(weights[t] for t in known if t in title) / total if total else 0.0,
                       float((store.document_vectors(source) @ vector).max()))
    return out


def bigrams(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:]))


def passage_text(store: Store, passage) -> str:
    doc = store.document(passage.source)
    start, end = doc.passage_span(passage.number)
    return doc.text[start:end]


def collect(name: str, workdir: Path, embedder: Embedder, sentences: bool) -> list[Candidates]:
    dataset = load_dataset(DATA / name)
    write_sources(dataset, workdir / name / "sources")
    update_index(workdir / name / "sources", workdir / name / "index", embedder, Settings())
    store = load_store(workdir / name / "index")
    scorer = Scorer()
    out = []
    vectors = embedder.encode([q.text for q in dataset.questions], batch_size=64)
    for q, vector in zip(dataset.questions, vectors):
        query_terms = terms(q.text)
        passages, features = candidates(store, vector, query_terms, Settings().candidates)
        if not passages:
            continue
        add_sentence_signals(store, passages, features, np.arange(len(passages)), query_terms, q.text)
        docs = document_anchors(store, sorted({p.source for p in passages}), vector, query_terms)
        count = {s: sum(p.source == s for p in passages) for s in docs}
        extra = np.zeros((len(passages), len(ANCHORS) + 2), dtype=np.float32)
        head = np.argsort(-scorer.first_stage(features), kind="stable")[:RERANK]
        for r, p in enumerate(passages):
            cover, title, best = docs[p.source]
            extra[r, :4] = cover, title, features[r, 0] - best, np.log1p(count[p.source])
        pairs = bigrams(query_terms)
        for r in head:
            extra[r, 4] = len(pairs & bigrams(terms(passage_text(store, passages[r])))) / max(1, len(pairs))
            if sentences:
                extra[r, 5] = float((embedder.encode(passage_sentences(store, passages[r])) @ vector).max())
        holds = np.array([highlight_hit(passage_text(store, p), q.answers) for p in passages], dtype=float)
        out.append(Candidates(split_of(q.id), np.column_stack([features, extra]), holds))
    return out


def head_of(c: Candidates, scorer: Scorer) -> np.ndarray:
    """The shipped scorer's first stage picks the candidates every ranker reorders (as in qa.retrieval.rank)."""
    return np.argsort(-scorer.first_stage(c.features[:, : len(FEATURES)]), kind="stable")[:RERANK]


def shares(rows: list[Candidates], rank) -> tuple[float, float]:
    """(top-1 holds an answer, any top-5 holds one) under `rank`, a function of a question's head rows."""
    top1, top5 = [], []
    for c, head in rows:
        order = np.argsort(-rank(c.features[head]), kind="stable")
        top1.append(c.holds[head][order[0]] > 0)
        top5.append(c.holds[head][order[:5]].any())
    return float(np.mean(top1)), float(np.mean(top5))


def report(name: str, rows: list[Candidates], sentences: bool) -> None:
    scorer = Scorer()
    headed = [(c, head_of(c, scorer)) for c in rows]
    fit = [(c, h) for c, h in headed if c.split == "fit"]
    test = [(c, h) for c, h in headed if c.split == "test"]
    n = len(FEATURES)
    print(f"\n{name}: {len(fit)} fit and {len(test)} test answerable questions\n")
    print("| ranker | test top-1 holds answer | test top-5 | fit top-1 (in sample) |")
    print("|---|---|---|---|")
    shipped = lambda x: scorer.logits(x[:, :n])  # noqa: E731
    t1, t5 = shares(test, shipped)
    f1, _ = shares(fit, shipped)
    print(f"| shipped scorer | {t1:.3f} | {t5:.3f} | {f1:.3f} |")
    variants = [("refitted on FEATURES", [])] + [(f"+ {a}", [n + i]) for i, a in enumerate(ANCHORS)]
    variants.append(("+ all document anchors", [n + i for i in range(len(ANCHORS))]))
    variants.append(("+ question bigrams held", [n + len(ANCHORS)]))
    if sentences:
        variants.append(("+ best-sentence cosine", [n + len(ANCHORS) + 1]))
    for label, extra in variants:
        cols = list(range(n)) + extra
        b, w = fit_logistic(np.concatenate([c.features[h][:, cols] for c, h in fit]),
                            np.concatenate([c.holds[h] for c, h in fit]))
        rank = lambda x, b=b, w=w, cols=cols: b + x[:, cols] @ w  # noqa: E731
        t1, t5 = shares(test, rank)
        f1, _ = shares(fit, rank)
        print(f"| {label} | {t1:.3f} | {t5:.3f} | {f1:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="news-2023,xquad-en,squad2-dev")
    parser.add_argument("--workdir", default="/tmp/qa-eval")
    parser.add_argument("--sentences", action="store_true", help="also the best-sentence cosine (slow)")
    args = parser.parse_args()
    print(stamp())
    embedder = Embedder()
    for name in args.sets.split(","):
        report(name, collect(name, Path(args.workdir), embedder, args.sentences), args.sentences)
    print(f"\n{stamp()}")


if __name__ == "__main__":
    main()
