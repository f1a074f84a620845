"""Plain configuration objects the core receives (front ends build them from settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from embeddings.articles.parsing import DEFAULT_MAX_FILE_BYTES
from embeddings.chunking.chunker import ChunkConfig
from embeddings.index.layout import CACHE
from embeddings.index.vectors import VectorIndexConfig


@dataclass(frozen=True)
class IndexConfig:
    """Where articles are read from (a folder or a JSONL file) and the index is written, how
    passages are cut, and which vector index holds them."""

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    vectors: VectorIndexConfig = field(default_factory=VectorIndexConfig)
    multilingual_inline: int | None = 2_000
    """An embedded build that must encode more passages than this in the multilingual space
    publishes without them and fills them in afterwards (`index.filling`): e5 encodes about
    15-25 passages a second on 2 cores, a tenth of MiniLM's speed. None: always inline."""
    multilingual_limit: int | None = 10_000
    """A full database build over more passages than this leaves out the multilingual vectors
    (the PostgreSQL engine has no fill yet); None: no limit."""

    database_url: str | None = None
    """A PostgreSQL URL: the index lives in that database (pgvector) instead of the index
    folder's SQLite + FAISS files; None: the embedded engine."""
    build_encodes: bool = True
    """With a database: whether a build encodes its own jobs beside the `coopbot worker`
    processes (False: it queues them and waits for the workers)."""

    @property
    def cache_path(self) -> Path:
        """The embedding cache, beside the builds so it survives them."""
        return self.index_dir / CACHE
