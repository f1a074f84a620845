"""What front ends call: make sure the index is fresh, then open a retriever over it."""

from __future__ import annotations

from collections.abc import Callable

from embeddings.builder import BuildObserver, BuildReport, build_index, check_freshness
from embeddings.config import IndexConfig
from embeddings.encoders import Encoder
from embeddings.retrieval import RetrievalConfig, Retriever
from embeddings.store import open_index


def ensure_index(
    cfg: IndexConfig,
    encoder: Encoder,
    *,
    observer: BuildObserver | None = None,
    notify: Callable[[str], None] = lambda _: None,
) -> BuildReport | None:
    """Build the index when it is missing or stale; `notify` gets one line saying why."""
    freshness = check_freshness(cfg, encoder.name)
    if freshness.fresh:
        return None
    if freshness.manifest is None:
        notify(f"no index in {cfg.index_dir} yet: building it from {cfg.seeds_dir}")
    else:
        notify("index is out of date (" + "; ".join(freshness.reasons) + "): rebuilding")
    return build_index(cfg, encoder, observer)


def open_retriever(
    cfg: IndexConfig, encoder: Encoder, retrieval: RetrievalConfig | None = None
) -> Retriever:
    """A Retriever over the current build; raises if it is missing or built differently."""
    index = open_index(cfg.index_dir, model=encoder.name, chunker=cfg.chunk.as_dict())
    return Retriever(index, encoder, retrieval)
