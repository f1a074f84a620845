"""The vectors of recent questions, so that asking again costs no encoding.

Questions repeat: "More results" and feedback buttons search the same text again, an inline
query is re-sent while its user types, a bot restarted after a crash replays what it had not
answered, and several users ask what the news of the day makes them ask. A question's vector
depends only on its text and the model, so the last few thousand are kept per encoder.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_SIZE = 4096  # 4096 x 384 float32 = 6 MB per encoder


class QueryCache:
    """A thread-safe least-recently-used map from question text to its vector."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError("a query cache holds zero or more vectors")
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]
               ) -> np.ndarray:
        """The vectors of `texts`, in order: remembered ones as they were, the others from
        one call of `encode` on the distinct texts not remembered (then remembered)."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
            self.hits += sum(t in found for t in texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = encode(missing)
            with self._lock:
                self.misses += len(missing)
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = vector
                    if self.size:
                        self._vectors[text] = vector
                        self._vectors.move_to_end(text)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not texts:
            return encode([])
        # np.stack copies: a caller that changes its vectors cannot change the cache's.
        return np.stack([found[t] for t in texts])
