"""The primary model run by ONNX Runtime: same vectors as sentence-transformers, faster, no torch.

The packaged all-MiniLM-L6-v2 is exported once to ONNX (with torch, on first use) into a cache
folder, then served by onnxruntime with the model's own fast tokenizer and mean pooling, exactly
as its sentence-transformers modules (Transformer, mean Pooling, Normalize) do.

Measured on this project's 2-core machine (``benchmarks/encoder_backends.py``): fp32 ONNX gives
the same vectors as torch (cosine 1.0000) at about 1.7x the passage throughput and a third of
the single-question latency; the serving process then never imports torch. The dynamically
quantised int8 variant is faster again but moves vectors (cosine about 0.99 to fp32), so it has
its own model name, and so its own index and cache; see the README for its measured recall.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoders.base import (
    BatchCallback,
    Span,
    fast_tokenizer,
    pool_spans,
    resolve_model,
    token_counts,
)
from embeddings.encoders.ort_threads import in_order, single_thread_session, thread_count
from embeddings.encoders.query_cache import DEFAULT_SIZE, QueryCache
from embeddings.errors import EncoderError

INT8_SUFFIX = "@onnx-int8"
_BATCH = 32


def default_cache_dir() -> Path:
    """Where exported models live unless configured (COOPBOT_MODEL_CACHE)."""
    return Path.home() / ".cache" / "coopbot" / "onnx"


def onnx_supported(location: str) -> str | None:
    """None if the model folder is a plain mean-pooled, normalised transformer; else why not."""
    folder = Path(location)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"not a local sentence-transformers folder ({exc})"
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        return f"modules {kinds} (only Transformer, Pooling, Normalize are exported)"
    if not pooling.get("pooling_mode_mean_tokens") or sum(
        bool(v) for k, v in pooling.items() if k.startswith("pooling_mode")
    ) != 1:
        return "pooling is not plain mean pooling"
    if not (folder / "tokenizer.json").is_file():
        return "no tokenizer.json"
    return None


class OnnxEncoder:
    """A mean-pooled transformer (all-MiniLM-L6-v2 by default) served by onnxruntime.

    Each run uses one thread (`ort_threads`); a call with several batches runs them on up to
    `num_threads` threads at once (None: every core this process may use).
    """

    def __init__(
        self, model: str, *, quantized: bool = False, cache_dir: Path | None = None,
        query_cache: int = DEFAULT_SIZE, num_threads: int | None = None,
    ) -> None:
        self._model_name, self._location = resolve_model(model)
        reason = onnx_supported(self._location)
        if reason is not None:
            raise EncoderError(f"cannot run {model!r} with ONNX Runtime: {reason}; "
                               "set COOPBOT_ENCODER=torch")
        self._quantized = quantized
        self._cache_dir = cache_dir or default_cache_dir()
        self._session: Any = None
        self._lock = threading.Lock()
        self._threads = thread_count(num_threads)
        self.queries = QueryCache(query_cache)

    @property
    def name(self) -> str:
        """Canonical model name; the int8 variant's vectors differ, so its name does too."""
        return self._model_name + (INT8_SUFFIX if self._quantized else "")

    @cached_property
    def _config(self) -> dict[str, Any]:
        folder = Path(self._location)
        st = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        hf = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return {"max_seq_length": int(st.get("max_seq_length", 512)),
                "hidden_size": int(hf["hidden_size"])}

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included."""
        return int(self._config["max_seq_length"])

    @property
    def dim(self) -> int:
        """Vector dimension (from the model's config; nothing is loaded)."""
        return int(self._config["hidden_size"])

    @cached_property
    def _tokenizer(self) -> Any:
        return fast_tokenizer(self._location)  # onnx_supported() checked the file exists

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens."""
        if not texts:
            return []
        return token_counts(self._tokenizer, texts)

    @property
    def session(self) -> Any:
        """The onnxruntime session; exports the model first if it is not cached yet."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._open()
        return self._session

    def _open(self) -> Any:
        if importlib.util.find_spec("onnxruntime") is None:
            raise EncoderError("onnxruntime is not installed: run `make setup`, or set "
                               "COOPBOT_ENCODER=torch")
        path = export_model(self._location, self._cache_dir, quantized=self._quantized)
        return single_thread_session(path)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised question vectors (recent questions' from `queries`, the LRU cache)."""
        return self.queries.encode(texts, self.encode_passages)

    def encode_passages(
        self, texts: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> np.ndarray:
        """Normalised passage vectors, in length-sorted batches."""
        return self._run(list(texts), None, on_batch)[0]

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        *,
        on_batch: BatchCallback | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, plus each span's mean contextual token vector (late chunking)."""
        vectors, pooled = self._run(list(texts), spans, on_batch)
        assert pooled is not None
        return vectors, pooled

    def _run(
        self, texts: list[str], spans: Sequence[Sequence[Span]] | None,
        on_batch: BatchCallback | None,
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        pooled: list[np.ndarray] | None = None if spans is None else [np.empty(0)] * len(texts)
        if not texts:
            return out, pooled
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        limit, session = self.max_tokens, self.session
        # Longest first, so each batch pads little.
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        batches = [order[start : start + _BATCH] for start in range(0, len(texts), _BATCH)]

        def run(idx: np.ndarray) -> tuple[np.ndarray, list[np.ndarray] | None]:
            ids = [_truncate(encodings[i].ids, limit) for i in idx]
            width = max(len(x) for x in ids)
            input_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for row, seq in enumerate(ids):
                input_ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            hidden = session.run(None, {
                "input_ids": input_ids, "attention_mask": mask,
                "token_type_ids": np.zeros_like(input_ids),
            })[0]
            sums = (hidden * mask[..., None]).sum(axis=1)
            means = sums / mask.sum(axis=1, keepdims=True)
            means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
            if spans is None:
                return means, None
            return means, [pool_spans(encodings[i].offsets, hidden[row, : len(ids[row])],
                                      spans[i], means[row]) for row, i in enumerate(idx)]

        for idx, (means, rows) in zip(batches, in_order(run, batches, self._threads,
                                                         "minilm-onnx"), strict=True):
            out[idx] = means
            if pooled is not None and rows is not None:
                for i, vectors in zip(idx, rows, strict=True):
                    pooled[i] = vectors
            if on_batch is not None:
                on_batch(len(idx))
        return out, pooled


def _truncate(ids: list[int], limit: int) -> list[int]:
    """Cut to the model's window, keeping the final [SEP] as the model's tokenizer does."""
    return ids if len(ids) <= limit else ids[: limit - 1] + ids[-1:]


def export_model(location: str, cache_dir: Path, *, quantized: bool = False) -> Path:
    """The model's ONNX file in the cache, exporting it (once, under a lock) if needed.

    Exporting needs torch and transformers, as building an index does anyway; serving from an
    exported model needs only onnxruntime.
    """
    folder = cache_dir / _model_key(location)
    target = folder / ("model-int8.onnx" if quantized else "model.onnx")
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():  # another process exported it while we waited
            return target
        fp32 = folder / "model.onnx"
        if not fp32.is_file():
            _export_fp32(location, fp32)
        if quantized:
            _quantize(fp32, target)
    return target


def _model_key(location: str) -> str:
    """A folder name that changes when the weights do."""
    weights = sorted(Path(location).glob("*.safetensors")) + sorted(Path(location).glob("*.bin"))
    identity = [location] + [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                             for p in weights]
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
    return f"{Path(location).name}-{digest}"


def _export_fp32(location: str, target: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise EncoderError(f"exporting the model to ONNX needs torch and transformers ({exc})"
                           ) from exc

    class Hidden(torch.nn.Module):
        """The transformer's last hidden state, which pooling averages."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(location).eval()
    sample = torch.ones((1, 8), dtype=torch.int64)
    tmp = target.with_suffix(".tmp")
    axes = {"b": 0, "s": 1}
    dynamic = {name: {v: k for k, v in axes.items()}
               for name in ("input_ids", "attention_mask", "token_type_ids", "hidden")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer advice about Python control flow
        torch.onnx.export(
            Hidden(model), (sample, sample, torch.zeros_like(sample)), str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["hidden"], dynamic_axes=dynamic, opset_version=17, dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(source: Path, target: Path) -> None:
    # Per-channel scales keep vectors at cosine ~0.99 to fp32 (per-tensor: ~0.96).
    quantize_int8(source, target)


def quantize_int8(source: Path, target: Path, **options: Any) -> None:
    """ONNX Runtime's dynamic int8 quantisation with per-channel scales, written atomically.

    `options` go to `quantize_dynamic` (which nodes to leave alone, say). Its advice to
    pre-process the model first, logged on the root logger and so printed on the user's
    terminal in the middle of a build, is dropped.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         **options)
    finally:
        root.setLevel(level)
    os.replace(tmp, target)
