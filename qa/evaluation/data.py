"""The questions an evaluation asks and the articles it asks them over: sets, suites and negatives.

A BEIR-layout set (corpus.jsonl, queries.jsonl, qrels.tsv) becomes a `Dataset`, its corpus
written as one .txt document per entry for the normal pipeline to index; a scenario suite
(eval/*.jsonl) becomes `Question`s with their history and filters. Negatives, questions the
collection cannot answer, are made here too: each question again with its article hidden
(`hidden_negatives`, no re-indexing), or another set's questions about articles this corpus
lacks (`out_of_collection`). `split_of` halves every set stably, so a scorer fitted on one
half is reported on the other.

Example:
    >>> from qa.evaluation.data import Dataset, Question, hidden_negatives
    >>> corpus = {"d1": ("Troops", "2,500 soldiers remain."), "d2": ("Weather", "Rain today.")}
    >>> dataset = Dataset("tiny", corpus, (Question("q1", "How many soldiers?", ("2,500",), frozenset({"d1"})),))
    >>> [(q.id, sorted(q.hidden), q.answerable) for q in hidden_negatives(dataset, dataset.questions)]
    [('q1~', ['d1'], False)]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import SourcesError


@dataclass(frozen=True)
class Question:
    """One question with its gold: answer strings and relevant document ids (file stems)."""

    id: str
    text: str
    answers: tuple[str, ...]
    relevant: frozenset[str]
    history: tuple[str, ...] = ()  # the questions asked before it in a conversation, oldest first
    hidden: frozenset[str] = frozenset()  # document ids left out of the search (negatives)
    filters: tuple[tuple[str, Any], ...] = ()  # ("sources", (...)), ("since", "..."), ...
    reported_by: frozenset[str] | None = None  # every document that states the answer (overlap suite)
    strict: bool = False  # an answer string counts only in a relevant document (scenario suites)

    @property
    def answerable(self) -> bool:
        return bool(self.relevant or self.answers)


@dataclass(frozen=True)
class Dataset:
    """A corpus (document id -> (title, text)) and its questions."""

    name: str
    corpus: dict[str, tuple[str, str]]
    questions: tuple[Question, ...]

    def titles(self) -> set[str]:
        return {title for title, _ in self.corpus.values()}

    def question_titles(self, q: Question) -> set[str]:
        return {self.corpus[c][0] for c in q.relevant if c in self.corpus}


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_dataset(folder: str | Path) -> Dataset:
    """Read corpus.jsonl, queries.jsonl and qrels.tsv; questions without qrels are left out."""
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (folder / name).is_file():
            raise SourcesError(f"{folder} is not a BEIR-layout dataset: {name} is missing")
    corpus = {d["_id"]: (d.get("title") or d["_id"], d["text"]) for d in _jsonl(folder / "corpus.jsonl")}
    relevant: dict[str, set[str]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as fh:
        next(fh, None)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and float(parts[2]) > 0:
                relevant.setdefault(parts[0], set()).add(parts[1])
    questions = tuple(
        Question(q["_id"], q["text"], tuple(q.get("answers") or ()), frozenset(relevant[q["_id"]]))
        for q in _jsonl(folder / "queries.jsonl")
        if q["_id"] in relevant and not q.get("is_impossible", False)
    )
    return Dataset(folder.name, corpus, questions)


def load_paraphrases(path: str | Path, dataset: Dataset) -> tuple[Question, ...]:
    """The paraphrases (eval/paraphrases.jsonl) of `dataset`'s questions, with the originals' gold."""
    by_id = {q.id: q for q in dataset.questions}
    out = []
    for row in _jsonl(Path(path)):
        original = by_id.get(row["of"]) if row.get("set") == dataset.name else None
        if original is not None:
            out.append(Question(row["id"], row["text"], original.answers, original.relevant))
    return tuple(out)


def load_suite(path: str | Path) -> tuple[Question, ...]:
    """A scenario suite: one case a line, each with turns (and optional filters); see eval/README.md.

    Every turn becomes a `Question` carrying the turns before it as its history; document
    ids are file stems.
    """
    questions = []
    for case in _jsonl(Path(path)):
        filters = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (case.get("filters") or {}).items()))
        if ("sources", ()) in filters:
            raise SourcesError(f"{path}: case {case['id']} filters on an empty list of sources")
        history: list[str] = []
        for n, turn in enumerate(case["turns"], 1):
            reported = turn.get("reported_by")
            questions.append(Question(
                f"{case['id']}.{n}", turn["q"], tuple(turn.get("answers") or ()),
                frozenset(Path(s).stem for s in turn.get("sources") or ()), tuple(history),
                filters=tuple((k, tuple(Path(s).stem for s in v) if k == "sources" else v) for k, v in filters),
                reported_by=frozenset(Path(s).stem for s in reported) if reported is not None else None,
                strict=True))
            history.append(turn["q"])
    return tuple(questions)


def split_of(question_id: str) -> str:
    """"fit" or "test": a stable half of every set, so a scorer fitted on one half is reported on the other.

    Example:
        >>> split_of("56beb4343aeaaa14008c925b") in ("fit", "test")
        True
    """
    return "fit" if hashlib.sha1(question_id.encode()).digest()[0] % 2 == 0 else "test"


def out_of_collection(dataset: Dataset, other: Dataset) -> list[Question]:
    """Questions of `other` about articles (titles) that `dataset`'s corpus does not hold."""
    titles = dataset.titles()
    return [Question(q.id, q.text, (), frozenset()) for q in other.questions if not other.question_titles(q) & titles]


def hidden_negatives(dataset: Dataset, questions: Iterable[Question]) -> list[Question]:
    """Each question again, with its article hidden: every document that is relevant to it,
    shares a relevant document's title (the other paragraphs of a Wikipedia article) or holds
    a gold answer.

    The collection then cannot answer it: a cheap out-of-collection question for every
    answerable one, asked over the same index.
    """
    folded = {cid: f"{title}\n{text}".casefold() for cid, (title, text) in dataset.corpus.items()}
    by_title: dict[str, set[str]] = {}
    for cid, (title, _) in dataset.corpus.items():
        by_title.setdefault(title, set()).add(cid)
    out = []
    for q in questions:
        answers = [a.strip().casefold() for a in q.answers if len(a.strip()) >= 2]
        holders = {cid for cid, text in folded.items() if any(a in text for a in answers)}
        siblings = {cid for title in dataset.question_titles(q) for cid in by_title[title]}
        out.append(Question(f"{q.id}~", q.text, (), frozenset(), hidden=frozenset(q.relevant | holders | siblings)))
    return out


def write_sources(dataset: Dataset, folder: Path) -> None:
    """One .txt document per corpus entry (the title, a blank line, the text); unchanged files are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for cid, (title, text) in dataset.corpus.items():
        path, body = folder / f"{cid}.txt", f"{title.replace('_', ' ')}\n\n{text}\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
