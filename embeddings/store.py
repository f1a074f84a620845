"""The index on disk: a root folder holding immutable builds and a pointer to the current one.

    index/
      CURRENT                  name of the build being served (replaced atomically)
      builds/<name>/           manifest.json, meta.sqlite (passages, FTS5 keyword index),
                               vectors.faiss, vectors-multilingual.faiss (optional)
      embedding-cache.sqlite   vectors by model + text, survives rebuilds
      build.lock               serialises concurrent builds

A build is written under builds/.tmp-<name>, renamed into place, and only then does CURRENT
change, so a crash at any point leaves the previous build loadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoders import MULTILINGUAL, PRIMARY
from embeddings.errors import IndexCorruptError, IndexLockedError, IndexMissingError
from embeddings.keyword import FTS_SCHEMA, KeywordQuery, KeywordSearcher, build_keyword_index
from embeddings.manifest import Manifest

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
VECTOR_FILES = {PRIMARY: VECTORS, MULTILINGUAL: "vectors-multilingual.faiss"}
META = "meta.sqlite"
CURRENT = "CURRENT"
CACHE = "embedding-cache.sqlite"
LOCK = "build.lock"
_TMP_PREFIX = ".tmp-"

_META_SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT, byline TEXT,
    place TEXT, url TEXT, language TEXT, file TEXT NOT NULL, paragraphs INTEGER NOT NULL
);
CREATE TABLE units (
    article_id TEXT NOT NULL, idx INTEGER NOT NULL, paragraph INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (article_id, idx)
) WITHOUT ROWID;
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,  -- the vector's position in the FAISS index
    article_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL
);
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
    path = build / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IndexCorruptError(
            f"cannot read {path} ({exc}); run `coopbot index` to rebuild"
        ) from exc
    return Manifest.from_json(text, where=path)


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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BuildWriter:
    """Writes one new build into a temporary folder; `commit` makes it current atomically."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        builds = root / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        self.tmp = builds / f"{_TMP_PREFIX}{name}"
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        self.db = sqlite3.connect(self.tmp / META)
        self.db.executescript(_META_SCHEMA + FTS_SCHEMA)

    def add_article(
        self, record: ArticleRecord, paragraphs: int, units: Sequence[tuple[int, str]]
    ) -> None:
        """Store an article and its units (paragraph number, sentence text)."""
        self.db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
            (record.id, record.title, record.date.isoformat() if record.date else None,
             record.source, record.byline, record.place, record.url, record.language,
             record.file, paragraphs),
        )
        self.db.executemany(
            "INSERT INTO units VALUES (?,?,?,?)",
            ((record.id, i, p, text) for i, (p, text) in enumerate(units)),
        )

    def add_chunks(self, chunks: Sequence[ChunkRecord]) -> None:
        """Store chunks; their rows must match the vectors' order."""
        self.db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
            ((c.row, c.article_id, c.ordinal, c.start, c.end, c.text) for c in chunks),
        )

    def commit(self, vectors: dict[str, np.ndarray], manifest: Manifest) -> Path:
        """Write vectors and manifest, move the build into place and point CURRENT at it.

        Args:
            vectors: per vector space (``primary``, optionally ``multilingual``), one row per
                chunk in chunk-row order.
            manifest: what the build was made from.
        """
        import faiss

        texts = self.db.execute(
            "SELECT text FROM chunks UNION ALL SELECT title FROM articles"
        ).fetchall()
        build_keyword_index(self.db, (t for (t,) in texts))
        self.db.commit()
        self.db.close()
        written = [META, MANIFEST]
        for space, matrix in vectors.items():
            # Inner product equals cosine on the normalised vectors every encoder returns.
            index = faiss.IndexFlatIP(matrix.shape[1])
            if len(matrix):
                index.add(np.ascontiguousarray(matrix, dtype=np.float32))
            faiss.write_index(index, str(self.tmp / VECTOR_FILES[space]))
            written.append(VECTOR_FILES[space])
        (self.tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        for name in written:
            with open(self.tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        final = self.root / "builds" / self.name
        os.replace(self.tmp, final)
        pointer = self.root / f"{CURRENT}.tmp"
        pointer.write_text(self.name + "\n", encoding="utf-8")
        with open(pointer, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(pointer, self.root / CURRENT)
        _fsync_dir(self.root)
        return final

    def abort(self) -> None:
        """Drop the temporary build."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


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
    """A build opened for searching: vectors in memory, texts read from SQLite on demand."""

    def __init__(self, build: Path, manifest: Manifest) -> None:

        self.path = build
        self.manifest = manifest
        self.spaces: dict[str, Any] = {PRIMARY: _read_vectors(build / VECTORS, manifest)}
        if manifest.multilingual_model is not None:
            self.spaces[MULTILINGUAL] = _read_vectors(
                build / VECTOR_FILES[MULTILINGUAL], manifest
            )
        self._db = _open_readonly(build / META)
        self._keyword = KeywordSearcher(self._db)
        # One connection shared by worker threads; sqlite3 objects need the lock for that.
        self._lock = threading.Lock()

    @property
    def vectors(self) -> Any:
        """The primary FAISS index."""
        return self.spaces[PRIMARY]

    def search(
        self, query: np.ndarray, n: int, space: str = PRIMARY
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (scores, rows) for one normalised query vector in one vector space."""
        vectors = self.spaces[space]
        n = min(n, vectors.ntotal)
        if n <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
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
        """Chunk records by row."""
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
        with self._lock:
            return self._db.execute(
                "SELECT paragraph, text FROM units WHERE article_id = ? AND idx >= ? AND idx < ? "
                "ORDER BY idx", (article_id, start, end),
            ).fetchall()

    def unit_rows(self, article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
        """(index, paragraph, sentence) units [start, end) of an article."""
        with self._lock:
            return self._db.execute(
                "SELECT idx, paragraph, text FROM units WHERE article_id = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx", (article_id, start, end),
            ).fetchall()

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


def _read_vectors(path: Path, manifest: Manifest) -> Any:
    import faiss

    try:
        vectors = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(
            f"cannot read {path} ({exc}); run `coopbot index` to rebuild"
        ) from exc
    if vectors.ntotal != manifest.chunk_count:
        raise IndexCorruptError(
            f"{path} holds {vectors.ntotal} vectors, the manifest says "
            f"{manifest.chunk_count}; run `coopbot index` to rebuild"
        )
    return vectors


def _open_readonly(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        db.execute("SELECT count(*) FROM chunks").fetchone()
    except sqlite3.Error as exc:
        raise IndexCorruptError(
            f"cannot read {path} ({exc}); run `coopbot index` to rebuild"
        ) from exc
    return db


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
    manifest = read_manifest(root)
    build = current_build(root)
    assert build is not None  # read_manifest raised otherwise
    manifest.check_compatible(
        model=model, chunker=chunker, where=build, multilingual_model=multilingual_model
    )
    return LoadedIndex(build, manifest)
