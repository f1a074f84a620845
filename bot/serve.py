"""`coopbot serve`: wire the core, the services and the Telegram application, then run."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.runtime import index_config, make_encoders, make_reranker, retrieval_config
from bot.services import FeedbackStore, RateLimiter, ReindexState, ResultStore, RetrieverHolder
from bot.settings import Settings
from embeddings.errors import CoopbotError

if TYPE_CHECKING:
    from bot.telegram_app import BotServices
    from embeddings.builder import BuildObserver
    from embeddings.retrieval import Retriever

log = logging.getLogger("coopbot.serve")

FEEDBACK_DB = "feedback.sqlite"


def make_services(settings: Settings) -> BotServices:
    """Build the index if needed and assemble what the handlers share."""
    from bot.telegram_app import BotServices
    from embeddings.builder import build_index
    from embeddings.service import ensure_index, open_retriever

    encoders = make_encoders(settings)
    cfg = index_config(settings)
    reranker = make_reranker(settings)
    ensure_index(cfg, encoders, notify=lambda line: log.warning("%s", line))

    def rebuild(observer: BuildObserver) -> Retriever:
        build_index(cfg, encoders, observer)
        return open_retriever(cfg, encoders, retrieval_config(settings), reranker=reranker)

    retriever = open_retriever(cfg, encoders, retrieval_config(settings), reranker=reranker)
    return BotServices(
        settings=settings, holder=RetrieverHolder(retriever), results=ResultStore(),
        limiter=RateLimiter(settings.rate_limit), feedback=FeedbackStore(
            settings.index_dir / FEEDBACK_DB), reindex=ReindexState(), rebuild=rebuild,
    )


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
    if not settings.telegram_token:
        raise CoopbotError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in "
            "the environment or in .env"
        )
    if api_base_url:
        settings = replace(settings, api_base_url=api_base_url)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from telegram import Update
    from telegram.error import InvalidToken

    from bot.telegram_app import build_application

    application: Any = build_application(settings, make_services(settings))
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
    return 0
