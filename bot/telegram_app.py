"""The Telegram front end: thin handlers over the core, built on python-telegram-bot v22.

Each handler reads the update, calls the core off the event loop (asyncio.to_thread), renders
with bot.telegram_render and replies. Shared services live in bot_data behind `services()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import telegram_render as render
from bot.services import FeedbackStore, RateLimiter, ReindexState, ResultStore, RetrieverHolder
from bot.settings import Settings
from bot.texts import t
from embeddings.builder import BuildObserver

if TYPE_CHECKING:
    from embeddings.retrieval import Retriever

log = logging.getLogger(__name__)

MAX_RESULTS = 9  # three pages of three: "More results" pages through one stored answer
PER_PAGE = 3
ARTICLES_PER_PAGE = 8

Rebuilder = Callable[[BuildObserver], "Retriever"]
"""Builds the index (in a worker thread) and returns a retriever over the new build."""


@dataclass
class BotServices:
    """Everything the handlers share."""

    settings: Settings
    holder: RetrieverHolder
    results: ResultStore
    limiter: RateLimiter
    feedback: FeedbackStore
    reindex: ReindexState
    rebuild: Rebuilder


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    """The shared services of this application."""
    found: BotServices = context.bot_data["services"]
    return found


def lang_of(update: Update) -> str:
    """'vi' for users whose Telegram language is Vietnamese, else 'en'."""
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return "vi" if code.lower().startswith("vi") else "en"


async def _limited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
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
        await update.inline_query.answer([], cache_time=0)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return True


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
    if await _limited(update, context):
        return
    await message.chat.send_action(ChatAction.TYPING)
    retriever = services(context).holder.current
    answer = await asyncio.to_thread(retriever.search, question, MAX_RESULTS)
    key = services(context).results.put(answer, lang, message.chat_id)
    await message.reply_text(
        render.render_answer(answer, lang, page=0, per_page=PER_PAGE),
        parse_mode=ParseMode.HTML, reply_markup=_answer_keyboard(key, answer, 0, lang),
        disable_web_page_preview=True,
    )


def _answer_keyboard(key: str, answer: Any, page: int, lang: str) -> InlineKeyboardMarkup | None:
    """More results, Full article per cited article, and feedback."""
    if not answer.answered or not answer.results:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    shown = render.merge_results(answer.results)[page * PER_PAGE : (page + 1) * PER_PAGE]
    rows += [[InlineKeyboardButton(f"{t('full_article', lang)} {r.rank}",
                                   callback_data=f"fa:{key}:{r.rank}")] for r in shown]
    if page + 1 < render.answer_pages(answer, PER_PAGE):
        rows.append([InlineKeyboardButton(t("more_results", lang),
                                          callback_data=f"mr:{key}:{page + 1}")])
    rows.append([InlineKeyboardButton(t("feedback_up", lang), callback_data=f"fb:{key}:1"),
                 InlineKeyboardButton(t("feedback_down", lang), callback_data=f"fb:{key}:-1")])
    return InlineKeyboardMarkup(rows)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    if update.effective_message and update.effective_message.text:
        await answer_question(update, context, update.effective_message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, answer only a mention of the bot or a reply to one of its messages."""
    message = update.effective_message
    if message is None or not message.text:
        return
    mention = f"@{context.bot.username}"
    replied = message.reply_to_message
    if mention.lower() in message.text.lower():
        start = message.text.lower().index(mention.lower())
        question = message.text[:start] + message.text[start + len(mention):]
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


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot knows, with example questions as buttons."""
    lang = lang_of(update)
    articles = _sorted_articles(services(context).holder.current)
    dates = [a.date for a in articles if a.date]
    text = render.render_start(lang, articles=len(articles), first=min(dates, default=None),
                               last=max(dates, default=None),
                               examples=[a.title for a in articles[:3]])
    buttons = [[InlineKeyboardButton(a.title[:60], callback_data=f"ex:{i}")]
               for i, a in enumerate(articles[:3])]
    if update.effective_message:
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(buttons))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, and the commands."""
    if update.effective_message:
        await update.effective_message.reply_text(t("help", lang_of(update)),
                                                  parse_mode=ParseMode.HTML)


