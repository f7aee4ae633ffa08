"""The phrases of a question that a follow-up may point back to: its names, its "the ..." phrases,
its plural nouns and the people it names (qa.conversation reads "it", "they", "he" and "that
agreement" with them), and the word lists these rules share.

Example:
    >>> things_named("How much money does the Eastside light-rail line get in the Riverton budget?")
    ['the Eastside light-rail line', 'the Riverton budget']
    >>> plural_phrase("how many US troops are in Iraq?")
    'US troops'
"""

from __future__ import annotations

import re

from qa.lexical import STOPWORDS

PREPOSITIONS = ("in", "at", "on", "for", "from", "of", "by", "to", "with", "during", "since", "before", "after", "near",
                "inside", "outside")
QUESTION_WORDS = {
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which",
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should", "has", "have", "had",
}
DETERMINERS = {"the", "a", "an"}
WORD_RE = re.compile(r"[\w'’.,-]+")


def one_line(text: str) -> str:
    """`text` on one line without the closing punctuation: "and in Syria ?" -> "and in Syria"."""
    return " ".join(text.split()).rstrip(" ?!.")


def is_modifier(word: str) -> bool:
    """A word that can stand before a head noun in a phrase: not a question word, article or possessive."""
    low = word.lower()
    return (word.isalpha() and low not in QUESTION_WORDS and low not in DETERMINERS
            and low not in PREPOSITIONS and low not in STOPWORDS)


# Verbs that put the noun phrase after them in subject position: "does the rail line cost ...".
AUXILIARIES = {"is", "are", "was", "were", "do", "does", "did", "will", "would", "can", "could", "has", "have", "had",
               "should"}
NAME_RUN = re.compile(r"\b[A-Z][\w’'-]+\.?(?:\s+(?:(?:al|el|bin|de|van|von)[- ])?[A-Z][\w’'-]+)+")


def plural_phrase(text: str) -> str | None:
    """The first plural noun phrase of `text` with its modifiers ("US troops"), if any."""
    tokens = WORD_RE.findall(one_line(text))
    for i, word in enumerate(tokens[1:], 1):
        low = word.lower()
        if (low.endswith("s") and not low.endswith("ss") and len(low) > 3 and word.islower()
                and low not in STOPWORDS and low not in QUESTION_WORDS):
            j = i
            while (j > 1 and (tokens[j - 1].isupper() or is_modifier(tokens[j - 1]))
                   and tokens[j - 1].lower() not in {"many", "much"}):
                j -= 1
            return " ".join(tokens[j : i + 1])
    return None


def definite_phrase(text: str, head: str | None = None) -> str | None:
    """The first "the ..." phrase of `text` (ending in `head` if given), without the question's tail."""
    pattern = rf"\bthe\s+(?:[\w-]+\s+){{0,3}}?{re.escape(head)}\b" if head else r"\bthe\s+[\w-]+(?:\s+[\w-]+)?"
    found = re.search(pattern, text, re.I)
    if not found:
        return None
    phrase = "the" + found.group()[3:]
    if head is None:
        kept = [w for w in phrase.split()[1:] if is_modifier(w)]
        if not kept:
            return None
        phrase = "the " + " ".join(kept)
    return phrase


def things_named(previous: str) -> list[str]:
    """What "it" may stand for in a question after `previous`: its names of two words or more
    ("Operation Inherent Resolve", "St. Brigid") and its "the ..." phrases ("the Eastside
    light-rail line" from "does the Eastside light-rail line get ..."), in the order they come.

    Example:
        >>> things_named("How much money does the Eastside light-rail line get in the Riverton budget?")
        ['the Eastside light-rail line', 'the Riverton budget']
        >>> things_named("How many beds does St. Brigid have?")
        ['St. Brigid']
    """
    found: list[tuple[int, str]] = []
    for match in NAME_RUN.finditer(previous):
        if match.start() > 0:
            found.append((match.start(), match.group()))
    tokens = [(m.start(), m.group()) for m in re.finditer(r"[\w’'.-]+", one_line(previous))]
    for i, (_, word) in enumerate(tokens):
        if word.lower() != "the":
            continue
        run = []
        for _, following in tokens[i + 1 : i + 6]:
            if not is_modifier(re.sub(r"[-’'.]", "", following)):
                break
            run.append(following)
        stop = tokens[i + 1 + len(run)][1].lower() if i + 1 + len(run) < len(tokens) else ""
        subject = i > 0 and tokens[i - 1][1].lower() in AUXILIARIES
        if subject and len(run) > 1 and (stop == "" or (stop in PREPOSITIONS and stop != "of")):
            run = run[:-1]  # the verb after the subject: "does the rail line *get* in ...", "is the deal *final*"
        if run:
            found.append((tokens[i][0], "the " + " ".join(run)))
    return list(dict.fromkeys(phrase for _, phrase in sorted(found)))


def people_named(previous: str, answer_text: str) -> list[str]:
    """Names of two words or more that "he", "she" or "his" may stand for: the previous answer's
    (its answer phrase first), then the previous question's.

    Example:
        >>> people_named("How much did Harbor City pay for Mateo Lindqvist?", "")
        ['Harbor City', 'Mateo Lindqvist']
    """
    names = []
    for text in (answer_text, previous):
        for name in NAME_RUN.findall(text):
            words = [w for w in name.split() if w.lower() not in TITLE_WORDS and not w.endswith(("'s", "’s"))]
            if len(words) >= 2:
                names.append(" ".join(words))
    return list(dict.fromkeys(names))


TITLE_WORDS = {"minister", "prime", "president", "defense", "defence", "foreign", "secretary", "general",
                "mayor", "governor", "senator", "chief", "director", "spokesman", "spokeswoman", "advisor", "adviser",
                "iraqi", "us", "u.s.", "mr", "mrs", "ms", "dr", "the"}
