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
from typing import TYPE_CHECKING

from qa.config import METHODS, Settings
from qa.readers import supported_types

if TYPE_CHECKING:
    from qa.indexing import IndexReport

DESCRIPTION = """Ask a folder of articles a question and get back the passages that answer it,
each with its source (title, file, date, and where in the document it stands).

commands:
  qa index            build the index from the sources folder, or update it: only new and
                      changed files are embedded, deleted files are dropped
  qa ask "question"   print the best passages for the question (builds the index first if
                      needed); the answering sentence is marked >>> like this <<<
  qa eval DATASET     measure answer quality on a BEIR-layout dataset (e.g. ../shared/data/xquad-en)
                      or on a scenario suite (e.g. eval/conversations.jsonl): document ranks,
                      answer in the top passages and the highlight, answer phrase, abstention,
                      calibration and confidently wrong answers, latency
"""


def _folders(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--sources", default=defaults.sources,
                        help=f"folder of {supported_types(' and ')} documents (default: %(default)s)")
    parser.add_argument("--index", default=defaults.index,
                        help="folder that holds the index, or an index string: qdrant://HOST:6333/COLLECTION, "
                             "qdrants://... (https), qdrant+file:PATH (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="{index,ask,eval}")
    index = commands.add_parser("index", help="build or update the index from the sources folder")
    _folders(index)
    index.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="read, chunk and embed on a Ray cluster: the one at ADDRESS (host:6379), "
                            'or a local Ray without one (needs pip install -e ".[cluster]")')
    question = commands.add_parser("ask", help="ask the articles a question")
    question.add_argument("question", help="the question, in quotes")
    question.add_argument("-k", type=int, default=5, help="how many passages to show (default: %(default)s)")
    question.add_argument("--json", action="store_true", help="print the answer as JSON")
    question.add_argument("--source", action="append", help="search only this article (repeat for more)")
    question.add_argument("--since", help="only articles dated on or after this day (YYYY-MM-DD)")
    question.add_argument("--until", help="only articles dated on or before this day (YYYY-MM-DD)")
    question.add_argument("--no-undated", action="store_true", help="with --since/--until, leave out undated articles")
    _folders(question)
    evaluation = commands.add_parser("eval", help="measure retrieval quality on a BEIR-layout dataset")
    evaluation.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl and qrels.tsv, or a suite .jsonl")
    evaluation.add_argument("--method", default="hybrid",
                            help=f"comma-separated methods to compare side by side: {', '.join(METHODS)} (default: %(default)s)")
    evaluation.add_argument("--ooc", metavar="DATASET",
                            help="another dataset whose questions about articles missing here should not be answered")
    evaluation.add_argument("--negatives", action="store_true",
                            help="also ask each question with the documents that answer it hidden (should be refused)")
    evaluation.add_argument("--paraphrases", metavar="FILE", help="also run these re-worded questions (eval/paraphrases.jsonl)")
    evaluation.add_argument("--split", choices=("all", "fit", "test"), default="all",
                            help="only this half of the questions (the scorer is fitted on 'fit'; default: %(default)s)")
    evaluation.add_argument("--articles", action="append", metavar="FOLDER",
                            help="for a suite: folders of articles it runs over (default: sources and eval/articles)")
    evaluation.add_argument("--workdir", help="keep the written sources and index here, to reuse in a later run")
    evaluation.add_argument("--index", metavar="SPEC",
                            help="build and answer through this index instead of the work folder's: a folder or an "
                                 "index string (qdrant+file:PATH, qdrant://HOST:6333/COLLECTION)")
    evaluation.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _run(args: argparse.Namespace) -> int:
    from qa.pipeline import QA

    if args.command == "eval":
        return _evaluate(args)
    if args.command == "index":
        report = _index(args)
        print(report)
        if not report.documents:
            print(f"qa: error: no documents indexed from {args.sources}: add {supported_types(' or ')} files",
                  file=sys.stderr)
            return 2
        return 0
    qa = QA(args.sources, args.index)
    answer = qa.ask(args.question, k=args.k, sources=args.source, since=args.since, until=args.until,
                    include_undated=not args.no_undated)
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else answer)
    return 0


def _index(args: argparse.Namespace) -> IndexReport:
    """Build or update the index in this process, or on Ray with --ray."""
    if args.ray is None:
        from qa.pipeline import QA

        report = QA(args.sources, args.index).last_report
        assert report is not None  # QA() has run an update
        return report
    from qa.embedding import Embedder
    from qa.indexing_ray import update_index_on_ray

    settings = Settings()
    return update_index_on_ray(args.sources, args.index, Embedder(settings.model, encoder=settings.encoder), settings,
                               address=args.ray or None)


def _evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qa.evaluation import (
        evaluate,
        evaluate_suite,
        format_table,
        load_dataset,
        load_paraphrases,
        load_suite,
        out_of_collection,
    )

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    if Path(args.dataset).suffix == ".jsonl":
        folders = args.articles or ["sources", "eval/articles"]
        report = evaluate_suite(load_suite(args.dataset), folders, Path(args.dataset).stem, methods, workdir=args.workdir,
                                index=args.index)
    else:
        dataset = load_dataset(args.dataset)
        ooc = out_of_collection(dataset, load_dataset(args.ooc)) if args.ooc else []
        paraphrases = load_paraphrases(args.paraphrases, dataset) if args.paraphrases else ()
        report = evaluate(dataset, methods, ooc, workdir=args.workdir, negatives=args.negatives,
                          paraphrases=paraphrases, split=args.split, index=args.index)
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
