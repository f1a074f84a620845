"""The index on disk: a root folder holding builds and a pointer to the current one.

    index/
      CURRENT                  name of the build being served (replaced atomically)
      builds/<name>/           meta.sqlite (manifest, articles, sentences, passages, FTS5
                               keyword index), vectors-<space>-<generation>.faiss
      embedding-cache.sqlite   vectors by model + text, survives rebuilds
      build.lock               serialises concurrent builds and updates

Two ways to change an index, both crash-safe:

* A **full build** (first build, other model or chunker) is written under
  ``builds/.tmp-<name>``, renamed into place, and only then does CURRENT change.
* An **update** (articles added, changed or removed) changes the current build in place, in one
  SQLite transaction. New FAISS files are written under new names first; the transaction that
  commits the passages also switches the manifest to those files. A crash before the commit
  leaves the old state (and an orphan file that the next update deletes); after it, the new one.

A process serving the build keeps its open FAISS files (on POSIX an unlinked file lives on until
closed) and reads passages through SQLite, which shows it the last committed state: passages of
removed articles simply stop resolving, and `LoadedIndex.changed` tells it to reopen.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
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
from embeddings.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
)
from embeddings.index.keyword import (
    FTS_SCHEMA,
    KeywordQuery,
    KeywordSearcher,
    add_keyword_rows,
    remove_keyword_rows,
)
from embeddings.index.manifest import FORMAT_VERSION, Manifest
from embeddings.index.vectors import (
    VectorIndexConfig,
    VectorSpace,
    read_index,
    updated_space,
    write_index,
)

META = "meta.sqlite"
CURRENT = "CURRENT"
CACHE = "embedding-cache.sqlite"
LOCK = "build.lock"
_TMP_PREFIX = ".tmp-"
_IN_BATCH = 500  # rows per IN (...) clause, well below SQLite's parameter limit

_META_SCHEMA = """
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
    minhash BLOB NOT NULL        -- 64 uint32: the body's MinHash, for near-duplicates
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
    PRIMARY KEY (article_id, idx)
) WITHOUT ROWID;
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,     -- the vector's id in the FAISS indexes; never reused
    article_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
"""


@dataclass(frozen=True)
class ArticleRecord:
    """Article metadata as stored in the index."""

    id: str
    title: str
    date: date | None
    source: str | None
    byline: str | None
    place: str | None
    url: str | None
    language: str | None
    file: str


@dataclass(frozen=True)
class ChunkRecord:
    """A passage as stored in the index."""

    row: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class NewArticle:
    """Everything stored for one article added to the index."""

    record: ArticleRecord
    entry: str
    body_key: str
    minhash: np.ndarray
    """The body's MinHash signature (`duplicates.signature`)."""
    paragraphs: int
    units: Sequence[tuple[int, str]]
    """(paragraph number, sentence) in order."""
    unit_vectors: np.ndarray | None
    """One primary-space vector per unit, or None when the encoder gives none."""
    chunks: Sequence[tuple[int, int, str]]
    """(start unit, end unit, text) per passage, in order."""


WRITE_WAIT_SECONDS = 30.0
"""How long an update waits for another program's write lock on the index database."""


