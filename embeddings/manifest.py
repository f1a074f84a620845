"""The manifest: what an index was built from and with, saved beside it as JSON."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from embeddings import __version__
from embeddings.errors import IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 2
# Bump when parsing or chunking changes what the same files produce; the index is then stale.
PIPELINE_VERSION = 1


@dataclass(frozen=True)
class ArticleEntry:
    """One indexed article in the manifest."""

    file: str
    fingerprint: str
    chunks: int


@dataclass(frozen=True)
class Manifest:
    """Everything needed to check that an index matches the configuration and the seeds."""

    model: str
    dimension: int
    max_tokens: int
    chunker: dict[str, float]
    files: dict[str, str]
    """Fingerprint of every article file seen, including skipped ones (so they are not 'new')."""
    articles: dict[str, ArticleEntry]
    skipped: dict[str, str]
    """File name -> reason, for files that could not be indexed."""
    built_at: str
    build_seconds: float
    chunk_count: int
    multilingual_model: str | None = None
    """Second vector space for questions in other languages; None when built without one."""
    format_version: int = FORMAT_VERSION
    pipeline_version: int = PIPELINE_VERSION
    coopbot_version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def article_count(self) -> int:
        """Number of indexed articles."""
        return len(self.articles)

    def to_json(self) -> str:
        """Serialise, counts included for people reading the file."""
        data = asdict(self)
        data["article_count"] = self.article_count
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, where: Path) -> Manifest:
        """Parse a manifest, raising IndexCorruptError with the path when it is unreadable."""
        try:
            data = json.loads(text)
            data.pop("article_count", None)
            data["articles"] = {k: ArticleEntry(**v) for k, v in data["articles"].items()}
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise IndexCorruptError(
                f"index manifest {where} is unreadable ({exc}); run `coopbot index` to rebuild"
            ) from exc

    def check_compatible(
        self,
        *,
        model: str,
        chunker: dict[str, float],
        where: Path,
        multilingual_model: str | None = None,
    ) -> None:
        """Refuse an index built with another model, chunker or on-disk format."""
        problems = []
        if self.multilingual_model != multilingual_model:
            problems.append(
                f"multilingual model {self.multilingual_model!r} "
                f"(configured: {multilingual_model!r})"
            )
        if self.format_version != FORMAT_VERSION:
            problems.append(f"format {self.format_version} (this coopbot reads {FORMAT_VERSION})")
        if self.model != model:
            problems.append(f"model {self.model!r} (configured: {model!r})")
        if self.chunker != chunker:
            problems.append(
                f"chunker {describe_settings(self.chunker)} "
                f"(configured: {describe_settings(chunker)})"
            )
        if problems:
            raise IndexMismatchError(
                f"the index in {where} was built with " + "; ".join(problems)
                + ". Run `coopbot index` to rebuild it with the current settings."
            )


def describe_settings(settings: dict[str, float]) -> str:
    """Settings as stable, readable text, e.g. ``overlap_sentences=1, target_tokens=96``."""
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def fingerprint_bytes(data: bytes) -> str:
    """Content fingerprint of an article file."""
    return hashlib.sha256(data).hexdigest()


def fingerprint_files(paths: list[Path]) -> dict[str, str]:
    """File name -> fingerprint; unreadable files get an empty fingerprint."""
    out: dict[str, str] = {}
    for path in paths:
        try:
            out[path.name] = fingerprint_bytes(path.read_bytes())
        except OSError:
            out[path.name] = ""
    return out