def _sorted_articles(retriever: Retriever) -> list[Any]:
    """Indexed articles, newest first (undated last)."""
    articles = list(retriever.index.articles().values())
    return sorted(articles, key=lambda a: (a.date is None, -(a.date.toordinal() if a.date else 0),
                                           a.title))


def _build_tag(retriever: Retriever) -> str:
    """A short id of the build, so buttons from before a reindex are recognised as stale."""
    return retriever.index.path.name[-6:]


async def articles_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/articles: the index's articles, newest first, paginated."""
    page = int(context.args[0]) - 1 if context.args and context.args[0].isdigit() else 0
    text, markup = _articles_page(services(context).holder.current, max(0, page), lang_of(update))
    if update.effective_message:
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup)


def _articles_page(retriever: Retriever, page: int, lang: str) -> tuple[str, Any]:
    articles = _sorted_articles(retriever)
    pages = max(1, -(-len(articles) // ARTICLES_PER_PAGE))
    page = min(page, pages - 1)
    first = page * ARTICLES_PER_PAGE
    items = [(first + i + 1, a.title, a.date)
             for i, a in enumerate(articles[first : first + ARTICLES_PER_PAGE])]
    tag = _build_tag(retriever)
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
    await _send_article(message, services(context).holder.current, int(context.args[0]), lang)


async def _send_article(message: Message, retriever: Retriever, number: int, lang: str) -> None:
    articles = _sorted_articles(retriever)
    if not 1 <= number <= len(articles):
        await message.reply_text(t("article_not_found", lang, number=number))
        return
    await _send_article_by_id(message, retriever, articles[number - 1].id, lang)


async def _send_article_by_id(
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


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/about: articles, passages, models and build time of the index."""
    manifest = services(context).holder.current.index.manifest
    if update.effective_message:
        await update.effective_message.reply_text(render.render_about(
            lang_of(update), articles=manifest.article_count, chunks=manifest.chunk_count,
            model=manifest.model, multilingual=manifest.multilingual_model or "-",
            built_at=manifest.built_at,
        ), parse_mode=ParseMode.HTML)


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild in a worker thread, edit one progress message, swap."""
    message, user, lang = update.effective_message, update.effective_user, lang_of(update)
    if message is None or user is None:
        return
    svc = services(context)
    if user.id not in svc.settings.admin_ids:
        log.warning("/reindex refused for user id %s", user.id)
        await message.reply_text(t("reindex_not_allowed", lang))
        return
    if not svc.reindex.lock.acquire(blocking=False):
        await message.reply_text(t("reindex_busy", lang))
        return
    try:
        progress = await message.reply_text(t("reindex_started", lang))
        observer = _ProgressObserver(asyncio.get_running_loop(), progress, lang)
        try:
            retriever = await asyncio.to_thread(svc.rebuild, observer)
        except Exception as exc:  # the old index keeps serving; say why, log the traceback
            log.exception("reindex failed")
            await _edit(progress, t("reindex_failed", lang, error=str(exc)[:300]))
            return
        svc.holder.swap(retriever)
        manifest = retriever.index.manifest
        await _edit(progress, t("reindex_done", lang, articles=manifest.article_count,
                                chunks=manifest.chunk_count, seconds=manifest.build_seconds))
    finally:
        svc.reindex.lock.release()


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except BadRequest as exc:  # "message is not modified" is harmless
        if "not modified" not in str(exc):
            raise


class _ProgressObserver(BuildObserver):
    """Build progress from the worker thread, edited into one message at most every 2 s."""

    def __init__(self, loop: asyncio.AbstractEventLoop, message: Message, lang: str) -> None:
        self.loop, self.message, self.lang = loop, message, lang
        self.total = self.done = 0
        self.last = 0.0

    def waiting_for_lock(self) -> None:
        """Another build (a CLI `coopbot index`) runs; we wait for it."""

    def encoding_started(self, total: int, model: str) -> None:
        """A model starts embedding `total` passages."""
        self.total, self.done = total, 0
        self._post()

    def encoded(self, count: int) -> None:
        """`count` more passages are embedded."""
        self.done += count
        if self.loop.time() - self.last >= 2.0 or self.done >= self.total:
            self._post()

    def _post(self) -> None:
        self.last = self.loop.time()
        text = t("reindex_progress", self.lang, done=self.done, total=self.total)
        asyncio.run_coroutine_threadsafe(_edit(self.message, text), self.loop)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """All buttons. Unknown, stale or forged data gets 'expired', never an exception."""
    query = update.callback_query
    if query is None or await _limited(update, context):
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
        reply_markup=_answer_keyboard(key, stored.answer, page, stored.lang))
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
    await _send_article_by_id(query.message, retriever, match[0].article_id, lang)  # type: ignore[arg-type]
    return True


async def _vote(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str) -> bool:
    key, _, vote = rest.partition(":")
    stored = services(context).results.get(key)
    if stored is None or vote not in ("1", "-1") or update.callback_query is None:
        return False
    await asyncio.to_thread(services(context).feedback.record, stored, int(vote))
    await update.callback_query.answer(t("feedback_thanks", lang))
    return True


async def _article_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    tag, _, number = rest.partition(":")
    retriever = services(context).holder.current
    query = update.callback_query
    if tag != _build_tag(retriever) or not number.isdigit() or query is None or not query.message:
        return False
    await query.answer()
    await _send_article(query.message, retriever, int(number), lang)  # type: ignore[arg-type]
    return True


async def _list_page(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    tag, _, page = rest.partition(":")
    retriever = services(context).holder.current
    if tag != _build_tag(retriever) or not page.isdigit() or update.callback_query is None:
        return False
    text, markup = _articles_page(retriever, int(page), lang)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML,
                                                  reply_markup=markup)
    return True


async def _example(
    update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, lang: str
) -> bool:
    articles = _sorted_articles(services(context).holder.current)
    if not rest.isdigit() or int(rest) >= len(articles) or update.callback_query is None:
        return False
    await update.callback_query.answer()
    await answer_question(update, context, articles[int(rest)].title)
    return True


_CALLBACKS = {"mr": _more, "fa": _full, "fb": _vote, "ar": _article_button, "al": _list_page,
              "ex": _example}


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@botname question: up to 10 cited excerpts as inline article results."""
    query = update.inline_query
    if query is None or not query.query.strip() or await _limited(update, context):
        return
    lang = lang_of(update)
    question = query.query.strip()[: services(context).settings.max_question_chars]
    retriever = services(context).holder.current
    answer = await asyncio.to_thread(retriever.search, question, 10)
    results = [
        InlineQueryResultArticle(
            id=str(r.rank), title=render.inline_title(r), description=render.inline_description(r),
            input_message_content=InputTextMessageContent(
                render.render_inline_result_text(r, lang), parse_mode=ParseMode.HTML,
            ),
        )
        for r in (answer.results if answer.answered else ())
    ]
    await query.answer(results, cache_time=0, is_personal=True)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id and traceback; apologise to the user, briefly."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           t("error_apology", lang_of(update)))
        except Exception:  # the chat may be what failed (blocked, gone): nothing more to do
            log.warning("could not send the apology for update %s", update_id)


COMMANDS = ("start", "help", "ask", "articles", "article", "about", "reindex")


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the command list in English (default) and Vietnamese."""
    for lang, code in (("en", None), ("vi", "vi")):
        commands = [BotCommand(name, t(f"cmd_{name}", lang)) for name in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


def build_application(
    settings: Settings, services_: BotServices, *, rate_limiter: bool = True
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The configured Application: handlers, services, Telegram's flood limits respected."""
    assert settings.telegram_token, "checked by the caller"
    base = settings.api_base_url.rstrip("/")
    builder: Any = (
        ApplicationBuilder().token(settings.telegram_token).base_url(base)
        .base_file_url(base.removesuffix("/bot") + "/file/bot")
        .concurrent_updates(True).post_init(_post_init)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    application.bot_data["services"] = services_
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("ask", ask_command))
    application.add_handler(CommandHandler("articles", articles_command))
    application.add_handler(CommandHandler("article", article_command))
    application.add_handler(CommandHandler("about", about))
    application.add_handler(CommandHandler("reindex", reindex))
    application.add_handler(CallbackQueryHandler(on_callback))
    application.add_handler(InlineQueryHandler(inline_query))
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & text, private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & text, group_text))
    application.add_error_handler(on_error)
    return application
