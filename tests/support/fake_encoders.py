"""A deterministic stand-in for the embedding model, for fast unit tests.

Vectors are hashed bags of lower-cased words, so texts that share words are similar: enough
to test retrieval plumbing without loading torch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from embeddings.encoders.base import BatchCallback

_WORD = re.compile(r"\w+")


class HashingEncoder:
    """Bag-of-words hashing encoder; one token per whitespace-separated word."""

    def __init__(self, dim: int = 256, max_tokens: int = 64, name: str = "fake/hashing") -> None:
        self._dim = dim
        self._max_tokens = max_tokens
        self._name = name
        self.encoded_texts: list[str] = []
        self.fail_after: int | None = None  # raise after this many passages, to simulate crashes

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            vec[h % self._dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self._dim))

    def encode_passages(
        self, texts: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> np.ndarray:
        if self.fail_after is not None and len(self.encoded_texts) + len(texts) > self.fail_after:
            raise RuntimeError("simulated encoder crash")
        self.encoded_texts.extend(texts)
        out = self.encode_queries(texts)
        if on_batch is not None:
            on_batch(len(texts))
        return out.astype(np.float32)

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        on_batch: BatchCallback | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and each span's text hashed on its own."""
        vectors = self.encode_passages(texts, on_batch=on_batch)
        pooled = [
            np.stack([self._vector(text[a:b]) for a, b in text_spans]).astype(np.float32)
            if text_spans else np.zeros((0, self._dim), dtype=np.float32)
            for text, text_spans in zip(texts, spans, strict=True)
        ]
        return vectors, pooled
