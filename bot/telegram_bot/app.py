"""The Telegram front end: thin handlers over the core, built on python-telegram-bot v22.

Each handler reads the update, calls the core off the event loop (asyncio.to_thread), renders
with bot.telegram_bot.render and replies. Shared services live in bot_data behind
`bot.telegram_bot.context.services()`. Handlers live in telegram_questions, telegram_articles,
telegram_callbacks and telegram_reindex; this module has the small ones and the wiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
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

from bot.settings import Settings
from bot.telegram_bot import render
from bot.telegram_bot.admin import add_command, add_document, reindex, stats_command
from bot.telegram_bot.alerts import (
    follow_command,
    following_command,
    look_for_news,
    unfollow_command,
)
from bot.telegram_bot.articles import article_command, articles_command
from bot.telegram_bot.callbacks import on_callback
from bot.telegram_bot.context import (
    BotServices,
    lang_of,
    services,
)
from bot.telegram_bot.examples import example_questions
from bot.telegram_bot.html import shorten
from bot.telegram_bot.inbox import SharedInbox
from bot.telegram_bot.intake import (
    DurableProcessor,
    Intake,
    ReplyRequest,
    keep_leases,
    replay,
)
from bot.telegram_bot.lifecycle import finish_on_sigterm
from bot.telegram_bot.polling import WatchedPolling
from bot.telegram_bot.questions import ask_command, group_text, inline_query, private_text
from bot.telegram_bot.state_db import state_errors
from bot.telegram_bot.texts import ADMIN_COMMANDS, COMMANDS, t
from bot.telegram_bot.timeline import timeline_command

log = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot knows, with example questions as buttons."""
    lang = lang_of(update)
    library = services(context).library
    examples = example_questions(library, lang)
    first, last = library.date_range() or (None, None)
    text = render.render_start(lang, articles=library.article_count(), first=first, last=last,
                               examples=examples)
    buttons = [[InlineKeyboardButton(shorten(q, 60), callback_data=f"ex:{i}")]
               for i, q in enumerate(examples)]
    if update.effective_message:
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(buttons))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, and the commands."""
    if update.effective_message:
        await update.effective_message.reply_text(t("help", lang_of(update)),
                                                  parse_mode=ParseMode.HTML)


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/about: articles, passages, models and build time of the index."""
    info = services(context).library.info()
    if update.effective_message:
        await update.effective_message.reply_text(render.render_about(
            lang_of(update), articles=info.articles, chunks=info.passages, model=info.model,
            multilingual=info.multilingual_model or "-", built_at=info.built_at,
            filled=info.multilingual_share,
        ), parse_mode=ParseMode.HTML)


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



