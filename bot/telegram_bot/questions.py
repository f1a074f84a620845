"""Questions: private text, group mentions and replies, /ask, inline queries."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.ext import ContextTypes

from bot.telegram_bot import render
from bot.telegram_bot.context import (
    MAX_RESULTS,
    PER_PAGE,
    lang_of,
    limited,
    search,
    services,
)
from bot.telegram_bot.followups import follows
from bot.telegram_bot.state import FeedbackStore
from bot.telegram_bot.state_db import state_errors
from bot.telegram_bot.texts import t
from bot.telegram_bot.typing_status import typing_while
from embeddings.service import FilterError

if TYPE_CHECKING:
    from embeddings.answers import Answer

log = logging.getLogger(__name__)


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Search, render the first page and reply with the result buttons."""
    message = update.effective_message
    if message is None:
        return
    lang = lang_of(update)
    question = question.strip()
    if not question:
        await message.reply_text(t("empty_question", lang))
        return
    limit = services(context).settings.max_question_chars
    if len(question) > limit:
        await message.reply_text(t("too_long", lang, limit=limit))
        return
    if await limited(update, context):
        return
    svc = services(context)
    library = svc.library
    after = follows(update, question, context.bot.id, svc.results, svc.conversations)
    started = time.perf_counter()
    try:
        answer = await typing_while(search(context, question, MAX_RESULTS, after),
                                    lambda: message.chat.send_action(ChatAction.TYPING))
    except FilterError as exc:  # "country:Atlantis": say what can be written instead
        await message.reply_text(t(f"filter_bad_{exc.kind}", lang, value=exc.value))
        return
    seconds = time.perf_counter() - started
    _log_question(update, answer, seconds)
    svc.metrics.observe(answer.language, answer.answered, seconds)
    if message.chat.type == "private":
        svc.conversations.remember(message.chat_id, answer, after)
    key = services(context).results.put(answer, lang, message.chat_id)
    await message.reply_text(
        render.render_answer(answer, lang, page=0, per_page=PER_PAGE,
                             articles=library.article_count()),
        parse_mode=ParseMode.HTML, reply_markup=answer_keyboard(key, answer, 0, lang),
        disable_web_page_preview=True,
    )
    if svc.questions is not None:  # after the reply: the user need not wait for the count
        try:
            await asyncio.to_thread(svc.questions.record, answer.language, answer.answered,
                                    seconds, question)
        except state_errors() as exc:
            log.warning("question not counted for /stats: %s", exc)


def _log_question(update: Update, answer: Answer, seconds: float) -> None:
    """One line per question: what an operator needs, never the text or who asked (those
    only with -v, at DEBUG)."""
    log.info("question: language=%s answered=%s answers=%d ms=%.0f", answer.language,
             answer.answered, len(answer.answers), seconds * 1000)
    if log.isEnabledFor(logging.DEBUG):
        user = update.effective_user
        log.debug("question from user %s: %r", user.id if user else None, answer.query)


def answer_keyboard(key: str, answer: Any, page: int, lang: str) -> InlineKeyboardMarkup | None:
    """More results, Full article per cited article, and feedback."""
    if not answer.answers:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    first = page * PER_PAGE
    shown = answer.answers[first : first + PER_PAGE]
    # One row, labelled as the message numbers its excerpts; the data names the result by
    # its rank.
    rows.append([InlineKeyboardButton(
        t("full_article", lang) if len(shown) == 1 else t("article_n", lang, n=first + i + 1),
        callback_data=f"fa:{key}:{r.rank}") for i, r in enumerate(shown)])
    paging = []
    if page > 0:
        paging.append(InlineKeyboardButton(t("prev", lang), callback_data=f"mr:{key}:{page - 1}"))
    if page + 1 < render.answer_pages(answer, PER_PAGE):
        paging.append(InlineKeyboardButton(t("more_results", lang),
                                           callback_data=f"mr:{key}:{page + 1}"))
    if paging:
        rows.append(paging)
    narrowing = filter_row(key, answer, lang)
    if narrowing:
        rows.append(narrowing)
    rows.append(feedback_row(key, lang))
    return InlineKeyboardMarkup(rows)


def filter_row(key: str, answer: Any, lang: str) -> list[InlineKeyboardButton]:
    """"Only Laos", "Only 2023": the same question asked of fewer articles, from the first
    answer's countries and year. A country every result is about would narrow nothing, and
    a filter the question already has is not offered again (`fl:key:c:Country`,
    `fl:key:y:year`)."""
    from embeddings.service import country_label

    first, have = answer.answers[0], answer.filters
    everywhere = set.intersection(*(set(r.countries) for r in answer.results)) \
        if len(answer.results) > 1 else set()
    buttons = [InlineKeyboardButton(t("only_country", lang, country=country_label(c, lang)),
                                    callback_data=f"fl:{key}:c:{c.replace(' ', '_')}")
               for c in first.countries
               if c not in everywhere and not (have and c in have.countries)][:2]
    if first.date is not None and not (have and (have.since or have.until)):
        buttons.append(InlineKeyboardButton(t("only_year", lang, year=first.date.year),
                                            callback_data=f"fl:{key}:y:{first.date.year}"))
    return buttons


