"""What an index holds, read without loading any vectors: for listing and removing articles."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from embeddings.index.database import marks, open_readonly, sqlite_errors
from embeddings.index.layout import META, on_current_build
from embeddings.index.records import countries_from


@dataclass(frozen=True)
class ArticleSummary:
    """One indexed article as `coopbot list` shows it."""

    id: str
    title: str
    date: date | None
    source: str | None
    url: str | None
    entry: str
    """The corpus entry it came from: a file name, or ``<file>.jsonl#<record id>``."""
    passages: int
    countries: tuple[str, ...] = ()
    """The countries it is about, most mentioned first."""


def summaries_sql(where: str) -> str:
    """The query of the articles' summaries, newest first, on either engine (`where` picks
    some by id)."""
    return ("SELECT a.id, a.title, a.date, a.source, a.url, a.entry, count(c.row), a.countries "
            f"FROM articles a LEFT JOIN chunks c ON c.article_id = a.id {where} "
            "GROUP BY a.id ORDER BY a.date IS NULL, a.date DESC, a.id")


def summary_of(row: Sequence[Any]) -> ArticleSummary:
    """A summary from a row of `summaries_sql`."""
    return ArticleSummary(row[0], row[1], date.fromisoformat(row[2]) if row[2] else None,
                          row[3], row[4], row[5], int(row[6]),
                          countries_from(row[7]))


def article_summaries(root: Path, ids: Sequence[str] | None = None) -> list[ArticleSummary]:
    """The articles of the current build (all, or those of `ids`), newest first, without
    loading any vectors."""
    return on_current_build(root, partial(_summaries_of, ids=ids))


def _summaries_of(build: Path, ids: Sequence[str] | None) -> list[ArticleSummary]:
    db = open_readonly(build / META)
    try:
        with sqlite_errors(build / META):
            return summaries_in(db, ids)
    finally:
        db.close()


def summaries_in(db: sqlite3.Connection, ids: Sequence[str] | None = None) -> list[ArticleSummary]:
    """The articles in an open index database (all, or those of `ids`), newest first."""
    where, params = "", list(ids or ())
    if ids is not None:
        where = f"WHERE a.id IN ({marks(len(params))})"
    return [summary_of(r) for r in db.execute(summaries_sql(where), params).fetchall()]


def article_date_range(build: Path) -> tuple[date, date] | None:
    """Oldest and newest article dates of a build, without loading its vectors."""
    db = open_readonly(build / META)
    try:
        with sqlite_errors(build / META):
            low, high = db.execute("SELECT min(date), max(date) FROM articles").fetchone()
    finally:
        db.close()
    return (date.fromisoformat(low), date.fromisoformat(high)) if low else None
