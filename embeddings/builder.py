"""Building and refreshing the index from the seeds folder."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from embeddings.articles import (
    Article,
    FileProblem,
    LoadReport,
    article_files,
    load_articles,
)
from embeddings.cache import EmbeddingCache
from embeddings.chunking import Chunk, Unit, chunk_article
from embeddings.config import IndexConfig
from embeddings.encoders import PRIMARY, Encoder, Encoders, as_encoders
from embeddings.errors import CoopbotError
from embeddings.manifest import (
    PIPELINE_VERSION,
    ArticleEntry,
    Manifest,
    describe_settings,
    fingerprint_files,
)
from embeddings.store import (
    ArticleRecord,
    BuildWriter,
    ChunkRecord,
    build_lock,
    prune_builds,
    read_manifest,
)

# Texts encoded between two cache commits: a killed build loses at most this much work.
_COMMIT_EVERY = 64


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
    chunks: int
    embedded: int
    """Vectors computed, summed over the index's models."""
    reused: int
    """Vectors taken from the cache, summed over the index's models."""
    problems: tuple[FileProblem, ...]
    seconds: float
    encode_seconds: float
    build_path: Path

    @property
    def skipped(self) -> tuple[FileProblem, ...]:
        """Files that were not indexed."""
        return tuple(p for p in self.problems if p.skipped)


@dataclass(frozen=True)
class Freshness:
    """Whether the index on disk matches the seeds and the configuration."""

    manifest: Manifest | None
    reasons: tuple[str, ...] = field(default=())

    @property
    def fresh(self) -> bool:
        """True when the index exists and nothing changed since it was built."""
        return self.manifest is not None and not self.reasons


def check_freshness(
    cfg: IndexConfig, model: str, multilingual_model: str | None = None
) -> Freshness:
    """Compare the current index with the seeds folder and the configured models/chunker."""
    try:
        manifest = read_manifest(cfg.index_dir)
    except CoopbotError as exc:
        return Freshness(None, (str(exc),))
    reasons: list[str] = []
    if manifest.model != model:
        reasons.append(f"built with model {manifest.model}, configured {model}")
    if manifest.multilingual_model != multilingual_model:
        reasons.append(
            f"built with multilingual model {manifest.multilingual_model}, "
            f"configured {multilingual_model}"
        )
    if manifest.chunker != cfg.chunk.as_dict():
        reasons.append(
            f"built with chunker {describe_settings(manifest.chunker)}, "
            f"configured {describe_settings(cfg.chunk.as_dict())}"
        )
    if manifest.pipeline_version != PIPELINE_VERSION:
        reasons.append("built by an older version of coopbot's parser")
    now = fingerprint_files(article_files(cfg.seeds_dir)) if cfg.seeds_dir.is_dir() else {}
    added = sorted(set(now) - set(manifest.files))
    removed = sorted(set(manifest.files) - set(now))
    changed = sorted(n for n in set(now) & set(manifest.files) if now[n] != manifest.files[n])
    for label, names in (("new", added), ("removed", removed), ("changed", changed)):
        if names:
            reasons.append(f"{len(names)} {label} file(s): {', '.join(names[:5])}")
    return Freshness(manifest, tuple(reasons))


def _record(article: Article) -> ArticleRecord:
    return ArticleRecord(
        id=article.id, title=article.title, date=article.date, source=article.source,
        byline=article.byline, place=article.place, url=article.url,
        language=article.language, file=article.path.name,
    )


def _embed(
    chunks: Sequence[Chunk], encoder: Encoder, cache: EmbeddingCache, observer: BuildObserver
) -> tuple[np.ndarray, int, float]:
    """Vectors for all chunks, from the cache where possible. Returns (vectors, embedded, secs)."""
    texts = [c.embed_text for c in chunks]
    keys = cache.keys(texts)
    found = cache.get_many(keys)
    todo = list(dict.fromkeys(k for k in keys if k not in found))
    encode_seconds = 0.0
    if todo:
        text_of = dict(zip(keys, texts, strict=True))
        observer.encoding_started(len(todo), encoder.name)
        # Longest first across the whole build, so every batch pads little.
        todo.sort(key=lambda k: -len(text_of[k]))
        for start in range(0, len(todo), _COMMIT_EVERY):
            batch = todo[start : start + _COMMIT_EVERY]
            t0 = time.perf_counter()
            vectors = encoder.encode_passages(
                [text_of[k] for k in batch], on_batch=observer.encoded
            )
            encode_seconds += time.perf_counter() - t0
            cache.put_many(zip(batch, vectors, strict=True))
            found.update(zip(batch, vectors, strict=True))
    if not keys:
        return np.zeros((0, encoder.dim), dtype=np.float32), 0, 0.0
    matrix = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
    return matrix, len(todo), encode_seconds


