"""The cooperation events of the corpus, newest first: one line per dated article, with its
date, the parties (the countries it is about), its place (the dateline), and what was agreed
or done (the first of its lead sentences that says so, else the first one).

`/timeline Laos` keeps the articles about a country; `/timeline extradition` or `/timeline
VNA` keeps those whose title, lead or source mention the term (an agency, a crime, a place).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from embeddings.articles.countries import country_named
from embeddings.index.storage import ReadableIndex

LEAD_SENTENCES = 3

# What says an event happened: agreements, signatures, visits, handovers, operations, in
# English and Vietnamese; a lead sentence with one of these is the event's line.
_DONE = re.compile(
    r"\b(agree[ds]?|agreement|sign(?:s|ed)?|pledge[ds]?|commit(?:s|ted)?|vow(?:s|ed)?|"
    r"discuss(?:es|ed)?|review(?:s|ed)?|hand(?:s|ed)? over|donate[ds]?|present(?:s|ed)|"
    r"arrest(?:s|ed)?|extradit\w*|seiz\w*|dismantl\w*|launch(?:es|ed)?|held|hold(?:s)?|"
    r"met|meet(?:s)?|visit(?:s|ed)?|ký kết|ký|thống nhất|nhất trí|cam kết|trao tặng|"
    r"bắt giữ|dẫn độ|hội đàm|làm việc)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TimelineEntry:
    """One event: an article's date, parties, place, what happened, and where to read it."""

    article_id: str
    title: str
    date: date | None
    """None only for an undated article asked for by id."""
    countries: tuple[str, ...]
    place: str | None
    event: str
    url: str | None


Event = tuple[TimelineEntry, str]
"""An entry and the text a term is looked for in (its title, source and lead, folded)."""


def timeline(index: ReadableIndex, about: str | None = None,
             ids: Sequence[str] | None = None) -> list[TimelineEntry]:
    """Every dated article's event, newest first; only those about `about` (a country's
    name in English or Vietnamese, or any term) when given; of the articles `ids` only,
    dated or not, when given (what an alert tells of new articles)."""
    return matching(events(index, ids), about)


def events(index: ReadableIndex, ids: Sequence[str] | None = None) -> list[Event]:
    """The events of every dated article (or of the articles `ids`, dated or not), newest
    first: what `matching` picks from (a front end may keep them for the build it serves)."""
    if ids is not None:
        articles = list(index.articles(list(ids)).values())
    else:
        articles = [a for a in index.articles().values() if a.date is not None]
    leads = index.article_units({a.id: (0, LEAD_SENTENCES) for a in articles})
    found: list[Event] = []
    for article in articles:
        sentences = [u.text for u in leads.get(article.id, [])]
        event = next((s for s in sentences if _DONE.search(s)),
                     sentences[0] if sentences else article.title)
        entry = TimelineEntry(article.id, article.title, article.date, article.countries,
                              article.place, event, article.url)
        found.append((entry, " ".join([article.title, article.source or "", *sentences])
                      .casefold()))
    return sorted(found, key=lambda e: (e[0].date or date.min, e[0].article_id), reverse=True)


def matching(found: Sequence[Event], about: str | None) -> list[TimelineEntry]:
    """The entries about `about`: a country by the countries its article is about, any
    other term by its title, source and lead; all of them when `about` is None."""
    if not about:
        return [entry for entry, _ in found]
    country = country_named(about)
    if country is not None:
        return [entry for entry, _ in found if country in entry.countries]
    term = about.casefold()
    return [entry for entry, text in found if term in text]
