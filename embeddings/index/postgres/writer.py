"""Changing a build on PostgreSQL: the engine's `storage.WritableIndex`.

A change is one transaction, begun under the database's build lock (an advisory lock, so
builds from every machine run one at a time): readers see the last commit until `commit`
publishes everything at once, and `abort` (or a crash, or a lost connection) leaves no trace.
A full build creates its schema inside the transaction and publishes it at the end.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.corpus.duplicates import (
    Candidate,
    KnownArticles,
    band_keys,
    canonical_url,
    names_a_duplicate,
)
from embeddings.errors import IndexMissingError
from embeddings.index.database import checked_manifest
from embeddings.index.keyword import passage_word_counts
from embeddings.index.manifest import Manifest
from embeddings.index.postgres.bm25 import passage_postings
from embeddings.index.postgres.connection import (
    BUILD_LOCK_KEY,
    connect,
    database_errors,
    redact,
)
from embeddings.index.postgres.schema import (
    BUILD_TABLES,
    CATALOG,
    CURRENT,
    hnsw_ddl,
    schema_for,
    vector_ddl,
    vector_table,
)
from embeddings.index.records import NewArticle, countries_column, half_vectors
from embeddings.index.vectors import VectorIndexConfig

_BATCH = 2_000  # passages tokenised and copied at a time (bounds the postings held in memory)
_KEPT_BUILDS = 2  # the one published and the one before, for readers still on it


def label(url: str, schema: str) -> Path:
    """How a build is named in reports and messages: the database, then the schema."""
    return Path(redact(url).replace("://", ":", 1)) / schema


log = logging.getLogger(__name__)

VACUUM_SHARE = 0.1
"""An update adding more than this share of the passages is vacuumed and analysed at once
(autovacuum would, but later; smaller updates leave the statistics about right)."""


class PostgresWriter:
    """One change to a build in the database, applied by `commit` in a single transaction."""

    def __init__(self, url: str, conn: Any, schema: str, *, name: str, new: bool) -> None:
        self.url = url
        self.db = conn
        self.schema = schema
        self.name = name
        self.new = new
        self.folder = label(url, schema)
        self.written: Manifest | None = None

    @classmethod
    def create(cls, url: str, name: str) -> PostgresWriter:
        """A writer for a new, empty build that becomes the one served on commit."""
        conn = _begin(url)
        schema = schema_for(name)
        with _rolled_back_on_error(conn), database_errors(url, writing=True):
            conn.execute("INSERT INTO public.coopbot_builds (name, schema) VALUES (%s, %s)",
                         (name, schema))
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"SET LOCAL search_path TO {schema}, public")
            conn.execute(BUILD_TABLES)
        return cls(url, conn, schema, name=name, new=True)

    @classmethod
    def update(cls, url: str) -> PostgresWriter:
        """A writer that changes the build served, in place.

        Raises:
            IndexMissingError: the database holds no published build.
        """
        conn = _begin(url)
        with _rolled_back_on_error(conn), database_errors(url, writing=True):
            row = conn.execute(CURRENT).fetchone()
            if row is None:
                raise IndexMissingError(f"no index in {redact(url)}: run `coopbot index`")
            name, schema = row
            conn.execute(f"SET LOCAL search_path TO {schema}, public")
        return cls(url, conn, schema, name=name, new=False)

    # -- what the index has seen --

    def manifest(self) -> Manifest | None:
        """The manifest as last committed (None for a new build)."""
        if self.new:
            return None
        return stored_manifest(self.db, self.folder)

    def entries(self) -> dict[str, str]:
        """Entry name -> fingerprint, for everything the index has seen (skipped ones too)."""
        return dict(self.db.execute("SELECT name, fingerprint FROM entries").fetchall())

    def set_entries(self, entries: Mapping[str, tuple[str, str | None]]) -> None:
        """Record entries as seen: name -> (fingerprint, skip reason or None)."""
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO entries VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE "
                "SET fingerprint = EXCLUDED.fingerprint, skipped = EXCLUDED.skipped",
                [(name, fp, reason) for name, (fp, reason) in entries.items()])

    def skipped_as_duplicates(self) -> list[str]:
        """Entries skipped because they duplicated an indexed article."""
        return [name for name, reason in self.db.execute(
            "SELECT name, skipped FROM entries WHERE skipped IS NOT NULL").fetchall()
            if names_a_duplicate(reason)]

    def has_articles(self) -> bool:
        """True when the index holds at least one article."""
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None

    def known_articles(self) -> KnownArticles:
        """The indexed articles' ids, bodies, URLs and signatures, to spot duplicates."""
        return KnownArticles(ArticleLookup(self.db))

    # -- removing --

    def remove_entries(self, names: Iterable[str]) -> list[str]:
        """Forget entries, deleting their articles and passages. Returns the article ids."""
        names = list(names)
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM articles WHERE entry = ANY(%s)", (names,)).fetchall()]
        self.remove_articles(ids)
        self.db.execute("DELETE FROM entries WHERE name = ANY(%s)", (names,))
        return ids

    def remove_articles(self, ids: Sequence[str]) -> None:
        """Delete articles with their sentences, passages, postings, vectors and aliases."""
        ids = list(ids)
        if not ids:
            return
        gone = self.db.execute(
            "SELECT c.row, a.title, c.text FROM chunks c JOIN articles a ON a.id = c.article_id "
            "WHERE c.article_id = ANY(%s)", (ids,)).fetchall()
        rows = [row for row, _, _ in gone]
        self._count(passage_postings(gone), [f"{t} {x}" for _, t, x in gone], len(rows), -1)
        self.db.execute("DELETE FROM postings WHERE row = ANY(%s)", (rows,))
        for space in self._spaces():
            self.db.execute(f"DELETE FROM {vector_table(space)} WHERE row = ANY(%s)", (rows,))
        for table, column in (("chunks", "article_id"), ("units", "article_id"),
                              ("article_bands", "article_id"), ("aliases", "article_id"),
                              ("articles", "id")):
            self.db.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (ids,))

    # -- adding --

    def add_articles(self, articles: Sequence[NewArticle], first_row: int) -> list[int]:
        """Store articles; passages get consecutive rows from `first_row`. Returns the rows."""
        rows: list[int] = []
        passages: list[tuple[int, str, str]] = []
        for article in articles:
            start = first_row + len(rows)
            self._insert(article, start)
            rows.extend(range(start, start + len(article.chunks)))
            passages.extend((start + i, article.record.title, text)
                            for i, (_, _, text) in enumerate(article.chunks))
        for at in range(0, len(passages), _BATCH):
            batch = passages[at : at + _BATCH]
            postings = passage_postings(batch)
            self._copy("postings (token, row, freq, length)", postings)
            self._count(postings, [f"{t} {x}" for _, t, x in batch], len(batch), +1)
        return rows

    def _insert(self, article: NewArticle, first_row: int) -> None:
        r = article.record
        self.db.execute(
            "INSERT INTO articles VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (r.id, r.title, r.date.isoformat() if r.date else None, r.source, r.byline,
             r.place, r.url, r.language, r.file, article.paragraphs, article.entry,
             article.body_key, canonical_url(r.url) if r.url else None,
             article.minhash.astype("<u4").tobytes(), countries_column(r)))
        self._copy("article_bands (band, article_id)",
                   [(key, r.id) for key in dict.fromkeys(band_keys(article.minhash))])
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO aliases VALUES (%s,%s,%s,%s,%s) ON CONFLICT (short, long, "
                "article_id) DO UPDATE SET kind = EXCLUDED.kind, mentions = EXCLUDED.mentions",
                [(a.short, a.long, r.id, a.kind, a.mentions) for a in article.aliases])
        primary = half_vectors(article.unit_vectors)
        multilingual = half_vectors(article.multilingual_unit_vectors)
        self._copy("units (article_id, idx, paragraph, text, vector, vector_multilingual)", [
            (r.id, i, p, text, primary[i].tobytes() if primary is not None else None,
             multilingual[i].tobytes() if multilingual is not None else None)
            for i, (p, text) in enumerate(article.units)])
        self._copy('chunks (row, article_id, ordinal, start, "end", text)', [
            (first_row + i, r.id, i, start, end, text)
            for i, (start, end, text) in enumerate(article.chunks)])

    def _count(self, postings: list[tuple[str, int, float, int]], texts: list[str],
               passages: int, sign: int) -> None:
        """Move the token and word document counts and the totals BM25 reads by `sign`."""
        df = Counter(token for token, _, _, _ in postings)
        lengths = {row: length for _, row, _, length in postings}
        self._add_counts("tokens", "token", df, sign)
        self._add_counts("vocabulary", "word", passage_word_counts(texts), sign)
        self.db.execute("UPDATE keyword_totals SET passages = passages + %s, "
                        "tokens = tokens + %s", (sign * passages, sign * sum(lengths.values())))

    def _add_counts(self, table: str, key: str, counts: Counter[str], sign: int) -> None:
        if not counts:
            return
        self.db.execute(
            f"INSERT INTO {table} ({key}, df) SELECT * FROM unnest(%s::text[], %s::int[]) "
            f"ON CONFLICT ({key}) DO UPDATE SET df = {table}.df + EXCLUDED.df",
            (list(counts), [sign * n for n in counts.values()]))
        if sign < 0:
            self.db.execute(f"DELETE FROM {table} WHERE {key} = ANY(%s) AND df <= 0",
                            (list(counts),))

    def _copy(self, target: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with self.db.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    # -- publishing --

    def _spaces(self) -> list[str]:
        old = self.manifest()
        return list(old.vector_files) if old else []

    def commit(
        self,
        manifest: Manifest,
        new_vectors: dict[str, np.ndarray],
        new_rows: Sequence[int],
        vector_cfg: VectorIndexConfig,
    ) -> Path:
        """Add the new passages' vectors, store the manifest and publish, in one commit.

        Args:
            manifest: the build's manifest; counts, vector tables and next row are filled in.
            new_vectors: per vector space, one row per new passage in `new_rows` order.
            new_rows: the row ids of the new passages.
            vector_cfg: exact or HNSW, when to switch, and the HNSW settings.

        Returns:
            The build's label (database and schema).
        """
        with _rolled_back_on_error(self.db), database_errors(self.url, writing=True):
            old = self.manifest()
            rows = np.asarray(new_rows, dtype=np.int64)
            totals = {space: self._add_vectors(space, vectors, rows, old, vector_cfg)
                      for space, vectors in new_vectors.items()}
            live = int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
            articles = int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])
            next_row = max(old.next_row if old else 0, int(rows.max()) + 1 if len(rows) else 0)
            generation = (old.extra.get("generation", 0) + 1) if old else 1
            final = replace(
                manifest, vector_files={s: vector_table(s) for s in totals}, vector_deltas={},
                vector_total=totals, next_row=next_row, chunk_count=live,
                article_count=articles, vector_index=vector_cfg.as_dict(),
                extra={**manifest.extra, "generation": generation, "engine": "postgresql"})
            self.db.execute(
                "INSERT INTO state VALUES ('manifest', %s), ('version', %s) ON CONFLICT (key) "
                "DO UPDATE SET value = EXCLUDED.value", (final.to_json(with_skipped=False),
                                                         str(generation)))
            if self.new:
                self._publish()
            self.db.commit()
        if self.new or len(rows) > VACUUM_SHARE * live:
            try:
                self._vacuum()
            except Exception as exc:  # noqa: BLE001 - the build is published; autovacuum will
                log.warning("the new build is served, but VACUUM ANALYZE failed (%s): "
                            "searches may be slow until autovacuum has run", exc)
        self.db.close()
        self.written = final
        return self.folder

    def _add_vectors(self, space: str, vectors: np.ndarray, rows: np.ndarray,
                     old: Manifest | None, cfg: VectorIndexConfig) -> int:
        """Copy one space's new vectors in; index it with HNSW once it is large enough.
        Returns the vectors the space holds."""
        table = vector_table(space)
        if old is None or space not in old.vector_files:
            self.db.execute(vector_ddl(space, vectors.shape[1]))
        with self.db.cursor() as cur, cur.copy(
                f"COPY {table} (row, v) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "vector"])
            for row, vector in zip(rows.tolist(), vectors.astype(np.float32), strict=True):
                copy.write_row((row, vector))
        total = int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        if cfg.kind_for(total) == "hnsw":
            # Building the graph in memory is many times faster than on disk pages.
            self.db.execute("SET LOCAL maintenance_work_mem = '1GB'")
            self.db.execute(hnsw_ddl(space, vectors.shape[1], m=cfg.hnsw_m,
                                     ef_construction=cfg.ef_construction))
        return total

    def _vacuum(self) -> None:
        """VACUUM (ANALYZE) the build's tables once they are committed, rather than leave it to
        autovacuum's next round. ANALYZE gives the planner statistics (without them the
        keyword query was planned as a scan of every posting), and VACUUM sets the visibility
        map, without which each posting an index-only scan reads is fetched from the table too.
        """
        self.db.autocommit = True  # VACUUM runs outside a transaction
        tables = [t for (t,) in self.db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,)).fetchall()]
        for table in tables:
            self.db.execute(f'VACUUM (ANALYZE) "{self.schema}"."{table}"')

    def _publish(self) -> None:
        """Make this build the one served, and drop builds older than the one it replaces."""
        self.db.execute("UPDATE public.coopbot_builds SET published = clock_timestamp() "
                        "WHERE name = %s", (self.name,))
        old = self.db.execute(
            "SELECT name, schema FROM public.coopbot_builds WHERE published IS NOT NULL "
            "ORDER BY published DESC OFFSET %s", (_KEPT_BUILDS,)).fetchall()
        for name, schema in old:
            self.db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            self.db.execute("DELETE FROM public.coopbot_builds WHERE name = %s", (name,))

    def abort(self) -> None:
        """Roll back; nothing of the change stays (a new build's schema included)."""
        with contextlib.suppress(Exception):
            self.db.rollback()
        with contextlib.suppress(Exception):
            self.db.close()


