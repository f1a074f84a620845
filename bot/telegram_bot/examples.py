"""Example questions for /start, in the user's language, made from what the index holds.

Each is a question the bot can answer: what happened in the month of the newest article (a
period question, answered with that month's articles), and what the two newest articles
report. They are computed again when a button is pressed, so a button is its position in
this list and nothing needs storing; a rebuild in between shows the new list's question.
"""

from __future__ import annotations

import calendar
from typing import TYPE_CHECKING

from bot.telegram_bot.html import shorten
from bot.telegram_bot.texts import language, t

if TYPE_CHECKING:
    from embeddings.service import Library

TITLE_CHARS = 90


def example_questions(library: Library, lang: str) -> list[str]:
    """Up to three questions: the newest article's month, then the two newest articles."""
    newest = library.articles(0, 2)
    questions = []
    dated = next((a.date for a in newest if a.date is not None), None)
    if dated is not None:
        month = (f"{dated.month}/{dated.year}" if language(lang) == "vi"
                 else f"{calendar.month_name[dated.month]} {dated.year}")
        questions.append(t("example_period", lang, month=month))
    questions += [t("example_article", lang, title=shorten(a.title, TITLE_CHARS).rstrip(".…"))
                  for a in newest if a.title.strip()]
    return questions
