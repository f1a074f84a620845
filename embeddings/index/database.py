"""A build's SQLite database: its schema, opening it read-only, and SQLite failures as the
index's own errors."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from embeddings.errors import IndexBusyError, IndexCorruptError, IndexMismatchError
from embeddings.index.keyword import FTS_SCHEMA
from embeddings.index.manifest import FORMAT_VERSION, Manifest

IN_BATCH = 500  # rows per IN (...) clause, well below SQLite's parameter limit

SCHEMA = """
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE entries (
    name TEXT PRIMARY KEY,       -- an article file, or "<file>.jsonl#<record id>"
    fingerprint TEXT NOT NULL,
    skipped TEXT                 -- why it is not indexed, or NULL
) WITHOUT ROWID;
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT, byline TEXT,
    place TEXT, url TEXT, language TEXT, file TEXT NOT NULL, paragraphs INTEGER NOT NULL,
    entry TEXT NOT NULL, body_key TEXT NOT NULL,
    url_key TEXT,                -- the URL without scheme, "www.", tracking parameters, fragment
    minhash BLOB NOT NULL,       -- 64 uint32: the body's MinHash, for near-duplicates
    countries TEXT               -- the countries it is about, "|"-joined, most mentioned first
);
CREATE TABLE article_bands (     -- the MinHash's LSH band keys: near-duplicate candidates
    band BLOB NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (band, article_id)
) WITHOUT ROWID;
CREATE INDEX article_bands_article ON article_bands(article_id);
CREATE INDEX articles_entry ON articles(entry);
CREATE INDEX articles_body ON articles(body_key);
CREATE INDEX articles_url ON articles(url_key);
CREATE TABLE units (
    article_id TEXT NOT NULL, idx INTEGER NOT NULL, paragraph INTEGER NOT NULL, text TEXT NOT NULL,
    vector BLOB,                 -- float16 sentence vector in the primary space, or NULL
    vector_multilingual BLOB,    -- float16 sentence vector in the multilingual space, or NULL
    PRIMARY KEY (article_id, idx)
) WITHOUT ROWID;
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,     -- the vector's id in the FAISS indexes; never reused
    article_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE TABLE multilingual_pending (  -- articles whose multilingual vectors are yet to come
    article_id TEXT PRIMARY KEY
) WITHOUT ROWID;
""" + FTS_SCHEMA


def marks(count: int) -> str:
    """``?,?,?`` for an ``IN (...)`` clause of `count` values."""
    return ",".join("?" * count)


def batches(items: list[Any]) -> Iterator[list[Any]]:
    """`items` in slices small enough for one ``IN (...)`` clause."""
    for start in range(0, len(items), IN_BATCH):
        yield items[start : start + IN_BATCH]


@contextlib.contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Report SQLite failures on the database at `path` as the index's errors.

    Raises:
        IndexBusyError: another program holds the database locked.
        IndexCorruptError: any other SQLite failure (unreadable, not a database, no table).
    """
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise IndexBusyError(f"{path} is locked by another program ({exc}); run again "
                                 "once it is done") from exc
        raise _corrupt(path, exc) from exc
    except sqlite3.Error as exc:
        raise _corrupt(path, exc) from exc


def _corrupt(path: Path, exc: sqlite3.Error) -> IndexCorruptError:
    return IndexCorruptError(f"cannot read {path} ({exc}); run `coopbot index --full` to rebuild")


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to an index database, shareable by threads (with a lock).

    Raises:
        IndexBusyError, IndexCorruptError: see `sqlite_errors`.
    """
    with sqlite_errors(path):
        try:
            return _connect_readonly(path)
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc) or not path.is_file():
                raise
            return _connect_immutable(path)


def _connect_readonly(path: Path, options: str = "mode=ro") -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True,
                         check_same_thread=False)
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return db


def _connect_immutable(path: Path) -> sqlite3.Connection:
    """Open an index database in a folder nobody can write (a read-only mount, a copy owned by
    another user). A WAL-mode database then cannot be opened read-only, since SQLite must
    create its -shm file; as nobody can change the file either, it is opened as immutable."""
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size:
        raise IndexCorruptError(
            f"cannot read {path}: {wal.name} holds changes not yet merged into it and the "
            "folder is read-only; run `coopbot index` where the index is writable (it merges "
            "them), then copy it again")
    return _connect_readonly(path, "mode=ro&immutable=1")


def manifest_of(db: sqlite3.Connection, build: Path) -> Manifest:
    """The manifest stored in a build's database, with its skipped entries.

    Raises:
        IndexMismatchError: the database was written by an older coopbot, or in another format.
        IndexCorruptError: it holds no manifest, or an unreadable one.
    """
    try:
        row = db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()
        skipped = dict(db.execute("SELECT name, skipped FROM entries WHERE skipped IS NOT NULL"))
    except sqlite3.Error as exc:
        raise IndexMismatchError(
            f"the index in {build} was written by an older coopbot ({exc}); "
            "run `coopbot index` to rebuild it"
        ) from exc
    return checked_manifest(None if row is None else row[0], skipped, build)


def checked_manifest(stored: str | None, skipped: dict[str, str], build: Path) -> Manifest:
    """A manifest as a build stores it (JSON, or None if absent), in this coopbot's format,
    with the entries skipped. Either engine stores it so.

    Raises:
        IndexMismatchError: it is in another format.
        IndexCorruptError: it is absent or unreadable.
    """
    if stored is None:
        raise IndexCorruptError(f"{build} has no manifest; run `coopbot index --full`")
    manifest = Manifest.from_json(stored, where=build)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {build} has format {manifest.format_version} (this coopbot reads "
            f"{FORMAT_VERSION}); run `coopbot index` to rebuild it"
        )
    return replace(manifest, skipped=skipped)
