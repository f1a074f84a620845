"""What a build tells its caller: progress hooks while it runs, a report when it is done."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from embeddings.articles.parsing import FileProblem


class BuildObserver:
    """Hooks for progress reporting; the default does nothing. Front ends subclass it."""

    def waiting_for_lock(self) -> None:
        """Another build holds the lock; this one waits."""

    def encoding_started(self, total: int, model: str) -> None:
        """`total` passages need embedding with `model`."""

    def encoded(self, count: int) -> None:
        """`count` more passages were embedded."""


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    articles: int
    """Articles in the index afterwards."""
    chunks: int
    """Passages in the index afterwards."""
    embedded: int
    """Vectors computed, summed over the index's models."""
    reused: int
    """Vectors taken from the cache, summed over the index's models."""
    problems: tuple[FileProblem, ...]
    seconds: float
    encode_seconds: float
    build_path: Path
    added: int = 0
    """Articles added (changed ones count as added and removed)."""
    removed: int = 0
    full: bool = False
    """True when the index was built from nothing rather than updated in place."""
    notes: tuple[str, ...] = ()
    """Decisions the build took that the operator should know about."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per step: scan, open, remove, load, chunk (with MinHash signatures), duplicates,
    encode, cache (embedding minus encoding), store, commit; for finding where time goes."""

    @property
    def skipped(self) -> tuple[FileProblem, ...]:
        """Files that were not indexed."""
        return tuple(p for p in self.problems if p.skipped)

    @property
    def unchanged(self) -> bool:
        """True when the corpus had not changed and nothing was written."""
        return not (self.full or self.added or self.removed)


class Phases:
    """Seconds spent in each step of a build, marked as each step ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def end(self, step: str) -> None:
        """The step since the previous mark is over."""
        now = time.perf_counter()
        self.seconds[step] = round(self.seconds.get(step, 0.0) + now - self._last, 4)
        self._last = now
