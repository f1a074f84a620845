"""Admin commands: /reindex, and /add URL or a .txt/.md/.html document captioned /add.

Only admins (`COOPBOT_ADMIN_IDS`) may run them. Both run in a worker thread under one lock, so
they never overlap; the bot keeps answering from the current index meanwhile, and the served
index changes only once the new one has committed: a reply says an article is searchable only
once it is. /add works only in a private chat (a group should not watch an admin's imports,
and a document sent to a group is not meant for the bot).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.telegram_bot import render
from bot.telegram_bot.alerts import look_for_news
from bot.telegram_bot.context import BotServices, lang_of, number, services
from bot.telegram_bot.texts import t
from embeddings.service import FILE_SUFFIXES, BuildObserver

if TYPE_CHECKING:
    from embeddings.service import AddReport

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 5_000_000
_SAFE_NAME = re.compile(r"[^\w.\-]+")


def _is_admin(svc: BotServices, update: Update, command: str) -> bool:
    user = update.effective_user
    if user is not None and user.id in svc.settings.admin_ids:
        return True
    log.warning("%s refused for user id %s", command, user.id if user else None)
    return False


# --- /stats -------------------------------------------------------------------------------


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [days] (admins): the operator's view of the last 14 days (see `stats`)."""
    message, lang, svc = update.effective_message, lang_of(update), services(context)
    if message is None or update.effective_user is None:
        return
    if not _is_admin(svc, update, "/stats"):
        await message.reply_text(t("stats_not_allowed", lang))
        return
    if svc.questions is None:
        await message.reply_text(t("stats_not_kept", lang))
        return
    days = number(context.args[0]) if context.args else 14
    feedback = svc.feedback
    summary = await asyncio.to_thread(
        svc.questions.summary, max(1, min(days or 14, 365)),
        votes=feedback.tally if feedback is not None else None)
    await message.reply_text(render.render_stats(summary, lang), parse_mode=ParseMode.HTML)


# --- /reindex -----------------------------------------------------------------------------


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild in a worker thread, edit one progress message, swap."""
    message, lang, svc = update.effective_message, lang_of(update), services(context)
    if message is None or update.effective_user is None:
        return
    if not _is_admin(svc, update, "/reindex"):
        await message.reply_text(t("reindex_not_allowed", lang))
        return
    if not svc.admin.lock.acquire(blocking=False):
        await message.reply_text(t("reindex_busy", lang))
        return
    try:
        progress = await message.reply_text(t("reindex_started", lang))
        observer = _ProgressObserver(asyncio.get_running_loop(), progress, lang)
        try:
            report = await asyncio.to_thread(svc.library.rebuild, observer)
        except Exception as exc:  # the old index keeps serving; say why, log the traceback
            log.exception("reindex failed")
            await _edit(progress, t("reindex_failed", lang, error=str(exc)[:300]))
            return
        # What this rebuild did, not the last full build's figures.
        changed = report.full or report.added or report.removed
        text = t("reindex_done" if changed else "reindex_unchanged", lang,
                 articles=report.articles, chunks=report.chunks, added=report.added,
                 removed=report.removed, seconds=f"{report.seconds:.1f}")
        share = svc.library.info().multilingual_share
        if share is not None:
            text += "\n" + render.fill_line(lang, share)
        await _edit(progress, text)
    finally:
        svc.admin.lock.release()
    svc.fill.wake()
    await look_for_news(context)  # followers hear of the new articles now, not in a minute


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


# --- /add ---------------------------------------------------------------------------------


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL…: fetch each page, save it as an article, index it."""
    message = await _add_allowed(update, context)
    if message is None:
        return
    urls = context.args or []
    if not urls:
        await message.reply_text(t("add_usage", lang_of(update)))
        return
    await _add(update, context, message, urls)


async def add_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document captioned /add: save it as an article, index it."""
    message = await _add_allowed(update, context)
    if message is None or message.document is None:
        return
    lang, document = lang_of(update), message.document
    name = Path(_SAFE_NAME.sub("_", Path(document.file_name or "article.txt").name)).name
    if Path(name).suffix.lower() not in FILE_SUFFIXES:
        await message.reply_text(t("add_bad_document", lang, suffixes=", ".join(FILE_SUFFIXES)))
        return
    if (document.file_size or 0) > MAX_DOCUMENT_BYTES:
        await message.reply_text(t("add_too_large", lang, mb=MAX_DOCUMENT_BYTES // 1_000_000))
        return
    data = await (await context.bot.get_file(document.file_id)).download_as_bytearray()
    with tempfile.TemporaryDirectory(prefix="coopbot-add-") as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(data))
        await _add(update, context, message, [str(path)])


async def _add_allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Message | None:
    """The message, if an admin sent it in a private chat; otherwise say why not."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or update.effective_user is None or chat is None:
        return None
    lang = lang_of(update)
    if not _is_admin(services(context), update, "/add"):
        await message.reply_text(t("add_not_allowed", lang))
        return None
    if chat.type != "private":
        await message.reply_text(t("add_private_only", lang))
        return None
    return message


async def _add(update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message,
               sources: Sequence[str]) -> None:
    svc, lang = services(context), lang_of(update)
    if not svc.admin.lock.acquire(blocking=False):
        await message.reply_text(t("reindex_busy", lang))
        return
    try:
        await message.reply_text(t("add_started", lang))
        try:
            report = await asyncio.to_thread(svc.library.add, list(sources))
        except Exception as exc:  # the index is unchanged; say why, log the traceback
            log.exception("/add failed")
            await message.reply_text(t("add_failed", lang, error=html.escape(str(exc)[:300])),
                                     parse_mode=ParseMode.HTML)
            return
        await message.reply_text(render_add_reply(report, lang), parse_mode=ParseMode.HTML,
                                 disable_web_page_preview=True)
    finally:
        svc.admin.lock.release()
    svc.fill.wake()
    await look_for_news(context)


def render_add_reply(report: AddReport, lang: str) -> str:
    """One line per source: the article now searchable, or why it was not added (HTML)."""
    lines = []
    for outcome in report.outcomes:
        article = outcome.article
        if outcome.problem is None and article is not None:
            lines.append(t("add_done", lang, title=html.escape(article.title),
                           date=article.date.isoformat() if article.date else "-",
                           passages=outcome.passages))
        else:
            source = Path(outcome.source).name if "://" not in outcome.source else outcome.source
            lines.append(t("add_refused", lang, source=html.escape(source[:200]),
                           reason=html.escape((outcome.problem or "")[:300])))
    return "\n\n".join(lines)
