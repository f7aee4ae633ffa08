"""What one answer threshold can do: answerable questions refused against unanswerable ones answered.

For every set's *test* half (qa.evaluation.split_of) and the hand-written paraphrases, each
question is asked through `QA.ask` as a user would; so is each question with the articles that
answer it hidden and, for squad2-dev, xquad-en's questions about articles squad2-dev lacks (the
collection cannot answer either kind). Prints, for a range of thresholds on the calibrated score
(the shipped one marked), the share of answerable questions refused and of unanswerable ones
answered, per set, and which of the targets "answerable refused <= .05" (news-2023, paraphrases)
and "squad2-dev out-of-collection answered <= .08" one threshold meets together.

Run:  .venv/bin/python bench/threshold_tradeoff.py [--workdir /tmp/qa-eval]
      (indexes each set under WORKDIR/<set>, reusing what bench/compare_main.py built)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import DATA, stamp

from qa import QA
from qa.evaluation import (
    hidden_negatives,
    load_dataset,
    load_paraphrases,
    out_of_collection,
    run_questions,
    split_of,
    write_sources,
)
from qa.retrieval import Scorer

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.02, 0.05, 0.08, 0.10, 0.12, Scorer().threshold, 0.20, 0.25, 0.30)


def scores(name: str, workdir: Path) -> dict[str, tuple[np.ndarray, bool]]:
    """Top scores per subset of one set: {subset: (scores, answerable)}."""
    dataset = load_dataset(DATA / name)
    write_sources(dataset, workdir / name / "sources")
    qa = QA(workdir / name / "sources", workdir / name / "index")
    test = [q for q in dataset.questions if split_of(q.id) == "test"]
    subsets = {name: (test, True), f"{name} hidden": (hidden_negatives(dataset, test), False)}
    paraphrases = load_paraphrases(ROOT / "eval" / "paraphrases.jsonl", dataset)
    if paraphrases:
        subsets[f"paraphrases of {name}"] = (list(paraphrases), True)
    if name == "squad2-dev":
        other = load_dataset(DATA / "xquad-en")
        subsets[f"{name} off-topic"] = ([q for q in out_of_collection(dataset, other) if split_of(q.id) == "test"], False)
    out = {}
    for subset, (questions, answerable) in subsets.items():
        kind = "answerable" if answerable else "negative"
        records = run_questions(qa, [(q, kind) for q in questions], "hybrid")
        out[subset] = (np.array([r.score for r in records]), answerable)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/qa-eval")
    parser.add_argument("--sets", default="xquad-en,squad2-dev,news-2023")
    args = parser.parse_args()
    print(stamp())
    found: dict[str, tuple[np.ndarray, bool]] = {}
    for name in args.sets.split(","):
        found.update(scores(name, Path(args.workdir)))
    shipped = Scorer().threshold
    names = list(found)
    print("\nshare refused (answerable sets) or answered (unanswerable: hidden, off-topic), by threshold\n")
    print("| threshold | " + " | ".join(f"{n} ({'refused' if found[n][1] else 'answered'}, n={len(found[n][0])})"
                                       for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for t in THRESHOLDS:
        cells = [np.mean(s < t) if answerable else np.mean(s >= t) for s, answerable in (found[n] for n in names)]
        mark = " (shipped)" if t == shipped else ""
        print(f"| {t:.3f}{mark} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    refused_targets = [n for n in names if found[n][1] and ("news" in n or "paraphrases" in n)]
    off = [n for n in names if n.endswith("off-topic") or n == "squad2-dev hidden"]
    print("\nthresholds meeting 'answerable refused <= .05' on " + ", ".join(refused_targets)
          + " and 'answered <= .08' on " + ", ".join(off) + ":")
    both = [t for t in np.linspace(0.0, 0.5, 501)
            if all(np.mean(found[n][0] < t) <= 0.05 for n in refused_targets)
            and all(np.mean(found[n][0] >= t) <= 0.08 for n in off)]
    print(f"  {len(both)} of 501 thresholds from 0 to 0.5" + (f" ({both[0]:.3f}–{both[-1]:.3f})" if both else ""))
    print(f"\n{stamp()}")


if __name__ == "__main__":
    main()
