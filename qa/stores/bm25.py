"""BM25 over segments: raw term counts per segment, scored with the whole collection's statistics.

A segment keeps, for each term, its postings (the rows holding it, sorted) and their term
counts, and each row's length. Scores are computed at question time with the live
passages' statistics (N, document frequency, average length) across every segment, rows
of deleted documents left out, so a passage scores the same whichever segment holds it,
before and after a merge. The formula is bm25s's "lucene" variant, in the same arithmetic,
so scores equal bm25s's to the bit: idf(t) = log(1 + (N - df + 0.5) / (df + 0.5)) times
tf / (tf + k1 (1 - b + b dl / avgdl)).

Example:
    >>> import numpy as np
    >>> from qa.stores.bm25 import Collection, Postings
    >>> seg = Postings.build([["troop", "iraq"], ["troop", "troop"], ["syria"]])
    >>> [round(float(s), 3) for s in Collection([(seg, None)]).scores(["troop"])[0]]
    [0.238, 0.316, 0.0]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1, B = 0.9, 0.4
IDF_MEMO = 100_000  # terms whose idf a collection remembers (questions' words: bounded, whatever is asked)
FILES = ("vocab.json", "indptr.npy", "rows.npy", "tf.npy", "lengths.npy")


@dataclass
class Postings:
    """One segment's terms: `vocab` term -> id; term id t's postings are rows[indptr[t]:indptr[t+1]]
    (sorted) with counts tf[...]; lengths[row] is the row's term count (at least 1)."""

    vocab: dict[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, passages: Iterable[Sequence[str]]) -> Postings:
        """Postings of passages' terms, one passage at a time (ids, not strings, are kept)."""
        vocab: dict[str, int] = {}
        ids: list[np.ndarray] = []
        for words in passages:
            words = words or [""]  # an empty passage counts as one empty term, as bm25s has it
            ids.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in words), dtype=np.int64, count=len(words)))
        lengths = np.array([len(a) for a in ids], dtype=np.float32)
        n = len(ids)
        if n == 0:
            return cls(vocab, np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), lengths)
        keys = np.concatenate(ids) * n + np.repeat(np.arange(n, dtype=np.int64), lengths.astype(np.int64))
        del ids
        keys, tf = np.unique(keys, return_counts=True)
        terms = keys // n
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocab)), out=indptr[1:])
        return cls(vocab, indptr, (keys % n).astype(np.int32), tf.astype(np.float32), lengths)

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray]], rows: int) -> Postings:
        """One segment's postings from parts of others: each part maps its old rows to new ones
        (-1: dropped, a deleted document's); counts and lengths carry over, nothing is re-read."""
        vocab: dict[str, int] = {}
        term_parts, row_parts, tf_parts = [], [], []
        lengths = np.zeros(rows, dtype=np.float32)
        for postings, new_row in parts:
            words = sorted(postings.vocab, key=postings.vocab.__getitem__)
            ids = np.array([vocab.setdefault(w, len(vocab)) for w in words], dtype=np.int64)
            moved = new_row[postings.rows]
            kept = moved >= 0
            term_parts.append(np.repeat(ids, np.diff(postings.indptr))[kept])
            row_parts.append(moved[kept])
            tf_parts.append(postings.tf[kept])
            live = new_row >= 0
            lengths[new_row[live]] = postings.lengths[live]
        terms = np.concatenate(term_parts) if term_parts else np.zeros(0, np.int64)
        new_rows = np.concatenate(row_parts) if row_parts else np.zeros(0, np.int64)
        order = np.argsort(terms * max(rows, 1) + new_rows, kind="stable")
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocab)), out=indptr[1:])
        tf = np.concatenate(tf_parts) if tf_parts else np.zeros(0, np.float32)
        return cls(vocab, indptr, new_rows[order].astype(np.int32), tf[order], lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, counts) of a term; empty for a term the segment lacks."""
        t = self.vocab.get(term)
        if t is None:
            return self.rows[:0], self.tf[:0]
        return self.rows[self.indptr[t] : self.indptr[t + 1]], self.tf[self.indptr[t] : self.indptr[t + 1]]

    def holds(self, term: str, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` hold `term` (binary search in its sorted postings)."""
        holders, _ = self.postings(term)
        if not len(holders):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(holders, rows), len(holders) - 1)
        return holders[at] == rows

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "vocab.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        for name in ("indptr", "rows", "tf", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ("indptr", "rows", "tf", "lengths")}
        return cls({w: i for i, w in enumerate(words)}, **arrays)


class Collection:
    """The BM25 view of a collection made of segments: each segment's postings and the rows
    still live in it (None: all), with the live statistics and each row's length norm
    computed once (a question only reads the postings of its terms).

    Example:
        >>> seg = Postings.build([["troop", "iraq"], ["troop", "troop"], ["syria"]])
        >>> bm = Collection([(seg, np.array([True, True, False]))])
        >>> bm.passages, round(bm.average_length, 2), bm.document_frequency("troop")
        (2, 2.0, 2)
    """

    def __init__(self, segments: Sequence[tuple[Postings, np.ndarray | None]]) -> None:
        self.segments = list(segments)
        self.passages = sum(len(p) if alive is None else int(alive.sum()) for p, alive in self.segments)
        total = sum(float(p.lengths.sum(dtype=np.float64) if alive is None else p.lengths[alive].sum(dtype=np.float64))
                    for p, alive in self.segments)
        self.average_length = total / self.passages if self.passages else 1.0
        # In float64 until each term's score is stored, as bm25s computes it (then summed in float32).
        self._norms = [K1 * ((1 - B) + B * p.lengths.astype(np.float64) / self.average_length) for p, _ in self.segments]
        self._idf: dict[str, np.float32] = {}  # a question asks a term's idf several times; the collection never changes

    def document_frequency(self, term: str) -> int:
        """Live passages holding `term`, over every segment."""
        df = 0
        for postings, alive in self.segments:
            rows, _ = postings.postings(term)
            df += len(rows) if alive is None else int(alive[rows].sum())
        return df

    def idf(self, term: str) -> np.float32:
        """Lucene's BM25 idf of a term (0 for one no live passage holds)."""
        weight = self._idf.get(term)
        if weight is None:
            df = self.document_frequency(term)
            weight = np.float32(math.log(1.0 + (self.passages - df + 0.5) / (df + 0.5))) if df else np.float32(0.0)
            if len(self._idf) < IDF_MEMO:
                self._idf[term] = weight
        return weight

    def scores(self, query_terms: Sequence[str]) -> list[np.ndarray]:
        """BM25 scores of every row of every segment (deleted rows score too: mask them), a
        repeated query term counting again, as in bm25s."""
        out = [np.zeros(len(p), dtype=np.float32) for p, _ in self.segments]
        weights: dict[str, np.float64] = {}
        for term in query_terms:
            if term not in weights:
                weights[term] = np.float64(self.idf(term))
            if not weights[term]:
                continue
            for (postings, _), norm, total in zip(self.segments, self._norms, out):
                rows, tf = postings.postings(term)
                if len(rows):
                    total[rows] += (weights[term] * (tf / (norm[rows] + tf))).astype(np.float32)
        return out