def current_build(root: Path) -> Path | None:
    """The build folder CURRENT points to, or None when there is none."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    build = root / "builds" / name
    return build if name and build.is_dir() else None


def read_manifest(root: Path) -> Manifest:
    """The manifest of the current build; IndexMissingError if none was built."""
    build = current_build(root)
    if build is None:
        raise IndexMissingError(f"no index in {root}: run `coopbot index` to build it")
    db = _open_readonly(build / META)
    try:
        return _manifest_of(db, build)
    finally:
        db.close()


def index_entries(root: Path) -> dict[str, str]:
    """Entry name -> fingerprint of everything the current build has seen."""
    build = current_build(root)
    if build is None:
        return {}
    db = _open_readonly(build / META)
    try:
        return dict(db.execute("SELECT name, fingerprint FROM entries"))
    except sqlite3.Error as exc:
        raise IndexCorruptError(f"cannot read {build / META} ({exc})") from exc
    finally:
        db.close()


def _manifest_of(db: sqlite3.Connection, build: Path) -> Manifest:
    try:
        row = db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()
        skipped = dict(db.execute("SELECT name, skipped FROM entries WHERE skipped IS NOT NULL"))
    except sqlite3.Error as exc:
        raise IndexMismatchError(
            f"the index in {build} was written by an older coopbot ({exc}); "
            "run `coopbot index` to rebuild it"
        ) from exc
    if row is None:
        raise IndexCorruptError(f"{build / META} has no manifest; run `coopbot index --full`")
    manifest = Manifest.from_json(row[0], where=build)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {build} has format {manifest.format_version} (this coopbot reads "
            f"{FORMAT_VERSION}); run `coopbot index` to rebuild it"
        )
    return replace(manifest, skipped=skipped)


@contextlib.contextmanager
def build_lock(
    root: Path, on_wait: Callable[[], None] | None = None, *, wait: bool = True
) -> Iterator[None]:
    """Hold the index's build lock; call on_wait once if another build holds it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexLockedError(f"another build of {root} is running") from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexWriter:
    """Changes one build inside a single SQLite transaction; `commit` publishes the change.

    Use `IndexWriter.create` for a full build in a new folder and `IndexWriter.update` to change
    the current build in place. Call it only while holding `build_lock`.
    """

    def __init__(self, root: Path, folder: Path, db: sqlite3.Connection, *, new: bool) -> None:
        self.root = root
        self.folder = folder
        self.db = db
        self.new = new
        self.written: Manifest | None = None
        """The manifest `commit` stored (counts and files filled in)."""

    @classmethod
    def create(cls, root: Path, name: str) -> IndexWriter:
        """A writer for a new, empty build that becomes current on commit."""
        builds = root / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        folder = builds / f"{_TMP_PREFIX}{name}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        db = sqlite3.connect(folder / META, isolation_level=None)
        # WAL from the start: later in-place updates never block a serving process's reads.
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_META_SCHEMA + FTS_SCHEMA)
        db.execute("BEGIN")
        return cls(root, folder, db, new=True)

    @classmethod
    def update(cls, root: Path) -> IndexWriter:
        """A writer that changes the current build in place."""
        build = current_build(root)
        if build is None:
            raise IndexMissingError(f"no index in {root}: run `coopbot index` to build it")
        db = sqlite3.connect(build / META, isolation_level=None, timeout=WRITE_WAIT_SECONDS)
        # WAL: readers (a serving bot) keep reading the last commit while this one writes.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        return cls(root, build, db, new=False)

    def manifest(self) -> Manifest | None:
        """The manifest as last committed (None for a new build)."""
        return None if self.new else _manifest_of(self.db, self.folder)

    def entries(self) -> dict[str, str]:
        """Entry name -> fingerprint, for everything the index has seen (skipped ones too)."""
        return dict(self.db.execute("SELECT name, fingerprint FROM entries"))

    def known_articles(self) -> KnownArticles:
        """The indexed articles' ids, bodies, URLs and signatures, to spot duplicates."""
        return KnownArticles(IndexedArticleLookup(self.db))

    def skipped_as_duplicates(self) -> list[str]:
        """Entries skipped because they duplicated an indexed article."""
        return [name for name, reason in self.db.execute(
            "SELECT name, skipped FROM entries WHERE skipped IS NOT NULL")
            if names_a_duplicate(reason)]

    def has_articles(self) -> bool:
        """True when the index holds at least one article."""
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None

    def remove_entries(self, names: Iterable[str]) -> list[str]:
        """Forget entries, deleting their articles and passages. Returns the article ids."""
        removed: list[str] = []
        for batch in _batches(list(names)):
            marks = ",".join("?" * len(batch))
            ids = [r[0] for r in self.db.execute(
                f"SELECT id FROM articles WHERE entry IN ({marks})", batch)]
            self.remove_articles(ids)
            self.db.execute(f"DELETE FROM entries WHERE name IN ({marks})", batch)
            removed.extend(ids)
        return removed

    def remove_articles(self, ids: Sequence[str]) -> None:
        """Delete articles with their sentences, passages and keyword postings."""
        for batch in _batches(list(ids)):
            marks = ",".join("?" * len(batch))
            rows = [r[0] for r in self.db.execute(
                f"SELECT row FROM chunks WHERE article_id IN ({marks})", batch)]
            remove_keyword_rows(self.db, rows)
            self.db.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", batch)
            self.db.execute(f"DELETE FROM units WHERE article_id IN ({marks})", batch)
            self.db.execute(f"DELETE FROM article_bands WHERE article_id IN ({marks})", batch)
            self.db.execute(f"DELETE FROM articles WHERE id IN ({marks})", batch)

    def set_entries(self, entries: dict[str, tuple[str, str | None]]) -> None:
        """Record entries as seen: name -> (fingerprint, skip reason or None)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
            ((name, fp, reason) for name, (fp, reason) in entries.items()),
        )

    def add_articles(self, articles: Sequence[NewArticle], first_row: int) -> list[int]:
        """Store articles; passages get consecutive rows from `first_row`. Returns the rows."""
        rows: list[int] = []
        row = first_row
        for article in articles:
            r = article.record
            self.db.execute(
                "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (r.id, r.title, r.date.isoformat() if r.date else None, r.source, r.byline,
                 r.place, r.url, r.language, r.file, article.paragraphs, article.entry,
                 article.body_key, canonical_url(r.url) if r.url else None,
                 article.minhash.astype("<u4").tobytes()),
            )
            self.db.executemany("INSERT OR IGNORE INTO article_bands VALUES (?, ?)",
                                ((key, r.id) for key in band_keys(article.minhash)))
            vectors = (article.unit_vectors.astype("<f2") if article.unit_vectors is not None
                       else None)
            self.db.executemany(
                "INSERT INTO units VALUES (?,?,?,?,?)",
                ((r.id, i, p, text, vectors[i].tobytes() if vectors is not None else None)
                 for i, (p, text) in enumerate(article.units)),
            )
            self.db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
                ((row + i, r.id, i, start, end, text)
                 for i, (start, end, text) in enumerate(article.chunks)),
            )
            rows.extend(range(row, row + len(article.chunks)))
            row += len(article.chunks)
        if rows:
            add_keyword_rows(self.db, rows[0])
        return rows

    def commit(
        self,
        manifest: Manifest,
        new_vectors: dict[str, np.ndarray],
        new_rows: Sequence[int],
        vector_cfg: VectorIndexConfig,
    ) -> Path:
        """Write the vector files, store the manifest and publish the change atomically.

        Args:
            manifest: the build's manifest; counts, vector files and next row are filled in.
            new_vectors: per vector space, one row per new passage in `new_rows` order.
            new_rows: the row ids of the new passages.
            vector_cfg: which FAISS structure to use.

        Returns:
            The build folder.
        """
        old = self.manifest()
        generation = (old.extra.get("generation", 0) + 1) if old else 1
        live = int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        articles = int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])
        files: dict[str, str] = {}
        deltas: dict[str, str] = {}
        totals: dict[str, int] = {}
        rows = np.asarray(new_rows, dtype=np.int64)
        for space, vectors in new_vectors.items():
            known = old is not None and space in old.vector_files
            current = open_space(self.folder, old, space, mmap=True) if old and known else None
            main_name = old.vector_files[space] if old and known else ""
            update = updated_space(
                current, partial(read_index, self.folder / main_name, mmap=False),
                vectors, rows, live, self._live_rows, vector_cfg,
            )
            totals[space] = update.total
            files[space] = main_name
            if update.main is not None:
                files[space] = self._write(update.main, f"vectors-{space}-{generation}.faiss")
            if update.delta is not None and update.delta_changed:
                deltas[space] = self._write(update.delta,
                                            f"vectors-{space}-delta-{generation}.faiss")
            elif update.delta is not None and old is not None:
                deltas[space] = old.vector_deltas[space]
        next_row = max([old.next_row if old else 0, int(rows.max()) + 1 if len(rows) else 0])
        final = replace(
            manifest, vector_files=files, vector_deltas=deltas, vector_total=totals,
            next_row=next_row, chunk_count=live, article_count=articles,
            vector_index=vector_cfg.as_dict(),
            extra={**manifest.extra, "generation": generation},
        )
        self.db.execute(
            "INSERT OR REPLACE INTO state VALUES ('manifest', ?)",
            (final.to_json(with_skipped=False),),
        )
        self.db.execute("COMMIT")
        self.db.close()
        self.written = final
        if self.new:
            return self._publish()
        _remove_unreferenced(self.folder, {*files.values(), *deltas.values()})
        return self.folder

    def _write(self, index: Any, name: str) -> str:
        write_index(index, self.folder / name)
        _fsync(self.folder / name)
        return name

    def _live_rows(self) -> np.ndarray:
        return np.fromiter((r for (r,) in self.db.execute("SELECT row FROM chunks")),
                           dtype=np.int64)

    def _publish(self) -> Path:
        _fsync(self.folder / META)
        final = self.root / "builds" / self.folder.name.removeprefix(_TMP_PREFIX)
        os.replace(self.folder, final)
        pointer = self.root / f"{CURRENT}.tmp"
        pointer.write_text(final.name + "\n", encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, self.root / CURRENT)
        _fsync(self.root)
        return final

    def abort(self) -> None:
        """Roll back; a new build's folder is removed."""
        with contextlib.suppress(sqlite3.Error):
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self.db.close()
        if self.new:
            shutil.rmtree(self.folder, ignore_errors=True)


