"""Turn a news page's HTML into article text and metadata, leaving the page's furniture behind.

trafilatura finds the main text (navigation, cookie banners, related-article lists, share
buttons, comments and footers are dropped) and reads the metadata pages carry in ``<meta>``
tags, JSON-LD and bylines; htmldate, inside it, finds the publication date. Whatever it leaves
that coopbot's own article parser also removes (photo captions, credit lines) goes when the
saved file is read back.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlsplit

from embeddings.articles.common import comparison_key
from embeddings.errors import CoopbotError

MIN_WORDS = 30
"""Fewer words than this is a page without an article (an index page, a paywall, an error)."""


class ExtractionError(CoopbotError):
    """The page holds no article text coopbot can use; the message says why."""


@dataclass(frozen=True)
class WebArticle:
    """An article taken from a page (or a file), ready to be written as front matter + text."""

    title: str
    date: datetime.date | None
    author: str | None
    source: str | None
    url: str | None
    language: str | None
    paragraphs: tuple[str, ...]


def extract_article(html: str | bytes, url: str | None = None) -> WebArticle:
    """The article in an HTML page.

    Args:
        html: the page (bytes are decoded by trafilatura, which honours the page's charset).
        url: where the page came from; kept as the article's URL, and its host names the
            source when the page names no site.

    Raises:
        ExtractionError: no article text (or too little to be one) in the page.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False,
        include_images=False, favor_precision=True,
        # deduplicate stays off: it keeps a process-wide cache, so a page seen before (say,
        # added again to be reported as a duplicate) would come back empty.
        deduplicate=False,
    )
    text = getattr(doc, "text", None) or ""
    title = (getattr(doc, "title", None) or "").strip()
    paragraphs = tuple(p for p in (line.strip() for line in text.splitlines()) if p)
    if paragraphs and title and comparison_key(paragraphs[0]) == comparison_key(title):
        paragraphs = paragraphs[1:]  # the page's <h1>: kept as the title, not as text
    words = sum(len(p.split()) for p in paragraphs)
    where = url or "the page"
    if words < MIN_WORDS:
        raise ExtractionError(f"no article text found in {where} ({words} words of main text)")
    page_url = getattr(doc, "url", None) or url
    return WebArticle(
        title=title or _title_from_url(page_url) or paragraphs[0][:80],
        date=_date(getattr(doc, "date", None)),
        author=(getattr(doc, "author", None) or None),
        source=getattr(doc, "sitename", None) or getattr(doc, "hostname", None)
        or _host(page_url),
        url=page_url,
        language=getattr(doc, "language", None) or None,
        paragraphs=paragraphs,
    )


def _date(value: object) -> datetime.date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _title_from_url(url: str | None) -> str | None:
    if not url:
        return None
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    words = last.rsplit(".", 1)[0].replace("-", " ").replace("_", " ").strip()
    return words.capitalize() if words else None
