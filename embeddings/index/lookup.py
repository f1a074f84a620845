"""The indexed articles as duplicate checks see them: found by id, body, URL or LSH band."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import numpy as np

from embeddings.corpus.duplicates import Candidate, KnownArticles
from embeddings.index.database import marks, open_readonly, sqlite_errors
from embeddings.index.layout import META, current_build


class IndexedArticleLookup:
    """An index database's articles found by id, body, URL or LSH band (indexed queries:
    checking a new article costs the same at 3 articles or 100,000)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def entry_of(self, article_id: str) -> str | None:
        """The file or record the article came from, if indexed."""
        return self._one("SELECT entry FROM articles WHERE id = ?", article_id)

    def with_body(self, body_key: str) -> str | None:
        """The id of an article with this body fingerprint, if any."""
        return self._one("SELECT id FROM articles WHERE body_key = ? LIMIT 1", body_key)

    def with_url(self, url_key: str) -> str | None:
        """The id of an article with this canonical URL, if any."""
        return self._one("SELECT id FROM articles WHERE url_key = ? LIMIT 1", url_key)

    def sharing_a_band(self, keys: Sequence[bytes]) -> list[Candidate]:
        """The articles with at least one of these band keys."""
        rows = self._db.execute(
            "SELECT id, minhash, date FROM articles WHERE id IN "
            f"(SELECT article_id FROM article_bands WHERE band IN ({marks(len(keys))}))",
            list(keys))
        return [(article_id, np.frombuffer(blob, dtype="<u4"),
                 date.fromisoformat(day) if day else None) for article_id, blob, day in rows]

    def _one(self, sql: str, value: str) -> str | None:
        row = self._db.execute(sql, (value,)).fetchone()
        return None if row is None else str(row[0])


@contextlib.contextmanager
def known_articles(root: Path) -> Iterator[KnownArticles]:
    """The current build's articles as duplicate checks need them (none without an index),
    read from the index database while the context lasts."""
    build = current_build(root)
    if build is None:
        yield KnownArticles()
        return
    db = open_readonly(build / META)
    try:
        with sqlite_errors(build / META):
            db.execute("SELECT 1 FROM article_bands LIMIT 1")
            yield KnownArticles(IndexedArticleLookup(db))
    finally:
        db.close()
