"""Words as the keyword side of qa sees them: lower-cased, stemmed, numbers made whole.

BM25 and the highlighter share this one analyser, so a question and a passage are always
cut the same way. "2,500" and "2500" are the same term; "troops" and "troop" too.

Example:
    >>> from qa.lexical import terms
    >>> terms("How many of the 2,500 U.S. troops stay in Kurdistan?")
    ['mani', '2500', 'troop', 'stay', 'kurdistan']
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer

# Numbers keep their inner separators ("2,500", "3.5") so they can be joined up again;
# words are runs of letters and digits (apostrophes split "Iraq's" into "iraq" and "s").
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
_NUMBER_SEPARATORS = re.compile(r"(?<=\d),(?=\d{3})")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves s t d ll m re ve""".split()
)


_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One stemmer per thread: a Snowball stemmer is not safe to share between threads."""
    if not hasattr(_local, "stemmer"):
        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


def terms(text: str) -> list[str]:
    """The stemmed content terms of `text`, in order, stopwords and 1-letter words dropped."""
    words = [
        _NUMBER_SEPARATORS.sub("", token) if "," in token else token
        for token in _TOKEN.findall(text.lower())
        if token not in STOPWORDS and (len(token) > 1 or token.isdigit())
    ]
    return _stemmer().stemWords(words)


@lru_cache(maxsize=65536)
def term_set(text: str) -> frozenset[str]:
    """The distinct terms of `text`, remembered: sentences are read again by every question that finds them.

    Example:
        >>> sorted(term_set("Troops stay; troops leave."))
        ['leav', 'stay', 'troop']
    """
    return frozenset(terms(text))
