"""The articles of a period, newest first: the answer to "What happened in December 2023?".

A question that names a period and nothing else has no passage to rank: every article of the
period answers it as well as any other. Each is shown with its lead (the first sentences, the
news summary), the first sentence as the one that answers. When no article is dated in the
period, there is no list to give: the question is searched as any other (an undated corpus,
such as an encyclopedia, answers "What happened in 1066?" from its text).
"""

from __future__ import annotations

from datetime import date

from embeddings.answers import Answer, Filters, Result
from embeddings.chunking.chunker import Unit, join_units
from embeddings.index.records import ArticleRecord
from embeddings.index.storage import ReadableIndex
from embeddings.search.dates import DateRange
from embeddings.search.filters import admitted

LEAD_SENTENCES = 2


def period_answer(
    index: ReadableIndex, query: str, language: str, period: DateRange, k: int,
    filters: Filters | None = None,
) -> Answer | None:
    """Up to `k` articles dated in `period`, newest first, each cited with its lead.

    Args:
        index: The index to list.
        query: The question as asked (cleaned).
        language: The question's language.
        period: The period the question names.
        k: How many articles to show.
        filters: Only the articles these admit, if given.

    Returns:
        An answered Answer (``asks="period"``, every score 1.0), or None when no article is
        dated in the period.
    """
    inside = [a for a in index.articles().values()
              if a.date is not None and period.contains(a.date)
              and (not filters or admitted(filters, a))]
    return _listed(index, query, language, inside, k, (period.start, period.end))


def filtered_answer(index: ReadableIndex, query: str, language: str, filters: Filters,
                    k: int) -> Answer:
    """A question that is only filters ("country:Laos"): the dated articles they admit,
    newest first, as a period answer over their dates; unanswered when there is none."""
    inside = [a for a in index.articles().values()
              if a.date is not None and admitted(filters, a)]
    dates = [a.date for a in inside if a.date is not None]
    listed = _listed(index, query, language, inside, k, (min(dates), max(dates))) \
        if dates else None
    return listed or Answer(query, False, (), language=language)


def _listed(index: ReadableIndex, query: str, language: str, inside: list[ArticleRecord],
            k: int, period: tuple[date, date]) -> Answer | None:
    if not inside or k <= 0:
        return None
    shown = sorted(inside, key=lambda a: (a.date or date.min, a.id), reverse=True)[:k]
    leads = index.article_units({a.id: (0, LEAD_SENTENCES) for a in shown})
    results = tuple(_cited(rank, article, [Unit(u.paragraph, u.text)
                                           for u in leads.get(article.id, [])])
                    for rank, article in enumerate(shown, 1))
    return Answer(query, True, results, language=language, asks="period", period=period)


def _cited(rank: int, article: ArticleRecord, lead: list[Unit]) -> Result:
    """One listed article: its lead as the excerpt, the first sentence as the answer."""
    excerpt = join_units(lead) if lead else article.title
    return Result(
        rank=rank, article_id=article.id, title=article.title, date=article.date,
        source=article.source, excerpt=excerpt, highlight=lead[0].text if lead else excerpt,
        score=1.0, chunk_id=f"{article.id}#0", place=article.place, url=article.url,
        byline=article.byline, countries=article.countries)
