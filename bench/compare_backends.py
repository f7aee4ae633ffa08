"""Index backends side by side on one BEIR set (default xquad-en), every index built afresh.

Three runs, one after the other, each in its own process over the same questions (this
tree's qa/evaluation/, hybrid search): this tree on the local backend (FAISS + bm25s),
this tree on Qdrant's local mode (`qdrant+file:`), and the local backend of another commit
(default fcb8994, main before the index backends became a Protocol), checked out into a
temporary git worktree.

Prints a Markdown table, one row per run: questions, R@1, nDCG@10, answer in the top-1
passage, the share of answerable questions refused, ask p50 and p95 in ms with the load
average (1, 5, 15 min) after asking, and the index build time with the load average after
building; then the differences the issue asks about (Qdrant against local, this tree
against the base commit) and the load average before and after.

Run:  .venv/bin/python bench/compare_backends.py [--set xquad-en] [--base fcb8994] [--method hybrid]
          [--only local,qdrant,base] (the runs, in this order) [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, stamp, this_evaluation, worktree

DATA = ROOT.parent / "shared" / "data"
BASELINE = "fcb8994"
RUNS = ("local", "qdrant", "base")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def run_here(args: argparse.Namespace) -> None:
    """Evaluate with the qa importable here, through args.index; write the figures as JSON to args.out."""
    from qa.pipeline import QA

    ev = this_evaluation()
    loads: dict[str, str] = {}

    def opener(*where, **options):
        loads["before build"] = _load()
        qa = QA(*where, **options)
        loads["after build"] = _load()
        return qa

    report = ev.evaluate(ev.load_dataset(DATA / args.set), [args.method], workdir=args.workdir, index=args.index,
                         open_qa=opener, show_progress=False)
    loads["after asking"] = _load()
    Path(args.out).write_text(json.dumps({"report": report.to_dict(), "loads": loads}))


def _side(run: str, args: argparse.Namespace, tmp: Path) -> dict:
    """One run in a child process (another commit's qa on its PYTHONPATH for "base")."""
    workdir, out = tmp / run, tmp / f"{run}.json"
    index = f"qdrant+file:{workdir / 'qdrant'}" if run == "qdrant" else str(workdir / "index")
    cmd = [sys.executable, __file__, "--here", "--set", args.set, "--method", args.method, "--workdir", str(workdir),
           "--index", index, "--out", str(out)]
    if run == "base":
        with worktree(args.base) as tree:
            subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(tree)})
    else:
        subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.read_text())


def table(results: dict[str, dict], base: str) -> str:
    """The Markdown table of the runs, one row each."""
    names = {"local": "local (this tree)", "qdrant": "qdrant+file (this tree)", "base": f"local (main {base})"}
    lines = ["| backend | questions | R@1 | nDCG@10 | answer top-1 | refused | ask p50 ms | ask p95 ms | load after asking | "
             "build s | load after build |", "|---" * 11 + "|"]
    for run, result in results.items():
        report, loads = result["report"], result["loads"]
        m = report["methods"][0]
        lines.append(f"| {names[run]} | {m['questions']} | {m['recall_at_1']:.3f} | {m['ndcg_at_10']:.3f} | "
                     f"{m['answer_top1']:.3f} | {m['wrongly_refused']:.3f} | {m['latency_p50_ms']:.1f} | "
                     f"{m['latency_p95_ms']:.1f} | {loads['after asking']} | {report['index_seconds']:.1f} | "
                     f"{loads['after build']} |")
    return "\n".join(lines)


def differences(results: dict[str, dict]) -> list[str]:
    """Qdrant against local and this tree against the base, in points of R@1 and nDCG@10 and in ms of p50."""
    def row(run: str) -> dict:
        return results[run]["report"]["methods"][0]

    out = []
    for a, b, what in (("qdrant", "local", "Qdrant - local"), ("local", "base", "this tree - base")):
        if a in results and b in results:
            x, y = row(a), row(b)
            out.append(f"{what}: R@1 {100 * (x['recall_at_1'] - y['recall_at_1']):+.1f} points, nDCG@10 "
                       f"{100 * (x['ndcg_at_10'] - y['ndcg_at_10']):+.1f} points, ask p50 "
                       f"{x['latency_p50_ms'] - y['latency_p50_ms']:+.1f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="xquad-en", help="a BEIR set in ../shared/data (default: %(default)s)")
    parser.add_argument("--base", default=BASELINE, help="the commit whose local backend is the base (default: %(default)s)")
    parser.add_argument("--method", default="hybrid")
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated runs, in this order, of: " + ", ".join(RUNS))
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.only.split(",")) - set(RUNS):
        parser.error(f"unknown runs {', '.join(sorted(unknown))}; choose from {', '.join(RUNS)}")
    if args.here:
        run_here(args)
        return
    print(f"before: {stamp()}", flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="qa-backends-") as tmp:
        for run in args.only.split(","):
            results[run] = _side(run, args, Path(tmp))
            print(f"{run} done: {stamp()}", flush=True)
    print(f"\n{args.set}, {args.method}:\n\n{table(results, args.base)}\n")
    print("\n".join(differences(results)))
    print(f"after: {stamp()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
