"""Dates as articles and files state them: datelines in text, and metadata dates.

Every date comes back as ISO "YYYY-MM-DD", or None when none is written or the day does
not exist.

Example:
    >>> parse_date("Saturday, September 14, 2024"), is_date_line("Posted on Sept. 14, 2024")
    ('2024-09-14', True)
    >>> metadata_date("D:20230301120000+01'00'")
    '2023-03-01'
"""

from __future__ import annotations

import datetime as dt
import re

from qa.cleaning import word_count
from qa.errors import QuestionError

_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    re.compile(
        rf"\b(?P<month>{_MONTH})\b\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b,?\s+(?P<year>\d{{4}})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH})\b\.?,?\s+(?P<year>\d{{4}})\b",
        re.IGNORECASE,
    ),
)
_WEEKDAY = re.compile(r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b\.?", re.IGNORECASE)
# A PDF date string: "D:YYYYMMDDHHmmSSOHH'mm'", everything after the year optional.
_PDF_DATE = re.compile(r"^\s*(?:D:)?(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")


def _iso(match: re.Match[str]) -> str | None:
    """The ISO date a pattern match names, or None if no such day exists (Feb 30)."""
    month = match["month"]
    number = int(month) if month.isdigit() else _MONTHS.index(month[:3].lower()) + 1
    try:
        day = dt.date(int(match["year"]), number, int(match["day"]))
    except ValueError:
        return None
    return day.isoformat() if 1900 <= day.year <= 2100 else None


def _date_matches(line: str) -> list[tuple[re.Match[str], str]]:
    """Every valid date in `line` with its ISO form, in order of position."""
    found = [(m, _iso(m)) for pattern in _DATE_PATTERNS for m in pattern.finditer(line)]
    return sorted(((m, iso) for m, iso in found if iso), key=lambda pair: pair[0].start())


def parse_date(value: str) -> str | None:
    """The first valid date written in `value` as ISO "YYYY-MM-DD", else None.

    >>> parse_date("Saturday, September 14, 2024"), parse_date("14 SEPT 2024"), parse_date("Feb 30, 2024")
    ('2024-09-14', '2024-09-14', None)
    """
    matches = _date_matches(value)
    return matches[0][1] if matches else None


def is_date_line(line: str) -> bool:
    """True for a line that is a date and little else ("Posted on Sept. 14, 2024").

    >>> is_date_line("Sunday, March 10, 2024"), is_date_line("On March 10, 2024 the bridge closed for repairs.")
    (True, False)
    """
    matches = _date_matches(line)
    if not matches:
        return False
    rest = line[: matches[0][0].start()] + " " + line[matches[0][0].end() :]
    return word_count(_WEEKDAY.sub(" ", rest)) <= 2


def metadata_date(value: str | dt.datetime | dt.date | None) -> str | None:
    """A file's metadata date as ISO: a PDF date string ("D:20230301..."), a datetime, or any
    date `parse_date` reads; None for none.

    >>> metadata_date("D:20240914"), metadata_date(dt.datetime(2024, 9, 14, 8, 30)), metadata_date("")
    ('2024-09-14', '2024-09-14', None)
    """
    if isinstance(value, dt.date):
        return value.isoformat()[:10] if 1900 <= value.year <= 2100 else None
    if not value:
        return None
    match = _PDF_DATE.match(value)
    return _iso(match) if match else parse_date(value)


def date_filter(value: str | None, label: str) -> str | None:
    """A `since`/`until` filter as an ISO date, None when absent or blank; QuestionError otherwise.

    Example:
        >>> date_filter(" 2024-09-01 ", "since"), date_filter("", "until")
        ('2024-09-01', None)
    """
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise QuestionError(f"the {label} date {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-09-01") from exc
