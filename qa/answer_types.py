"""What kind of phrase a question asks for, and the phrases of that kind in a text.

"how many" asks for a number (with its unit: "2,500 troops"), "when" for a date, "what year"
for a year, "who" for a person, "where" for a place, "which company" for a name; "why", "how"
and untyped "what" questions ask for none. Rules, no model: patterns for amounts, dates and
capitalised names, each phrase found with a prior saying how well it fits the question (a
number followed by the noun the question counts is telling), and none that the question
already holds. The highlight (`qa.highlighting`) favours a sentence holding such a phrase,
`qa.answer_phrase` picks the one that answers, and `qa.retrieval` reads the kind as a
sentence signal.

Example:
    >>> asks = answer_type("how many US troops are in Iraq?")
    >>> asks
    AnswerType('number')
    >>> text = "Currently, the US has around 2,500 troops in Iraq."
    >>> start, end = asks.search(text)
    >>> text[start:end]
    '2,500 troops'
    >>> answer_type("why did the troops leave?") is None
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from qa.lexical import STOPWORDS, term_set, terms

# Amounts ("2,500", "$412 million", "43 percent", "seven") and the units that may follow them.
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan\\.|Feb\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\.")
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                 "hundred|a hundred|a thousand|a dozen|dozens|hundreds|thousands|millions|twice|half")
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_AMOUNT = re.compile(
    rf"(?<![\w.,\-–/:])(?:(?:US|A|C|NZ|HK)?[$£€¥]\s?)?"
    rf"(?:{_DIGITS}(?:\s?[-–]\s?{_DIGITS})?|(?i:{_NUMBER_WORDS})(?:[- ](?i:{_NUMBER_WORDS}))?)"
    rf"(?:\s(?:hundred|thousand|million|billion|trillion)\b)?(?:\s?%|\s(?:percent|per cent)\b)?"
    rf"(?![\w:]|[.,]\d|-\d)")  # case-sensitive but for number words: three times faster than re.I
_UNITS = frozenset(
    """year years month months week weeks day days hour hours minute minutes second seconds decade decades
    century centuries km kilometres kilometers kilometre kilometer miles mile metres meters metre meter m
    cm mm feet foot ft inches inch kg kilograms kilogram pounds lb lbs tons tonnes ton tonne acres acre
    hectares hectare square sq degrees °c °f mph times people percent points dollars euros""".split())
# Dates: "September 5, 2025", "5 September 2025", "September 2025", "the 19th century", "1990s", "1887".
_YEAR = r"(?:1\d{3}|20\d{2})"
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?,?\s{_YEAR}|\d{{1,2}}\s(?:{_MONTHS}),?\s{_YEAR}"
    rf"|(?:{_MONTHS}),?\s{_YEAR}|(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?\b|\d{{1,2}}\s(?:{_MONTHS})"
    rf"|\d{{1,2}}(?:st|nd|rd|th)[\s-][Cc]entury|(?i:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    rf"tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    rf"twentieth|twenty-first)\s[Cc]entury|{_YEAR}s|\d{{1,4}}\s?(?:BC|BCE|AD|CE)\b"
    rf"|(?<![\d,.$£€\-–])(?:{_YEAR})(?!\d|[.,]\d|[\-–]\w))")  # case-sensitive: three times faster
_YEAR_IN = re.compile(rf"{_YEAR}s?")
_MONTH_IN = re.compile(rf"\b(?:{_MONTHS})", re.I)
_MONTH_ALONE = re.compile(rf"\b(?:{_MONTHS.replace('May|', '')})(?!\w)|\bMay\b(?=\s*[.,;]|\s+(?:and|or|to|until)\b)")
# A name: capitalised words, with connectors inside ("University of Chicago", "Charles de Gaulle").
_NAME = re.compile(
    r"(?:[A-Z]\.(?:[A-Z]\.)*|[A-Z][\w’'\-&]*)(?:\s(?:(?:of|de|da|di|del|van|von|der|du|la|le|bin|al|the|for|on)\s)*"
    r"(?:[A-Z]\.(?:[A-Z]\.)*|[A-Z][\w’'\-&]*|(?<=[A-Za-z] )\d+\b))*")
_NOT_NAME = frozenset(
    """the a an in on at by for from with after before during however although though while when where who
    what which this that these those it its he she they we i his her their our there here also but and or
    as if since because despite many most some several according other both each every all such then thus
    therefore meanwhile later earlier under over between among one two three first last no not yet
    january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday mr mrs ms dr st""".split())
_NOT_NAME_END = frozenset("of the for on de la le monday tuesday wednesday thursday friday saturday sunday".split())
# Last words of names that are not people's ("Academy Award", "Super Bowl", "Fresno Street").
_NOT_PERSON = frozenset(
    """award awards bowl game games cup league championship championships street road avenue boulevard river
    exhibition language war act prize house hall center centre museum park square bridge station airport
    university college school church company corporation republic state states empire kingdom city county
    island islands ocean sea mountains valley index day week treaty council parliament""".split())
# What the question asks for, read from its first question word on: (pattern, kind). "year"
# ("what year") is a date reduced to its year. Up to two words may come between "which" and
# its noun ("which former pope"), none of them a stopword.
_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b", re.I)
_MOD = r"(?:(?!(?:is|was|were|are|did|does|do|has|have|had|the|a|an|of|in|on|to)\b)[\w'-]+\s+){0,2}?"
_ASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"how (many|much)\b|what (percentage|percent|proportion|share|number|amount|fraction)\b|"
                r"how (long|old|far|large|big|tall|high|fast|heavy|deep|wide)\b", re.I), "number"),
    (re.compile(r"(what|which) years?\b|when year\b", re.I), "year"),
    (re.compile(rf"when\b|(what|which) {_MOD}(date|day|month|century|decade)\b", re.I), "date"),
    (re.compile(rf"who(m|se)?\b|(what|which) {_MOD}(person|man|woman|king|queen|president|emperor|player|"
                r"quarterback|actor|actress|author|writer|scientist|leader|general|singer|artist|coach|"
                r"composer|architect|inventor|pope|ruler|governor|mayor|minister|senator|founder)\b", re.I),
     "person"),
    (re.compile(rf"where\b|(what|which) {_MOD}(country|nation|city|state|town|continent|region|province|county|island|"
                r"river|capital|village|mountain|sea|ocean|lake|district|territory|colony|port)\b", re.I),
     "place"),
    (re.compile(rf"(what|which) {_MOD}(company|team|organi[sz]ation|group|band|party|university|college|school|"
                r"agency|network|newspaper|club|church|firm|airline|brand|station|channel|satellite)\b|"
                r"what (is|was|were|are) the names? of\b", re.I), "name"),
]
# "how many US troops are...": the noun counted, which names the unit.
_HOW_MUCH_OF = re.compile(
    r"\bhow (?:many|much)\s+((?:[\w'-]+\s+){0,3}?[\w'-]+?)(?:\s+(?:do|does|did|is|are|was|were|has|have|had|"
    r"will|would|can|could|should|of|in|on|at|for|per|remained?|left)\b|\s*[?.]?$)", re.I)
_MONEY = re.compile(r"\b(money|cost|costs|pay|paid|spend|spent|price|worth|fund|funding|budget|dollars|revenue|"
                    r"earn|earned|raise|raised|sell|sold|fine|salary|value)\b", re.I)
_LOCATIVE = re.compile(r"\b(?:in|at|from|near|to|into|across|throughout|outside|inside|within|of)\s(?:the\s)?$", re.I)
_VALUES = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


def _question_kind(question: str) -> tuple[str, str] | None:
    """The kind of phrase the question asks for and the words saying so ("which former pope"),
    or None (why, how, an untyped what...)."""
    m = _WH.search(question)
    if m is None:
        return None
    rest = question[m.start():]
    for pattern, kind in _ASKS:
        found = pattern.match(rest)
        if found:
            return kind, found.group(0)
    return None


@dataclass(frozen=True)
class Asked:
    """What a question asks for, and what its wording tells about the answer."""

    kind: str
    terms: frozenset[str]
    own: frozenset[str]  # its terms less the words naming the kind ("county" in "which county")
    units: frozenset[str] = frozenset()  # "how many US troops": a number's unit
    acts: frozenset[str] = frozenset()  # "who founded": the act the person did
    money: bool = False  # "how much ... cost"
    percent: bool = False  # "what percentage"
    month: bool = False  # "in which month"


@lru_cache(maxsize=1024)
def asked_for(question: str) -> Asked | None:
    """What `question` asks for, or None if it asks for no kind of phrase."""
    found = _question_kind(question)
    asked = frozenset(terms(question))
    if found is None or not asked:
        return None
    kind, wording = found
    noun = _HOW_MUCH_OF.search(question)
    verb = re.match(r"who\s+(?!(?:is|was|were|are|did|does|do|has|have|had|will|would|can|could|may|might)\b)"
                    r"([a-z]+)", question[_WH.search(question).start():], re.I)
    return Asked(
        kind, asked, asked - _terms(wording),
        units=_terms(noun.group(1)) if noun else frozenset(),
        acts=_terms(verb.group(1)) if verb else frozenset(),
        money=bool(re.search(r"\bhow much\b", question, re.I) and _MONEY.search(question)),
        percent=bool(re.search(r"\b(percent|percentage|proportion|share)\b", question, re.I)),
        month=kind == "date" and "month" in wording.lower(),
    )


@lru_cache(maxsize=8192)
def _terms(text: str) -> frozenset[str]:
    return term_set(text)


def _opens_sentence(text: str, i: int) -> bool:
    before = text[:i].rstrip(" \"'“‘([")
    return not before or before[-1] in ".!?:;\n"


def _numbers(text: str, q: Asked) -> list[tuple[int, int, float]]:
    """(start, end, prior) of the amounts in `text`, with their unit; prior 1 plain, 2 telling."""
    wanted = q.units
    found = []
    for m in _AMOUNT.finditer(text):
        a, b = m.span()
        prior = 1.0
        # The question's own noun right after the number ("2,500 troops", "seven-layer") is
        # its unit; one just before ("interceptions with 24") is good evidence too.
        after = list(re.finditer(r"[^\W\d_][\w'°]*", text[b:b + 40]))[:3]
        after = [w for w in after if not re.search(r"[,.;:()]", text[b:b + w.start()])]
        hit = next((w for w in after if wanted & _terms(w.group(0))), None)
        if hit is not None:
            # Part of the phrase when at most one plain word comes between ("2,500 US troops").
            between = text[b:b + hit.start()].split()
            if len(between) <= 1 and not (set(w.lower() for w in between) & STOPWORDS):
                b = b + hit.end()
            prior = 2.0
        elif after and after[0].start() <= 1 and after[0].group(0).lower() in _UNITS:
            unit = after[0]
            if unit.group(0).lower() in ("square", "sq", "cubic") and len(after) > 1:
                unit = after[1]
            b, prior = b + unit.end(), 1.5
        elif wanted and wanted & _terms(" ".join(text[max(0, a - 30):a].split()[-3:])):
            prior = 1.8
        if re.fullmatch(_YEAR, m.group(0)) and prior < 1.8:
            continue  # a bare year is a date, not a quantity
        if text[:a].rstrip().endswith("("):
            prior *= 0.5  # a conversion or aside: "(2,700,000 sq mi)"
        if q.money:
            prior *= 2.0 if re.search(r"[$£€¥]|dollars|euros|pounds", text[a:b]) else 0.5
        if q.percent:
            prior *= 2.0 if re.search(r"%|percent|per cent", text[a:b]) else 0.5
        found.append((a, b, prior))
    return found


def _dates(text: str, q: Asked) -> list[tuple[int, int, float]]:
    """(start, end, 1.0) of the dates in `text`: only their years for "what year", only those
    naming a month for "which month"."""
    found: list[tuple[int, int, float]] = []
    if not any(c.isdigit() for c in text) and "entury" not in text and not q.month:
        return found  # every date form has a digit, but "the nineteenth century"
    spans = [m.span() for m in _DATE.finditer(text)]
    if q.month:  # a month alone answers too
        spans = sorted(set(spans) | {m.span() for m in _MONTH_ALONE.finditer(text)
                                     if not any(a <= m.start() < b for a, b in spans)})
    for a, b in spans:
        if q.month and not _MONTH_IN.search(text, a, b):
            continue
        if q.kind == "year":
            y = _YEAR_IN.search(text, a, b)
            if y is None:
                continue
            a, b = y.span()
        found.append((a, b, 1.0))
    return found


def _names(text: str, q: Asked) -> list[tuple[int, int, float]]:
    """(start, end, prior) of the names in `text`; the prior says how well one fits the question."""
    kind, acts = q.kind, q.acts
    found = []
    for m in _NAME.finditer(text):
        # Trim words that are not names ("The", "However") and trailing connectors.
        words = [(w.start() + m.start(), w.end() + m.start()) for w in re.finditer(r"\S+", m.group(0))]
        while words and text[words[0][0]:words[0][1]].lower().rstrip(".") in _NOT_NAME:
            words.pop(0)
        while words and (text[words[-1][0]:words[-1][1]].lower() in _NOT_NAME_END
                         or text[words[-1][0]:words[-1][1]].isdigit()):
            words.pop()
        if not words or (len(words) == 1 and re.fullmatch(r"[IVXLC]+", text[words[0][0]:words[0][1]])):
            continue
        a, b = words[0][0], words[-1][1]
        cut = re.search(r"(?:['’]s?|[.,])$", text[a:b])
        if cut and not re.search(r"\b[A-Z]\.$", text[a:b]):
            b -= len(cut.group(0))
        if b <= a:
            continue
        prior = 1.0
        last = text[words[-1][0]:b].lower()
        if len(words) == 1 and _opens_sentence(text, a):
            prior = 0.4  # a lone capitalised word opening a sentence is often just a word
        if len(words) == 1 and re.search(r"(an|ese|ish|ic)$", last) and re.match(r"\s[a-z]", text[b:b + 2]):
            prior *= 0.3  # an adjective: "Japanese research teams"
        if kind == "person":
            if last in _NOT_PERSON:
                prior *= 0.3
            elif len(words) >= 2:
                prior *= 1.2
            if acts:
                before = text[max(0, a - 40):a].split()[-4:]
                after = text[b:b + 30].split()[:2]
                if before and before[-1] == "by" and acts & _terms(" ".join(before)):
                    prior *= 2.0  # "... was designed by NAME"
                elif acts & _terms(" ".join(after)):
                    prior *= 1.5  # "NAME designed ..."
        if kind == "place" and _LOCATIVE.search(text[max(0, a - 20):a]):
            prior *= 1.5
        found.append((a, b, prior))
    return found


def candidate_phrases(text: str, q: Asked) -> list[tuple[int, int, float]]:
    """(start, end, prior) of the phrases of `text` of the asked kind that the question lacks."""
    if q.kind == "number":
        raw = _numbers(text, q)
    elif q.kind in ("date", "year"):
        raw = _dates(text, q)
    else:
        raw = _names(text, q)
    kept = []
    for a, b, prior in raw:
        core = _terms(text[a:b])
        if q.kind == "number":  # the number, not its unit (which the question may well name)
            number = _AMOUNT.match(text, a)
            core = frozenset(_VALUES.get(t, t) for t in _terms(number.group(0) if number else text[a:b]))
        if core and (all(t in q.terms for t in core) if q.kind in ("number", "date", "year")
                     else any(t in q.own for t in core)):
            continue  # (part of) the question itself, not what it asks for
        kept.append((a, b, prior))
    if q.kind in ("person", "place", "name"):
        # A name in a list ("Smith, Jones and Brown") is at best part of the answer.
        listed = [i for i in range(len(kept)) for j in (i - 1, i + 1)
                  if 0 <= j < len(kept) and re.fullmatch(r",?\s*(?:and|or|&)?\s*",
                                                        text[min(kept[i][1], kept[j][1]):max(kept[i][0], kept[j][0])])]
        kept = [(a, b, prior * 0.5) if i in listed else (a, b, prior) for i, (a, b, prior) in enumerate(kept)]
    return kept


class AnswerType:
    """The kind of phrase a question asks for; `search(text)` finds one in `text` that the
    question does not already hold: its (start, end), or None."""

    def __init__(self, asked: Asked) -> None:
        self._asked = asked
        self.kind = "date" if asked.kind == "year" else asked.kind

    def search(self, text: str) -> tuple[int, int] | None:
        found = candidate_phrases(text, self._asked)
        return (found[0][0], found[0][1]) if found else None

    def __repr__(self) -> str:
        return f"AnswerType({self.kind!r})"


def answer_type(question: str) -> AnswerType | None:
    """What kind of phrase answers `question` ("number", "date", "person", "place", "name"), or None."""
    asked = asked_for(question)
    return AnswerType(asked) if asked is not None else None
