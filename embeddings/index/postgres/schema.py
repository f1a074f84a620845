"""Where builds live in the database: a catalog table, and one schema per build.

    public.coopbot_builds     name, schema, published (NULL while being built)
    <schema>.state            the manifest, and a version bumped by every commit
    <schema>.entries, articles, article_bands, units, chunks, aliases, vocabulary
    <schema>.postings, tokens, keyword_totals      BM25 as FTS5 scores it (`bm25`)
    <schema>.vectors_<space>  row -> vector(dim), with an HNSW index above the flat limit

The build served is the one published last. A full build fills a new schema and publishes
it in the same transaction, so readers see the old build or the new one, whole; Postgres's
DDL is transactional, so a failed build leaves nothing behind. The previous build is kept
until the next full build, for readers still on it.
"""

from __future__ import annotations

import re

CATALOG = """
CREATE TABLE IF NOT EXISTS public.coopbot_builds (
    name TEXT PRIMARY KEY,
    schema TEXT NOT NULL UNIQUE,
    published TIMESTAMPTZ                -- NULL until its build commits
)
"""

CURRENT = ("SELECT name, schema FROM public.coopbot_builds WHERE published IS NOT NULL "
           "ORDER BY published DESC LIMIT 1")
"""The build served: the one published last."""

# Words are compared in code-point order ("C"), as SQLite compares them: `words_like` reads a
# prefix's range, which another collation would order differently.
BUILD_TABLES = """
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, skipped TEXT);
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT, byline TEXT,
    place TEXT, url TEXT, language TEXT, file TEXT NOT NULL, paragraphs INTEGER NOT NULL,
    entry TEXT NOT NULL, body_key TEXT NOT NULL, url_key TEXT, minhash BYTEA NOT NULL,
    countries TEXT
);
CREATE INDEX articles_entry ON articles(entry);
CREATE INDEX articles_body ON articles(body_key);
CREATE INDEX articles_url ON articles(url_key);
CREATE TABLE article_bands (band BYTEA, article_id TEXT, PRIMARY KEY (band, article_id));
CREATE INDEX article_bands_article ON article_bands(article_id);
CREATE TABLE units (
    article_id TEXT, idx INTEGER, paragraph INTEGER NOT NULL, text TEXT NOT NULL,
    vector BYTEA, vector_multilingual BYTEA, PRIMARY KEY (article_id, idx)
);
CREATE TABLE chunks (
    row BIGINT PRIMARY KEY, article_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE TABLE aliases (
    short TEXT, long TEXT, article_id TEXT, kind TEXT NOT NULL, mentions INTEGER NOT NULL,
    PRIMARY KEY (short, long, article_id)
);
CREATE INDEX aliases_long ON aliases(long);
CREATE INDEX aliases_article ON aliases(article_id);
CREATE TABLE vocabulary (word TEXT COLLATE "C" PRIMARY KEY, df INTEGER NOT NULL);
-- One row per (stemmed token, passage): its column-weighted count and the passage's length
-- in tokens, all BM25 needs from a passage, in the index itself (no table visit).
CREATE TABLE postings (
    token TEXT COLLATE "C", row BIGINT, freq DOUBLE PRECISION NOT NULL, length INTEGER NOT NULL,
    PRIMARY KEY (token, row) INCLUDE (freq, length)
);
CREATE INDEX postings_row ON postings(row);
CREATE TABLE tokens (token TEXT COLLATE "C" PRIMARY KEY, df INTEGER NOT NULL);
CREATE TABLE keyword_totals (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    passages BIGINT NOT NULL, tokens BIGINT NOT NULL
);
INSERT INTO keyword_totals VALUES (TRUE, 0, 0);
"""


def schema_for(name: str) -> str:
    """The schema of a build named `name` (a timestamp and a random suffix): an unquoted
    identifier, safe to put in SQL."""
    return "coopbot_" + re.sub(r"[^a-z0-9]", "_", name.lower())


def vector_table(space: str) -> str:
    """The table holding a vector space (``primary``, ``multilingual``)."""
    if not re.fullmatch(r"[a-z]+", space):
        raise ValueError(f"not a vector space name: {space!r}")
    return f"vectors_{space}"


def vector_ddl(space: str, dimension: int) -> str:
    """The table of one vector space."""
    return (f"CREATE TABLE {vector_table(space)} "
            f"(row BIGINT PRIMARY KEY, v vector({int(dimension)}) NOT NULL)")


def hnsw_ddl(space: str, dimension: int, *, m: int, ef_construction: int) -> str:
    """An HNSW index on a vector space, by inner product (cosine on normalised vectors).

    Over the vectors cast to `halfvec` (float16), while the table keeps them in float32: at
    100k MiniLM vectors the graph took 136 MB instead of 212, built in 34 s instead of 49, and
    answered in 36 ms p50 instead of 56, at the same recall (0.975 against 0.969;
    `benchmarks/halfvec.py`). Scores are still computed in float32 (`halfvec_order`).
    """
    table = vector_table(space)
    return (f"CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} USING hnsw "
            f"((v::halfvec({int(dimension)})) halfvec_ip_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})")


def halfvec_order(dimension: int) -> str:
    """The ORDER BY that searches a `hnsw_ddl` index (the question cast alike), best first."""
    return f"v::halfvec({int(dimension)}) <#> %s::halfvec({int(dimension)})"
