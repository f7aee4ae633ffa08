"""Check the scenario suites in eval/ against the articles they run over.

Run from the repository root:  .venv/bin/python eval/validate.py
Exit status 1 when something is wrong; warnings are printed but do not fail.

Checks: every line parses; ids are unique; cases have the turn fields of the case format;
every file named in sources / reported_by / filters exists (sources/ or eval/articles/);
every gold answer occurs (case-insensitively) in at least one of the turn's sources, and each
source contains at least one of them; answered turns have sources and unanswerable turns none;
under filters, the gold sources pass the filter, and a filtered case marked unanswerable has
no article passing its filter that holds an answer given to the same question elsewhere.
With the qa package importable it also checks that gold answers lie in article content (not
page furniture) and that each furniture fact lies outside every article's content.
eval/paraphrases.jsonl is not checked here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

EVAL = Path(__file__).resolve().parent
ROOT = EVAL.parent
FOLDERS = [ROOT / "sources", EVAL / "articles"]
SUITES = {  # file: (least cases, least turns per case, most turns per case)
    "conversations.jsonl": (45, 2, 3),
    "filters.jsonl": (30, 1, 1),
    "overlap.jsonl": (15, 1, 1),
    "furniture.jsonl": (10, 1, 1),
}
FILTER_KEYS = {"sources", "since", "until", "include_undated"}

errors: list[str] = []
warnings: list[str] = []

FILES = {p.name: p for folder in FOLDERS for p in sorted(folder.iterdir()) if p.suffix in {".txt", ".md", ".html"}}
TEXT = {name: path.read_text(encoding="utf-8").casefold() for name, path in FILES.items()}

try:  # the project's own reader tells content from furniture and finds each article's date
    from qa.documents import load_document

    _docs = {name: load_document(path, path.parent) for name, path in FILES.items()}
    CONTENT: dict[str, str] | None = {
        name: "\n".join(d.text[s:e] for s, e in d.content).casefold() for name, d in _docs.items()
    }
    DATES = {name: d.date for name, d in _docs.items()}
except ImportError:
    CONTENT = None
    _DATELINE = re.compile(r"^(?:\w+day,\s+)?([A-Z][a-z]+ \d{1,2}, \d{4})\s*$")

    def _dateline(path: Path) -> str | None:
        match = _DATELINE.match(path.read_text(encoding="utf-8").splitlines()[0].strip())
        return dt.datetime.strptime(match[1], "%B %d, %Y").date().isoformat() if match else None

    DATES = {name: _dateline(path) for name, path in FILES.items()}
    warnings.append("qa not importable: content/furniture checks skipped (use the project's venv)")


def has_any(name: str, answers: list[str], content_only: bool = False) -> bool:
    text = CONTENT[name] if content_only and CONTENT is not None else TEXT[name]
    return any(answer.casefold() in text for answer in answers)


def known(where: str, name: str) -> bool:
    if name not in FILES:
        errors.append(f"{where}: no such article {name!r}")
    return name in FILES


def passes(name: str, filters: dict) -> bool:
    """Whether an article is searched under `filters` (dates inclusive; undated articles pass a
    date range unless include_undated is false)."""
    if "sources" in filters and name not in filters["sources"]:
        return False
    if "since" not in filters and "until" not in filters:
        return True
    date = DATES[name]
    if date is None:
        return filters.get("include_undated", True)
    return filters.get("since", "0000-00-00") <= date <= filters.get("until", "9999-99-99")


def check_turn(where: str, turn: dict, suite: str, filters: dict | None) -> None:
    if not all(key in turn for key in ("q", "answers", "sources")):
        errors.append(f"{where}: needs q, answers and sources")
        return
    answers, sources = turn["answers"], turn["sources"]
    if not isinstance(turn["q"], str) or not turn["q"].strip():
        errors.append(f"{where}: empty question")
    if bool(answers) != bool(sources):
        errors.append(f"{where}: answers and sources must both be empty or both be given")
    if len(set(sources)) != len(sources):
        errors.append(f"{where}: repeated source")
    sources = [name for name in sources if known(where, name)]
    for answer in answers:
        if not any(answer.casefold() in TEXT[name] for name in sources):
            errors.append(f"{where}: answer {answer!r} is in none of its sources {sources}")
    for name in sources:
        if not has_any(name, answers):
            errors.append(f"{where}: source {name} contains none of {answers}")
        elif not has_any(name, answers, content_only=True):
            errors.append(f"{where}: {name} states {answers} only in page furniture")
        if filters is not None and not passes(name, filters):
            errors.append(f"{where}: gold source {name} is excluded by its filters {filters}")
    if "reported_by" in turn:
        reported = turn["reported_by"]
        for name in reported:
            if known(where, name) and not has_any(name, answers):
                errors.append(f"{where}: reported_by {name} contains none of {answers}")
        if not set(sources) <= set(reported):
            errors.append(f"{where}: reported_by must include every source")
        for name in FILES:
            if name not in reported and answers and has_any(name, answers, content_only=True):
                warnings.append(f"{where}: {name} holds an answer string but is not in reported_by "
                                "(check that it states a different fact)")
    elif suite == "overlap.jsonl":
        errors.append(f"{where}: overlap cases need reported_by")


def load(name: str) -> list[tuple[str, dict]]:
    cases = []
    for number, line in enumerate((EVAL / name).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append((f"{name}:{number}", json.loads(line)))
            except json.JSONDecodeError as error:
                errors.append(f"{name}:{number}: not JSON ({error})")
    return cases


def check_suite(name: str, cases: list[tuple[str, dict]], gold: dict[str, set[str]]) -> None:
    least, min_turns, max_turns = SUITES[name]
    if len(cases) < least:
        errors.append(f"{name}: {len(cases)} cases, expected at least {least}")
    ids: set[str] = set()
    for where, case in cases:
        where = f"{name}:{case.get('id', where)}"
        if not case.get("id") or case["id"] in ids:
            errors.append(f"{where}: missing or repeated id")
        ids.add(case.get("id"))
        turns = case.get("turns") or []
        if not min_turns <= len(turns) <= max_turns:
            errors.append(f"{where}: {len(turns)} turns, expected {min_turns}-{max_turns}")
        filters = case.get("filters")
        if name == "filters.jsonl":
            if not isinstance(filters, dict) or not filters or set(filters) - FILTER_KEYS:
                errors.append(f"{where}: bad filters {filters!r}")
                filters = {}
            for key in ("since", "until"):
                try:
                    dt.date.fromisoformat(filters.get(key, "2000-01-01"))
                except ValueError:
                    errors.append(f"{where}: {key} is not YYYY-MM-DD")
            for source in filters.get("sources", []):
                known(where, source)
        elif filters is not None:
            errors.append(f"{where}: filters belong in filters.jsonl")
        for index, turn in enumerate(turns, 1):
            check_turn(f"{where} turn {index}", turn, name, filters if name == "filters.jsonl" else None)
        if name == "filters.jsonl" and turns and not turns[0].get("answers"):
            # Unanswerable under the filter: no searched article may hold an answer that the same
            # question gets anywhere else in the suites.
            others = sorted(gold.get(turns[0]["q"].strip().casefold(), set()))
            for doc in FILES:
                if others and passes(doc, filters) and has_any(doc, others, content_only=True):
                    errors.append(f"{where}: marked unanswerable but {doc} passes the filter and holds one of {others}")
        if name == "furniture.jsonl":
            if any(turn.get("answers") or turn.get("sources") for turn in turns):
                errors.append(f"{where}: furniture cases are unanswerable (answers and sources empty)")
            source, text = case.get("furniture", {}).get("source", ""), case.get("furniture", {}).get("text", "")
            if known(where, source) and text.casefold() not in TEXT[source]:
                errors.append(f"{where}: furniture text {text!r} is not in {source}")
            for doc, content in (CONTENT or {}).items():
                if text.casefold() in content:
                    errors.append(f"{where}: furniture text {text!r} is article content in {doc}")


def main() -> int:
    suites = {name: load(name) for name in SUITES}
    gold: dict[str, set[str]] = {}  # question -> every gold answer it gets in any suite
    for cases in suites.values():
        for _, case in cases:
            for turn in case.get("turns") or []:
                gold.setdefault(str(turn.get("q", "")).strip().casefold(), set()).update(turn.get("answers") or [])
    for name, cases in suites.items():
        before = len(errors)
        check_suite(name, cases, gold)
        turns = [turn for _, case in cases for turn in case.get("turns") or []]
        answered = sum(bool(turn.get("answers")) for turn in turns)
        problems = len(errors) - before
        print(f"{name}: {len(cases)} cases, {len(turns)} turns ({answered} answerable, "
              f"{len(turns) - answered} unanswerable)" + (f"  -- {problems} problem(s)" if problems else ""))
    undated = sorted(name for name, date in DATES.items() if date is None)
    print(f"corpus: {len(FILES)} articles ({len(FILES) - len(undated)} dated; undated: {', '.join(undated)})")
    for line in warnings:
        print("warning:", line)
    for line in errors:
        print("ERROR:", line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
