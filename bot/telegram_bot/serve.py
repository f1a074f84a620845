"""`coopbot serve`: wire the core, the services and the Telegram application, then run."""

from __future__ import annotations

import gc
import logging
import secrets
import socket
import stat
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.runtime import core_config
from bot.settings import Settings
from bot.telegram_bot.follows import FollowStore
from bot.telegram_bot.inbox import Inbox, SharedInbox, open_state_file
from bot.telegram_bot.state import (
    AdminState,
    FeedbackStore,
    RateLimiter,
    ResultStore,
    SharedRateLimiter,
    vote_secret,
)
from bot.telegram_bot.state_db import PostgresState, bot_id_of, state_errors
from bot.telegram_bot.stats import QuestionLog
from embeddings.errors import CoopbotError
from embeddings.service import redact_url

if TYPE_CHECKING:
    from bot.telegram_bot.app import BotServices
    from embeddings.service import Library

log = logging.getLogger("coopbot.serve")

FEEDBACK_DB = "feedback.sqlite"
STATE_DB = "bot-state.sqlite"
"""The inbox and the answers behind buttons (see `inbox` and `state.ResultStore`)."""


def make_services(settings: Settings, *, replica: str = "polling") -> BotServices:
    """Build the index if needed and assemble what the handlers share: their state in the
    index folder, or, with `COOPBOT_DATABASE_URL`, in the database replicas share.

    Args:
        replica: this process's name among replicas (its webhook port), stable across its
            restarts, so that a restarted replica takes its own pending updates back.
    """
    from bot.telegram_bot.app import BotServices
    from bot.telegram_bot.followups import Conversations
    from embeddings.service import Library

    library = Library.open(core_config(settings), notify=lambda line: log.warning("%s", line))
    if settings.database_url:
        return open_shared_services(settings, library, replica)
    inbox, results = open_state(settings.index_dir / STATE_DB, settings)
    feedback = open_feedback(settings.index_dir / FEEDBACK_DB)
    return BotServices(
        settings=settings, library=library, results=results,
        limiter=RateLimiter(settings.rate_limit), feedback=feedback, admin=AdminState(),
        inbox=inbox, conversations=Conversations(settings.followup_seconds),
        questions=(QuestionLog(feedback.db, keep_days=settings.stats_kept_days)
                   if feedback is not None else None),
        follows=FollowStore(inbox.db) if inbox is not None else None,
    )


def open_shared_services(settings: Settings, library: Library, replica: str) -> BotServices:
    """The services of one replica among several: inbox, answers, votes, rate limits and
    follow-up memory all in the database (see `state_db`)."""
    from bot.telegram_bot.app import BotServices
    from bot.telegram_bot.followups import SharedConversations

    assert settings.database_url and settings.telegram_token, "checked by the caller"
    try:
        db = shared_state(settings)
        owner = f"{socket.gethostname()}:{replica}"
        return BotServices(
            settings=settings, library=library,
            results=ResultStore(db=db, keep_s=settings.answers_kept_days * 24 * 3600),
            limiter=SharedRateLimiter(db, settings.rate_limit),
            feedback=FeedbackStore(db, secret=vote_secret(settings.telegram_token)),
            admin=AdminState(),
            inbox=SharedInbox(db, owner, lease_s=settings.inbox_lease_seconds),
            conversations=SharedConversations(db, settings.followup_seconds),
            questions=QuestionLog(db, keep_days=settings.stats_kept_days),
            follows=FollowStore(db),
        )
    except state_errors() as exc:
        raise CoopbotError(f"cannot keep the bot's state in "
                           f"{redact_url(settings.database_url)}: {exc}") from None


def shared_state(settings: Settings) -> PostgresState:
    """The bot's schema in the database at `COOPBOT_DATABASE_URL` (needs the token: the
    schema is named after the bot's id)."""
    assert settings.database_url
    if not settings.telegram_token:
        raise CoopbotError("TELEGRAM_BOT_TOKEN is not set: the bot's state in the database "
                           "is kept under the bot's id, the number its token starts with")
    try:
        bot_id = bot_id_of(settings.telegram_token)
    except ValueError as exc:
        raise CoopbotError(f"TELEGRAM_BOT_TOKEN: {exc}") from None
    try:
        return PostgresState(settings.database_url, bot_id)
    except state_errors() as exc:
        raise CoopbotError(f"cannot reach the bot's state in "
                           f"{redact_url(settings.database_url)}: {exc}") from None


def open_state(path: Path, settings: Settings) -> tuple[Inbox | None, ResultStore]:
    """The inbox and a result store kept in `path`; where it cannot be written (a read-only
    index folder), no inbox and answers in memory only, with a warning."""
    try:
        db = open_state_file(path)
        inbox = Inbox(db)
        results = ResultStore(db=db, keep_s=settings.answers_kept_days * 24 * 3600)
    except state_errors() as exc:
        log.warning("questions will not be stored before they are answered, and buttons "
                    "expire on restart: cannot open %s (%s)", path, exc)
        return None, ResultStore()
    return inbox, results


def open_feedback(path: Path) -> FeedbackStore | None:
    """The vote store, or None (with a warning) where it cannot be written, such as an index
    served from a read-only folder: the bot then answers votes without keeping them."""
    try:
        return FeedbackStore(path)
    except state_errors() as exc:
        log.warning("votes will not be stored: cannot open %s (%s)", path, exc)
        return None


