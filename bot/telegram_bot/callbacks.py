"""Buttons. Unknown, stale or forged callback data gets "expired", never an exception."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.telegram_bot import render as render
from bot.telegram_bot.articles import (
    articles_page,
    build_tag,
    send_article,
    send_article_by_id,
    sorted_articles,
)
from bot.telegram_bot.context import (
    PER_PAGE,
    lang_of,
    limited,
    services,
)
from bot.telegram_bot.questions import answer_keyboard, answer_question
from bot.telegram_bot.texts import t

log = logging.getLogger(__name__)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """All buttons. Unknown, stale or forged data gets 'expired', never an exception."""
    query = update.callback_query
    if query is None or await limited(update, context):
        return
    lang = lang_of(update)
    kind, _, rest = (query.data or "").partition(":")
    handler = _CALLBACKS.get(kind)
    if handler is None or not await handler(update, context, rest, lang):
        await query.answer(t("expired", lang))


async def _more(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, page_text = rest.partition(":")
    stored = services(context).results.get(key)
    if stored is None or not page_text.isdigit() or update.callback_query is None:
        return False
    page = int(page_text)
    if page >= render.answer_pages(stored.answer, PER_PAGE):
        return False
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        render.render_answer(stored.answer, stored.lang, page=page, per_page=PER_PAGE),
        parse_mode=ParseMode.HTML, disable_web_page_preview=True,
        reply_markup=answer_keyboard(key, stored.answer, page, stored.lang))
    return True


async def _full(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, rank_text = rest.partition(":")
    stored = services(context).results.get(key)
    query = update.callback_query
    if stored is None or not rank_text.isdigit() or query is None or query.message is None:
        return False
    match = [r for r in stored.answer.results if r.rank == int(rank_text)]
    retriever = services(context).holder.current
    if not match or match[0].article_id not in retriever.index.articles([match[0].article_id]):
        return False
    await query.answer()
    await send_article_by_id(query.message, retriever, match[0].article_id, lang)  # type: ignore[arg-type]
    return True


async def _vote(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, vote = rest.partition(":")
    stored = services(context).results.get(key)
    if stored is None or vote not in ("1", "-1") or update.callback_query is None:
        return False
    feedback = services(context).feedback
    if feedback is not None:
        await asyncio.to_thread(feedback.record, stored, int(vote))
    await update.callback_query.answer(t("feedback_thanks", lang))
    return True


async def _article_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    tag, _, number = rest.partition(":")
    retriever = services(context).holder.current
    query = update.callback_query
    if tag != build_tag(retriever) or not number.isdigit() or query is None or not query.message:
        return False
    await query.answer()
    await send_article(query.message, retriever, int(number), lang)  # type: ignore[arg-type]
    return True


async def _list_page(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    tag, _, page = rest.partition(":")
    retriever = services(context).holder.current
    if tag != build_tag(retriever) or not page.isdigit() or update.callback_query is None:
        return False
    text, markup = articles_page(retriever, int(page), lang)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup)
    return True


async def _example(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    articles = sorted_articles(services(context).holder.current)
    if not rest.isdigit() or int(rest) >= len(articles) or update.callback_query is None:
        return False
    await update.callback_query.answer()
    await answer_question(update, context, articles[int(rest)].title)
    return True


_CALLBACKS = {"mr": _more, "fa": _full, "fb": _vote, "ar": _article_button, "al": _list_page,
              "ex": _example}
