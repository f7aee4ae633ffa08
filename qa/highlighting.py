"""Pick the sentence of a passage that answers the question.

Sentences are scored by the rare question terms they contain (idf-weighted), so the
sentence that shares the question's specific words ("Kurdistan", "2,500", "residual")
wins over one that only shares common ones. Nothing is embedded at question time: the
sentence boundaries were found at index time and the idf weights come from BM25.

Example:
    >>> from qa.highlighting import best_sentence
    >>> best_sentence(["It rained.", "A small force stays in Kurdistan."], ["kurdistan", "forc"], {"kurdistan": 3.0, "forc": 1.0})
    1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa.lexical import terms


def best_sentence(sentences: Sequence[str], query_terms: Sequence[str], weights: Mapping[str, float]) -> int:
    """Index of the sentence with the most idf-weighted question terms (the first on ties)."""
    wanted = set(query_terms)
    best, best_score = 0, -1.0
    for i, sentence in enumerate(sentences):
        present = wanted.intersection(terms(sentence))
        score = sum(weights.get(t, 0.0) for t in present)
        if score > best_score:
            best, best_score = i, score
    return best
