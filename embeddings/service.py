"""What front ends call: keep the index fresh, open a retriever over it, remove articles."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from embeddings.config import IndexConfig
from embeddings.corpus.sources import remove_entry
from embeddings.encoders.base import Encoder, Encoders, as_encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import BuildObserver, BuildReport, build_index, check_freshness
from embeddings.index.store import article_summaries, open_index
from embeddings.search.rerank import Reranker
from embeddings.search.retrieval import RetrievalConfig, Retriever


def ensure_index(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    *,
    observer: BuildObserver | None = None,
    notify: Callable[[str], None] = lambda _: None,
) -> BuildReport | None:
    """Build the index when it is missing or stale; `notify` gets one line saying why."""
    encoders = as_encoders(encoders)
    freshness = check_freshness(cfg, encoders.primary.name, encoders.multilingual_name)
    if freshness.fresh:
        return None
    if freshness.other_source and freshness.manifest is not None:
        # Rebuilding from the configured folder would throw away an index someone built on
        # purpose from another corpus (`coopbot index --from-jsonl`, say): serve it as built.
        notify(f"the index was built from {freshness.manifest.source}, not from "
               f"{cfg.seeds_dir}; answering from it as built (set COOPBOT_SEEDS_DIR to "
               f"{freshness.manifest.source}, or run `coopbot index` to rebuild)")
        return None
    if freshness.manifest is None:
        notify(f"no index in {cfg.index_dir} yet: building it from {cfg.seeds_dir}")
    else:
        notify("index is out of date (" + "; ".join(freshness.reasons) + "): rebuilding")
    return build_index(cfg, encoders, observer)


def open_retriever(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    retrieval: RetrievalConfig | None = None,
    *,
    reranker: Reranker | None = None,
) -> Retriever:
    """A Retriever over the current build; raises if it is missing or built differently."""
    encoders = as_encoders(encoders)
    index = open_index(
        cfg.index_dir, model=encoders.primary.name, chunker=cfg.chunk.as_dict(),
        multilingual_model=encoders.multilingual_name,
    )
    return Retriever(index, encoders, retrieval, reranker=reranker)


def remove_articles(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    ids: Sequence[str],
    *,
    observer: BuildObserver | None = None,
) -> tuple[list[Path], BuildReport]:
    """Remove articles from the corpus and the index, in place (no full rebuild).

    Article files are moved to ``<seeds>/.removed/``; JSONL records are dropped from their file.
    The index update that follows deletes the articles' passages, sentences and keyword
    postings; their vectors stop resolving at once and leave the FAISS file at the next
    compaction.

    Returns:
        The files changed or moved, and the update's report.

    Raises:
        CoopbotError: an id is not in the index, or its file is gone.
    """
    known = {a.id: a for a in article_summaries(cfg.index_dir)}
    missing = [i for i in ids if i not in known]
    if missing:
        raise CoopbotError(f"no article with id {', '.join(map(repr, missing))} in the index; "
                           "`coopbot list` shows the ids")
    changed = []
    for article_id in dict.fromkeys(ids):
        try:
            changed.append(remove_entry(cfg.seeds_dir, known[article_id].entry))
        except FileNotFoundError as exc:
            raise CoopbotError(f"cannot remove {article_id!r}: {exc}; run `coopbot index` "
                               "to bring the index up to date") from exc
    return changed, build_index(cfg, encoders, observer)

