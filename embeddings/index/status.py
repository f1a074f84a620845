"""What `coopbot status` reports: what the index holds, how it was built, and whether it is
fresh, read without loading any vectors or models."""

from __future__ import annotations

from typing import Any

from embeddings.config import IndexConfig
from embeddings.index.engine import build_facts
from embeddings.index.freshness import check_freshness


def status_of(cfg: IndexConfig, model: str, multilingual_model: str | None) -> dict[str, Any]:
    """The status as `coopbot status --json` prints it.

    Nothing is loaded but the manifest and the corpus's fingerprints.

    Args:
        cfg: the index settings.
        model: the configured primary model's name.
        multilingual_model: the configured multilingual model's name, if any.
    """
    freshness = check_freshness(cfg, model, multilingual_model)
    manifest = freshness.manifest
    if manifest is None:
        return {"built": False, "index_dir": str(cfg.index_dir),
                "reason": freshness.reasons[0]}
    facts = build_facts(cfg)

    name, dates, kinds = facts if facts else (None, None, {})
    return {
        "built": True, "index_dir": str(cfg.index_dir),
        "build": name, "engine": "postgresql" if cfg.database_url else "embedded",
        "built_at": manifest.built_at, "build_seconds": manifest.build_seconds,
        "model": manifest.model, "dimension": manifest.dimension,
        "multilingual_model": manifest.multilingual_model,
        "multilingual_passages": manifest.multilingual_filled,
        "max_tokens": manifest.max_tokens, "chunker": manifest.chunker,
        "articles": manifest.article_count, "chunks": manifest.chunk_count,
        "date_range": [d.isoformat() for d in dates] if dates else None,
        "skipped": manifest.skipped, "source": manifest.source,
        "updated_at": manifest.updated_at,
        "vector_index": {space: kinds.get(space) for space in manifest.vector_files},
        "fresh": freshness.fresh, "changes": list(freshness.reasons),
        "coopbot_version": manifest.coopbot_version,
    }
