"""Reading a build on PostgreSQL: the engine's `storage.ReadableIndex`.

Each call is one autocommit query on a pooled connection (one per searching thread), so a
reader sees the last commit, as the embedded engine's SQLite reader does: an update's removed
passages stop resolving, its new ones appear. `changed` compares the build's version and the
catalog's current build with those seen at opening, in one query.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from embeddings.corpus.duplicates import KnownArticles
from embeddings.errors import IndexMissingError
from embeddings.index.manifest import Manifest
from embeddings.index.postgres.bm25 import TOP_SQL, query_tokens
from embeddings.index.postgres.connection import connect, database_errors, pool, redact
from embeddings.index.postgres.schema import CURRENT, halfvec_order, vector_table
from embeddings.index.postgres.writer import ArticleLookup, label, stored_manifest
from embeddings.index.records import (
    ARTICLE_COLUMNS,
    AliasRecord,
    ArticleRecord,
    ChunkRecord,
    StoredUnit,
    article_record,
    stored_vector,
)
from embeddings.index.summaries import ArticleSummary, summaries_sql, summary_of

_CHANGED = (f"SELECT ({CURRENT.replace('name, schema', 'name')}), "
            "(SELECT value FROM state WHERE key = 'version')")
POOL_SIZE = 8
"""Connections a reader keeps at most: the search threads' and the bot's, with room."""


def current_schema(url: str) -> tuple[str, str] | None:
    """(name, schema) of the build served, or None when the database holds none."""
    conn = connect(url, autocommit=True)
    try:
        with database_errors(url):
            if not _has_catalog(conn):
                return None
            row = conn.execute(CURRENT).fetchone()
            return None if row is None else (row[0], row[1])
    finally:
        conn.close()


def read_manifest(url: str) -> Manifest:
    """The manifest of the build served; IndexMissingError if none was built."""
    return _reading(url, lambda conn, where: stored_manifest(conn, where))


def index_entries(url: str) -> dict[str, str]:
    """Entry name -> fingerprint of everything the build served has seen ({} without one)."""
    if current_schema(url) is None:
        return {}
    return _reading(url, lambda conn, _: dict(
        conn.execute("SELECT name, fingerprint FROM entries").fetchall()))


def _reading(url: str, read: Any) -> Any:
    """`read(connection, label)` inside one read-only transaction on the build served."""
    conn = connect(url)
    try:
        with database_errors(url):
            conn.execute("SET TRANSACTION READ ONLY")
            _, schema = _current(conn, url)
            conn.execute(f"SET LOCAL search_path TO {schema}, public")
            return read(conn, label(url, schema))
    finally:
        conn.rollback()
        conn.close()


def article_summaries(url: str, ids: Sequence[str] | None = None) -> list[ArticleSummary]:
    """The served build's articles (all, or those of `ids`), newest first."""
    def read(conn: Any, _: Any) -> list[ArticleSummary]:
        where = "" if ids is None else "WHERE a.id = ANY(%s)"
        rows = conn.execute(summaries_sql(where), () if ids is None else (list(ids),))
        return [summary_of(r) for r in rows.fetchall()]
    return _reading(url, read)


def build_facts(url: str) -> tuple[str, tuple[date, date] | None, dict[str, str]]:
    """The served build's name, its articles' oldest and newest dates, and each vector
    space's structure (``hnsw`` or ``flat``), for `coopbot status`."""
    def read(conn: Any, _: Any) -> tuple[str, tuple[date, date] | None, dict[str, str]]:
        low, high = conn.execute("SELECT min(date), max(date) FROM articles").fetchone()
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        tables = [t for (t,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE "
            "'vectors\\_%%'", (schema,)).fetchall()]
        indexed = {t for (t,) in conn.execute(
            "SELECT tablename FROM pg_indexes WHERE schemaname = %s AND indexdef LIKE "
            "'%%USING hnsw%%'", (schema,)).fetchall()}
        name = conn.execute("SELECT name FROM public.coopbot_builds WHERE schema = %s",
                            (schema,)).fetchone()[0]
        kinds = {t.removeprefix("vectors_"): "hnsw" if t in indexed else "flat"
                 for t in tables}
        dates = (date.fromisoformat(low), date.fromisoformat(high)) if low else None
        return name, dates, kinds
    return _reading(url, read)


