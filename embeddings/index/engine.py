"""Which storage engine holds the index: the one place that chooses.

With no database URL (the default) the index is the embedded engine, SQLite + FAISS files in
the index folder (`reader`, `writer`); with `IndexConfig.database_url` it is PostgreSQL +
pgvector (`postgres`). Both sit behind `storage.ReadableIndex` and `storage.WritableIndex`, so
building, searching and answering are the same code on either. The index folder stays in use
with a database too: it holds the embedding cache and the local build lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date

from embeddings.config import IndexConfig
from embeddings.corpus.duplicates import KnownArticles
from embeddings.index import reader
from embeddings.index.layout import current_build, prune_builds
from embeddings.index.manifest import Manifest
from embeddings.index.storage import ReadableIndex, WritableIndex
from embeddings.index.summaries import ArticleSummary, article_date_range
from embeddings.index.summaries import article_summaries as summaries_on_disk
from embeddings.index.vectors import kind_of_file


def read_manifest(cfg: IndexConfig) -> Manifest:
    """The manifest of the index served; IndexMissingError if none was built."""
    if cfg.database_url:
        from embeddings.index.postgres.reader import read_manifest as read_stored

        return read_stored(cfg.database_url)
    return reader.read_manifest(cfg.index_dir)


def index_entries(cfg: IndexConfig) -> dict[str, str]:
    """Entry name -> fingerprint of everything the index served has seen."""
    if cfg.database_url:
        from embeddings.index.postgres.reader import index_entries as stored_entries

        return stored_entries(cfg.database_url)
    return reader.index_entries(cfg.index_dir)


def article_summaries(cfg: IndexConfig, ids: Sequence[str] | None = None
                      ) -> list[ArticleSummary]:
    """The served index's articles (all, or those of `ids`), newest first, without loading
    any vectors."""
    if cfg.database_url:
        from embeddings.index.postgres.reader import article_summaries as stored_summaries

        return stored_summaries(cfg.database_url, ids)
    return summaries_on_disk(cfg.index_dir, ids)


def build_facts(cfg: IndexConfig) -> tuple[str, tuple[date, date] | None, dict[str, str]] | None:
    """The served build's name, oldest and newest article dates, and each vector space's
    structure (``flat`` or ``hnsw``); None without a build."""
    if cfg.database_url:
        from embeddings.index.postgres.reader import build_facts as stored_facts

        return stored_facts(cfg.database_url) if has_index(cfg) else None
    build = current_build(cfg.index_dir)
    if build is None:
        return None
    manifest = reader.read_manifest(cfg.index_dir)
    return build.name, article_date_range(build), {
        space: kind_of_file(build / name) for space, name in manifest.vector_files.items()}


def has_index(cfg: IndexConfig) -> bool:
    """Whether an index was built (it may still be damaged or of another format)."""
    if cfg.database_url:
        from embeddings.index.postgres.reader import current_schema

        return current_schema(cfg.database_url) is not None
    return current_build(cfg.index_dir) is not None


def open_index(cfg: IndexConfig, *, model: str, chunker: dict[str, float],
               multilingual_model: str | None = None) -> ReadableIndex:
    """Open the index served for searching, refusing one built with other models or
    chunker (IndexMismatchError)."""
    if cfg.database_url:
        from embeddings.index.postgres.reader import open_index as open_stored

        return open_stored(cfg.database_url, model=model, chunker=chunker,
                           multilingual_model=multilingual_model)
    return reader.open_index(cfg.index_dir, model=model, chunker=chunker,
                             multilingual_model=multilingual_model)


def new_build(cfg: IndexConfig, name: str) -> WritableIndex:
    """A writer for a full build named `name`, served once it commits."""
    if cfg.database_url:
        from embeddings.index.postgres.writer import PostgresWriter

        return PostgresWriter.create(cfg.database_url, name)
    from embeddings.index.writer import IndexWriter

    return IndexWriter.create(cfg.index_dir, name)


def update_build(cfg: IndexConfig) -> WritableIndex:
    """A writer that changes the index served in place."""
    if cfg.database_url:
        from embeddings.index.postgres.writer import PostgresWriter

        return PostgresWriter.update(cfg.database_url)
    from embeddings.index.writer import IndexWriter

    return IndexWriter.update(cfg.index_dir)


def prune(cfg: IndexConfig) -> None:
    """Delete builds nothing serves any more (a database build drops its own at commit)."""
    if not cfg.database_url:
        prune_builds(cfg.index_dir)


@contextlib.contextmanager
def known_articles(cfg: IndexConfig) -> Iterator[KnownArticles]:
    """The served index's articles as duplicate checks need them, while the context lasts
    (none without an index)."""
    if not cfg.database_url:
        from embeddings.index.lookup import known_articles as known_on_disk

        with known_on_disk(cfg.index_dir) as known:
            yield known
        return
    from embeddings.index.postgres.reader import known_articles as known_in_database

    with known_in_database(cfg.database_url) as known:
        yield known