async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the command list in English (default) and Vietnamese, then queue the
    questions an earlier run stored but did not answer (before polling starts)."""
    await _register_commands(application)
    finish_on_sigterm(application.bot_data["intake"].stop_taking)
    found = services_of(application)
    if found.inbox is not None:
        for update in replay(found.inbox, found.settings.replay_max_age, application.bot):
            application.update_queue.put_nowait(update)
    if found.follows is not None:
        # What is indexed now is not news: recorded before anything can be added.
        try:
            await asyncio.to_thread(found.follows.take_new,
                                    [a.id for a in found.library.articles()])
        except state_errors() as exc:
            log.warning("alerts not started: %s", exc)
        if application.job_queue is not None:
            application.job_queue.run_repeating(look_for_news, found.settings.alert_seconds,
                                                first=found.settings.alert_seconds,
                                                name="alerts")
    found.fill.start()
    if isinstance(found.inbox, SharedInbox):  # replicas: take over a dead one's updates
        application.bot_data["leases"] = asyncio.create_task(
            keep_leases(found.inbox, application.update_queue, application.bot))


async def _post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop renewing leases (what is still pending goes to another replica, or to this one
    when it starts again) and stop filling in vectors (the next start goes on)."""
    await asyncio.to_thread(services_of(application).fill.stop)
    task = application.bot_data.pop("leases", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _register_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Everyone's menu in English (default) and Vietnamese; the admins' private chats also
    list /add and /reindex, which would only be refused to anyone else."""
    admins = sorted(services_of(application).settings.admin_ids)
    for lang, code in (("en", None), ("vi", "vi")):
        menu = [BotCommand(name, t(f"cmd_{name}", lang)) for name in COMMANDS]
        await application.bot.set_my_commands(menu, language_code=code)
        admin_menu = menu + [BotCommand(name, t(f"cmd_{name}", lang)) for name in ADMIN_COMMANDS]
        for admin in admins:
            try:
                await application.bot.set_my_commands(
                    admin_menu, scope=BotCommandScopeChat(admin), language_code=code)
            except TelegramError as exc:  # an admin who never opened a chat with the bot
                log.warning("admin %d's command menu not set: %s", admin, exc)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have, in a private chat: say so, and where to look."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0].split("@")[0][:40]
    await message.reply_text(t("unknown_command", lang_of(update), command=command))


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> BotServices:
    """The services of an application (outside a handler's context)."""
    found: BotServices = application.bot_data["services"]
    return found


def build_application(
    settings: Settings,
    services_: BotServices,
    *,
    rate_limiter: bool = True,
    on_token_rejected: Callable[[], None] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The configured Application: handlers, services, Telegram's flood limits respected.

    `on_token_rejected` is called when polling finds the token refused (see `polling`).
    With `services_.inbox`, every polled update is stored before it is confirmed, and
    replayed after a crash (see `intake`; a webhook's server stores them itself, see
    `webhook`); unreadable polled updates are set aside either way.
    """
    assert settings.telegram_token, "checked by the caller"
    base = settings.api_base_url.rstrip("/")
    inbox = services_.inbox
    intake = Intake(inbox)
    builder: Any = (
        ApplicationBuilder().token(settings.telegram_token).base_url(base)
        .base_file_url(base.removesuffix("/bot") + "/file/bot")
        .concurrent_updates(DurableProcessor(inbox) if inbox else True)
        .post_init(_post_init)
        .post_stop(_post_stop)
        # Two connections, not PTB's one: at shutdown PTB makes one more getUpdates call (to
        # confirm what it fetched), which otherwise waits for the cancelled long poll's
        # connection and fails with a pool timeout and a traceback.
        .get_updates_request(WatchedPolling(on_token_rejected, intake.screen,
                                            connection_pool_size=2))
    )
    # PTB's default pool for the bot's own calls is 256 connections; this one keeps it.
    builder = builder.request(ReplyRequest(inbox, connection_pool_size=256))
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    application.bot_data["services"] = services_
    application.bot_data["intake"] = intake
    # New messages only: an edited question already has its answer, and answering the edit
    # too would send a second full reply (PTB's default also passes edited messages).
    new = filters.UpdateType.MESSAGE
    for name, handler in (("start", start), ("help", help_command), ("ask", ask_command),
                          ("articles", articles_command), ("article", article_command),
                          ("about", about), ("reindex", reindex), ("add", add_command),
                          ("stats", stats_command), ("timeline", timeline_command),
                          ("follow", follow_command), ("following", following_command),
                          ("unfollow", unfollow_command)):
        application.add_handler(CommandHandler(name, handler, filters=new))
    application.add_handler(MessageHandler(
        new & filters.Document.ALL & filters.CaptionRegex(r"^/add(@\w+)?\s*$"), add_document))
    application.add_handler(CallbackQueryHandler(on_callback))
    application.add_handler(InlineQueryHandler(inline_query))
    text = new & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & text, private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & text, group_text))
    # Last: any command no handler above took. Only in private chats, where it is meant for
    # this bot; in a group it may be another bot's.
    application.add_handler(MessageHandler(
        new & filters.COMMAND & filters.ChatType.PRIVATE, unknown_command))
    application.add_error_handler(on_error)
    return application