@contextlib.contextmanager
def known_articles(url: str) -> Iterator[KnownArticles]:
    """The served build's articles as duplicate checks need them (none without a build), read
    in one transaction while the context lasts."""
    conn = connect(url)
    try:
        with database_errors(url):
            if not _has_catalog(conn) or conn.execute(CURRENT).fetchone() is None:
                yield KnownArticles()
                return
            _, schema = _current(conn, url)
            conn.execute(f"SET LOCAL search_path TO {schema}, public")
            yield KnownArticles(ArticleLookup(conn))
    finally:
        conn.rollback()
        conn.close()


def _has_catalog(conn: Any) -> bool:
    row = conn.execute("SELECT to_regclass('public.coopbot_builds')").fetchone()
    return row is not None and row[0] is not None


def _current(conn: Any, url: str) -> tuple[str, str]:
    if not _has_catalog(conn):
        raise IndexMissingError(f"no index in {redact(url)}: run `coopbot index` to build it")
    row = conn.execute(CURRENT).fetchone()
    if row is None:
        raise IndexMissingError(f"no index in {redact(url)}: run `coopbot index` to build it")
    return row[0], row[1]


def open_index(url: str, *, model: str, chunker: dict[str, float],
               multilingual_model: str | None = None) -> PostgresIndex:
    """Open the build served, refusing one built with another model or chunker.

    Raises:
        IndexMissingError: the database holds no build.
        IndexMismatchError: it was built with other models, another chunker or format.
        DatabaseError: the server cannot be reached.
    """
    conn = connect(url)
    try:
        with database_errors(url):
            name, schema = _current(conn, url)
            conn.execute(f"SET LOCAL search_path TO {schema}, public")
            where = label(url, schema)
            manifest = stored_manifest(conn, where)
            version = conn.execute("SELECT value FROM state WHERE key = 'version'").fetchone()
            manifest.check_compatible(model=model, chunker=chunker, where=where,
                                      multilingual_model=multilingual_model)
    finally:
        conn.rollback()
        conn.close()
    ef_search = int(manifest.vector_index.get("ef_search", 1000))
    return PostgresIndex(url, name, schema, manifest, version=None if version is None
                         else version[0], readers=pool(url, schema, ef_search=ef_search,
                                                       size=POOL_SIZE))


