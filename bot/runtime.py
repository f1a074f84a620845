"""Turning Settings into the core's configuration, and the process-wide setup it needs."""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from embeddings.service import CoreConfig

log = logging.getLogger(__name__)


def coopbot_version() -> str:
    """The installed distribution's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coopbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def prepare_offline_runtime() -> None:
    """Keep model libraries offline and quiet before they are imported.

    Nothing may be downloaded at run time, and their progress bars and advisories would
    otherwise interleave with coopbot's own output.
    """
    for name, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(name, value)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"sentence_transformers.*")
    for noisy in ("sentence_transformers", "faiss", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def core_config(settings: Settings) -> CoreConfig:
    """The core's configuration: index, encoders, retrieval and reranker settings."""
    from embeddings.service import (
        ChunkConfig,
        CoreConfig,
        EncoderConfig,
        IndexConfig,
        RetrievalConfig,
        VectorIndexConfig,
    )

    prepare_offline_runtime()
    return CoreConfig(
        index=IndexConfig(
            seeds_dir=settings.seeds_dir,
            index_dir=settings.index_dir,
            chunk=ChunkConfig(target_tokens=settings.chunk_tokens),
            max_file_bytes=int(settings.max_file_mb * 1_000_000),
            vectors=VectorIndexConfig(kind=settings.vector_index, flat_limit=settings.flat_limit,
                                      **({"ef_search": settings.ef_search}
                                         if settings.ef_search else {})),
            multilingual_limit=(None if settings.multilingual == "on"
                                else settings.multilingual_limit),
            multilingual_inline=(None if settings.multilingual == "on"
                                 else settings.multilingual_inline),
            database_url=settings.database_url,
        ),
        encoders=EncoderConfig(model=settings.model, runtime=settings.encoder,
                               cache_dir=settings.model_cache,
                               multilingual=settings.multilingual,
                               multilingual_runtime=settings.multilingual_runtime,
                               query_cache=settings.query_cache),
        retrieval=RetrievalConfig(min_score=settings.min_score, mode=settings.retrieval_mode),
        reranker=settings.reranker,
    )
