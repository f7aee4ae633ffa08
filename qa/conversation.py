"""Understand an elliptical follow-up ("and in Syria?") from the question before it.

A chat question is only a fragment when it leans on the previous one: "and in Syria?",
"what about France?", "how about 2025?". `resolve` rewrites such a fragment into a whole
question with three plain rules, tried in order, and says which rule it used:

1. The fragment is a prepositional phrase ("in Syria") and the previous question has a
   phrase with the same preposition ("in Iraq"): that phrase is replaced.
2. The fragment names something ("France", "2025") and the previous question names
   something of the same kind (a capitalised name, a number): the last one is replaced.
3. Otherwise the fragment is appended to the previous question.

Only a short message that opens with "and", "what about"... or with a preposition ("in
Syria?") is a fragment; anything else ("Who is Iraq's defence minister?", "Syria") stands
on its own and is searched as typed.

Example:
    >>> from qa.conversation import resolve
    >>> r = resolve("and in Syria?", ["how many US troops are in Iraq?"])
    >>> r.question, r.rule
    ('how many US troops are in Syria?', 'replaced "in Iraq" with "in Syria"')
    >>> resolve("Who is Iraq's defense minister?", ["how many US troops are in Iraq?"]).rewritten
    False
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Openers that mark a fragment as a follow-up, longest first so "and what about" wins over "and".
_LEADS = (
    "and what about", "and how about", "but what about", "what about", "how about", "what of",
    "and also", "same for", "same in", "and", "also", "but", "or",
)
_LEAD_RE = re.compile(r"^(?:%s)\b[\s,]*" % "|".join(re.escape(lead) for lead in _LEADS), re.I)
_PREPOSITIONS = ("in", "at", "on", "for", "from", "of", "by", "to", "with", "during", "since", "before", "after", "near", "inside", "outside")
_QUESTION_WORDS = {
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which",
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should", "has", "have", "had",
}
_DETERMINERS = {"the", "a", "an"}
_MAX_FRAGMENT_WORDS = 4
_WORD_RE = re.compile(r"[\w'’.,-]+")
_NUMBER_RE = re.compile(r"^\d[\d,.]*$")


@dataclass(frozen=True)
class Resolution:
    """The question to search with; `rule` explains the rewrite ("" when there was none)."""

    asked: str
    question: str
    previous: str | None = None
    rule: str = ""

    @property
    def rewritten(self) -> bool:
        """True when `question` differs from what the user typed."""
        return self.question != self.asked


def _strip(text: str) -> str:
    """`text` on one line without the closing punctuation: "and in Syria ?" -> "and in Syria"."""
    return " ".join(text.split()).rstrip(" ?!.")


def _fragment(question: str) -> str | None:
    """The fragment a follow-up adds ("in Syria" from "and in Syria?"), or None for a whole question.

    A fragment opens with "and", "what about"... or with a preposition ("in Syria?"), has at
    most a few words, and does not open with a question word ("and why?" stays as it is).
    """
    text = _strip(question)
    lead = _LEAD_RE.match(text)
    rest = text[lead.end():] if lead else text
    words = rest.split()
    if not words or len(words) > _MAX_FRAGMENT_WORDS or words[0].lower() in _QUESTION_WORDS:
        return None
    if not lead and words[0].lower() not in _PREPOSITIONS:
        return None
    return rest


def _replace_phrase(previous: str, fragment: str) -> tuple[str, str] | None:
    """Rule 1: swap the previous question's last phrase that starts with the fragment's preposition.

    The phrase runs from the preposition to the next preposition, comma or the end.
    """
    head, _, tail = fragment.partition(" ")
    if head.lower() not in _PREPOSITIONS or not tail:
        return None
    base = _strip(previous)
    tokens = list(_WORD_RE.finditer(base))
    for i in range(len(tokens) - 2, -1, -1):
        if tokens[i].group().lower() != head.lower():
            continue
        j = i + 1
        while j + 1 < len(tokens) and tokens[j + 1].group().lower() not in _PREPOSITIONS and not tokens[j].group().endswith(","):
            j += 1
        start, end = tokens[i].start(), tokens[j].end()
        old = base[start:end].rstrip(",")
        end = start + len(old)
        return base[:start] + fragment + base[end:], f'replaced "{old}" with "{fragment}"'
    return None


def _replace_name(previous: str, fragment: str) -> tuple[str, str] | None:
    """Rule 2: swap the previous question's last name (or number) for the fragment's."""
    words = [w for w in fragment.split() if w.lower() not in _DETERMINERS]
    is_number = bool(words) and all(_NUMBER_RE.match(w) for w in words)
    is_name = bool(words) and words[0][:1].isupper()
    if not (is_number or is_name):
        return None
    base = _strip(previous)
    tokens = list(_WORD_RE.finditer(base))
    for i in range(len(tokens) - 1, 0, -1):  # the first word is capitalised by grammar, not as a name
        word = tokens[i].group().rstrip(".,")
        if (is_number and _NUMBER_RE.match(word)) or (is_name and word[:1].isupper() and not is_number):
            j = i
            while is_name and j > 1 and tokens[j - 1].group()[:1].isupper():
                j -= 1  # take the whole name: "United Kingdom"
            start, end = tokens[j].start(), tokens[i].start() + len(word)
            old = base[start:end]
            return base[:start] + fragment + base[end:], f'replaced "{old}" with "{fragment}"'
    return None


def resolve(question: str, previous: Sequence[str]) -> Resolution:
    """The whole question a chat message asks, given the questions before it (oldest first).

    Example:
        >>> resolve("what about Syria?", ["How many US troops are in Iraq?"]).question
        'How many US troops are in Syria?'
        >>> resolve("and 2026?", ["how many troops leave in 2025?"]).question
        'how many troops leave in 2026?'
    """
    last = next((p for p in reversed(previous) if p.strip()), None)
    fragment = _fragment(question) if last else None
    if last is None or fragment is None:
        return Resolution(asked=question, question=question)
    for rule in (_replace_phrase, _replace_name):
        found = rule(last, fragment)
        if found:
            text, how = found
            return Resolution(asked=question, question=f"{text}?", previous=last, rule=how)
    joint = " " if fragment.split()[0].lower() in _PREPOSITIONS else ", "
    return Resolution(asked=question, question=f"{_strip(last)}{joint}{fragment}?", previous=last,
                      rule=f'added "{fragment}" to the previous question')
