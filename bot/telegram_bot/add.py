"""/add URL, or a .txt/.md/.html document captioned /add: admins add articles from Telegram.

Only in a private chat (a group should not watch an admin's imports, and a document sent to a
group is not meant for the bot). The work runs in a worker thread under the same lock as
/reindex, so the two never overlap; the serving index is replaced only when the update has
committed, and the reply says the article is searchable only once it is.
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
from telegram.ext import ContextTypes

from bot.telegram_bot.context import lang_of, services
from bot.telegram_bot.texts import t
from embeddings.corpus.adding import FILE_SUFFIXES

if TYPE_CHECKING:
    from embeddings.corpus.adding import AddReport

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 5_000_000
_SAFE_NAME = re.compile(r"[^\w.\-]+")


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL…: fetch each page, save it as an article, index it."""
    message = await _allowed(update, context)
    if message is None:
        return
    urls = context.args or []
    if not urls:
        await message.reply_text(t("add_usage", lang_of(update)))
        return
    await _run(update, context, message, urls)


async def add_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document captioned /add: save it as an article, index it."""
    message = await _allowed(update, context)
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
        await _run(update, context, message, [str(path)])


async def _allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Message | None:
    """The message, if an admin sent it in a private chat; otherwise say why not."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return None
    lang = lang_of(update)
    if user.id not in services(context).settings.admin_ids:
        log.warning("/add refused for user id %s", user.id)
        await message.reply_text(t("add_not_allowed", lang))
        return None
    if chat.type != "private":
        await message.reply_text(t("add_private_only", lang))
        return None
    return message


async def _run(update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message,
               sources: Sequence[str]) -> None:
    svc, lang = services(context), lang_of(update)
    if not svc.reindex.lock.acquire(blocking=False):
        await message.reply_text(t("reindex_busy", lang))
        return
    try:
        await message.reply_text(t("add_started", lang))
        try:
            report = await asyncio.to_thread(svc.add, list(sources))
        except Exception as exc:  # the index is unchanged; say why, log the traceback
            log.exception("/add failed")
            await message.reply_text(t("add_failed", lang, error=html.escape(str(exc)[:300])))
            return
        if report.build is not None:
            svc.holder.reload()  # answer from the new articles from the next question on
        await message.reply_text(render_add_reply(report, lang))
    finally:
        svc.reindex.lock.release()


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