def _batches(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _IN_BATCH):
        yield items[start : start + _IN_BATCH]


def _remove_unreferenced(folder: Path, keep: set[str]) -> None:
    """Delete vector files no manifest points to (older generations, crashed updates)."""
    for path in folder.glob("vectors-*.faiss"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


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
        marks = ",".join("?" * len(keys))
        rows = self._db.execute(
            "SELECT id, minhash, date FROM articles WHERE id IN "
            f"(SELECT article_id FROM article_bands WHERE band IN ({marks}))", list(keys))
        return [(article_id, np.frombuffer(blob, dtype="<u4"),
                 date.fromisoformat(day) if day else None) for article_id, blob, day in rows]

    def _one(self, sql: str, value: str) -> str | None:
        row = self._db.execute(sql, (value,)).fetchone()
        return None if row is None else str(row[0])


def open_space(build: Path, manifest: Manifest, space: str, *, mmap: bool) -> VectorSpace:
    """A vector space's main and delta files, checked against the manifest's count.

    Raises:
        IndexCorruptError: a file is missing, unreadable, or holds another number of vectors.
    """
    ef = manifest.vector_index.get("ef_search")
    main = read_index(build / manifest.vector_files[space], mmap=mmap, ef_search=ef)
    delta_name = manifest.vector_deltas.get(space)
    delta = read_index(build / delta_name, mmap=mmap) if delta_name else None
    opened = VectorSpace(main, delta)
    if opened.ntotal != manifest.vector_total.get(space):
        raise IndexCorruptError(
            f"the {space} vectors in {build} number {opened.ntotal}, the manifest says "
            f"{manifest.vector_total.get(space)}; run `coopbot index --full` to rebuild"
        )
    return opened


def prune_builds(root: Path) -> None:
    """Delete builds other than the current one, and temporaries left by crashed builds.

    Call it only while holding the build lock. A process still serving an old build keeps its
    open files: on POSIX an unlinked file lives on until closed.
    """
    keep = current_build(root)
    builds = root / "builds"
    if not builds.is_dir():
        return
    for path in builds.iterdir():
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)


