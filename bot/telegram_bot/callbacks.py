"""Buttons. Unknown, stale or forged callback data gets "expired", never an exception."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.telegram_bot import render
from bot.telegram_bot.articles import articles_page, send_article, send_article_text
from bot.telegram_bot.context import (
    MAX_RESULTS,
    PER_PAGE,
    lang_of,
    limited,
    number,
    search,
    services,
)
from bot.telegram_bot.examples import example_questions
from bot.telegram_bot.questions import (
    answer_keyboard,
    answer_question,
    feedback_row,
    reason_row,
    with_row_replaced,
)
from bot.telegram_bot.state import FeedbackStore
from bot.telegram_bot.state_db import state_errors
from bot.telegram_bot.texts import t
from bot.telegram_bot.timeline import timeline_page
from embeddings.service import country_named

log = logging.getLogger(__name__)


async def acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press (its toast), where Telegram still takes the answer.

    A press answered once already (by a replica that died before it marked the press done,
    or by this process before a restart) is refused as "query is too old"; what the button
    does (send the article, store the vote) must go on regardless, so that is not an error.
    """
    try:
        await query.answer(text)
    except BadRequest as exc:
        if "query is too old" not in str(exc).lower():
            raise
        log.info("button press %s was answered before: %s", query.id, exc)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """All buttons. Unknown, stale or forged data gets 'expired', never an exception."""
    query = update.callback_query
    if query is None or await limited(update, context):
        return
    lang = lang_of(update)
    kind, _, rest = (query.data or "").partition(":")
    handler = _CALLBACKS.get(kind)
    if handler is None or not await handler(update, context, rest, lang):
        await acknowledge(query, t("expired", lang))


async def _more(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, page_text = rest.partition(":")
    results = services(context).results
    stored = results.get(key)
    page = number(page_text)
    if stored is None or page is None or update.callback_query is None:
        return False
    answer = stored.answer
    if answer is None:  # answered before a restart: the same question, searched again
        answer = await search(context, stored.query, MAX_RESULTS)
        results.refresh(key, replace(stored, answer=answer))
    if page >= render.answer_pages(answer, PER_PAGE):
        return False
    await acknowledge(update.callback_query)
    await update.callback_query.edit_message_text(
        render.render_answer(answer, stored.lang, page=page, per_page=PER_PAGE),
        parse_mode=ParseMode.HTML, disable_web_page_preview=True,
        reply_markup=answer_keyboard(key, answer, page, stored.lang))
    return True


async def _full(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, rank_text = rest.partition(":")
    stored = services(context).results.get(key)
    query = update.callback_query
    rank = number(rank_text)
    if stored is None or rank is None or query is None or query.message is None:
        return False
    match = [r for r in stored.shown if r.rank == rank]
    # Read once: whether the article is still indexed decides the button's answer, and its
    # text is what is sent.
    article = (await asyncio.to_thread(services(context).library.article, match[0].article_id)
               if match else None)
    if article is None:
        return False
    await acknowledge(query)
    await send_article_text(query.message, article, lang)  # type: ignore[arg-type]
    return True


async def _vote(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, vote = rest.partition(":")
    stored = services(context).results.get(key)
    if stored is None or vote not in ("1", "-1") or update.callback_query is None:
        return False
    query, feedback, user = update.callback_query, services(context).feedback, update.effective_user
    thanks, stored_ok = t("feedback_thanks", lang), False
    if feedback is not None:
        voter = feedback.voter(key, user.id) if user is not None else None
        try:
            await asyncio.to_thread(feedback.record, stored, int(vote), voter)
            stored_ok = voter is not None
        except state_errors() as exc:  # a full disk, say: the button still answers
            log.warning("vote not stored: %s", exc)
            thanks = t("feedback_not_stored", lang)
    asking = None
    if vote == "-1" and stored_ok and isinstance(query.message, Message):
        # Why, asked in place of 👍/👎 (one tap more, no new message to scroll past).
        asking = with_row_replaced(query.message.reply_markup, "fb:", reason_row(key, lang))
    await acknowledge(query, t("feedback_why", lang) if asking else thanks)
    if asking is not None:
        await query.edit_message_reply_markup(asking)
    return True


async def _reason(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str,
                  lang: str) -> bool:
    """A reason for a 👎 (`fr:key:n`): stored on that vote, and 👍/👎 shown again."""
    key, _, index_text = rest.partition(":")
    query, feedback, user = update.callback_query, services(context).feedback, update.effective_user
    index = number(index_text)
    if (query is None or user is None or feedback is None or index is None
            or index >= len(FeedbackStore.REASONS)):
        return False
    thanks = t("feedback_thanks", lang)
    try:
        if not await asyncio.to_thread(feedback.give_reason, feedback.voter(key, user.id),
                                       FeedbackStore.REASONS[index]):
            return False  # no 👎 of this user on that answer: a forged or stale button
    except state_errors() as exc:
        log.warning("reason not stored: %s", exc)
        thanks = t("feedback_not_stored", lang)
    await acknowledge(query, thanks)
    if isinstance(query.message, Message):
        markup = with_row_replaced(query.message.reply_markup, "fr:", feedback_row(key, lang))
        if markup is not None:
            await query.edit_message_reply_markup(markup)
    return True


async def _filter(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str,
                  lang: str) -> bool:
    """"Only Laos" / "Only 2023" (`fl:key:c:Country`, `fl:key:y:year`): the stored question
    asked again of those articles, answered in a new message."""
    key, kind, value = (rest.split(":", 2) + ["", ""])[:3]
    stored = services(context).results.get(key)
    if stored is None or update.callback_query is None:
        return False
    year = number(value) if kind == "y" else None
    if kind == "c" and country_named(value):
        token = f"country:{value}"
    elif year is not None and 1 <= year <= 9999:
        token = f"since:{year} until:{year}"
    else:
        return False
    await acknowledge(update.callback_query)
    await answer_question(update, context, f"{stored.query} {token}")
    return True


async def _timeline_page(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str,
                         lang: str) -> bool:
    """A timeline's paging button (`tl:build:page:about`)."""
    build, page_text, about = (rest.split(":", 2) + ["", ""])[:3]
    library = services(context).library
    page = number(page_text)
    if build != library.build_id or page is None or update.callback_query is None:
        return False
    text, markup = timeline_page(library, about or None, page, lang)
    await acknowledge(update.callback_query)
    await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup,
                                                  disable_web_page_preview=True)
    return True


async def _article_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    tag, _, text = rest.partition(":")
    library = services(context).library
    query = update.callback_query
    position = number(text)
    if tag != library.build_id or position is None or query is None or not query.message:
        return False
    await acknowledge(query)
    await send_article(query.message, library, position, lang)  # type: ignore[arg-type]
    return True


async def _list_page(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    tag, _, page_text = rest.partition(":")
    library = services(context).library
    page = number(page_text)
    if tag != library.build_id or page is None or update.callback_query is None:
        return False
    text, markup = articles_page(library, page, lang)
    await acknowledge(update.callback_query)
    await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup)
    return True


async def _example(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    examples = example_questions(services(context).library, lang)
    index = number(rest)
    if index is None or index >= len(examples) or update.callback_query is None:
        return False
    await acknowledge(update.callback_query)
    await answer_question(update, context, examples[index])
    return True


_CALLBACKS = {"mr": _more, "fa": _full, "fb": _vote, "fr": _reason, "fl": _filter,
              "tl": _timeline_page, "ar": _article_button, "al": _list_page, "ex": _example}
