"""Recognise date lines in English and Vietnamese news scrapes.

A date line holds only a date, optionally with a weekday, a "Posted:"-style prefix and a time:
"2023-12-09", "Thứ bảy, 09/12/2023 - 10:40", "Saturday, December 9th, 2023 at 9:40 am GMT+7".
"""

from __future__ import annotations

import datetime
import re

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_MONTHS = {
    form: number
    for number, name in enumerate(_MONTH_NAMES, start=1)
    for form in (name, name[:3])
} | {"sept": 9}
_WEEKDAY = (
    r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|bẩy|[2-7])|chủ\s+nhật|"
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?)"
)
_DATE_CORE = (
    r"(?:(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<dd>\d{1,2})[/.-](?P<dm>\d{1,2})[/.-](?P<dy>\d{4})"
    r"|(?P<mname>[a-z]+)\.?\s+(?P<md>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<my>\d{4})"
    r"|(?P<nd>\d{1,2})(?:st|nd|rd|th)?\s+(?P<nname>[a-z]+)\.?,?\s+(?P<ny>\d{4}))"
)
_TIME = (
    r"(?:(?:\s*[,|-]\s*|\s+at\s+|\s+|T)\d{1,2}[:h]\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:\s*[ap]\.?m\.?)?"
    r"(?:\s*\(?(?:gmt|utc)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?\)?|z|[+-]\d{2}:?\d{2}|\s+[a-z]{2,4})?)?"
)
_DATE_LINE = re.compile(
    rf"(?:(?:posted|updated|published)(?:\s+on)?\s*:?\s*)?(?:{_WEEKDAY}\s*,?\s*)?"
    rf"{_DATE_CORE}{_TIME}\s*",
    re.IGNORECASE,
)


def match_date_line(text: str) -> tuple[bool, datetime.date | None]:
    """Tell whether `text` is only a date (with optional weekday and time), and which date.

    Args:
        text: One line of text.

    Returns:
        ``(is_date_line, date)``; ``(True, None)`` for something shaped like a date that names
        no real day, such as "2023-02-30".
    """
    match = _DATE_LINE.fullmatch(text.strip())
    if match is None:
        return False, None
    groups = match.groupdict()
    try:
        if groups["iy"]:
            return True, datetime.date(int(groups["iy"]), int(groups["im"]), int(groups["id"]))
        if groups["dy"]:  # day first, as Vietnamese and British sites write it
            return True, datetime.date(int(groups["dy"]), int(groups["dm"]), int(groups["dd"]))
        name, day, year = (
            (groups["mname"], groups["md"], groups["my"])
            if groups["mname"]
            else (groups["nname"], groups["nd"], groups["ny"])
        )
        month = _MONTHS.get(name.lower())
        if month is None:
            return False, None
        return True, datetime.date(int(year), month, int(day))
    except ValueError:
        return True, None


def parse_date_text(text: str) -> datetime.date | None:
    """Read a date from text such as '2023-12-09', '25/08/2023 09:40' or 'December 9, 2023'.

    Args:
        text: The text holding only a date (and optionally weekday and time).

    Returns:
        The date, or ``None`` when the text is no date or names no real day.
    """
    return match_date_line(text)[1]
