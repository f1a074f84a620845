"""Telegram messages from core results: cited excerpts, answers, articles and the rest.

Pure functions from results to Telegram HTML strings (primitives in `bot.telegram_bot.html`).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date
from itertools import accumulate
from typing import TYPE_CHECKING, Protocol

from bot.telegram_bot.html import (
    MAX_MESSAGE,
    SENTENCE_END,
    clean,
    escape,
    fit,
    safe_url,
    shorten,
    split_message,
    utf16_len,
)
from bot.telegram_bot.texts import language, t

if TYPE_CHECKING:
    from bot.telegram_bot.stats import Stats
    from embeddings.answers import Answer, Filters, Result

EXCERPT_BUDGET = 1200
MIN_EXCERPT_BUDGET = 80
INLINE_TITLE = 256
INLINE_DESCRIPTION = 200
QUESTION_CHARS = 300
ANSWER_CHARS = 500  # the answering sentence as the first line: a long one is cut there
TITLE_CHARS = 200
_ESCAPED_COST = {"&": 5, "<": 4, ">": 4}


class ArticleLike(Protocol):
    """What ``render_article`` reads (``embeddings.service.ArticleRecord`` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def date(self) -> date | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def place(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...


# --- excerpts ----------------------------------------------------------------------------


def _cost(ch: str) -> int:
    return _ESCAPED_COST.get(ch) or utf16_len(ch)


def _sentence_start(text: str, p: int) -> bool:
    before = text[p - 1]
    return not text[p].isspace() and (
        before == "\n" or (before.isspace() and p >= 2 and text[p - 2] in SENTENCE_END)
    )


def _word_start(text: str, p: int) -> bool:
    return not text[p].isspace() and text[p - 1].isspace()


def _sentence_end(text: str, q: int) -> bool:
    return text[q - 1] in SENTENCE_END and text[q].isspace()


def _word_end(text: str, q: int) -> bool:
    return not text[q - 1].isspace() and text[q].isspace()


def _snap_start(text: str, lo: int, hs: int) -> int:
    """The earliest sentence start in [lo, hs], else word start, else ``lo``."""
    if lo == 0:
        return 0
    for starts in (_sentence_start, _word_start):
        found = next((p for p in range(lo, min(hs + 1, len(text))) if starts(text, p)), None)
        if found is not None:
            return found
    return lo


def _snap_end(text: str, lo: int, hi: int) -> int:
    """The latest sentence end in (lo, hi], else word end, else ``hi``."""
    if hi >= len(text):
        return len(text)
    for ends in (_sentence_end, _word_end):
        found = next((q for q in range(hi, lo, -1) if ends(text, q)), None)
        if found is not None:
            return found
    return hi


def _window(text: str, hs: int, he: int, budget: int) -> tuple[int, int, int]:
    """Start, end and highlight end of the stretch of ``text`` shown within ``budget``.

    Costs are escaped UTF-16 units, so that the HTML, not the plain text, fits. Context is
    kept mostly after the highlight, which usually continues the answer.
    """
    acc = list(accumulate((_cost(ch) for ch in text), initial=0))
    if acc[-1] <= budget:
        return 0, len(text), he
    room = max(budget - 11, 10)  # leaves space for "… ", " …" and <b></b>
    if acc[he] - acc[hs] > room:  # the highlight alone is too long: show its beginning
        cut = _snap_end(text, hs, bisect_right(acc, acc[hs] + room) - 1)
        return hs, cut, cut
    spare = room - (acc[he] - acc[hs])
    start = _snap_start(text, bisect_left(acc, acc[hs] - spare // 3), hs)
    end = _snap_end(text, he, bisect_right(acc, acc[he] + spare - (acc[hs] - acc[start])) - 1)
    return start, end, he


def excerpt_html(excerpt: str, highlight: str, budget: int = EXCERPT_BUDGET) -> str:
    """The excerpt, trimmed around its highlight, with the highlight in bold.

    Pieces are escaped separately so the tags wrap exactly the escaped highlight; trimming
    works on plain text, so it never cuts inside a tag or an entity.
    """
    text, mark = clean(excerpt), clean(highlight).strip()
    found = text.find(mark) if mark else -1
    hs, he = (found, found + len(mark)) if found >= 0 else (0, 0)
    start, end, he = _window(text, hs, he, budget)
    # A cut next to a " … " separator would show two ellipses: drop the separator instead.
    while 0 < start < hs and text[start] in " …":
        start += 1
    while he < end < len(text) and text[end - 1] in " …":
        end -= 1
    lead = "… " if start > 0 else ""
    trail = " …" if end < len(text) else ""
    bold = f"<b>{escape(text[hs:he])}</b>" if he > hs else ""
    return lead + escape(text[start:hs]) + bold + escape(text[he:end]) + trail


# --- answers -----------------------------------------------------------------------------


def citation(result: Result, lang: str) -> str:
    """"— <i>Title</i> · 2023-12-09 · Source", the title linked to the article when known."""
    title = escape(shorten(result.title, TITLE_CHARS)) or escape(result.article_id) or "—"
    if url := safe_url(result.url):
        title = f'<a href="{url}">{title}</a>'
    parts = [f"<i>{title}</i>", day(result.date, lang)]
    if source := escape(shorten(result.source or "", TITLE_CHARS)):
        parts.append(source)
    if byline := escape(shorten(result.byline or "", TITLE_CHARS)):
        parts.append(t("byline", lang, name=byline))
    return "— " + " · ".join(parts)


def fact(result: Result, asks: str, lang: str) -> str:
    """What a metadata question asks of the cited article, from its record ("Written by Duy
    Tien."), or that the article does not say; "" for any other question."""
    values = {"byline": result.byline, "source": result.source, "place": result.place,
              "date": day(result.date, lang) if result.date else None}
    if asks not in values:
        return ""
    value = values[asks]
    if not value:
        return t(f"fact_no_{asks}", lang)
    return t(f"fact_{asks}", lang, value=escape(shorten(value, TITLE_CHARS)))


def render_result(
    result: Result, lang: str, *, budget: int = EXCERPT_BUDGET, number: int | None = None,
    asks: str = "passage",
) -> str:
    """One cited excerpt, the answer first, so that a phone's first screen holds it.

    "N. " (if numbered) and the answering sentence in bold, the citation line, then the excerpt
    around the sentence in an expandable quote (Telegram shows its first lines and opens the
    rest on a tap). Without a highlight found in the excerpt: the excerpt, then the citation.
    A metadata question (`asks`, see `Answer.asks`) gets the fact in bold first instead.
    """
    prefix = f"{number}. " if number is not None else ""
    sentence = clean(result.highlight).strip()
    if stated := fact(result, asks, lang):
        context = excerpt_html(result.excerpt, result.highlight, budget)
        return (f"{prefix}<b>{stated}</b>\n{citation(result, lang)}\n"
                f"<blockquote expandable>{context}</blockquote>")
    if not sentence or sentence not in clean(result.excerpt):
        return f"{prefix}{excerpt_html(result.excerpt, result.highlight, budget)}\n" + citation(
            result, lang)
    head = f"{prefix}<b>{escape(shorten(sentence, ANSWER_CHARS))}</b>\n{citation(result, lang)}"
    if " ".join(clean(result.excerpt).split()) == " ".join(sentence.split()):
        return head  # the excerpt is the sentence alone: nothing more to show
    context = excerpt_html(result.excerpt, result.highlight, budget)
    return f"{head}\n<blockquote expandable>{context}</blockquote>"


def answer_pages(answer: Answer, per_page: int = 3) -> int:
    """How many pages ``render_answer`` has for ``answer`` (0 when it is not answered)."""
    return math.ceil(len(answer.answers) / max(per_page, 1))


def title_list(results: Sequence[Result], lang: str, header: str) -> str:
    """Articles as titles only, under a header: what is shown for results that do not
    answer, so they never look like answers."""
    if not results:
        return ""
    lines = [f"<i>{t(header, lang)}</i>"]
    for r in results:
        day_text = day(r.date, lang)
        lines.append(f"• {escape(shorten(r.title, 150)) or escape(r.article_id)} — {day_text}")
    return "\n".join(lines)


def missing_note(answer: Answer, lang: str, articles: int | None) -> str:
    """"None of the 3 articles mentions X or Y.", when the question's key terms are in none."""
    if not answer.missing or articles is None:
        return ""
    terms = t("missing_or", lang).join(f"“{escape(shorten(m, 60))}”" for m in answer.missing[:3])
    return t("missing", lang, count=articles, terms=terms)


def day(when: date | None, lang: str) -> str:
    """A date as readers of `lang` write it: 25/08/2023 in Vietnamese, 2023-08-25 otherwise."""
    if when is None:
        return t("no_date", lang)
    return when.strftime("%d/%m/%Y") if language(lang) == "vi" else when.isoformat()


_VIETNAMESE_LETTERS = re.compile(
    "[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)


def language_note(results: Sequence[Result], lang: str) -> str:
    """Says that the excerpts are quoted in the other language, when they all are."""
    vietnamese = [bool(_VIETNAMESE_LETTERS.search(r.excerpt)) for r in results]
    if not results or any(vietnamese) != all(vietnamese):
        return ""
    other = not vietnamese[0] if language(lang) == "vi" else vietnamese[0]
    return f"<i>{t('other_language_excerpts', lang)}</i>" if other else ""


def _answer_head(answer: Answer, lang: str, show_query: bool) -> str:
    lines = []
    if show_query and (question := escape(shorten(answer.query, QUESTION_CHARS))):
        lines.append(f"❓ <i>{question}</i>")
    if answer.about:
        lines.append("↪️ " + t("about_previous", lang, title=escape(shorten(answer.about, 120))))
    if answer.filters:
        lines.append("🔎 " + filters_line(answer.filters, lang))
    if answer.corrections:
        pairs = ", ".join(
            t("correction_pair", lang, searched=escape(shorten(fixed, 60)),
              typed=escape(shorten(typed, 60)))
            for typed, fixed in answer.corrections[:10]
        )
        lines.append(t("searched_instead", lang, pairs=pairs))
    return "\n".join(lines)


def filters_line(filters: Filters, lang: str) -> str:
    """Which articles were searched ("Only articles about Laos, from 01/06/2023.")."""
    from embeddings.service import country_label

    parts = []
    if filters.countries:
        names = sorted(country_label(c, lang) for c in filters.countries)
        parts.append(t("filter_countries", lang, names=escape(f" {t('or', lang)} ".join(names))))
    if filters.since:
        parts.append(t("filter_since", lang, day=day(filters.since, lang)))
    if filters.until:
        parts.append(t("filter_until", lang, day=day(filters.until, lang)))
    if filters.source:
        parts.append(t("filter_source", lang, source=escape(shorten(filters.source, 60))))
    return t("filter_only", lang, parts=", ".join(parts))


def render_answer(
    answer: Answer,
    lang: str,
    *,
    page: int = 0,
    per_page: int = 3,
    budget: int = MAX_MESSAGE,
    show_query: bool = True,
    articles: int | None = None,
) -> str:
    """A page (0-based) of numbered cited excerpts, or the no-answer text.

    Only the results that answer are shown as excerpts; weaker ones follow on the last page as
    related articles' titles. An unanswered question gets the no-answer text, why (when its
    key terms are in none of the ``articles``), and the closest articles as titles only.
    Excerpts shrink until the message fits ``budget`` UTF-16 units.
    """
    head = _answer_head(answer, lang, show_query)
    entries = answer.answers
    if not entries:
        if answer.filters and not answer.results:
            return fit("\n\n".join(filter(None, (head, t("no_filtered_articles", lang)))),
                       budget)
        closest = title_list(answer.results[:per_page], lang, "closest_articles")
        note = missing_note(answer, lang, articles)
        return fit("\n\n".join(filter(None, (head, t("no_answer", lang), note, closest))),
                   budget)
    per_page = max(per_page, 1)
    page = min(max(page, 0), math.ceil(len(entries) / per_page) - 1)
    first = page * per_page
    shown = entries[first : first + per_page]
    last_page = first + per_page >= len(entries)
    related = title_list(answer.related[:per_page], lang, "related_articles") if last_page else ""
    foot = ""
    if len(entries) > per_page:
        foot = t("results_page", lang, first=first + 1, last=first + len(shown), total=len(entries))
    note = language_note(shown, lang)
    if answer.period is not None and answer.asks == "period":
        period = t("period_header", lang, first=day(answer.period[0], lang),
                   last=day(answer.period[1], lang))
        note = "\n".join(filter(None, (f"<b>{period}</b>", note)))
    each = min(EXCERPT_BUDGET, budget // len(shown))
    while True:
        blocks = [render_result(r, lang, budget=each, number=first + i + 1, asks=answer.asks)
                  for i, r in enumerate(shown)]
        text = "\n\n".join(filter(None, (head, note, *blocks, related, foot)))
        if utf16_len(text) <= budget or each <= MIN_EXCERPT_BUDGET:
            return fit(text, budget)
        each = max(MIN_EXCERPT_BUDGET, each * 3 // 4)


def render_inline_result_text(result: Result, lang: str, asks: str = "passage") -> str:
    """The message an inline result sends: one cited excerpt (`asks` as `Answer.asks`)."""
    return fit(render_result(result, lang, budget=3000, asks=asks), MAX_MESSAGE)


def inline_title(result: Result) -> str:
    """Plain-text title of an inline result (at most 256 UTF-16 units)."""
    return shorten(result.title, INLINE_TITLE) or shorten(result.article_id, INLINE_TITLE)


def inline_description(result: Result, limit: int = INLINE_DESCRIPTION) -> str:
    """Plain-text description of an inline result: its highlight, else its excerpt."""
    return shorten(result.highlight.strip() or result.excerpt, limit)


# --- articles and other messages ---------------------------------------------------------


def render_article(article: ArticleLike, paragraphs: Sequence[str], lang: str) -> list[str]:
    """A full article as messages: bold title, metadata line, link, then its paragraphs."""
    meta = [day(article.date, lang)]
    meta += [escape(shorten(v, TITLE_CHARS)) for v in (article.source, article.place) if v]
    if byline := shorten(getattr(article, "byline", None) or "", TITLE_CHARS):
        meta.append(t("byline", lang, name=escape(byline)))
    title = escape(shorten(article.title, 1000)) or escape(article.id)
    head = [f"<b>{title}</b>", " · ".join(m for m in meta if m)]
    if url := safe_url(article.url):
        head.append(f'<a href="{url}">{t("original_link", lang)}</a>')
    body = [escape(p).strip() for p in paragraphs]
    return split_message("\n\n".join(["\n".join(head), *filter(None, body)]))


def render_article_list(
    items: Sequence[tuple[int, str, date | None]], page: int, pages: int, lang: str
) -> str:
    """One page of the article list: "N. Title — date" lines and how to read one.

    Args:
        items: (number as /article takes it, title, date) per article on the page.
        page: the page shown, counted from 1 (unlike ``render_answer``'s, as displayed).
        pages: how many pages there are.
        lang: "vi" for Vietnamese, else English.
    """
    lines = [f"<b>{t('articles_header', lang, page=page, pages=max(pages, 1))}</b>"]
    for number, title, when in items:
        day_text = day(when, lang)
        lines.append(f"{number}. {escape(shorten(title, 150))} — {day_text}")
    return fit("\n".join(lines) + "\n\n" + t("article_usage", lang))


def render_about(
    lang: str, *, articles: int, chunks: int, model: str, multilingual: str | None,
    built_at: str, filled: float | None = None,
) -> str:
    """The /about message; ``multilingual`` is the Vietnamese model's name, if any, and
    ``filled`` the share of passages with its vectors while a fill is under way."""
    text = t(
        "about", lang, articles=articles, chunks=chunks, model=escape(model),
        multilingual=escape(multilingual) if multilingual else t("none", lang),
        built_at=escape(built_at),
    )
    if filled is not None:
        text += "\n" + fill_line(lang, filled)
    return fit(text)


def fill_line(lang: str, share: float) -> str:
    """"Vietnamese search: 64% of passages so far; …" while a fill is under way."""
    return t("fill_progress", lang, percent=f"{100 * share:.0f}")


def render_start(
    lang: str, *, articles: int, first: date | None, last: date | None, examples: Sequence[str]
) -> str:
    """The /start greeting: what the bot knows, how to ask, and example questions."""
    first_day = day(first, lang)
    last_day = day(last, lang)
    lines = [t("start", lang, articles=articles, first=first_day, last=last_day)]
    lines += [f"• <i>{escape(shorten(e, QUESTION_CHARS))}</i>" for e in examples if e.strip()]
    return fit("\n".join(lines))


def render_stats(stats: Stats, lang: str) -> str:
    """/stats: questions, answered share, latency, languages, votes, per day, and the
    questions most often left unanswered."""
    lines = [f"📊 <b>{t('stats_head', lang, days=stats.days)}</b>"]
    if not stats.asked:
        lines.append(t("stats_none", lang))
    else:
        share = f"{stats.answered_share:.0%}" if stats.answered_share is not None else "-"
        lines.append(t("stats_questions", lang, asked=stats.asked, share=share,
                       median=f"{stats.median_ms or 0:.0f}", p95=f"{stats.p95_ms or 0:.0f}"))
        lines.append(t("stats_languages", lang, languages=" · ".join(
            f"{name} {n}" for name, n in stats.languages.items())))
    if stats.votes:
        lines.append(t("stats_votes", lang, up=stats.votes.get("up", 0),
                       down=stats.votes.get("down", 0)))
        if stats.votes.get("down"):
            lines.append(t("stats_reasons", lang, **{k: v for k, v in stats.votes.items()
                                                     if k not in ("up", "down")}))
    if stats.per_day:
        lines += ["", f"<b>{t('stats_per_day', lang)}</b>"]
        lines += [f"{day(date.fromisoformat(d), lang)}: {asked} / {answered}"
                  for d, asked, answered in stats.per_day]
    if stats.unanswered:
        lines += ["", f"<b>{t('stats_unanswered', lang)}</b>"]
        lines += [f"{i}. “{escape(question)}” ×{n}"
                  for i, (question, n) in enumerate(stats.unanswered, 1)]
    return "\n".join(lines)
