"""Find the period a user's question asks about: "in December 2023", "last year", "năm ngoái".

Questions are matched after folding: lower case, Vietnamese diacritics stripped and "đ" read as
"d", so "tháng 12 năm 2023" and "thang 12 nam 2023" read the same. Every rule below is tried;
the earliest match in the question wins, and a longer match that overlaps it replaces it (so
"in December 8, 2023" is the day, not the month, and "since 2022" is not just the year 2022).
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_MIN_DAY = datetime.date(1900, 1, 1)
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_RECENT_DAYS = 90  # "recently": long enough to cover a news cycle, short enough to mean something

_EN_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_VN_MONTHS = {"gieng": 1, "mot": 1, "hai": 2, "ba": 3, "tu": 4, "nam": 5, "sau": 6, "bay": 7,
              "tam": 8, "chin": 9, "muoi": 10, "muoi mot": 11, "muoi hai": 12, "chap": 12}
_MONTHS = {n: i for i, name in enumerate(_EN_NAMES, 1) for n in (name, name[:3])} | {
    "sept": 9} | _VN_MONTHS
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3}
_UNITS = {"day": "day", "ngay": "day", "week": "week", "tuan": "week",
          "month": "month", "thang": "month", "year": "year", "nam": "year"}

_EN = (r"(?:january|february|march|april|may|june|july|august|september|october|november"
       r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b\.?")
_VN = (r"(?:1[0-2]|0?[1-9]|muoi\s+mot|muoi\s+hai|muoi|gieng|chap|mot|hai|ba|tu|nam|sau|bay|tam"
       r"|chin)\b")
# Without a year, "tháng năm"/"thang sau" more likely mean "months and years"/"next month".
_VN_ALONE = r"(?:1[0-2]|0?[1-9]|muoi\s+mot|muoi\s+hai|gieng|chap)\b"
_Y = r"(?<!\d)(?P<y>\d{4})(?!\d)"
_N = r"(?P<n>\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few)"
_COUNT_NOUNS = (
    r"people|persons?|soldiers?|troops?|officers?|personnel|police(?:men)?|workers?|students?"
    r"|members?|delegates?|participants?|cases?|deaths?|victims?|vehicles?|cars?|ships?"
    r"|vessels?|boats?|aircraft|tons?|tonnes?|kg|km|kilomet(?:er|re)s?|met(?:er|re)s?|miles?"
    r"|hectares?|ha|dollars?|usd|vnd|dong|euros?|yuan|households?|famil(?:y|ies)|copies"
    r"|units?|items?|times|votes?|rounds?|weapons?|guns?|nguoi|chiec|can\s+bo|chien\s+si"
    r"|tan|trieu|ty|nghin|ngan"
)
# Numbering before a number ("Decree 144/2021", "No. 2023") makes it a label, not a year.
_NUMBERING = re.compile(
    r"(?:\b(?:decrees?|resolutions?|circulars?|decisions?|number|no\.|nghi\s+dinh|thong\s+tu"
    r"|quyet\s+dinh)\s*(?:\d+\s*[/-]\s*)?|[#№]\s*)$"
)


@dataclass(frozen=True)
class DateRange:
    """A period of days a question asks about.

    Attributes:
        start: The first day, inclusive.
        end: The last day, inclusive.
        text: The question's words that named the period, verbatim.
    """

    start: datetime.date
    end: datetime.date
    text: str

    def contains(self, day: datetime.date) -> bool:
        """Tell whether `day` falls inside the range.

        Args:
            day: The day to test, such as an article's publication date.

        Returns:
            True when ``start <= day <= end``.
        """
        return self.start <= day <= self.end

    def distance_days(self, day: datetime.date) -> int:
        """Count the days from `day` to the range.

        Args:
            day: The day to measure, such as an article's publication date.

        Returns:
            0 inside the range, else the number of days to the nearer edge.
        """
        if day < self.start:
            return (self.start - day).days
        return max(0, (day - self.end).days)


Span = tuple[datetime.date, datetime.date]


def _month(token: str) -> int:
    """Month number of a name, abbreviation, Vietnamese word or digits; 0 when none."""
    token = " ".join(token.rstrip(".").split())
    if token.isdigit():
        return int(token) if 1 <= int(token) <= 12 else 0
    return _MONTHS.get(token, 0)


def _month_span(year: int, month: int) -> Span | None:
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12):
        return None
    last = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, 1), datetime.date(year, month, last)


def _year_span(year: int) -> Span | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def _shift_back(today: datetime.date, unit: str, count: int) -> datetime.date | None:
    """`today` moved back `count` units; None before 1900, where no news is indexed."""
    if unit in ("day", "week"):
        days = count * (7 if unit == "week" else 1)
        return None if days > (today - _MIN_DAY).days else today - datetime.timedelta(days)
    months = today.year * 12 + today.month - 1 - count * (12 if unit == "year" else 1)
    year, month = divmod(months, 12)
    if year < _MIN_YEAR:
        return None
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(today.day, last))


def _period(unit: str, anchor: datetime.date) -> Span | None:
    """The calendar day, Monday-to-Sunday week, month or year holding `anchor`."""
    if unit == "day":
        return anchor, anchor
    if unit == "week":
        monday = anchor - datetime.timedelta(anchor.weekday())
        return monday, monday + datetime.timedelta(6)
    if unit == "month":
        return _month_span(anchor.year, anchor.month)
    return _year_span(anchor.year)


def _on_day(m: re.Match[str], today: datetime.date) -> Span | None:
    try:
        day = datetime.date(int(m["y"]), _month(m["m"]), int(m["d"]))
    except ValueError:  # "2023-02-30", or a month word that names no month
        return None
    return (day, day) if _MIN_YEAR <= day.year <= _MAX_YEAR else None


def _on_month(m: re.Match[str], today: datetime.date) -> Span | None:
    return _month_span(int(m["y"]), _month(m["m"]))


def _on_year(m: re.Match[str], today: datetime.date) -> Span | None:
    if _NUMBERING.search(m.string, max(0, m.start() - 40), m.start()):
        return None
    return _year_span(int(m["y"]))


def _on_month_alone(m: re.Match[str], today: datetime.date) -> Span | None:
    # The latest such month not in the future: "in December" asked in November is last year's.
    month = _month(m["m"])
    return _month_span(today.year if month <= today.month else today.year - 1, month)


def _on_month_range(m: re.Match[str], today: datetime.date) -> Span | None:
    first_month, last_month, year = _month(m["m1"]), _month(m["m2"]), int(m["y"])
    # "from November to February 2023" starts in the year before.
    first_year = int(m["y1"]) if m["y1"] else year - (first_month > last_month)
    first, last = _month_span(first_year, first_month), _month_span(year, last_month)
    return (first[0], last[1]) if first and last and first[0] <= last[1] else None


def _on_year_range(m: re.Match[str], today: datetime.date) -> Span | None:
    first, last = _year_span(int(m["a"] or m["b"])), _year_span(int(m["y"]))
    return (first[0], last[1]) if first and last and first[0] <= last[1] else None


def _named_span(m: re.Match[str]) -> Span | None:
    """The month ("since March 2023") or else the year a match names."""
    return _month_span(int(m["y"]), _month(m["m"])) if m["m"] else _year_span(int(m["y"]))


def _on_since(m: re.Match[str], today: datetime.date) -> Span | None:
    span = _named_span(m)
    start = span and (span[1] + datetime.timedelta(1) if m["after"] else span[0])
    return (start, today) if start and start <= today else None


def _on_before(m: re.Match[str], today: datetime.date) -> Span | None:
    span = _named_span(m)
    return (_MIN_DAY, span[0] - datetime.timedelta(1)) if span and span[0] > _MIN_DAY else None


def _on_rolling(m: re.Match[str], today: datetime.date) -> Span | None:
    groups = m.groupdict()
    # Bare "last year" is the calendar year (see _on_relative); "the last year" is rolling.
    if not groups.get("the") and not groups["n"] and groups.get("w") in ("last", "previous"):
        return None
    count = _NUMBERS.get(groups["n"] or "one") or int(groups["n"])
    start = _shift_back(today, _UNITS[m["u"]], count) or _MIN_DAY
    return (start, today) if count > 0 else None


def _on_ago(m: re.Match[str], today: datetime.date) -> Span | None:
    unit = _UNITS[m["u"]]
    anchor = _shift_back(today, unit, _NUMBERS.get(m["n"]) or int(m["n"]))
    return _period(unit, anchor) if anchor else None


def _on_relative(m: re.Match[str], today: datetime.date) -> Span | None:
    unit, word = _UNITS[m["u"]], m["w"]
    if word == "qua":  # "tuần qua": the past week
        start = _shift_back(today, unit, 1)
        return (start, today) if start else None
    if word in ("this", "current", "nay"):
        span = _period(unit, today)
        return (span[0], min(span[1], today)) if span else None
    anchor = _shift_back(today, unit, 1)
    return _period(unit, anchor) if anchor else None


def _on_word(m: re.Match[str], today: datetime.date) -> Span | None:
    word = " ".join(m["w"].split())
    if word in ("today", "hom nay"):
        return today, today
    if word in ("yesterday", "hom qua"):
        day = _shift_back(today, "day", 1)
        return (day, day) if day else None
    return _shift_back(today, "day", _RECENT_DAYS) or _MIN_DAY, today


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.format(y=_Y, EN=_EN, VN=_VN, N=_N), re.ASCII)


Handler = Callable[[re.Match[str], datetime.date], Span | None]
# Order only breaks ties between matches of the same start and length.
_RULES: tuple[tuple[re.Pattern[str], Handler], ...] = (
    (_rule(r"(?<!\d)(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})(?!\d)"), _on_day),
    (_rule(r"(?:\bngay\s+)?(?<![\d/.-])(?P<d>\d{{1,2}})(?P<s>[/.-])(?P<m>\d{{1,2}})(?P=s){y}"),
     _on_day),
    (_rule(r"\b(?P<m>{EN})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b,?\s+{y}"), _on_day),
    (_rule(r"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{EN}),?\s+{y}"), _on_day),
    (_rule(r"(?:\bngay\s+)?(?<!\d)(?P<d>\d{{1,2}})\s+thang\s+(?P<m>{VN})\s*,?\s*(?:nam\s+)?{y}"),
     _on_day),
    (_rule(r"\b(?P<m>{EN}),?\s+(?:of\s+)?{y}"), _on_month),
    (_rule(r"\bthang\s+(?P<m>{VN})\s*(?:[/,-]\s*)?(?:nam\s+)?{y}"), _on_month),
    (_rule(r"(?<![\d/.-])(?P<m>\d{{1,2}})/{y}"), _on_month),
    (_rule(r"(?<![\d/.-])(?P<y>\d{{4}})-(?P<m>\d{{1,2}})(?![\d/.-])"), _on_month),
    (_rule(r"\b(?:from|between)\s+(?P<m1>{EN})(?:,?\s+(?P<y1>\d{{4}}))?\s+"
           r"(?:to|until|till|through|and|-)\s+(?P<m2>{EN}),?\s+{y}"), _on_month_range),
    (_rule(r"\btu\s+thang\s+(?P<m1>{VN})\s*(?:(?:/|nam\s+)(?P<y1>\d{{4}})\s*)?(?:den|toi|-)\s*"
           r"thang\s+(?P<m2>{VN})\s*(?:[/,]\s*)?(?:nam\s+)?{y}"), _on_month_range),
    (_rule(r"(?:\b(?:between|from|tu)\s+(?:nam\s+)?(?P<a>\d{{4}})\s+(?:and|to|until|till|"
           r"through|den|toi|-)\s+(?:nam\s+)?|(?<!\d)(?P<b>\d{{4}})\s*[-\u2013]\s*){y}"),
     _on_year_range),
    (_rule(r"\b(?:since|(?P<after>after|sau(?:\s+nam)?)|ke\s+tu(?:\s+nam)?|tu\s+nam)\s+"
           r"(?:(?P<m>{EN}),?\s+)?{y}"), _on_since),
    (_rule(r"\b(?:before|prior\s+to|truoc(?:\s+nam)?)\s+(?:(?P<m>{EN}),?\s+)?{y}"), _on_before),
    (_rule(r"(?:\b(?:in|over|during|within|for)\s+)?\b(?:(?P<the>the)\s+)?"
           r"(?P<w>past|last|previous)\s+(?:{N}\s+)?(?P<u>day|week|month|year)s?\b"), _on_rolling),
    (_rule(r"(?:\btrong\s+)?(?<!\d)(?P<n>\d{{1,4}})\s+(?P<u>ngay|tuan|thang|nam)\s+"
           r"(?:vua\s+qua|qua|gan\s+day|gan\s+nhat)\b"), _on_rolling),
    (_rule(r"\b{N}\s+(?P<u>day|week|month|year)s?\s+ago\b"), _on_ago),
    (_rule(r"(?<!\d)(?P<n>\d{{1,4}})\s+(?P<u>ngay|tuan|thang|nam)\s+(?:ve\s+)?truoc\b"), _on_ago),
    (_rule(r"\b(?P<w>last|this|previous|current)\s+(?P<u>week|month|year)\b"), _on_relative),
    # "Việt Nam trước đây" folds to "viet nam truoc": the country, not "last year".
    (_rule(r"(?<!viet )\b(?P<u>nam|thang|tuan)\s+(?P<w>ngoai|truoc|nay|qua)\b"), _on_relative),
    (_rule(r"\b(?P<w>yesterday|today|recently|lately|hom\s+qua|hom\s+nay|gan\s+day|moi\s+day"
           r"|dao\s+nay)\b"), _on_word),
    (_rule(r"\b(?:in|during|vao|trong)\s+(?:the\s+month\s+of\s+)?(?P<m>{EN})(?!,?\s*\d)"),
     _on_month_alone),
    (_rule(r"\bthang\s+(?P<m>" + _VN_ALONE + r")(?!\s*[/,-]?\s*\d)"), _on_month_alone),
    # A year alone: not money ($2023), not part of a number (1,2023 or 2023.5), not a count.
    (_rule(r"(?<![\d$\u20ac\u00a3\u00a5#])(?<!\d[.,])(?P<y>\d{{4}})(?![\d%]|[.,]\d)"
           r"(?!\s*(?:%|percent|phan\s+tram)|\s+(?:" + _COUNT_NOUNS + r")\b)"), _on_year),
)


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character lower-cased without diacritics; "" for a bare combining mark."""
    if char in "đĐ":  # "đ" has no decomposition, so NFD alone would keep it
        return "d"
    base = unicodedata.normalize("NFD", char.lower())[:1]
    return "" if unicodedata.combining(base) else base