def feedback_row(key: str, lang: str) -> list[InlineKeyboardButton]:
    """👍 and 👎 under an answer."""
    return [InlineKeyboardButton(t("feedback_up", lang), callback_data=f"fb:{key}:1"),
            InlineKeyboardButton(t("feedback_down", lang), callback_data=f"fb:{key}:-1")]


def reason_row(key: str, lang: str) -> list[InlineKeyboardButton]:
    """Why a 👎, in place of the 👍/👎 row until one is chosen (the data: `fr:key:n`, n the
    reason's place in `FeedbackStore.REASONS`)."""
    return [InlineKeyboardButton(t(f"reason_{reason}", lang), callback_data=f"fr:{key}:{i}")
            for i, reason in enumerate(FeedbackStore.REASONS)]


def with_row_replaced(markup: InlineKeyboardMarkup | None, prefix: str,
                      row: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    """The keyboard with the row whose buttons' data start with `prefix` replaced by `row`;
    None when it has no such row."""
    if markup is None:
        return None
    rows = [list(r) for r in markup.inline_keyboard]
    for i, old in enumerate(rows):
        if old and all(str(b.callback_data or "").startswith(prefix) for b in old):
            rows[i] = row
            return InlineKeyboardMarkup(rows)
    return None


GREETINGS = frozenset({
    "hi", "hello", "hey", "hallo", "good morning", "good afternoon", "good evening", "thanks",
    "thank you", "ok", "okay", "start", "xin chào", "chào", "chào bạn", "chào bot", "alo",
    "cảm ơn", "cám ơn", "cảm ơn nhiều", "cám ơn nhiều", "thanks a lot", "many thanks",
    "xin chao", "chao", "cam on",
})
"""Whole messages that greet or thank rather than ask (en and vi, with and without
diacritics): answered with a greeting, not with "no passage answers this"."""


def is_greeting(text: str) -> bool:
    """True when the whole message is a greeting or thanks, punctuation and emoji aside."""
    words = re.sub(r"[^\w\s]", " ", text.casefold()).split()
    return 0 < len(words) <= 3 and " ".join(words) in GREETINGS


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question, or a greeting."""
    message = update.effective_message
    if message is None or not message.text:
        return
    if is_greeting(message.text):
        count = services(context).library.article_count()
        await message.reply_text(t("greeting", lang_of(update), articles=count))
        return
    await answer_question(update, context, message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, answer only a mention of the bot or a reply to one of its messages."""
    message = update.effective_message
    if message is None or not message.text:
        return
    # Found in the text as typed: lower-casing first would shift positions ("İ".lower() is
    # two characters) and cut the question in the wrong place.
    mention = re.search(rf"@{re.escape(context.bot.username or '')}\b", message.text,
                        re.IGNORECASE)
    replied = message.reply_to_message
    if context.bot.username and mention is not None:
        question = message.text[:mention.start()] + message.text[mention.end():]
        await answer_question(update, context, question)
    elif replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        await answer_question(update, context, message.text)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask question (also /ask@botname question in groups)."""
    question = " ".join(context.args or [])
    if not question and update.effective_message:
        await update.effective_message.reply_text(t("ask_usage", lang_of(update)))
        return
    await answer_question(update, context, question)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@botname question: up to 10 cited excerpts as inline article results."""
    query = update.inline_query
    if query is None or not query.query.strip() or await limited(update, context):
        return
    lang = lang_of(update)
    question = query.query.strip()[: services(context).settings.max_question_chars]
    answer = await search(context, question, 10)
    results = [
        InlineQueryResultArticle(
            id=str(r.rank), title=render.inline_title(r),
            description=render.fact(r, answer.asks, lang) or render.inline_description(r),
            input_message_content=InputTextMessageContent(
                render.render_inline_result_text(r, lang, answer.asks), parse_mode=ParseMode.HTML,
            ),
        )
        for r in answer.answers
    ]
    if not results:  # said above the empty list; pressing it opens a chat with the bot
        await query.answer([], cache_time=0, is_personal=True, button=InlineQueryResultsButton(
            text=t("inline_no_results", lang), start_parameter="no_answer"))
        return
    await query.answer(results, cache_time=0, is_personal=True)
