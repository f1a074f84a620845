"""/reindex: rebuild in a worker thread, one edited progress message, an atomic swap."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.telegram_bot.context import (
    lang_of,
    services,
)
from bot.telegram_bot.texts import t
from embeddings.index.builder import BuildObserver

log = logging.getLogger(__name__)


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