def _load_seeds(cfg: IndexConfig) -> LoadReport:
    try:
        loaded = load_articles(cfg.seeds_dir, max_bytes=cfg.max_file_bytes)
    except OSError as exc:
        raise CoopbotError(
            f"cannot read seeds folder {cfg.seeds_dir} ({exc.strerror or exc}): "
            "set COOPBOT_SEEDS_DIR or --seeds"
        ) from exc
    if not loaded.articles:
        # Replacing a good index with an empty one (a folder not mounted, say) helps nobody.
        raise CoopbotError(
            f"no usable article in {cfg.seeds_dir} ({len(loaded.problems)} file(s) skipped); "
            "the current index is unchanged"
        )
    return loaded


def build_index(
    cfg: IndexConfig, encoders: Encoder | Encoders, observer: BuildObserver | None = None
) -> BuildReport:
    """Build the index from the seeds folder, re-embedding only text the cache has not seen.

    The new build becomes current atomically at the end; until then, and if anything fails,
    the previous build keeps serving.

    Args:
        cfg: folders and chunker settings.
        encoders: the embedding model, or a primary and a multilingual one.
        observer: progress hooks.

    Returns:
        Counts and timings of the build.
    """
    observer = observer or BuildObserver()
    encoders = as_encoders(encoders)
    with build_lock(cfg.index_dir, observer.waiting_for_lock):
        t0 = time.perf_counter()
        loaded = _load_seeds(cfg)
        files = fingerprint_files(article_files(cfg.seeds_dir))
        primary = encoders.primary
        per_article = [
            (article, *chunk_article(article, cfg.chunk, primary.count_tokens, primary.max_tokens))
            for article in loaded.articles
        ]
        all_chunks = [c for _, _, chunks in per_article for c in chunks]
        vectors: dict[str, np.ndarray] = {}
        embedded, encode_seconds = 0, 0.0
        for space, encoder in encoders.spaces().items():
            cache = EmbeddingCache(cfg.cache_path, encoder.name)
            try:
                vectors[space], count, seconds = _embed(all_chunks, encoder, cache, observer)
            finally:
                cache.close()
            embedded, encode_seconds = embedded + count, encode_seconds + seconds
        manifest = Manifest(
            model=primary.name, dimension=vectors[PRIMARY].shape[1],
            max_tokens=primary.max_tokens, chunker=cfg.chunk.as_dict(), files=files,
            articles={
                a.id: ArticleEntry(a.path.name, files.get(a.path.name, ""), len(chunks))
                for a, _, chunks in per_article
            },
            skipped={p.path.name: p.reason for p in loaded.problems if p.skipped},
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - t0, 3), chunk_count=len(all_chunks),
            multilingual_model=encoders.multilingual_name,
        )
        path = _write_build(cfg, per_article, vectors, manifest)
        prune_builds(cfg.index_dir)
        return BuildReport(
            articles=len(per_article), chunks=len(all_chunks), embedded=embedded,
            reused=len(all_chunks) * len(vectors) - embedded, problems=loaded.problems,
            seconds=time.perf_counter() - t0, encode_seconds=encode_seconds, build_path=path,
        )


def _write_build(
    cfg: IndexConfig,
    per_article: Sequence[tuple[Article, list[Unit], list[Chunk]]],
    vectors: dict[str, np.ndarray],
    manifest: Manifest,
) -> Path:
    """Write a new build and make it current; on any failure remove the partial build."""
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)
    writer = BuildWriter(cfg.index_dir, name)
    try:
        row = 0
        for article, units, chunks in per_article:
            units_rows = [(u.paragraph, u.text) for u in units]
            writer.add_article(_record(article), len(article.paragraphs), units_rows)
            writer.add_chunks([
                ChunkRecord(row + i, c.article_id, c.ordinal, c.start, c.end, c.text)
                for i, c in enumerate(chunks)
            ])
            row += len(chunks)
        return writer.commit(vectors, manifest)
    except BaseException:
        writer.abort()
        raise
