"""/articles, /article N and the full text of an article."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.telegram_bot import render as render
from bot.telegram_bot.context import (
    ARTICLES_PER_PAGE,
    lang_of,
    services,
)
from bot.telegram_bot.texts import t

if TYPE_CHECKING:
    from embeddings.search.retrieval import Retriever


log = logging.getLogger(__name__)


def sorted_articles(retriever: Retriever) -> list[Any]:
    """Indexed articles, newest first (undated last)."""
    articles = list(retriever.index.articles().values())
    return sorted(articles, key=lambda a: (a.date is None, -(a.date.toordinal() if a.date else 0),
                                           a.title))


def build_tag(retriever: Retriever) -> str:
    """A short id of the build, so buttons from before a reindex are recognised as stale."""
    return retriever.index.path.name[-6:]


async def articles_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/articles: the index's articles, newest first, paginated."""
    page = int(context.args[0]) - 1 if context.args and context.args[0].isdigit() else 0
    text, markup = articles_page(services(context).holder.current, max(0, page), lang_of(update))
    if update.effective_message:
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup)


def articles_page(retriever: Retriever, page: int, lang: str) -> tuple[str, Any]:
    articles = sorted_articles(retriever)
    pages = max(1, -(-len(articles) // ARTICLES_PER_PAGE))
    page = min(page, pages - 1)
    first = page * ARTICLES_PER_PAGE
    items = [(first + i + 1, a.title, a.date)
             for i, a in enumerate(articles[first : first + ARTICLES_PER_PAGE])]
    tag = build_tag(retriever)
    rows = [[InlineKeyboardButton(f"{n}. {title[:50]}", callback_data=f"ar:{tag}:{n}")]
            for n, title, _ in items]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(t("prev", lang), callback_data=f"al:{tag}:{page - 1}"))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(t("next", lang), callback_data=f"al:{tag}:{page + 1}"))
    if nav:
        rows.append(nav)
    return render.render_article_list(items, page + 1, pages, lang), InlineKeyboardMarkup(rows)


async def article_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/article N: the full text of article N of /articles."""
    lang = lang_of(update)
    message = update.effective_message
    if message is None:
        return
    if not context.args or not context.args[0].isdigit():
        await message.reply_text(t("article_usage", lang))
        return
    await send_article(message, services(context).holder.current, int(context.args[0]), lang)


async def send_article(message: Message, retriever: Retriever, number: int, lang: str) -> None:
    articles = sorted_articles(retriever)
    if not 1 <= number <= len(articles):
        await message.reply_text(t("article_not_found", lang, number=number))
        return
    await send_article_by_id(message, retriever, articles[number - 1].id, lang)


async def send_article_by_id(
    message: Message, retriever: Retriever, article_id: str, lang: str
) -> None:
    article = retriever.index.articles([article_id])[article_id]
    rows = await asyncio.to_thread(retriever.index.unit_rows, article_id, 0, 1_000_000)
    paragraphs: list[list[str]] = []
    for _, paragraph, text in rows:
        while len(paragraphs) <= paragraph:
            paragraphs.append([])
        paragraphs[paragraph].append(text)
    body = [" ".join(p) for p in paragraphs if p]
    for part in render.render_article(article, body, lang):
        await message.reply_text(part, parse_mode=ParseMode.HTML, disable_web_page_preview=True)
