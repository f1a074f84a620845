"""The manifest: what an index was built from and with, kept in the index's SQLite file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from embeddings import __version__
from embeddings.errors import IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 9  # 4: articles keep a URL key and a MinHash signature; 5: its LSH bands;
# 6: their aliases (abbreviations); 7: sentences keep a multilingual vector too; 8: articles
# keep the countries they are about; 9: articles whose multilingual vectors are still pending
# Bump when parsing or chunking changes what the same files produce; the index is then stale.
PIPELINE_VERSION = 1
PENDING_KEY = "multilingual_pending"
"""The `extra` entry counting passages whose multilingual vectors are still to be filled in."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built with, and what it holds; stored in the index's SQLite file."""

    model: str
    dimension: int
    max_tokens: int
    chunker: dict[str, float]
    built_at: str
    build_seconds: float
    chunk_count: int
    """Passages searchable now (vectors of removed articles may linger until compaction)."""
    article_count: int = 0
    source: str = ""
    """The folder or JSONL file the articles came from."""
    multilingual_model: str | None = None
    """Second vector space for questions in other languages; None when built without one."""
    vector_index: dict[str, Any] = field(default_factory=dict)
    """The vector index settings (kind, thresholds) the build used."""
    vector_files: dict[str, str] = field(default_factory=dict)
    """Vector space -> FAISS file name in the build folder."""
    vector_deltas: dict[str, str] = field(default_factory=dict)
    """Vector space -> FAISS file of the vectors added since its main file was written."""
    vector_total: dict[str, int] = field(default_factory=dict)
    """Vector space -> vectors in its FAISS files (live and dead)."""
    next_row: int = 0
    """The row id the next passage gets; rows are never reused."""
    updated_at: str | None = None
    """When articles were last added or removed in place (None: never since built_at)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Entry name -> reason, for files or records that could not be indexed."""
    format_version: int = FORMAT_VERSION
    pipeline_version: int = PIPELINE_VERSION
    coopbot_version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def multilingual_pending(self) -> int:
        """Passages whose multilingual vectors are still to be filled in (`index.filling`);
        until then the multilingual space holds the others."""
        return int(self.extra.get(PENDING_KEY, 0))

    @property
    def multilingual_filled(self) -> int | None:
        """Passages with multilingual vectors (all of them unless a fill is pending); None for
        an index without a multilingual space."""
        if self.multilingual_model is None:
            return None
        return max(0, self.chunk_count - self.multilingual_pending)

    def to_json(self, *, with_skipped: bool = True) -> str:
        """Serialise (the store keeps `skipped` in its own table and leaves it out)."""
        data = asdict(self)
        if not with_skipped:
            data.pop("skipped")
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, where: Path) -> Manifest:
        """Parse a manifest, raising IndexCorruptError with the path when it is unreadable."""
        try:
            data = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise IndexCorruptError(
                f"index manifest in {where} is unreadable ({exc}); "
                "run `coopbot index --full` to rebuild"
            ) from exc

    def check_compatible(
        self,
        *,
        model: str,
        chunker: dict[str, float],
        where: Path,
        multilingual_model: str | None = None,
    ) -> None:
        """Refuse an index built with another model, chunker or on-disk format."""
        problems = []
        # An index without multilingual vectors (left out for size, or built without them)
        # still serves: Vietnamese questions fall back to the primary model.
        if self.multilingual_model not in (None, multilingual_model) and multilingual_model:
            problems.append(
                f"multilingual model {self.multilingual_model!r} "
                f"(configured: {multilingual_model!r})"
            )
        if self.format_version != FORMAT_VERSION:
            problems.append(f"format {self.format_version} (this coopbot reads {FORMAT_VERSION})")
        if self.model != model:
            problems.append(f"model {self.model!r} (configured: {model!r})")
        if self.chunker != chunker:
            problems.append(
                f"chunker {describe_settings(self.chunker)} "
                f"(configured: {describe_settings(chunker)})"
            )
        if problems:
            raise IndexMismatchError(
                f"the index in {where} was built with " + "; ".join(problems)
                + ". Run `coopbot index` to rebuild it with the current settings."
            )


def describe_settings(settings: dict[str, float]) -> str:
    """Settings as stable, readable text, e.g. ``overlap_sentences=1, target_tokens=96``."""
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def fingerprint_bytes(data: bytes) -> str:
    """Content fingerprint of an article file."""
    return hashlib.sha256(data).hexdigest()
