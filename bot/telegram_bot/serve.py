"""`coopbot serve`: wire the core, the services and the Telegram application, then run."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.runtime import core_config
from bot.settings import Settings
from bot.telegram_bot.state import AdminState, FeedbackStore, RateLimiter, ResultStore
from embeddings.errors import CoopbotError

if TYPE_CHECKING:
    from bot.telegram_bot.app import BotServices

log = logging.getLogger("coopbot.serve")

FEEDBACK_DB = "feedback.sqlite"


def make_services(settings: Settings) -> BotServices:
    """Build the index if needed and assemble what the handlers share."""
    from bot.telegram_bot.app import BotServices
    from embeddings.service import Library

    library = Library.open(core_config(settings), notify=lambda line: log.warning("%s", line))
    return BotServices(
        settings=settings, library=library, results=ResultStore(),
        limiter=RateLimiter(settings.rate_limit),
        feedback=open_feedback(settings.index_dir / FEEDBACK_DB), admin=AdminState(),
    )


def open_feedback(path: Path) -> FeedbackStore | None:
    """The vote store, or None (with a warning) where it cannot be written, such as an index
    served from a read-only folder: the bot then answers votes without keeping them."""
    try:
        return FeedbackStore(path)
    except (sqlite3.Error, OSError) as exc:
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
    from telegram import Update
    from telegram.error import InvalidToken

    from bot.telegram_bot.app import build_application

    rejected: list[bool] = []

    def token_rejected() -> None:
        rejected.append(True)
        log.error("Telegram no longer accepts TELEGRAM_BOT_TOKEN (revoked?): stopping")
        application.stop_running()

    application: Any = build_application(settings, make_services(settings),
                                         on_token_rejected=token_rejected)
    try:
        if webhook_url:
            application.run_webhook(
                listen=listen, port=port, url_path="telegram", webhook_url=webhook_url,
                secret_token=secret or settings.webhook_secret or secrets.token_urlsafe(32),
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise CoopbotError(
            "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token)"
        ) from None
    if rejected:  # non-zero, so that a supervisor restarts the bot or alerts someone
        raise CoopbotError("Telegram rejected TELEGRAM_BOT_TOKEN while the bot ran: check it "
                           "with @BotFather (/token), then start the bot again")
    return 0
