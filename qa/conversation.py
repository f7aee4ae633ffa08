"""Read a chat question against the turns before it: follow-ups, pronouns, named references.

A chat question often leans on the one before: "and in Syria?", "what about France?",
"when will they leave?", "and the prime minister?". `readings` proposes whole questions it
may mean, each with a one-sentence note. A fragment is read as its completion; for a whole
question the pipeline runs it as typed and each reading, and keeps a reading only when the
retrieval evidence for it is clearly stronger (see `QA.ask`). The rules, tried on the previous question:

1. A fragment that is a prepositional phrase ("in Syria") replaces the previous question's
   phrase with the same preposition ("in Iraq").
2. A fragment that names something ("France", "2025") replaces the previous question's last
   name or number of the same kind.
3. A fragment that is a noun phrase ("the prime minister") replaces the previous question's
   phrase with the same head noun ("defense minister").
4. Otherwise a fragment is appended to the previous question.
5. In a whole question, a pronoun ("they", "it", "its", "he", "his") is replaced by what the
   previous question was about: its plural noun phrase for "they", each of its names and "the
   ..." phrases for "it" (one reading each, up to three: the articles decide), a person's name
   from the previous answer or question for "he"; "that agreement" by the previous answer's
   phrase ending in "agreement" when there is one.

Only a short message that opens with "and", "what about"... or with a preposition ("in
Syria?") is a fragment; anything else stands on its own unless it has a pronoun to resolve.
`Conversation` keeps the turns for the Python API: `QA.conversation().ask(...)`.

Example:
    >>> from qa.conversation import resolve, readings
    >>> r = resolve("and in Syria?", ["how many US troops are in Iraq?"])
    >>> r.question
    'how many US troops are in Syria?'
    >>> r.note
    'Read as “how many US troops are in Syria?”, following on from “how many US troops are in Iraq?”.'
    >>> [x.question for x in readings("and the prime minister?", ["who is Iraq's defense minister?"])]
    ["who is Iraq's prime minister?"]
    >>> resolve("Who is Iraq's defense minister?", ["how many US troops are in Iraq?"]).rewritten
    False
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qa.phrases import (
    DETERMINERS,
    PREPOSITIONS,
    QUESTION_WORDS,
    WORD_RE,
    definite_phrase,
    is_modifier,
    one_line,
    people_named,
    plural_phrase,
    things_named,
)

if TYPE_CHECKING:
    from qa.answers import Answer

# Openers that mark a fragment as a follow-up, longest first so "and what about" wins over "and".
_LEADS = (
    "and what about", "and how about", "but what about", "what about", "how about", "what of",
    "and also", "same for", "same in", "and", "also", "but", "or",
)
_LEAD_RE = re.compile(r"^(?:" + "|".join(re.escape(lead) for lead in _LEADS) + r")\b[\s,]*", re.I)
_MAX_FRAGMENT_WORDS = 4
_NUMBER_RE = re.compile(r"^\d[\d,.]*$")


@dataclass(frozen=True)
class Resolution:
    """The question to search with; `rule` explains the rewrite ("" when there was none)."""

    asked: str
    question: str
    previous: str | None = None
    rule: str = ""

    @property
    def fragment(self) -> bool:
        """True when the message was a fragment ("and in Syria?") completed from the previous question."""
        return self.rewritten and not self.rule.startswith("read ")

    @property
    def rewritten(self) -> bool:
        """True when `question` differs from what the user typed."""
        return self.question != self.asked

    @property
    def note(self) -> str:
        """One sentence saying how the question was read ("" when it was taken as typed)."""
        if not self.rewritten:
            return ""
        return f"Read as “{self.question}”, following on from “{one_line(self.previous or '')}?”."


def _fragment(question: str) -> str | None:
    """The fragment a follow-up adds ("in Syria" from "and in Syria?"), or None for a whole question.

    A fragment opens with "and", "what about"... or with a preposition ("in Syria?"), has at
    most a few words, and does not open with a question word ("and why?" stays as it is).
    """
    text = one_line(question)
    lead = _LEAD_RE.match(text)
    rest = text[lead.end():] if lead else text
    words = rest.split()
    if not words or len(words) > _MAX_FRAGMENT_WORDS or words[0].lower() in QUESTION_WORDS:
        return None
    if not lead and words[0].lower() not in PREPOSITIONS:
        return None
    return rest


def _replace_phrase(previous: str, fragment: str) -> tuple[str, str] | None:
    """Rule 1: swap the previous question's last phrase that starts with the fragment's preposition.

    The phrase runs from the preposition to the next preposition, comma or the end.
    """
    head, _, tail = fragment.partition(" ")
    if head.lower() not in PREPOSITIONS or not tail:
        return None
    base = one_line(previous)
    tokens = list(WORD_RE.finditer(base))
    for i in range(len(tokens) - 2, -1, -1):
        if tokens[i].group().lower() != head.lower():
            continue
        j = i + 1
        while j + 1 < len(tokens) and tokens[j + 1].group().lower() not in PREPOSITIONS and not tokens[j].group().endswith(","):
            j += 1
        start, end = tokens[i].start(), tokens[j].end()
        old = base[start:end].rstrip(",")
        end = start + len(old)
        return base[:start] + fragment + base[end:], f'replaced "{old}" with "{fragment}"'
    return None


def _replace_name(previous: str, fragment: str) -> tuple[str, str] | None:
    """Rule 2: swap the previous question's last name (or number) for the fragment's."""
    words = [w for w in fragment.split() if w.lower() not in DETERMINERS]
    is_number = bool(words) and all(_NUMBER_RE.match(w) for w in words)
    is_name = bool(words) and words[0][:1].isupper()
    if not (is_number or is_name):
        return None
    base = one_line(previous)
    tokens = list(WORD_RE.finditer(base))
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


def _replace_head(previous: str, fragment: str) -> tuple[str, str] | None:
    """Rule 3: a noun phrase replaces the previous question's phrase with the same head noun.

    "the prime minister" after "who is Iraq's defense minister?" gives "who is Iraq's prime minister".
    """
    words = [w for w in fragment.split() if w.lower() not in DETERMINERS]
    if len(words) < 2 or words[0].lower() in PREPOSITIONS or not words[-1].isalpha():
        return None
    head = words[-1].lower()
    base = one_line(previous)
    tokens = list(WORD_RE.finditer(base))
    for i in range(len(tokens) - 1, 0, -1):
        if tokens[i].group().rstrip(".,").lower() != head:
            continue
        j = i
        while j > 1 and is_modifier(tokens[j - 1].group()):
            j -= 1
        start, end = tokens[j].start(), tokens[i].start() + len(tokens[i].group().rstrip(".,"))
        old = base[start:end]
        possessive = j > 0 and tokens[j - 1].group().lower().endswith(("'s", "’s"))
        new = " ".join(words) if possessive else fragment
        return base[:start] + new + base[end:], f'replaced "{old}" with "{new}"'
    return None


def resolve(question: str, previous: Sequence[str]) -> Resolution:
    """The whole question a chat fragment asks, given the questions before it (oldest first).

    Only fragments ("and in Syria?") are rewritten; see `readings` for pronouns.

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
    for rule in (_replace_phrase, _replace_head, _replace_name):
        found = rule(last, fragment)
        if found:
            text, how = found
            return Resolution(asked=question, question=f"{text}?", previous=last, rule=how)
    joint = " " if fragment.split()[0].lower() in PREPOSITIONS else ", "
    return Resolution(asked=question, question=f"{one_line(last)}{joint}{fragment}?", previous=last,
                      rule=f'added "{fragment}" to the previous question')


