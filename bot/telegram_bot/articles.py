"""/articles, /article N and the full text of an article."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.telegram_bot import render
from bot.telegram_bot.context import ARTICLES_PER_PAGE, lang_of, number, services
from bot.telegram_bot.texts import t

if TYPE_CHECKING:
    from embeddings.service import ArticleText, Library


log = logging.getLogger(__name__)


async def articles_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/articles: the index's articles, newest first, paginated."""
    page = (number(context.args[0]) or 1) - 1 if context.args else 0
    text, markup = articles_page(services(context).library, max(0, page), lang_of(update))
    if update.effective_message:
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup)


def articles_page(library: Library, page: int, lang: str) -> tuple[str, Any]:
    """One page of the article list with its buttons (an article each, then paging)."""
    pages = max(1, -(-library.article_count() // ARTICLES_PER_PAGE))
    page = min(page, pages - 1)
    first = page * ARTICLES_PER_PAGE
    items = [(first + i + 1, a.title, a.date)
             for i, a in enumerate(library.articles(first, ARTICLES_PER_PAGE))]
    tag = library.build_id
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
    wanted = number(context.args[0]) if context.args else None
    if wanted is None:
        await message.reply_text(t("article_usage", lang))
        return
    await send_article(message, services(context).library, wanted, lang)


async def send_article(message: Message, library: Library, number: int, lang: str) -> None:
    """Article `number` of the list (counted from 1), or say there is none."""
    found = library.articles(number - 1, 1) if number >= 1 else []
    if not found:
        await message.reply_text(t("article_not_found", lang, number=number))
        return
    await send_article_by_id(message, library, found[0].id, lang)


async def send_article_by_id(
    message: Message, library: Library, article_id: str, lang: str
) -> bool:
    """The article's full text over as many messages as it needs; False if it is gone."""
    article = await asyncio.to_thread(library.article, article_id)
    if article is None:
        return False
    await send_article_text(message, article, lang)
    return True


async def send_article_text(message: Message, article: ArticleText, lang: str) -> None:
    """An article already read: its full text over as many messages as it needs."""
    for part in render.render_article(article.record, article.paragraphs, lang):
        await message.reply_text(part, parse_mode=ParseMode.HTML, disable_web_page_preview=True)
