"""An embedding cache keyed by model and passage text, kept outside the index builds.

Rebuilding re-embeds only text the cache has not seen, so an unchanged corpus embeds nothing
and a new article embeds only its own passages. Entries are committed batch by batch, so the
work of a build that is killed halfway is not lost either.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

# A rowid table, so new vectors are appended; only the small key index takes random inserts.
# (The first cache was a WITHOUT ROWID table keyed by the hash: every insert split pages all
# over the file. For 98k passages it took 29 s and 1,325 MB to write; this table 9 s, 748 MB.)
TABLE = "vectors"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,  -- sha256(model NUL text)
    vector BLOB NOT NULL       -- little-endian float32 (float16 for span vectors)
);
"""
_OLD_TABLE = "embeddings"
_IN_CLAUSE_BATCH = 500  # stay well below SQLite's bound-parameter limit


def cache_key(model: str, text: str) -> bytes:
    """The cache key of one text embedded by one model."""
    return hashlib.sha256(f"{model}\0{text}".encode()).digest()


def vector_bytes(vector: np.ndarray, *, spans: bool = False) -> bytes:
    """A vector as the cache stores it: little-endian float32, float16 for span vectors."""
    return np.asarray(vector, dtype="<f2" if spans else "<f4").tobytes()


def vector_from(blob: bytes, *, spans: bool = False) -> np.ndarray:
    """`vector_bytes`'s input back (span vectors flattened)."""
    return np.frombuffer(blob, dtype="<f2" if spans else "<f4")


class EmbeddingCache:
    """Vectors by (model, text) in one SQLite file."""

    def __init__(self, path: Path, model: str, dim: int | None = None) -> None:
        """Open (creating) the cache file for one model's vectors.

        Args:
            dim: the vectors' dimension, when known; entries of another shape are ignored.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self._model = model
        self._dim = dim
        self._db = sqlite3.connect(path, timeout=30)
        # WAL: a reader (status, a serving bot) never blocks the builder, and vice versa.
        self._db.execute("PRAGMA journal_mode=WAL")
        # A commit per batch without an fsync each (3,000 of them cost 18 s in a 100k build).
        # WAL keeps the file consistent; a power cut loses at most the last batches.
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")  # one process creates or migrates the table
            self._db.execute(_SCHEMA)
            migrated = _migrate(self._db)
        if migrated:
            # Once, after an upgrade: give the old table's pages back (about 40% of the file).
            self._db.execute("VACUUM")

    def keys(self, texts: Sequence[str]) -> list[bytes]:
        """Cache keys of texts under this cache's model."""
        return [cache_key(self._model, t) for t in texts]

    def get_many(self, keys: Sequence[bytes], *, spans: bool = False) -> dict[bytes, np.ndarray]:
        """Cached vectors for those keys that are present.

        Args:
            spans: the keys are of span vectors, stored by `put_many(spans=...)` as float16
                (the index keeps sentence vectors at that precision) and flattened, so of no
                fixed dimension. Key them under a model name of their own.
        """
        dim = None if spans else self._dim
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _IN_CLAUSE_BATCH):
            batch = unique[start : start + _IN_CLAUSE_BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector FROM {TABLE} WHERE key IN ({marks})", batch
            )
            for key, blob in rows:
                vector = vector_from(blob, spans=spans)
                # dim None: the caller checks shapes (it may not know the dimension yet).
                if dim is None or vector.shape == (dim,):
                    found[key] = vector
        return found

    def count_missing(self, keys: Sequence[bytes]) -> int:
        """How many of the distinct keys the cache lacks (nothing is read but the keys)."""
        unique = list(dict.fromkeys(keys))
        present = 0
        for start in range(0, len(unique), _IN_CLAUSE_BATCH):
            batch = unique[start : start + _IN_CLAUSE_BATCH]
            marks = ",".join("?" * len(batch))
            present += int(self._db.execute(
                f"SELECT count(*) FROM {TABLE} WHERE key IN ({marks})", batch).fetchone()[0])
        return len(unique) - present

    def put_many(
        self, items: Iterable[tuple[bytes, np.ndarray]], *,
        spans: Iterable[tuple[bytes, np.ndarray]] = (),
    ) -> None:
        """Store vectors, and their passages' span vectors as float16, in one commit.

        One commit for both, because a build looks a passage up by both: one killed between
        two commits kept vectors it could not reuse, and encoded those passages again.
        """
        insert = f"INSERT OR REPLACE INTO {TABLE} (key, vector) VALUES (?, ?)"
        with self._db:
            self._db.executemany(insert, ((key, vector_bytes(vec)) for key, vec in items))
            self._db.executemany(
                insert, ((key, vector_bytes(vec, spans=True)) for key, vec in spans))

    def forget(self, keys: Iterable[bytes]) -> None:
        """Delete entries (of any model), so the next build encodes those texts again."""
        with self._db:
            self._db.executemany(f"DELETE FROM {TABLE} WHERE key = ?", ((k,) for k in keys))

    def stored_keys(self) -> set[bytes]:
        """Every key in the file, of any model."""
        return {key for (key,) in self._db.execute(f"SELECT key FROM {TABLE}")}

    def __len__(self) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def _migrate(db: sqlite3.Connection) -> bool:
    """Move the entries of a cache written by an older coopbot into the current table, so
    upgrading re-encodes nothing. Runs inside the caller's transaction."""
    old = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                     (_OLD_TABLE,)).fetchone()
    if old is None:
        return False
    db.execute(f"INSERT OR IGNORE INTO {TABLE} (key, vector) SELECT key, vector FROM {_OLD_TABLE}")
    db.execute(f"DROP TABLE {_OLD_TABLE}")
    return True
