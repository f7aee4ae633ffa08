"""Answer quality of this tree side by side with another commit (default: the last release of main).

Both run the same evaluation code (this tree's qa/evaluation/) over the same questions,
one after the other in one invocation: the other commit is checked out into a temporary git
worktree and imported instead of this tree's qa. An older qa that lacks the newer `ask`
arguments is driven the way its own chat drove it (follow-ups rewritten by its
`qa.conversation.resolve`, the method set through its settings).

Prints, per set, a Markdown table with one row per (code, subset, method), then each one's
calibration table, and the load average before and after.

Run:  .venv/bin/python bench/compare_main.py [--base eeab99b] [--sets xquad-en,squad2-dev,news-2023]
          [--suites conversations,filters,overlap,furniture] [--split test] [--workdir /tmp/qa-eval]
          [--only base|head]        (each run also saves its reports as WORKDIR/compare-<side>-*.json)
      .venv/bin/python bench/compare_main.py --report /tmp/qa-eval/compare-*.json   (summary only)
      .venv/bin/python bench/compare_main.py --base-encoder torch --workdir /tmp/qa-enc
          (this tree both sides: the base side on another encoder, QA_ENCODER; each encoder's
          indexes in WORKDIR/<encoder>/, where bench_encoder.py --workdir leaves them)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from common import this_evaluation

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
BASELINE = "eeab99b"


class _Legacy:
    """An older `QA` behind the current `ask` signature."""

    def __init__(self, sources, index, settings=None, embedder=None):
        from qa.pipeline import QA

        self.qa = QA(sources, index, settings=settings, embedder=embedder)
        self.last_report = self.qa.last_report

    def documents(self):
        return self.qa.documents()

    def ask(self, question, k=5, sources=None, since=None, until=None, include_undated=True, method=None, history=()):
        from qa.conversation import resolve

        asked: list[str] = []
        for earlier in history:  # the old chat kept the resolved questions
            asked.append(resolve(earlier, asked).question)
        text = resolve(question, asked).question if asked else question
        self.qa.settings = replace(self.qa.settings, method=method or "hybrid")
        return self.qa.ask(text, k=k, sources=sources, since=since, until=until)


def run_here(args: argparse.Namespace) -> None:
    """Evaluate the qa importable here; write the reports as JSON to args.out."""
    from qa.pipeline import QA

    ev = this_evaluation()
    legacy = "history" not in inspect.signature(QA.ask).parameters
    opener = _Legacy if legacy else None
    methods = args.methods.split(",")
    reports = []
    for name in filter(None, args.sets.split(",")):
        dataset = ev.load_dataset(DATA / name)
        ooc = ev.out_of_collection(dataset, ev.load_dataset(DATA / "xquad-en")) if name == "squad2-dev" else []
        paraphrases = ev.load_paraphrases(ROOT / "eval" / "paraphrases.jsonl", dataset)
        if args.split != "all":
            paraphrases = tuple(paraphrases)
        report = ev.evaluate(dataset, methods, ooc=ooc, workdir=Path(args.workdir) / name, negatives=True,
                             paraphrases=paraphrases, split=args.split, open_qa=opener, show_progress=False)
        reports.append(report.to_dict())
    for suite in filter(None, args.suites.split(",")):
        questions = ev.load_suite(ROOT / "eval" / f"{suite}.jsonl")
        report = ev.evaluate_suite(questions, [ROOT / "sources", ROOT / "eval" / "articles"], suite, methods,
                                   workdir=Path(args.workdir) / f"suite-{suite}-{args.tag}", open_qa=opener,
                                   show_progress=False)
        reports.append(report.to_dict())
    Path(args.out).write_text(json.dumps(reports))


def _table(ev, tag: str, report: dict) -> str:
    rows = [ev.MethodReport(**{**m, "calibration": [tuple(c) for c in m["calibration"]]}) for m in report["methods"]]
    text = ev.format_table(ev.Report(report["dataset"], report["documents"], report["passages"],
                                     report["index_seconds"], rows))
    return f"### {tag}: " + text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASELINE)
    parser.add_argument("--sets", default="xquad-en,squad2-dev,news-2023")
    parser.add_argument("--suites", default="conversations,filters,overlap,furniture")
    parser.add_argument("--methods", default="bm25,dense,hybrid")
    parser.add_argument("--split", default="test", choices=("all", "fit", "test"))
    parser.add_argument("--workdir", default="/tmp/qa-eval")
    parser.add_argument("--only", choices=("base", "head"), help="run one side only")
    parser.add_argument("--base-encoder", help="base = this tree on this encoder (QA_ENCODER), not another commit")
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="head", help=argparse.SUPPRESS)
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="only print the summary of saved runs (WORKDIR/compare-base-*.json, compare-head-*.json)")
    args = parser.parse_args()
    if args.here:
        run_here(args)
        return
    if args.report:
        outputs: dict[str, list[dict]] = {}
        for path in args.report:
            outputs.setdefault("base" if "compare-base-" in path else "head", []).extend(json.loads(Path(path).read_text()))
        print(summary(outputs, f"main {args.base}"))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    ev = this_evaluation()
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="qa-compare-") as tmp:
        sides = [("base", None if args.base_encoder else args.base), ("head", None)]
        for tag, ref in sides:
            if args.only and args.only != tag:
                continue
            env, workdir = dict(os.environ), args.workdir
            if args.base_encoder:
                from qa.config import Settings

                encoder = args.base_encoder if tag == "base" else Settings().encoder
                env["QA_ENCODER"], workdir = encoder, str(Path(args.workdir) / encoder)
            if ref is not None:
                tree = Path(tmp) / "base"
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), ref],
                               check=True, capture_output=True)
                env["PYTHONPATH"] = str(tree)
            out = Path(tmp) / f"{tag}.json"
            cmd = [sys.executable, __file__, "--here", "--out", str(out), "--tag", tag, "--sets", args.sets,
                   "--suites", args.suites, "--methods", args.methods, "--split", args.split, "--workdir", workdir]
            subprocess.run(cmd, check=True, env=env, cwd=ROOT)
            outputs[tag] = json.loads(out.read_text())
            saved = Path(workdir) / f"compare-{tag}-{args.sets.replace(',', '+')}-{args.suites.replace(',', '+')}.json"
            saved.write_text(json.dumps(outputs[tag]))
            if ref is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    base = f"encoder {args.base_encoder}" if args.base_encoder else f"main {args.base}"
    for tag, reports in outputs.items():
        label = f"{tag} ({base})" if tag == "base" else "head (this tree)"
        for report in reports:
            print(_table(ev, label, report), "\n", flush=True)
    print(summary(outputs, base))
    print(f"load average after: {os.getloadavg()}")


COLUMNS = (("R@1", "recall_at_1"), ("nDCG@10", "ndcg_at_10"), ("answer top-1", "answer_top1"),
           ("answer top-5", "answer_top5"), ("highlight", "highlight_accuracy"), ("refused", "wrongly_refused"),
           ("negatives answered", "negatives_answered"), ("confidently wrong", "confidently_wrong"), ("ECE", "ece"),
           ("phrase shown", "phrase_shown"), ("phrase precision", "phrase_precision"), ("phrase EM", "phrase_em"),
           ("phrase F1", "phrase_f1"), ("also-in precision", "also_precision"), ("p50 ms", "latency_p50_ms"))


def summary(outputs: dict[str, list[dict]], base: str) -> str:
    """One Markdown table: each subset's rows, base (labelled `base`) and head side by side."""
    lines = ["| set | code | method | questions | " + " | ".join(name for name, _ in COLUMNS) + " |",
             "|---" * (4 + len(COLUMNS)) + "|"]
    rows: dict[str, list[str]] = {}
    for tag, reports in outputs.items():
        for report in reports:
            for m in report["methods"]:
                cells = [f"{m[key]:.3f}" if isinstance(m[key], float) and key != "latency_p50_ms"
                         else (f"{m[key]:.1f}" if isinstance(m[key], float) else "–") for _, key in COLUMNS]
                code = base if tag == "base" else "this tree"
                subset = f"{m['subset']} of {report['dataset']}" if m["subset"] == "paraphrases" else m["subset"]
                rows.setdefault(subset, []).append(
                    f"| {subset} | {code} | {m['method']} | {m['questions']}+{m['negatives']} | " + " | ".join(cells) + " |")
    for subset in rows:
        lines.extend(rows[subset])
    return "\n".join(lines)


if __name__ == "__main__":
    main()
