"""Optional cross-encoder reranking of the fused candidates.

No cross-encoder ships on PyPI today, so this is off by default; point it at a local
sentence-transformers CrossEncoder folder to use one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from embeddings.errors import EncoderError


@runtime_checkable
class Reranker(Protocol):
    """Scores (question, passage) pairs; higher is more relevant."""

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """One score per passage."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder, loaded on first use."""

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise EncoderError(
                f"reranker folder {path} does not exist: set COOPBOT_RERANKER to a local "
                "CrossEncoder model folder, or leave it unset"
            )
        self.path = path
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                try:
                    self._model = CrossEncoder(str(self.path), device="cpu")
                except Exception as exc:  # a bad folder raises OSError, ValueError, ...
                    raise EncoderError(f"cannot load reranker {self.path}: {exc}") from exc
        return self._model

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """Cross-encoder relevance of each passage to the question."""
        if not passages:
            return []
        scores = self._load().predict([(question, p) for p in passages], show_progress_bar=False)
        return [float(s) for s in scores]