def _begin(url: str) -> Any:
    """A connection inside a transaction that holds the build lock, the catalog present."""
    conn = connect(url)
    with _rolled_back_on_error(conn), database_errors(url, writing=True):
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (BUILD_LOCK_KEY,))
        conn.execute(CATALOG)
    return conn


@contextlib.contextmanager
def _rolled_back_on_error(conn: Any) -> Iterator[None]:
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            conn.rollback()
            conn.close()
        raise


def stored_manifest(conn: Any, where: Path) -> Manifest:
    """The manifest a build's state table holds, with its skipped entries.

    Raises:
        IndexCorruptError, IndexMismatchError: no manifest, an unreadable one, or another
            format (see `Manifest.from_json` and the embedded engine's `manifest_of`).
    """
    row = conn.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()
    skipped = dict(conn.execute(
        "SELECT name, skipped FROM entries WHERE skipped IS NOT NULL").fetchall())
    return checked_manifest(None if row is None else row[0], skipped, where)


class ArticleLookup:
    """A build's articles found by id, body, URL or LSH band, for duplicate checks."""

    def __init__(self, conn: Any) -> None:
        self._db = conn

    def entry_of(self, article_id: str) -> str | None:
        """The file or record the article came from, if indexed."""
        return self._one("SELECT entry FROM articles WHERE id = %s", article_id)

    def with_body(self, body_key: str) -> str | None:
        """The id of an article with this body fingerprint, if any."""
        return self._one("SELECT id FROM articles WHERE body_key = %s LIMIT 1", body_key)

    def with_url(self, url_key: str) -> str | None:
        """The id of an article with this canonical URL, if any."""
        return self._one("SELECT id FROM articles WHERE url_key = %s LIMIT 1", url_key)

    def sharing_a_band(self, keys: Sequence[bytes]) -> list[Candidate]:
        """The articles with at least one of these band keys."""
        rows = self._db.execute(
            "SELECT id, minhash, date FROM articles WHERE id IN "
            "(SELECT article_id FROM article_bands WHERE band = ANY(%s))", (list(keys),))
        return [(article_id, np.frombuffer(blob, dtype="<u4"),
                 date.fromisoformat(day) if day else None) for article_id, blob, day in rows]

    def _one(self, sql: str, value: str) -> str | None:
        row = self._db.execute(sql, (value,)).fetchone()
        return None if row is None else str(row[0])
