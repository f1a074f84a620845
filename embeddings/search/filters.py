"""Filters written into a question: ``country:Laos since:2023-06 until:2023-12 source:VNA``
(Vietnamese keys too: ``nước:Lào từ:06/2023 đến:12/2023 nguồn:VNA``), anywhere in it.

The filters travel inside the question's text, so a question asked again (a button pressed
after a restart, on another replica) is asked with them. Dates are a year, a month or a day,
ISO or as Vietnamese readers write them (2023, 2023-06, 06/2023, 2023-06-15, 15/06/2023):
``since`` is the first day of that period, ``until`` the last.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from embeddings.answers import Filters
from embeddings.articles.countries import GAZETTEER, country_named
from embeddings.errors import CoopbotError
from embeddings.index.records import ArticleRecord

_KEYS = {"country": "country", "nuoc": "country", "nước": "country",
         "since": "since", "from": "since", "tu": "since", "từ": "since",
         "until": "until", "to": "until", "den": "until", "đến": "until",
         "source": "source", "nguon": "source", "nguồn": "source"}
_TOKEN = re.compile(rf"(?<!\S)({'|'.join(_KEYS)}):(\S+)", re.IGNORECASE)


class FilterError(CoopbotError):
    """A filter that cannot be read: `kind` is "country" (an unknown one), "date" (a date
    that cannot be read) or "range" (since after until); `value` is what was written, so a
    front end can say it in its user's language."""

    def __init__(self, message: str, kind: str, value: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.value = value


def split_filters(text: str) -> tuple[Filters, str]:
    """The filters written in `text`, and the question without them.

    Raises:
        FilterError: a filter's value cannot be read; the message says how to write it.
    """
    countries: set[str] = set()
    since = until = None
    source = None
    for match in _TOKEN.finditer(text):
        key, value = _KEYS[match.group(1).lower()], match.group(2).rstrip(",;")
        if key == "country":
            for name in value.split(","):
                country = country_named(name)
                if country is None:
                    raise FilterError(f"unknown country “{name}” in {match.group(0)}: write "
                                      f"it in English or Vietnamese, as Laos, Lào or "
                                      f"Thai_Lan (known: {', '.join(sorted(GAZETTEER))})",
                                      "country", name)
                countries.add(country)
        elif key == "source":
            source = value.replace("_", " ")
        else:
            first, last = _period(value, match.group(0))
            if key == "since":
                since = first
            else:
                until = last
    if since and until and since > until:
        raise FilterError(f"the filters ask for articles from {since} until {until}: "
                          "nothing is both", "range", f"{since} – {until}")
    rest = re.sub(r"\s{2,}", " ", _TOKEN.sub(" ", text)).strip()
    return Filters(frozenset(countries), since, until, source), rest


def admitted(filters: Filters, article: ArticleRecord) -> bool:
    """Whether `filters` admit `article`."""
    return filters.admits(article.countries, article.date, article.source)


def filter_tokens(filters: Filters) -> str:
    """`filters` written as tokens `split_filters` reads back."""
    parts = [f"country:{','.join(sorted(c.replace(' ', '_') for c in filters.countries))}"] \
        if filters.countries else []
    if filters.since:
        parts.append(f"since:{filters.since.isoformat()}")
    if filters.until:
        parts.append(f"until:{filters.until.isoformat()}")
    if filters.source:
        parts.append(f"source:{filters.source.replace(' ', '_')}")
    return " ".join(parts)


def _period(value: str, token: str) -> tuple[date, date]:
    """The first and last day of a year, a month or a day."""
    iso = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value)
    dmy = re.fullmatch(r"(?:(\d{1,2})/)?(\d{1,2})/(\d{4})", value)
    try:
        if iso:
            year, month, day = (int(g) if g else None for g in iso.groups())
        elif dmy:
            day, month, year = (int(g) if g else None for g in dmy.groups())
        else:
            raise ValueError(value)
        assert year is not None
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, month, day), date(year, month, day)
    except ValueError:
        raise FilterError(f"cannot read the date in {token}: write a year, a month or a day, "
                          "as 2023, 2023-06, 06/2023 or 15/06/2023", "date", token) from None
