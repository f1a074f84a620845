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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    key BLOB PRIMARY KEY,   -- sha256(model NUL text)
    vector BLOB NOT NULL    -- little-endian float32 (float16 for a cache opened so)
) WITHOUT ROWID;
"""
_IN_CLAUSE_BATCH = 500  # stay well below SQLite's bound-parameter limit


def cache_key(model: str, text: str) -> bytes:
    """The cache key of one text embedded by one model."""
    return hashlib.sha256(f"{model}\0{text}".encode()).digest()


class EmbeddingCache:
    """Vectors by (model, text) in one SQLite file."""

    def __init__(
        self, path: Path, model: str, dim: int | None = None, *, half: bool = False
    ) -> None:
        """Open (creating) the cache file for one model's vectors.

        Args:
            dim: the vectors' dimension, when known; entries of another shape are ignored.
            half: store float16 (sentence vectors: the index keeps them at that precision).
                Give such a cache a model name of its own, since entries hold no type.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self._model = model
        self._dim = dim
        self._dtype = "<f2" if half else "<f4"
        self._db = sqlite3.connect(path, timeout=30)
        # WAL: a reader (status, a serving bot) never blocks the builder, and vice versa.
        self._db.execute("PRAGMA journal_mode=WAL")
        # A commit per batch without an fsync each (3,000 of them cost 18 s in a 100k build).
        # WAL keeps the file consistent; a power cut loses at most the last batches.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def keys(self, texts: Sequence[str]) -> list[bytes]:
        """Cache keys of texts under this cache's model."""
        return [cache_key(self._model, t) for t in texts]

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Cached vectors for those keys that are present."""
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _IN_CLAUSE_BATCH):
            batch = unique[start : start + _IN_CLAUSE_BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", batch
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=self._dtype)
                # dim None: the caller checks shapes (it may not know the dimension yet).
                if self._dim is None or vector.shape == (self._dim,):
                    found[key] = vector
        return found

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors and commit."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (key, vector) VALUES (?, ?)",
                ((key, np.asarray(vec, dtype=self._dtype).tobytes()) for key, vec in items),
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()