def find_date_range(question: str, today: datetime.date) -> DateRange | None:
    """The period a question asks about, or None.

    Every rule is matched; the earliest match in the question wins, and a longer match
    overlapping it replaces it ("in December 8, 2023" is one day, "between 2021 and 2023" is
    three years). Relative words count back from `today`.

    Args:
        question: The user's question, in English or Vietnamese (with or without diacritics).
        today: The day the question is asked on; a parameter so results are reproducible.

    Returns:
        The range with the question's own words as ``text``, or None when it names no period.
    """
    kept = [(index, _fold_char(char)) for index, char in enumerate(question)]
    kept = [(index, char) for index, char in kept if char]
    folded = "".join(char for _, char in kept)
    found: list[tuple[int, int, int, Span]] = []
    for order, (pattern, handler) in enumerate(_RULES):
        for match in pattern.finditer(folded):
            span = handler(match, today)
            if span is not None and span[0] <= span[1]:
                found.append((match.start(), order, match.end(), span))
    if not found:
        return None
    found.sort()
    best, reach = found[0], found[0][2]
    for candidate in found[1:]:
        if candidate[0] >= reach:
            break
        reach = max(reach, candidate[2])
        if candidate[2] - candidate[0] > best[2] - best[0]:
            best = candidate
    start, _, end, (first, last) = best
    # Folding dropped combining marks; map back so `text` is verbatim, marks included.
    stop = kept[end][0] if end < len(kept) else len(question)
    return DateRange(first, last, question[kept[start][0]:stop].rstrip())
