"""Find the title, date and byline at the top of an article body.

Scraped text opens with a title line (possibly `` date 2023-12-09 Title``), an optional date
line and sometimes a byline; Markdown may open with a ``# Title`` heading.
"""

from __future__ import annotations

import datetime
import re
from itertools import islice

from embeddings.articles.cleanup import byline_name
from embeddings.articles.common import (
    HEADING,
    RULE,
    ArticleMeta,
    comparison_key,
    shorten,
    strip_markdown,
)
from embeddings.articles.dates import match_date_line, parse_date_text

# " date 2023-12-09 Vietnam, Thailand foster security cooperation"
_DATE_TITLE_LINE = re.compile(r"date\s+(?P<date>\d{4}-\d{1,2}-\d{1,2})(?:\s+(?P<title>.*))?", re.I)
# How many non-empty lines at the top may hold the title and a date line.
_HEADER_LINES = 4


def read_plain_header(lines: list[str], meta: ArticleMeta, warnings: list[str]) -> list[str]:
    """Take the title, date and byline from the top of scraped text.

    Args:
        lines: Clean lines of the whole file.
        meta: Receives the title, date and byline.
        warnings: Receives a message for a date line that names no real day.

    Returns:
        The remaining lines: the body.
    """
    top = list(islice((i for i, line in enumerate(lines) if line), _HEADER_LINES))
    drop: set[int] = set()
    for position, i in enumerate(top):
        line = lines[i]
        if RULE.fullmatch(line):
            drop.add(i)
            continue
        if position == 0 and (match := _DATE_TITLE_LINE.fullmatch(line)):
            drop.add(i)
            meta.date = _date_or_warn(match["date"], warnings)
            meta.title = _title_text(match["title"] or "") or None
            continue
        is_date, date = match_date_line(line)
        if is_date:
            drop.add(i)
            if meta.date is None:  # a second date line (often "updated") adds nothing
                meta.date = date if date is not None else _date_or_warn(line, warnings)
            continue
        byline = byline_name(line) if meta.title is not None else None
        if byline is not None and meta.byline is None:
            drop.add(i)
            meta.byline = byline
            continue
        if meta.title is not None:
            break  # the body starts here
        meta.title = _title_text(line)
        drop.add(i)
    return [line for i, line in enumerate(lines) if i not in drop]


def take_heading_title(lines: list[str], meta: ArticleMeta) -> list[str]:
    """Drop a leading ``# Title`` heading equal to the title, or use it when there is none.

    Args:
        lines: Clean body lines after the front matter.
        meta: The front-matter metadata; its title is filled from the heading if missing.

    Returns:
        The body lines; a heading that differs from the title stays as a section heading.
    """
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None or not HEADING.match(lines[first]):
        return lines
    heading = _title_text(lines[first])
    if meta.title is None and heading:
        meta.title = heading
    elif meta.title is None or comparison_key(heading) != comparison_key(meta.title):
        return lines  # a section heading: kept as a paragraph
    return lines[:first] + lines[first + 1 :]


def _date_or_warn(text: str, warnings: list[str]) -> datetime.date | None:
    date = parse_date_text(text)
    if date is None:
        warnings.append(f"date {shorten(text)} is not a valid date; date left empty")
    return date


def _title_text(line: str) -> str:
    """A title line without markdown heading marks or emphasis."""
    return strip_markdown(line).strip()