class LoadedIndex:
    """A build opened for searching: vectors memory-mapped, texts read from SQLite on demand."""

    def __init__(self, build: Path, db: sqlite3.Connection, manifest: Manifest) -> None:
        self.path = build
        self.manifest = manifest
        self.spaces: dict[str, VectorSpace] = {
            space: open_space(build, manifest, space, mmap=True) for space in manifest.vector_files
        }
        self._db = db
        self._keyword = KeywordSearcher(self._db)
        self._version = self._data_version()
        # One connection shared by worker threads; sqlite3 objects need the lock for that.
        self._lock = threading.Lock()

    def _data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        """True once the index changed on disk: this build was updated in place by another
        process, or another build became current. Reopen to see the change."""
        with self._lock:
            if self._data_version() != self._version:
                return True
        return current_build(self.path.parent.parent) != self.path

    def search(
        self, query: np.ndarray, n: int, space: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (scores, rows) for one normalised query vector in one vector space.

        Rows of articles removed since the vectors were written may appear; `chunks` does not
        resolve them, so callers drop them.
        """
        import faiss

        vectors = self.spaces[space]
        n = min(n, vectors.ntotal)
        if n <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        # One question is too little work to share: OpenMP's thread start-up and spinning cost
        # more than they save, and slow the encoders that run next. The setting is per thread,
        # so an index build in another thread keeps every core.
        faiss.omp_set_num_threads(1)
        scores, rows = vectors.search(query.reshape(1, -1).astype(np.float32), n)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def keyword_search(
        self, question: str, n: int, expansions: Sequence[str] = (), *, correct: bool = True
    ) -> tuple[KeywordQuery, list[tuple[int, float]]]:
        """BM25 top-n (row, score) for a question, with the terms actually searched."""
        with self._lock:
            query = self._keyword.prepare(question, expansions, correct=correct)
            return query, self._keyword.search(query, n)

    def chunks(self, rows: Sequence[int]) -> dict[int, ChunkRecord]:
        """Chunk records by row (rows of removed articles are absent)."""
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        with self._lock:
            found = self._db.execute(
                f"SELECT row, article_id, ordinal, start, end, text FROM chunks "
                f"WHERE row IN ({marks})", [int(r) for r in rows],
            ).fetchall()
        return {r[0]: ChunkRecord(*r) for r in found}

    def units(self, article_id: str, start: int, end: int) -> list[tuple[int, str]]:
        """(paragraph, sentence) units [start, end) of an article."""
        return [(p, text) for _, p, text in self.unit_rows(article_id, start, end)]

    def unit_rows(self, article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
        """(index, paragraph, sentence) units [start, end) of an article."""
        with self._lock:
            return self._db.execute(
                "SELECT idx, paragraph, text FROM units WHERE article_id = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx", (article_id, start, end),
            ).fetchall()

    def unit_vectors(self, article_id: str, start: int, end: int) -> dict[int, np.ndarray]:
        """Stored primary-space sentence vectors of units [start, end) (those that have one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, vector FROM units WHERE article_id = ? AND idx >= ? AND idx < ? "
                "AND vector IS NOT NULL", (article_id, start, end),
            ).fetchall()
        return {i: np.frombuffer(blob, dtype="<f2").astype(np.float32) for i, blob in rows}

    def articles(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """Article records by id (all of them when ids is None)."""
        sql = "SELECT id, title, date, source, byline, place, url, language, file FROM articles"
        params: list[str] = []
        if ids is not None:
            if not ids:
                return {}
            sql += f" WHERE id IN ({','.join('?' * len(ids))})"
            params = list(ids)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return {
            r[0]: ArticleRecord(r[0], r[1], date.fromisoformat(r[2]) if r[2] else None, *r[3:])
            for r in rows
        }

    def close(self) -> None:
        """Release the SQLite connection."""
        with self._lock:
            self._db.close()


def _open_readonly(path: Path) -> sqlite3.Connection:
    try:
        try:
            db = _connect_readonly(path)
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc) or not path.is_file():
                raise
            db = _connect_immutable(path)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise IndexBusyError(f"{path} is locked by another program ({exc}); run again "
                                 "once it is done") from exc
        raise IndexCorruptError(
            f"cannot read {path} ({exc}); run `coopbot index --full` to rebuild"
        ) from exc
    except sqlite3.Error as exc:
        raise IndexCorruptError(
            f"cannot read {path} ({exc}); run `coopbot index --full` to rebuild"
        ) from exc
    return db


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


def article_summaries(root: Path, ids: Sequence[str] | None = None) -> list[ArticleSummary]:
    """The articles of the current build (all, or those of `ids`), newest first, without
    loading any vectors."""
    build = current_build(root)
    if build is None:
        raise IndexMissingError(f"no index in {root}: run `coopbot index` to build it")
    db = _open_readonly(build / META)
    where, params = "", list(ids or ())
    if ids is not None:
        where = f"WHERE a.id IN ({','.join('?' * len(params))})"
    try:
        rows = db.execute(
            "SELECT a.id, a.title, a.date, a.source, a.url, a.entry, count(c.row) "
            f"FROM articles a LEFT JOIN chunks c ON c.article_id = a.id {where} "
            "GROUP BY a.id ORDER BY a.date IS NULL, a.date DESC, a.id", params
        ).fetchall()
    except sqlite3.Error as exc:
        raise IndexCorruptError(f"cannot read {build / META} ({exc}); run `coopbot index "
                                "--full` to rebuild") from exc
    finally:
        db.close()
    return [ArticleSummary(r[0], r[1], date.fromisoformat(r[2]) if r[2] else None, *r[3:])
            for r in rows]


@contextlib.contextmanager
def known_articles(root: Path) -> Iterator[KnownArticles]:
    """The current build's articles as duplicate checks need them (none without an index),
    read from the index database while the context lasts."""
    build = current_build(root)
    if build is None:
        yield KnownArticles()
        return
    db = _open_readonly(build / META)
    try:
        db.execute("SELECT 1 FROM article_bands LIMIT 1")
        yield KnownArticles(IndexedArticleLookup(db))
    except sqlite3.Error as exc:
        raise IndexCorruptError(f"cannot read {build / META} ({exc}); run `coopbot index "
                                "--full` to rebuild") from exc
    finally:
        db.close()


def article_date_range(build: Path) -> tuple[date, date] | None:
    """Oldest and newest article dates of a build, without loading its vectors."""
    db = _open_readonly(build / META)
    try:
        low, high = db.execute("SELECT min(date), max(date) FROM articles").fetchone()
    finally:
        db.close()
    return (date.fromisoformat(low), date.fromisoformat(high)) if low else None


def open_index(
    root: Path, *, model: str, chunker: dict[str, float], multilingual_model: str | None = None
) -> LoadedIndex:
    """Open the current build, refusing one built with another model or chunker."""
    build = current_build(root)
    if build is None:
        raise IndexMissingError(f"no index in {root}: run `coopbot index` to build it")
    db = _open_readonly(build / META)
    try:
        manifest = _manifest_of(db, build)
        manifest.check_compatible(
            model=model, chunker=chunker, where=build, multilingual_model=multilingual_model
        )
        return LoadedIndex(build, db, manifest)
    except BaseException:
        db.close()
        raise
