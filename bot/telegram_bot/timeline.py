"""/timeline [country|term]: the corpus's cooperation events, newest first, a page at a time
(see `embeddings.search.timeline`). The paging buttons carry the build id, so a button from
before a rebuild answers "expired" instead of paging another list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.telegram_bot.context import lang_of, services
from bot.telegram_bot.html import escape, safe_url, shorten
from bot.telegram_bot.render import day
from bot.telegram_bot.texts import t

if TYPE_CHECKING:
    from embeddings.service import Library, TimelineEntry

PER_PAGE = 8
EVENT_CHARS = 220
ABOUT_BYTES = 40  # of the 64 bytes of a button's data


def timeline_page(library: Library, about: str | None, page: int, lang: str
                  ) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the timeline and its paging buttons."""
    from embeddings.service import country_label, country_named

    entries = library.timeline(about)
    country = country_named(about) if about else None
    label = country_label(country, lang) if country else about
    if not entries:
        return t("timeline_empty", lang, about=escape(label or "")), None
    pages = (len(entries) + PER_PAGE - 1) // PER_PAGE
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PER_PAGE : (page + 1) * PER_PAGE]
    positions = {a.id: i for i, a in enumerate(library.articles(), 1)}
    title = t("timeline_about" if label else "timeline_head", lang, about=escape(label or ""))
    span = t("timeline_range", lang, first=page * PER_PAGE + 1,
             last=page * PER_PAGE + len(shown), total=len(entries))
    lines = [f"🗓 <b>{title}</b>, {span}"]
    lines += [_entry(e, lang, positions.get(e.article_id)) for e in shown]
    return "\n\n".join(lines), _paging(library.build_id, about, page, pages, lang)


def _entry(entry: TimelineEntry, lang: str, position: int | None) -> str:
    from embeddings.service import country_label

    facts = [f"<b>{day(entry.date, lang)}</b>"] if entry.date else []
    if entry.countries:
        facts.append(escape(", ".join(country_label(c, lang) for c in entry.countries)))
    if entry.place:
        facts.append(escape(entry.place))
    url = safe_url(entry.url)
    title = escape(shorten(entry.title, 120))
    link = f'<a href="{url}">{title}</a>' if url else f"<i>{title}</i>"
    if position is not None:
        link += f" · /article {position}"
    return "\n".join([" · ".join(facts), escape(shorten(entry.event, EVENT_CHARS)), link])


def _paging(build: str, about: str | None, page: int, pages: int, lang: str
            ) -> InlineKeyboardMarkup | None:
    term = (about or "").encode()[:ABOUT_BYTES].decode(errors="ignore")
    buttons: Sequence[InlineKeyboardButton] = [
        InlineKeyboardButton(t(label, lang), callback_data=f"tl:{build}:{to}:{term}")
        for label, to, show in (("prev", page - 1, page > 0),
                                ("more_results", page + 1, page + 1 < pages)) if show]
    return InlineKeyboardMarkup([list(buttons)]) if buttons else None


async def timeline_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timeline [country|term]: the first page."""
    message = update.effective_message
    if message is None:
        return
    about = " ".join(context.args or []).strip()[:100] or None
    text, markup = timeline_page(services(context).library, about, 0, lang_of(update))
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                             disable_web_page_preview=True)
