"""The embedding cache every machine shares, in the database (`coopbot_embeddings`): the
interface of `embeddings.encoders.cache.EmbeddingCache`, the same keys and the same bytes, so
that a build on one machine reuses what workers on others encoded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.encoders.cache import cache_key, vector_bytes, vector_from
from embeddings.index.postgres.connection import connect, database_errors

if TYPE_CHECKING:
    import psycopg

CACHE_TABLE = "public.coopbot_embeddings"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {CACHE_TABLE} (
    key bytea PRIMARY KEY,      -- sha256(model NUL text), as the embedded cache's
    vector bytea NOT NULL       -- little-endian float32 (float16 for span vectors)
);
"""
_LOOKUP_BATCH = 5000


def create_cache_table(db: psycopg.Connection[Any], url: str) -> None:
    """Create the shared cache's table unless it exists (the one place that does)."""
    with database_errors(url, writing=True), db.transaction():
        # Builds and workers starting together take turns: two concurrent CREATE TABLE IF NOT
        # EXISTS can still collide in the catalogue.
        db.execute("SELECT pg_advisory_xact_lock(hashtext('coopbot_embeddings'))")
        db.execute(SCHEMA)


class SharedEmbeddingCache:
    """Vectors by (model, text) in the database at `url`, over its own autocommit connection
    or over `db` (whose owner closes it)."""

    def __init__(self, url: str, model: str, dim: int | None = None, *,
                 db: psycopg.Connection[Any] | None = None) -> None:
        self.url = url
        self._model = model
        self._dim = dim
        self._owned = db is None
        self.db = connect(url, autocommit=True) if db is None else db
        create_cache_table(self.db, url)

    def keys(self, texts: Sequence[str]) -> list[bytes]:
        """Cache keys of texts under this cache's model."""
        return [cache_key(self._model, t) for t in texts]

    def get_many(self, keys: Sequence[bytes], *, spans: bool = False) -> dict[bytes, np.ndarray]:
        """Cached vectors for those keys that are present (span vectors flattened)."""
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with database_errors(self.url):
            for start in range(0, len(unique), _LOOKUP_BATCH):
                rows = self.db.execute(
                    f"SELECT key, vector FROM {CACHE_TABLE} WHERE key = ANY(%s)",
                    (unique[start : start + _LOOKUP_BATCH],)).fetchall()
                for key, blob in rows:
                    vector = vector_from(bytes(blob), spans=spans)
                    if spans or self._dim is None or vector.shape == (self._dim,):
                        found[bytes(key)] = vector
        return found

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]], *,
                 spans: Iterable[tuple[bytes, np.ndarray]] = ()) -> None:
        """Store vectors and their span vectors in one commit (what is there stays)."""
        rows = [(k, vector_bytes(v)) for k, v in items]
        rows += [(k, vector_bytes(v, spans=True)) for k, v in spans]
        with (database_errors(self.url, writing=True), self.db.transaction(),
              self.db.cursor() as cursor):
            cursor.executemany(f"INSERT INTO {CACHE_TABLE} (key, vector) VALUES (%s, %s) "
                               "ON CONFLICT (key) DO NOTHING", rows)

    def close(self) -> None:
        """Close the connection, if it is this cache's own."""
        if self._owned:
            self.db.close()
