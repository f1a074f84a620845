"""Work on the index without serving it: build, fill, add, remove, status, and opening a
retriever (the facade's half for commands that run and exit)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings.config import IndexConfig
from embeddings.corpus.adding import AddReport
from embeddings.corpus.adding import add_articles as _add_to_corpus
from embeddings.corpus.removing import remove_articles as _remove_from_corpus
from embeddings.encoders.base import Encoder, Encoders, as_encoders
from embeddings.encoders.loading import EncoderConfig, load_encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.engine import article_summaries, open_index
from embeddings.index.filling import FillReport, fill_multilingual
from embeddings.index.freshness import check_freshness
from embeddings.index.postgres.jobs import DEFAULT_LEASE_S
from embeddings.index.postgres.worker import WorkerStats
from embeddings.index.report import BuildObserver, BuildReport
from embeddings.index.status import status_of
from embeddings.index.summaries import ArticleSummary
from embeddings.search.rerank import Reranker
from embeddings.search.retrieval import RetrievalConfig, Retriever

Notify = Callable[[str], None]


@dataclass(frozen=True)
class CoreConfig:
    """Everything the core needs, as plain values (front ends build it from their settings).

    Attributes:
        index: corpus, index folder, chunker and vector index settings.
        encoders: which models embed, and how they run.
        retrieval: retrieval knobs.
        reranker: folder of a local sentence-transformers CrossEncoder, or None.
    """

    index: IndexConfig = field(default_factory=IndexConfig)
    encoders: EncoderConfig = field(default_factory=EncoderConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    reranker: Path | None = None


def _quiet(_: str) -> None:
    """The default `notify`: say nothing."""


# --- the index, without serving it ------------------------------------------------------


def build(
    cfg: CoreConfig, observer: BuildObserver | None = None, *, full: bool = False
) -> BuildReport:
    """Bring the index up to date with the corpus (`full`: rebuild from nothing)."""
    return build_index(cfg.index, load_encoders(cfg.encoders), observer, full=full)


def fill(
    cfg: CoreConfig, observer: BuildObserver | None = None, *,
    stop: threading.Event | None = None,
) -> FillReport:
    """Add the multilingual vectors a large build left for later (`index.filling`); the index
    serves meanwhile, and a stopped fill goes on next time."""
    return fill_multilingual(cfg.index, load_encoders(cfg.encoders), observer, stop=stop)


def run_encoding_worker(
    cfg: CoreConfig,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    should_stop: Callable[[], bool] = lambda: False,
    on_job: Callable[[WorkerStats], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> WorkerStats:
    """`coopbot worker`: encode the jobs builds queue in the database, for each of this
    configuration's models, until `should_stop()` (see `index.postgres.jobs`); `on_ready`
    once the database is reached."""
    if not cfg.index.database_url:
        raise CoopbotError("`coopbot worker` takes its jobs from the database: set "
                           "COOPBOT_DATABASE_URL to the database the builds use")
    from embeddings.index.postgres.jobs import JobQueue
    from embeddings.index.postgres.worker import run_worker

    encoders = load_encoders(cfg.encoders)
    models = {encoder.name: encoder for encoder in encoders.spaces().values()}
    queue = JobQueue(cfg.index.database_url)
    if on_ready is not None:
        on_ready()
    try:
        return run_worker(queue, models, lease_s=lease_s, should_stop=should_stop,
                          on_job=on_job)
    finally:
        queue.close()


def list_articles(cfg: CoreConfig) -> list[ArticleSummary]:
    """The indexed articles, newest first (undated last), without loading any vectors."""
    return article_summaries(cfg.index)


def add_articles(
    cfg: CoreConfig, sources: Sequence[str], observer: BuildObserver | None = None
) -> AddReport:
    """Save files, folders or web pages as articles in the corpus and update the index."""
    return _add_to_corpus(cfg.index, load_encoders(cfg.encoders), sources, observer=observer)


def index_status(cfg: CoreConfig) -> dict[str, Any]:
    """What `coopbot status --json` prints: what is indexed, how, and whether it is fresh
    (`index.status`; models load lazily, so naming them loads nothing)."""
    encoders = load_encoders(cfg.encoders)
    return status_of(cfg.index, encoders.primary.name, encoders.multilingual_name)


def ensure_index(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    *,
    observer: BuildObserver | None = None,
    notify: Notify = _quiet,
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
        cfg, model=encoders.primary.name, chunker=cfg.chunk.as_dict(),
        multilingual_model=encoders.multilingual_name,
    )
    return Retriever(index, encoders, retrieval, reranker=reranker)


def remove_articles(
    cfg: IndexConfig | CoreConfig,
    encoders: Encoder | Encoders | None,
    ids: Sequence[str],
    *,
    observer: BuildObserver | None = None,
) -> tuple[list[Path], BuildReport]:
    """Remove articles from the corpus and the index, in place (`corpus.removing`).

    Args:
        cfg: the index settings, or the whole core configuration.
        encoders: the encoders; None loads those of a `CoreConfig`.
        ids: article ids, as `list_articles` gives them.
        observer: progress hooks.

    Returns:
        The files changed or moved, and the update's report.

    Raises:
        CoopbotError: an id is not in the index, or its file is gone.
    """
    if isinstance(cfg, CoreConfig):
        encoders = encoders or load_encoders(cfg.encoders)
        cfg = cfg.index
    if encoders is None:
        raise ValueError("encoders are needed with an IndexConfig")
    return _remove_from_corpus(cfg, encoders, ids, observer=observer)
