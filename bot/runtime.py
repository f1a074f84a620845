"""Turning Settings into the core's objects, and the process-wide setup they need."""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from embeddings.config import IndexConfig
    from embeddings.encoders.base import Encoder, Encoders
    from embeddings.search.rerank import Reranker
    from embeddings.search.retrieval import RetrievalConfig

log = logging.getLogger(__name__)


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


def index_config(settings: Settings) -> IndexConfig:
    """The core's index configuration."""
    from embeddings.chunking.chunker import ChunkConfig
    from embeddings.config import IndexConfig
    from embeddings.index.vectors import VectorIndexConfig

    return IndexConfig(
        seeds_dir=settings.seeds_dir,
        index_dir=settings.index_dir,
        chunk=ChunkConfig(target_tokens=settings.chunk_tokens),
        max_file_bytes=int(settings.max_file_mb * 1_000_000),
        vectors=VectorIndexConfig(kind=settings.vector_index, flat_limit=settings.flat_limit),
        multilingual_limit=None if settings.multilingual == "on" else settings.multilingual_limit,
    )


def retrieval_config(settings: Settings) -> RetrievalConfig:
    """The core's retrieval configuration."""
    from embeddings.search.retrieval import RetrievalConfig

    return RetrievalConfig(min_score=settings.min_score, mode=settings.retrieval_mode)


def make_encoder(settings: Settings) -> Encoder:
    """The configured primary encoder (the model itself loads on first use).

    ONNX Runtime by default (same vectors as torch, faster, and no torch in a serving
    process); torch when asked for, or when the model cannot run on ONNX Runtime.
    """
    prepare_offline_runtime()
    from embeddings.encoders.base import SentenceTransformerEncoder

    if settings.encoder != "torch":
        from embeddings.encoders.onnx_encoder import OnnxEncoder
        from embeddings.errors import EncoderError

        try:
            return OnnxEncoder(settings.model, quantized=settings.encoder == "onnx-int8",
                               cache_dir=settings.model_cache)
        except EncoderError as exc:
            log.warning("%s; using torch instead", exc)
    return SentenceTransformerEncoder(settings.model)


def make_encoders(settings: Settings) -> Encoders:
    """The primary encoder and, unless switched off or unavailable, the multilingual one."""
    from embeddings.encoders.base import Encoders

    primary = make_encoder(settings)
    if settings.multilingual == "off":
        return Encoders(primary)
    from embeddings.encoders.e5_encoder import e5_available, load_e5_encoder

    reason = e5_available()
    if reason is not None:
        # Degrade, don't fail: English questions still work; Vietnamese ones get keyword help.
        log.warning("multilingual encoder unavailable (%s): Vietnamese questions will be "
                    "answered with the primary model only", reason)
        return Encoders(primary)
    return Encoders(primary, load_e5_encoder())


def make_reranker(settings: Settings) -> Reranker | None:
    """The configured cross-encoder reranker, or None (the default)."""
    if settings.reranker is None:
        return None
    from embeddings.search.rerank import CrossEncoderReranker

    return CrossEncoderReranker(settings.reranker)