_PLURAL_PRONOUNS = {"they", "them"}
_THING_PRONOUNS = {"it", "its"}
_PERSON_PRONOUNS = {"he", "she", "him", "his"}
_MAX_THING_READINGS = 3
_DEMONSTRATIVE = re.compile(r"\b(?:that|this|those|these)\s+([a-z]+)\b", re.I)
def _replace_word(question: str, word: str, new: str) -> str:
    return re.sub(rf"\b{re.escape(word)}\b", new, question, count=1, flags=re.I)


def readings(question: str, previous: Sequence[str], answer_text: str = "") -> list[Resolution]:
    """Whole questions a chat message may mean, given the questions before it and the last answer.

    `answer_text` is what answered the previous question (its answer phrase or highlight);
    it resolves "he", "she" and "that agreement". Empty when the message stands alone.

    Example:
        >>> [r.question for r in readings("when will they leave?", ["how many US troops are in Iraq?"])]
        ['when will US troops leave?']
    """
    last = next((p for p in reversed(previous) if p.strip()), None)
    if last is None:
        return []
    fragment = resolve(question, [last])
    if fragment.rewritten:
        return [fragment]
    words = {w.lower() for w in WORD_RE.findall(question)}
    out: list[Resolution] = []

    def add(text: str, how: str) -> None:
        text = text[0].upper() + text[1:] if question[:1].isupper() else text
        if text != question and all(r.question != text for r in out):
            out.append(Resolution(asked=question, question=text, previous=last, rule=how))

    plural = plural_phrase(last) if words & _PLURAL_PRONOUNS else None
    if plural:
        pronoun = next(w for w in ("they", "them") if w in words)
        add(_replace_word(question, pronoun, plural), f'read "{pronoun}" as "{plural}"')
    if words & _PERSON_PRONOUNS:
        pronoun = next(w for w in ("he", "she", "him", "his") if w in words)
        for name in people_named(last, answer_text)[:_MAX_THING_READINGS]:
            add(_replace_word(question, pronoun, f"{name}'s" if pronoun == "his" else name), f'read "{pronoun}" as "{name}"')
    if words & _THING_PRONOUNS:
        pronoun = "it" if "it" in words else "its"
        for thing in things_named(last)[:_MAX_THING_READINGS]:
            add(_replace_word(question, pronoun, f"{thing}'s" if pronoun == "its" else thing), f'read "{pronoun}" as "{thing}"')
    for match in _DEMONSTRATIVE.finditer(question):
        head = match.group(1)
        phrase = definite_phrase(answer_text, head) or definite_phrase(last, head)
        if phrase and phrase.lower() != f"the {head.lower()}":
            add(question[: match.start()] + phrase + question[match.end():], f'read "{match.group()}" as "{phrase}"')
    return out


@dataclass
class Conversation:
    """A conversation with a collection: each question is read against the turns before it.

    Get one from `QA.conversation()` (or `qa.conversation()` for the default folders);
    `ask` takes the same arguments as `QA.ask`, and each `Answer.understood_as` says how the
    question was read.

    Example:
        >>> from qa import conversation
        >>> chat = conversation()                                    # doctest: +SKIP
        >>> chat.ask("how many US troops are in Iraq?").passages[0].answer.text  # doctest: +SKIP
        '2,500 troops'
        >>> chat.ask("and in Syria?").understood_as                  # doctest: +SKIP
        'how many US troops are in Syria?'
    """

    qa: Any
    turns: list[Answer] = field(default_factory=list)

    def ask(self, question: str, k: int = 5, **options: Any) -> Answer:
        """Ask `question` as the next turn; the answer is kept for the turns after it."""
        answer = self.qa.ask(question, k=k, history=[a.understood_as for a in self.turns], **options)
        self.turns.append(answer)
        return answer

    def clear(self) -> None:
        """Forget the turns: the next question stands on its own."""
        self.turns.clear()
