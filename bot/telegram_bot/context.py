"""What every Telegram handler needs: the shared services, the user's language, the limit."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from telegram import InlineQueryResultsButton, Update
from telegram.ext import ContextTypes

from bot.settings import Settings
from bot.telegram_bot.filling import BackgroundFill
from bot.telegram_bot.followups import Conversations
from bot.telegram_bot.inbox import Inbox
from bot.telegram_bot.metrics import BotMetrics
from bot.telegram_bot.state import AdminState, FeedbackStore, Limiter, ResultStore
from bot.telegram_bot.stats import QuestionLog
from bot.telegram_bot.texts import t

if TYPE_CHECKING:
    from bot.telegram_bot.follows import FollowStore
    from embeddings.answers import Answer
    from embeddings.service import Conversation, Library


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
    limiter: Limiter
    feedback: FeedbackStore | None
    """None where votes cannot be stored (a read-only index folder)."""
    admin: AdminState
    inbox: Inbox | None = None
    """Where updates are kept until answered; None where the state file cannot be written."""
    searches: ThreadPoolExecutor = field(default_factory=lambda: search_pool())
    """Where questions are searched: as many threads as cores (`search_pool`)."""
    conversations: Conversations = field(default_factory=lambda: Conversations(600.0))
    """Each private chat's last answered question, for follow-ups."""
    follows: FollowStore | None = None
    """Standing queries for alerts (`alerts`); None where the state cannot be written."""
    questions: QuestionLog | None = None
    """Questions counted for /stats, beside the votes; None where votes are not stored."""
    metrics: BotMetrics = field(default_factory=BotMetrics)
    """Counts for `GET /metrics` (webhook mode)."""

    fill: BackgroundFill = field(init=False)
    """Fills in the multilingual vectors a large build left for later (`filling`)."""

    def __post_init__(self) -> None:
        library = self.library
        self.fill = BackgroundFill(library)

        def counts() -> tuple[int, int]:
            info = library.info()
            return info.articles, info.passages

        self.metrics.watch_index(counts)


def search_pool(workers: int | None = None) -> ThreadPoolExecutor:
    """The threads questions are searched on: one per core by default.

    Each search runs its encoders on one thread, so more searches at once than cores would
    only share the cores and make every one of them slower; the others wait their turn in
    the pool's queue instead, which keeps the latency of those being served low. asyncio's
    default pool (cores + 4 threads) also runs the file and database calls, which must not
    wait behind searches.
    """
    count = workers or len(os.sched_getaffinity(0))
    return ThreadPoolExecutor(max(1, count), thread_name_prefix="coopbot-search")


async def search(context: ContextTypes.DEFAULT_TYPE, question: str, k: int,
                 after: Conversation | None = None) -> Answer:
    """The library's answer to `question` (up to `k` results; a follow-up of `after`),
    searched on the search pool."""
    svc = services(context)
    return await asyncio.get_running_loop().run_in_executor(
        svc.searches, partial(svc.library.search, question, k, after=after))


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
    # In a thread: with replicas the window is a transaction in the shared database.
    wait = await asyncio.to_thread(services(context).limiter.check, user.id)
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