class RedactToken(logging.Filter):
    """Keeps the bot token out of every log line. A record about a rejected token keeps its
    line but loses its traceback: `serve` says what to do in one line of its own, and PTB
    reads any 404 as a rejected token, so a handler's 404 must still be seen in the log."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record without the token (never drop it)."""
        from telegram.error import InvalidToken

        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            error = record.exc_info[1]
            record.msg, record.args = f"{record.getMessage()} (InvalidToken: {error})", None
            record.exc_info, record.exc_text = None, None
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[token]"), None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, text.replace(self.token, "[token]")
        return True


def install_redaction(token: str) -> None:
    """Attach the token filter to every handler of the root logger."""
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def warn_if_env_file_is_shared(path: Path) -> bool:
    """Warn (and return True) when other users can read .env, which holds the token, or write
    it: whoever can write it can point COOPBOT_API_BASE_URL at their own server and catch the
    token."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    shared = [what for what, bits in (("read", stat.S_IRGRP | stat.S_IROTH),
                                      ("written", stat.S_IWGRP | stat.S_IWOTH)) if mode & bits]
    if shared:
        log.warning("%s can be %s by other users and holds the bot token: chmod 600 %s",
                    path, " and ".join(shared), path)
        return True
    return False


GIL_SWITCH_S = 0.001
"""How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).

A search gives the GIL up at every SQLite call and model run and needs it back after each; while
the event loop runs Python (the HTTP of polling and replies), each return waited up to the
whole interval, about a dozen times per question. `benchmarks/telegram_latency.py`, two runs
each way on 2 cores, 2/5/10 questions a second: the bot's reply p95 above the in-process search
p95 was +68 to +191 ms at 5 ms, +37 to +113 ms at 1 ms.
"""


def tune_for_serving(services_: BotServices) -> None:
    """Shorten the GIL's switch interval (`GIL_SWITCH_S`), load everything a question needs
    before the first one arrives, then exempt it all from garbage collection.

    The first question would otherwise wait 1.5-3 s for the models. And every full collection
    walks all that with the GIL held, stalling each question in flight: on the seeds' bot a
    full collection took 79 ms after the warm-up (0.01 ms once frozen), and five such pauses of
    35-140 ms came in 20 s at 10 questions a second (`gc.callbacks` in the bot of
    `benchmarks/telegram_latency.py`). `gc.freeze` moves what exists now out of the collector's
    sight; what questions allocate later is collected as usual.
    """
    sys.setswitchinterval(GIL_SWITCH_S)
    started = time.perf_counter()
    try:
        services_.library.warm_up()
    except CoopbotError as exc:  # an empty or broken index still serves /help and /about
        log.warning("warm-up question failed: %s", exc)
    gc.collect()
    gc.freeze()
    log.info("ready to answer in %.1f s (models loaded, %d objects frozen)",
             time.perf_counter() - started, gc.get_freeze_count())


def serve(
    settings: Settings,
    *,
    api_base_url: str | None = None,
    webhook_url: str | None = None,
    listen: str = "127.0.0.1",
    port: int = 8443,
    secret: str | None = None,
) -> int:
    """Run the bot with long polling (default) or a webhook; returns the exit status."""
    token = settings.telegram_token
    if not token:
        raise CoopbotError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in "
            "the environment or in .env"
        )
    if api_base_url:
        settings = replace(settings, api_base_url=api_base_url)
    warn_if_env_file_is_shared(Path(".env"))
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_redaction(token)
    from telegram.error import InvalidToken

    from bot.telegram_bot.lifecycle import unreachable, wait_for_api

    services_ = make_services(settings, replica=str(port) if webhook_url else "polling")
    tune_for_serving(services_)
    while True:
        try:
            wait_for_api(token, settings.api_base_url.rstrip("/"))
            return _run(settings, services_, webhook_url, listen, port, secret)
        except InvalidToken:
            raise CoopbotError(
                "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token)"
            ) from None
        except Exception as exc:
            if not unreachable(exc):
                raise
            # Lost between the check and the start: wait for it again.
            log.warning("lost the Telegram Bot API while starting (%s): waiting for it", exc)


def _run(settings: Settings, services_: BotServices, webhook_url: str | None, listen: str,
         port: int, secret: str | None) -> int:
    """One run of the application until it stops; the exit status."""
    from telegram import Update

    from bot.telegram_bot.app import build_application
    from bot.telegram_bot.lifecycle import ignore_sigterm_while_exiting

    rejected: list[bool] = []

    def token_rejected() -> None:
        rejected.append(True)
        log.error("Telegram no longer accepts TELEGRAM_BOT_TOKEN (revoked?): stopping")
        application.stop_running()

    application: Any = build_application(settings, services_, on_token_rejected=token_rejected)
    if webhook_url:
        from bot.telegram_bot.webhook import Health, WebhookReceiver, WebhookServer, run_webhook

        token = secret or settings.webhook_secret or secrets.token_urlsafe(32)
        receiver = WebhookReceiver(application, application.bot_data["intake"], token)
        server = WebhookServer(receiver, Health(application), services_.metrics,
                               listen=listen, port=port)
        run_webhook(application, server, webhook_url=webhook_url, secret=token)
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
    ignore_sigterm_while_exiting()
    if rejected:  # non-zero, so that a supervisor restarts the bot or alerts someone
        raise CoopbotError("Telegram rejected TELEGRAM_BOT_TOKEN while the bot ran: check it "
                           "with @BotFather (/token), then start the bot again")
    return 0
