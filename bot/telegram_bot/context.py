"""What every Telegram handler needs: the shared services, the user's language, the limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import InlineQueryResultsButton, Update
from telegram.ext import ContextTypes

from bot.settings import Settings
from bot.telegram_bot.inbox import Inbox
from bot.telegram_bot.state import AdminState, FeedbackStore, RateLimiter, ResultStore
from bot.telegram_bot.texts import t

if TYPE_CHECKING:
    from embeddings.service import Library


MAX_RESULTS = 9  # three pages of three: "More results" pages through one stored answer
PER_PAGE = 3
ARTICLES_PER_PAGE = 8


@dataclass
class BotServices:
    """Everything the handlers share."""

    settings: Settings
    library: Library
    """The core: questions, articles, rebuilds and additions."""
    results: ResultStore
    limiter: RateLimiter
    feedback: FeedbackStore | None
    """None where votes cannot be stored (a read-only index folder)."""
    admin: AdminState
    inbox: Inbox | None = None
    """Where updates are kept until answered; None where the state file cannot be written."""


def number(text: str | None) -> int | None:
    """The whole number ``text`` spells in ASCII digits, or None.

    ``str.isdigit`` also accepts "²" or "٣", which ``int`` then rejects or reads: a forged
    button or a typed "/article ²" must get "expired" or the usage text, never a traceback.
    """
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return int(text)


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    """The shared services of this application."""
    found: BotServices = context.bot_data["services"]
    return found


def lang_of(update: Update) -> str:
    """'vi' for users whose Telegram language is Vietnamese, else 'en'."""
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return "vi" if code.lower().startswith("vi") else "en"


async def limited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True (and a polite reply) when the user is over the rate limit."""
    user = update.effective_user
    if user is None:
        return False
    wait = services(context).limiter.check(user.id)
    if not wait:
        return False
    text = t("rate_limited", lang_of(update), seconds=max(1, round(wait)))
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    elif update.inline_query is not None:
        # No results, and the reason above the (empty) list; pressing it opens the bot.
        await update.inline_query.answer(
            [], cache_time=0, is_personal=True,
            button=InlineQueryResultsButton(text=text, start_parameter="wait"))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return True
