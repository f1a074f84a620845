"""The answer a question gets: frozen results, and their JSON contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Result:
    """One cited excerpt.

    ``highlight`` is a sentence copied verbatim from ``excerpt``: the one that best answers.
    """

    rank: int
    article_id: str
    title: str
    date: date | None
    source: str | None
    excerpt: str
    highlight: str
    score: float
    chunk_id: str
    place: str | None = None
    url: str | None = None
    similarity: float | None = None
    """Cosine of the best passage in the question's dense space, when dense search ran."""
    byline: str | None = None
    """The article's author, when known."""
    relevant: bool = True
    """False for a result shown only as a related article's title, never as an answer: its
    confidence is far below the first result's, or the question is not answered at all."""
    confidence: float | None = None
    """The probability (0..1) that this result answers the question, when it was assessed."""
    countries: tuple[str, ...] = ()
    """The countries its article is about, most mentioned first."""

    def to_dict(self) -> dict[str, Any]:
        """The contract of ``coopbot ask --json`` (extra fields are allowed after these)."""
        return {
            "rank": self.rank,
            "article_id": self.article_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "excerpt": self.excerpt,
            "highlight": self.highlight,
            "score": round(float(self.score), 4),
            "chunk_id": self.chunk_id,
            "place": self.place,
            "url": self.url,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "byline": self.byline,
            "relevant": self.relevant,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "countries": list(self.countries),
        }


@dataclass(frozen=True)
class Filters:
    """Which articles a question is asked of: about one of `countries` (any), dated from
    `since` to `until` (both days included; an undated article is then left out), from a
    source whose name contains `source` (case-insensitive). Empty filters admit every
    article."""

    countries: frozenset[str] = frozenset()
    since: date | None = None
    until: date | None = None
    source: str | None = None

    def __bool__(self) -> bool:
        return bool(self.countries) or self.since is not None or self.until is not None \
            or bool(self.source)

    def admits(self, countries: tuple[str, ...], when: date | None, source: str | None
               ) -> bool:
        """Whether an article about `countries`, dated `when`, from `source` is asked of."""
        if self.countries and not self.countries.intersection(countries):
            return False
        if (self.since or self.until) and when is None:
            return False
        if self.since and when is not None and when < self.since:
            return False
        if self.until and when is not None and when > self.until:
            return False
        return not self.source or self.source.casefold() in (source or "").casefold()

    def merged(self, other: Filters | None) -> Filters:
        """Both filters at once (`other`'s dates and source win where both set one)."""
        if not other:
            return self
        return Filters(self.countries | other.countries, other.since or self.since,
                       other.until or self.until, other.source or self.source)

    def to_dict(self) -> dict[str, Any]:
        """As ``coopbot ask --json`` prints them."""
        return {"countries": sorted(self.countries),
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "source": self.source}


@dataclass(frozen=True)
class Answer:
    """The results for a question; ``answered`` is False when nothing relevant was found.

    Results may still be present when ``answered`` is False: they are the closest passages,
    which front ends must not present as answers. Each article is cited once (a second
    passage of it joins its excerpt): that is checked here, so front ends show the results as
    they are.

    Raises:
        ValueError: two results cite the same article.
    """

    query: str
    answered: bool
    results: tuple[Result, ...]
    language: str = "en"
    corrections: tuple[tuple[str, str], ...] = ()
    """(typed, searched) pairs where a word unknown to the corpus was corrected."""
    confidence: float | None = None
    """The calibrated probability (0..1) that the question is answerable from the indexed
    articles, judged on its first result (`search/confidence.py`), when assessed."""
    missing: tuple[str, ...] = ()
    """The question's key names or terms that no indexed article mentions: why it is not
    answered, when that is the reason."""
    asks: str = "passage"
    """What the question asks for (`embeddings.search.intent`): ``passage``; one fact of the
    cited articles, ``byline``, ``date``, ``source`` or ``place``, which front ends state
    first from each answer's fields; or ``period``, the articles dated in `period`, newest
    first."""
    period: tuple[date, date] | None = None
    """The first and last day of the period a ``period`` question asks about."""
    about: str | None = None
    """For a follow-up question, what it was taken to be about: the title of the article
    that answered the question it follows (`embeddings.search.followup`)."""
    filters: Filters | None = None
    """The filters the question was asked with, if any: only their articles were searched."""

    @property
    def answers(self) -> tuple[Result, ...]:
        """The results to present as answers: none when the question is not answered."""
        return tuple(r for r in self.results if r.relevant) if self.answered else ()

    @property
    def related(self) -> tuple[Result, ...]:
        """Results to show as related articles' titles only, never as answers."""
        return tuple(r for r in self.results if not r.relevant) if self.answered else ()

    def __post_init__(self) -> None:
        ids = [r.article_id for r in self.results]
        if len(set(ids)) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"an answer cites each article once; repeated: {repeated}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape other tools rely on."""
        return {
            "query": self.query,
            "answered": self.answered,
            "results": [r.to_dict() for r in self.results],
            "language": self.language,
            "corrections": [list(pair) for pair in self.corrections],
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "missing": list(self.missing),
            "asks": self.asks,
            "period": None if self.period is None else [d.isoformat() for d in self.period],
            "about": self.about,
            "filters": self.filters.to_dict() if self.filters else None,
        }
