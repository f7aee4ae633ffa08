"""The `qa` command line: `qa index` to build or update, `qa ask "question"` to ask.

Errors qa raises on purpose print as one line on stderr with exit status 2; no tracebacks.

Example:
    $ qa index --sources sources --index index
    $ qa ask "how many troops stay in Kurdistan?" -k 3
    $ qa ask "who is Iraq's defence minister?" --json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from qa.config import METHODS, Settings

DESCRIPTION = """Ask a folder of articles a question and get back the passages that answer it,
each with its source (title, file, date, and where in the document it stands).

commands:
  qa index            build the index from the sources folder, or update it: only new and
                      changed files are embedded, deleted files are dropped
  qa ask "question"   print the best passages for the question (builds the index first if
                      needed); the answering sentence is marked >>> like this <<<
  qa eval DATASET     measure Recall@k, MRR, nDCG, highlight accuracy, abstention and
                      latency on a BEIR-layout dataset (e.g. ../shared/data/xquad-en)
"""


def _folders(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--sources", default=defaults.sources, help="folder of .txt, .md and .html articles (default: %(default)s)")
    parser.add_argument("--index", default=defaults.index, help="folder that holds the index (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="{index,ask,eval}")
    index = commands.add_parser("index", help="build or update the index from the sources folder")
    _folders(index)
    question = commands.add_parser("ask", help="ask the articles a question")
    question.add_argument("question", help="the question, in quotes")
    question.add_argument("-k", type=int, default=5, help="how many passages to show (default: %(default)s)")
    question.add_argument("--json", action="store_true", help="print the answer as JSON")
    _folders(question)
    evaluation = commands.add_parser("eval", help="measure retrieval quality on a BEIR-layout dataset")
    evaluation.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl and qrels.tsv")
    evaluation.add_argument("--method", default="hybrid",
                            help=f"comma-separated methods to compare side by side: {', '.join(METHODS)} (default: %(default)s)")
    evaluation.add_argument("--ooc", metavar="DATASET",
                            help="another dataset whose questions about articles missing here should not be answered")
    evaluation.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _run(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    if args.command == "eval":
        return _evaluate(args)
    if args.command == "index":
        qa = QA(args.sources, args.index)
        print(qa.last_report)
        if not qa.last_report.documents:
            print(f"qa: error: no documents indexed from {args.sources}: add .txt, .md or .html files", file=sys.stderr)
            return 2
        return 0
    if args.k < 1:
        raise SystemExit("qa: error: -k must be at least 1")
    qa = QA(args.sources, args.index)
    answer = qa.ask(args.question, k=args.k)
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else answer)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from qa.evaluation import evaluate, format_table, load_dataset, out_of_collection

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    dataset = load_dataset(args.dataset)
    ooc = out_of_collection(dataset, load_dataset(args.ooc)) if args.ooc else []
    report = evaluate(dataset, methods, ooc)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_table(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qa` console script; returns the exit status."""
    from qa.errors import QAError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(format="qa: %(message)s", level=logging.WARNING)
    try:
        return _run(args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