class PostgresIndex:
    """A build in the database, opened for searching; safe to share between threads."""

    def __init__(self, url: str, name: str, schema: str, manifest: Manifest, *,
                 version: str | None, readers: Any) -> None:
        self._url = url
        self.name = name
        self.schema = schema
        self.path = label(url, schema)
        self.manifest = manifest
        self._version = version
        self._pool = readers
        with self._read() as conn:
            self._size = int(conn.execute("SELECT count(*) FROM vocabulary").fetchone()[0])
            # Per space, how its index is searched: a halfvec HNSW index only answers an
            # ORDER BY of the same cast; a flat table (or a build from before the halfvec
            # index) is ordered by the stored vectors.
            halfvec = {table: int(found.group(1)) for table, definition in conn.execute(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s AND "
                "indexdef LIKE '%%USING hnsw%%'", (schema,)).fetchall()
                if (found := re.search(r"halfvec\((\d+)\)", definition))}
        self._order = {space: halfvec_order(halfvec[vector_table(space)])
                       if vector_table(space) in halfvec else "v <#> %s"
                       for space in manifest.vector_files}

    @property
    def spaces(self) -> Collection[str]:
        """The vector spaces the build holds."""
        return tuple(self.manifest.vector_files)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        """A pooled connection for one call, psycopg's failures as coopbot's errors."""
        with database_errors(self._url), self._pool.connection() as conn:
            yield conn

    def changed(self) -> bool:
        """True once another build is served, or this one was changed in place."""
        with self._read() as conn:
            current, version = conn.execute(_CHANGED).fetchone()
        return current != self.name or version != self._version

    def search(self, query: np.ndarray, n: int, space: str) -> tuple[np.ndarray, np.ndarray]:
        """Dense top-n (scores, rows) by inner product, best first."""
        if n <= 0 or space not in self.manifest.vector_files:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        table = vector_table(space)
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._read() as conn:
            # <#> is the negative inner product: ascending is best first.
            rows = conn.execute(f"SELECT row, -(v <#> %s) FROM {table} "
                                f"ORDER BY {self._order[space]} LIMIT %s",
                                (vector, vector, n)).fetchall()
        return (np.asarray([s for _, s in rows], dtype=np.float32),
                np.asarray([r for r, _ in rows], dtype=np.int64))

    def keyword_top(self, terms: Sequence[str], n: int) -> list[tuple[int, float]]:
        """BM25 top-n (row, score) of passages holding any of the terms, as FTS5 scores."""
        tokens = query_tokens(terms)
        if not tokens or n <= 0:
            return []
        with self._read() as conn:
            rows = conn.execute(TOP_SQL, {"tokens": list(tokens), "times": list(tokens.values()),
                                          "n": n}).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    def vocabulary_size(self) -> int:
        """Distinct words in the keyword vocabulary when the index was opened."""
        return self._size

    def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        """Passages holding each word; words the corpus lacks are left out."""
        if not words:
            return {}
        with self._read() as conn:
            return dict(conn.execute("SELECT word, df FROM vocabulary WHERE word = ANY(%s)",
                                     (list(words),)).fetchall())

    def words_like(self, prefix: str, shortest: int, longest: int, min_count: int
                   ) -> list[tuple[str, int]]:
        """(word, passages) of vocabulary words by prefix, length and count, in word order."""
        with self._read() as conn:
            return [(w, int(n)) for w, n in conn.execute(
                "SELECT word, df FROM vocabulary WHERE word >= %s AND word < %s AND "
                "length(word) BETWEEN %s AND %s AND df >= %s ORDER BY word",
                (prefix, prefix + "\U0010ffff", shortest, longest, min_count)).fetchall()]

    def aliases(self, forms: Sequence[str]) -> list[AliasRecord]:
        """The aliases whose short or long form is one of `forms`, summed per (short, long,
        kind) over the articles."""
        if not forms:
            return []
        with self._read() as conn:
            rows = conn.execute(
                "SELECT short, long, kind, count(*), sum(mentions) FROM aliases "
                "WHERE short = ANY(%s) OR long = ANY(%s) GROUP BY short, long, kind",
                (list(forms), list(forms))).fetchall()
        return [AliasRecord(s, lf, k, int(a), int(m)) for s, lf, k, a, m in rows]

    def chunks(self, rows: Sequence[int]) -> dict[int, ChunkRecord]:
        """Passages by row (rows of removed articles are absent)."""
        if not len(rows):
            return {}
        with self._read() as conn:
            found = conn.execute(
                'SELECT row, article_id, ordinal, start, "end", text FROM chunks '
                "WHERE row = ANY(%s)", ([int(r) for r in rows],)).fetchall()
        return {int(r[0]): ChunkRecord(int(r[0]), *r[1:]) for r in found}

    def article_units(self, spans: Mapping[str, tuple[int, int]]
                      ) -> dict[str, list[StoredUnit]]:
        """Units [start, end) of several articles, with their stored vectors, in one read."""
        if not spans:
            return {}
        ids = list(spans)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT u.article_id, u.idx, u.paragraph, u.text, u.vector, "
                "u.vector_multilingual FROM unnest(%s::text[], %s::int[], %s::int[]) "
                "AS w(article_id, low, high) JOIN units u ON u.article_id = w.article_id "
                "AND u.idx >= w.low AND u.idx < w.high ORDER BY u.article_id, u.idx",
                (ids, [spans[i][0] for i in ids], [spans[i][1] for i in ids])).fetchall()
        found: dict[str, list[StoredUnit]] = {}
        for article_id, index, paragraph, text, blob, multilingual in rows:
            found.setdefault(article_id, []).append(StoredUnit(
                index, paragraph, text, None if blob is None else stored_vector(bytes(blob)),
                None if multilingual is None else stored_vector(bytes(multilingual))))
        return found

    def unit_rows(self, article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
        """(index, paragraph, sentence) of one article's units [start, end), in order."""
        with self._read() as conn:
            return [(int(i), int(p), str(t)) for i, p, t in conn.execute(
                "SELECT idx, paragraph, text FROM units WHERE article_id = %s AND idx >= %s "
                "AND idx < %s ORDER BY idx", (article_id, start, end)).fetchall()]

    def articles(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """Article records by id (all of them when ids is None)."""
        if ids is not None and not ids:
            return {}
        with self._read() as conn:
            if ids is None:
                rows = conn.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles").fetchall()
            else:
                rows = conn.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE "
                                    "id = ANY(%s)", (list(ids),)).fetchall()
        return {r[0]: article_record(r) for r in rows}

    def close(self) -> None:
        """Close the connections; closing twice is harmless."""
        self._pool.close()
