"""Alerts: `/follow Cambodia` or `/follow extradition` keeps a standing query; when articles
are added (`/add`, `/reindex`, or `coopbot add` on the same index), each chat whose query
matches a new article gets one message with its title and the sentence that says what
happened. `/following` lists a chat's queries, `/unfollow` removes one.

A query matches as `/timeline` filters: a country (in English or Vietnamese) by the countries
the article is about, any other term by its title, lead and source. New articles are found by
comparing the index's article ids with those already judged (`seen`): taking an id is one
``INSERT … ON CONFLICT DO NOTHING``, and so is sending an alert, so with replicas sharing the
database each new article is judged by one replica and each alert is sent once. The first
look (at start) only records what is there. An alert whose send fails after it was claimed is
not sent again (a lost alert rather than a repeated one). Stored: per follow the chat id, the
query and the chat's language; per alert the follow and the article; the ids judged.

PTB's job queue looks every `COOPBOT_ALERT_SECONDS` (60); `/add` and `/reindex` look at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.telegram_bot.context import lang_of, services
from bot.telegram_bot.follows import MAX_FOLLOWS, Follow
from bot.telegram_bot.html import escape, safe_url, shorten
from bot.telegram_bot.render import day
from bot.telegram_bot.state_db import state_errors
from bot.telegram_bot.texts import t

log = logging.getLogger(__name__)

ABOUT_CHARS = 100

async def look_for_news(context: ContextTypes.DEFAULT_TYPE) -> int:
    """Judge the articles added since the last look and alert their followers; returns the
    alerts sent. A job of PTB's queue, and called after /add and /reindex."""
    svc = services(context)
    store = svc.follows
    if store is None:
        return 0
    library = svc.library
    try:
        ids = [a.id for a in await asyncio.to_thread(library.articles)]
        new = await asyncio.to_thread(store.take_new, ids)
        follows = await asyncio.to_thread(store.every) if new else []
    except state_errors() as exc:
        log.warning("alerts not checked: %s", exc)
        return 0
    sent = 0
    failures: tuple[type[BaseException], ...] = (TelegramError, *state_errors())
    for follow in follows:
        matching = await asyncio.to_thread(library.timeline, follow.about, new)
        for entry in matching:
            try:
                if not await asyncio.to_thread(store.claim, follow.id, entry.article_id):
                    continue  # another replica sent it
                await context.bot.send_message(follow.chat_id, render_alert(entry, follow),
                                               parse_mode=ParseMode.HTML,
                                               disable_web_page_preview=True)
                sent += 1
            except failures as exc:  # a chat that blocked the bot, a full disk
                log.warning("alert for follow %d not sent: %s", follow.id, exc)
    if new:
        log.info("alerts: %d new article(s), %d alert(s) sent", len(new), sent)
    return sent


def render_alert(entry: Any, follow: Follow) -> str:
    """🔔 New article for “Cambodia”: its title and date, what happened, a link."""
    lang = follow.lang
    lines = ["🔔 <b>" + t("alert_head", lang, about=escape(shorten(follow.about, ABOUT_CHARS)))
             + "</b>"]
    url = safe_url(entry.url)
    title = escape(shorten(entry.title, 200))
    lines.append(f'<a href="{url}">{title}</a>' if url else f"<b>{title}</b>")
    if entry.date:
        lines[-1] += f" · {day(entry.date, lang)}"
    lines.append(escape(shorten(entry.event, 300)))
    return "\n".join(lines)


async def follow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/follow <country or term>."""
    message, lang, store = update.effective_message, lang_of(update), services(context).follows
    if message is None:
        return
    about = " ".join(context.args or []).strip()[:ABOUT_CHARS]
    if not about:
        await message.reply_text(t("follow_usage", lang))
        return
    if store is None:
        await message.reply_text(t("follows_not_kept", lang))
        return
    added = await asyncio.to_thread(store.follow, message.chat_id, lang, about)
    key = {True: "follow_added", False: "follow_already", None: "follow_too_many"}[added]
    await message.reply_text(t(key, lang, about=about, limit=MAX_FOLLOWS))


async def following_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/following: the chat's standing queries."""
    message, lang, store = update.effective_message, lang_of(update), services(context).follows
    if message is None:
        return
    about = await asyncio.to_thread(store.following, message.chat_id) if store else []
    await message.reply_text(t("following_list", lang, queries="\n".join(
        f"• {a}" for a in about)) if about else t("following_none", lang))


async def unfollow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unfollow <country or term>."""
    message, lang, store = update.effective_message, lang_of(update), services(context).follows
    if message is None:
        return
    about = " ".join(context.args or []).strip()[:ABOUT_CHARS]
    if not about or store is None:
        await message.reply_text(t("unfollow_usage", lang))
        return
    removed = await asyncio.to_thread(store.unfollow, message.chat_id, about)
    await message.reply_text(t("unfollow_done" if removed else "unfollow_unknown", lang,
                               about=about))
