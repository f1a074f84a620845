"""Building the index from the corpus, and keeping it up to date incrementally.

A build compares the corpus's entries (files, JSONL records) with those the index has seen, by
content fingerprint, and touches only the difference: removed and changed entries are deleted,
new and changed ones are parsed, chunked, embedded (from the cache where possible) and added.
An unchanged corpus costs one scan. A full build, into a new folder, happens the first time,
when the model, chunker or on-disk format changed, or on request.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from embeddings.articles.parsing import Article, FileProblem, body_fingerprint
from embeddings.encoders.cache import EmbeddingCache, cache_key
from embeddings.chunking.chunker import Chunk, Unit, unit_spans
from embeddings.config import IndexConfig
from embeddings.corpus.sources import Corpus, scan_corpus
from embeddings.encoders.base import PRIMARY, Encoder, Encoders, SpanEncoder, as_encoders
from embeddings.errors import (
    CoopbotError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexWriteError,
)
from embeddings.index.manifest import PIPELINE_VERSION, Manifest, describe_settings
from embeddings.index.prepare import Prepared, prepare_articles
from embeddings.index.store import (
    ArticleRecord,
    IndexWriter,
    NewArticle,
    build_lock,
    current_build,
    index_entries,
    prune_builds,
    read_manifest,
)

# Texts handed to the encoder at a time (progress is reported per call).
_ENCODE_EVERY = 64
# Seconds of encoding between two cache commits: a killed build loses at most this much work.
# (A commit per call cost 14 ms each in a 1 GB cache, 0.6 s of adding 10 articles.)
_COMMIT_SECONDS = 2.0


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


@dataclass(frozen=True)
class Freshness:
    """Whether the index on disk matches the corpus and the configuration."""

    manifest: Manifest | None
    reasons: tuple[str, ...] = field(default=())
    other_source: bool = False
    """The index was built from another folder or file than the configured one."""

    @property
    def fresh(self) -> bool:
        """True when the index exists and nothing changed since it was built."""
        return self.manifest is not None and not self.reasons


class _Phases:
    """Seconds spent in each step of a build, marked as each step ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def end(self, step: str) -> None:
        """The step since the previous mark is over."""
        now = time.perf_counter()
        self.seconds[step] = round(self.seconds.get(step, 0.0) + now - self._last, 4)
        self._last = now


def _settings_differ(
    manifest: Manifest, cfg: IndexConfig, model: str, multilingual_model: str | None
) -> list[str]:
    """Why the index cannot be updated in place and needs a full build."""
    reasons: list[str] = []
    if manifest.model != model:
        reasons.append(f"built with model {manifest.model}, configured {model}")
    left_out = (manifest.multilingual_model is None and "multilingual_off" in manifest.extra
                and cfg.multilingual_limit is not None)
    if manifest.multilingual_model != multilingual_model and not left_out:
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
    return reasons


def check_freshness(
    cfg: IndexConfig, model: str, multilingual_model: str | None = None
) -> Freshness:
    """Compare the current index with the corpus and the configured models/chunker."""
    try:
        manifest = read_manifest(cfg.index_dir)
        known = index_entries(cfg.index_dir)
    except CoopbotError as exc:
        return Freshness(None, (str(exc),))
    reasons = _settings_differ(manifest, cfg, model, multilingual_model)
    other = bool(manifest.source) and manifest.source != str(cfg.seeds_dir)
    if other:
        reasons.append(f"built from {manifest.source}, configured {cfg.seeds_dir}")
    try:
        now = scan_corpus(cfg.seeds_dir, max_bytes=cfg.max_file_bytes).fingerprints
    except OSError:
        now = {}
    added = sorted(set(now) - set(known))
    removed = sorted(set(known) - set(now))
    changed = sorted(n for n in set(now) & set(known) if now[n] != known[n])
    for label, names in (("new", added), ("removed", removed), ("changed", changed)):
        if names:
            reasons.append(f"{len(names)} {label} file(s): {', '.join(names[:5])}")
    return Freshness(manifest, tuple(reasons), other)


def _record(article: Article) -> ArticleRecord:
    return ArticleRecord(
        id=article.id, title=article.title, date=article.date, source=article.source,
        byline=article.byline, place=article.place, url=article.url,
        language=article.language,
        file=article.path.name if article.id == article.path.stem
        else f"{article.path.name}#{article.id}",
    )


@dataclass
class _Embedded:
    vectors: dict[str, np.ndarray]
    spans: list[np.ndarray] | None
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0


def _embed_space(
    texts: Sequence[str],
    lengths: Sequence[int],
    spans: Sequence[Sequence[tuple[int, int]]] | None,
    encoder: Encoder,
    cfg: IndexConfig,
    observer: BuildObserver,
) -> tuple[np.ndarray, list[np.ndarray] | None, int, float]:
    """Vectors for texts (and their spans' vectors when asked and supported), cache first.

    `lengths` are the texts' token counts: batches of similar counts pad least. (Sorting by
    characters instead padded 11% more tokens, measured on 3,000 briefing passages.)

    Returns:
        (vectors, span vectors or None, texts embedded, encoding seconds).
    """
    with_spans = spans is not None and isinstance(encoder, SpanEncoder)
    cache = EmbeddingCache(cfg.cache_path, encoder.name)
    span_model = f"{encoder.name}#spans16"  # float16, like the index's sentence vectors
    span_cache = EmbeddingCache(cfg.cache_path, span_model, half=True) if with_spans else None
    try:
        keys = cache.keys(texts)
        found = cache.get_many(keys)
        span_keys: list[bytes] = []
        found_spans: dict[bytes, np.ndarray] = {}
        if span_cache is not None and spans is not None:
            span_keys = [cache_key(span_model, f"{t}\0{s}")
                         for t, s in zip(texts, spans, strict=True)]
            # Spans are stored with their passage's vector, so a text whose vector is not cached
            # has no spans cached either: looking only the others up saves half the lookups of
            # an update (0.3 s of adding 10 articles to a 100k-passage index).
            found_spans = span_cache.get_many([span_keys[i] for i, k in enumerate(keys)
                                               if k in found])
        todo = [i for i, k in enumerate(keys)
                if k not in found or (span_keys and span_keys[i] not in found_spans)]
        todo = list({keys[i]: i for i in reversed(todo)}.values())  # one per distinct text
        seconds = 0.0
        if todo:
            observer.encoding_started(len(todo), encoder.name)
            # Longest first across the whole build, so every batch pads little.
            todo.sort(key=lambda i: -lengths[i])
            pending: list[tuple[bytes, np.ndarray]] = []
            pending_spans: list[tuple[bytes, np.ndarray]] = []
            last_commit = time.perf_counter()
            for start in range(0, len(todo), _ENCODE_EVERY):
                batch = todo[start : start + _ENCODE_EVERY]
                t0 = time.perf_counter()
                if span_cache is not None and spans is not None:
                    assert isinstance(encoder, SpanEncoder)
                    vectors, pooled = encoder.encode_passages_with_spans(
                        [texts[i] for i in batch], [spans[i] for i in batch],
                        on_batch=observer.encoded,
                    )
                    pending_spans += [(span_keys[i], p) for i, p in zip(batch, pooled,
                                                                       strict=True)]
                    found_spans.update((span_keys[i], p.reshape(-1))
                                       for i, p in zip(batch, pooled, strict=True))
                else:
                    vectors = encoder.encode_passages(
                        [texts[i] for i in batch], on_batch=observer.encoded
                    )
                seconds += time.perf_counter() - t0
                pending += [(keys[i], v) for i, v in zip(batch, vectors, strict=True)]
                found.update((keys[i], v) for i, v in zip(batch, vectors, strict=True))
                last = start + _ENCODE_EVERY >= len(todo)
                if last or time.perf_counter() - last_commit >= _COMMIT_SECONDS:
                    cache.put_many(pending)
                    if span_cache is not None:
                        span_cache.put_many(pending_spans)
                    pending, pending_spans = [], []
                    last_commit = time.perf_counter()
        if not keys:
            return np.zeros((0, encoder.dim), dtype=np.float32), [] if with_spans else None, 0, 0.0
        matrix = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        pooled_out = ([found_spans[k].reshape(-1, matrix.shape[1]) for k in span_keys]
                      if with_spans else None)
        return matrix, pooled_out, len(todo), seconds
    finally:
        cache.close()
        if span_cache is not None:
            span_cache.close()


def _unit_vectors(
    units: Sequence[Unit], chunks: Sequence[Chunk], pooled: Sequence[np.ndarray]
) -> np.ndarray:
    """One vector per unit: the mean of its span vectors over the passages that hold it."""
    total = np.zeros((len(units), pooled[0].shape[1] if pooled else 1), dtype=np.float32)
    for chunk, vectors in zip(chunks, pooled, strict=True):
        total[chunk.start : chunk.end] += vectors
    norms = np.linalg.norm(total, axis=1, keepdims=True)
    return total / np.maximum(norms, 1e-12)


def _scan(cfg: IndexConfig) -> Corpus:
    try:
        return scan_corpus(cfg.seeds_dir, max_bytes=cfg.max_file_bytes)
    except OSError as exc:
        raise CoopbotError(
            f"cannot read the articles at {cfg.seeds_dir} ({exc.strerror or exc}): "
            "set COOPBOT_SEEDS_DIR or --seeds to a folder or a .jsonl file"
        ) from exc


def _writer(cfg: IndexConfig, encoders: Encoders, full: bool) -> tuple[IndexWriter, Manifest]:
    """An in-place writer when the current build is compatible, else one for a new build."""
    primary = encoders.primary
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if not full and current_build(cfg.index_dir) is not None:
        try:
            old = read_manifest(cfg.index_dir)
        except (IndexCorruptError, IndexMissingError, IndexMismatchError):
            # A damaged index, or one of an older format, is rebuilt (vectors come from the
            # embedding cache); a busy one is not.
            old = None
        if old is not None and not _settings_differ(
            old, cfg, primary.name, encoders.multilingual_name
        ):
            # No model property is touched here: an unchanged corpus never loads the model.
            return IndexWriter.update(cfg.index_dir), replace(
                old, source=str(cfg.seeds_dir), updated_at=now
            )
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + f"{time.time_ns() % 16**6:06x}"
    template = Manifest(
        model=primary.name, dimension=primary.dim, max_tokens=primary.max_tokens,
        chunker=cfg.chunk.as_dict(), built_at=now, build_seconds=0.0, chunk_count=0,
        source=str(cfg.seeds_dir), multilingual_model=encoders.multilingual_name,
    )
    return IndexWriter.create(cfg.index_dir, name), template


def build_index(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    observer: BuildObserver | None = None,
    *,
    full: bool = False,
) -> BuildReport:
    """Bring the index up to date with the corpus, embedding only text the cache has not seen.

    Changes are published atomically at the end; until then, and if anything fails, the index
    keeps serving what it had.

    Args:
        cfg: corpus, index folder, chunker and vector index settings.
        encoders: the embedding model, or a primary and a multilingual one.
        observer: progress hooks.
        full: rebuild from nothing (into a new folder) even if an update would do.

    Returns:
        Counts and timings of the build.
    """
    observer = observer or BuildObserver()
    encoders = as_encoders(encoders)
    try:
        with build_lock(cfg.index_dir, observer.waiting_for_lock):
            t0 = time.perf_counter()
            phases = _Phases()
            corpus = _scan(cfg)
            phases.end("scan")
            writer, manifest = _writer(cfg, encoders, full)
            phases.end("open")
            try:
                report = _apply(cfg, encoders, observer, corpus, writer, manifest, t0, phases)
            except BaseException:
                writer.abort()
                raise
            prune_builds(cfg.index_dir)
            return report
    except (OSError, sqlite3.OperationalError) as exc:
        raise write_error(cfg.index_dir, exc) from exc


def write_error(index_dir: Path, exc: Exception) -> CoopbotError:
    """An OS or SQLite failure while changing the index, as a message saying what to do."""
    detail = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
    where = getattr(exc, "filename", None) or index_dir
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        hint = "free some disk space and run `coopbot index` again"
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = ("make the folder writable by this user, or set COOPBOT_INDEX_DIR to a "
                "writable folder")
    elif "locked" in detail:
        hint = "another program holds the index database open for writing; close it and retry"
    else:
        hint = "run `coopbot index` again; if it keeps failing, `coopbot index --full`"
    return IndexWriteError(f"cannot update the index ({detail}: {where}); {hint}. "
                           "The index in use is unchanged")


def _apply(
    cfg: IndexConfig,
    encoders: Encoders,
    observer: BuildObserver,
    corpus: Corpus,
    writer: IndexWriter,
    manifest: Manifest,
    t0: float,
    phases: _Phases,
) -> BuildReport:
    known = writer.entries()
    now = corpus.fingerprints
    stale = [n for n in known if now.get(n) != known[n]]
    fresh = sorted(n for n in now if known.get(n) != now[n])
    if not writer.new and not stale and not fresh:
        old = writer.manifest()
        writer.abort()
        assert old is not None
        phases.end("compare")
        return BuildReport(old.article_count, old.chunk_count, 0, 0, tuple(corpus.problems),
                           time.perf_counter() - t0, 0.0, writer.folder, phases=phases.seconds)
    removed = writer.remove_entries(stale)
    if removed:
        # A copy skipped while its original was indexed may now be the only one left.
        fresh = sorted({*fresh, *(n for n in writer.skipped_as_duplicates() if n in now)})
    phases.end("remove")
    loaded = corpus.load(fresh, max_bytes=cfg.max_file_bytes)
    phases.end("load")
    problems = list(corpus.problems) + list(loaded.problems)
    primary = encoders.primary
    # Duplicates are chunked too (they are rare, and this runs in parallel on large builds).
    prepared = prepare_articles(loaded.articles, cfg.chunk, primary.count_tokens,
                                primary.max_tokens)
    phases.end("chunk")
    kept, duplicates = _without_duplicates(loaded.articles, prepared, writer)
    phases.end("duplicates")
    articles = [article for article, _ in kept]
    problems += duplicates
    skipped = {p.path.name: p.reason for p in problems if p.skipped}
    writer.set_entries({n: (now[n], skipped.get(n)) for n in fresh})
    if not articles and not writer.has_articles():
        # Replacing a good index with an empty one (a folder not mounted, say) helps nobody.
        raise CoopbotError(
            f"no usable article in {cfg.seeds_dir} ({len(skipped)} file(s) skipped); "
            "the current index is unchanged"
        )
    per_article = [(article, ready.units, ready.chunks) for article, ready in kept]
    all_chunks = [c for _, _, chunks in per_article for c in chunks]
    notes: list[str] = []
    limit = cfg.multilingual_limit
    if writer.new and encoders.multilingual is not None and limit is not None and (
        len(all_chunks) > limit
    ):
        reason = (f"{len(all_chunks)} passages is over COOPBOT_MULTILINGUAL_LIMIT={limit}; "
                  "Vietnamese questions use the primary model and the glossary")
        notes.append(f"multilingual vectors left out: {reason}")
        manifest = replace(manifest, multilingual_model=None,
                           extra={**manifest.extra, "multilingual_off": reason})
    if manifest.multilingual_model is None:
        encoders = Encoders(encoders.primary)  # an update adds only the spaces the index has
    embedded = _embed_all(cfg, encoders, observer, per_article, all_chunks)
    phases.end("embed")
    phases.seconds["encode"] = round(embedded.seconds, 4)
    phases.seconds["cache"] = round(phases.seconds.pop("embed") - embedded.seconds, 4)
    offsets = np.cumsum([0] + [len(chunks) for _, _, chunks in per_article])
    new = [
        NewArticle(
            record=_record(article), entry=_entry_name(article), body_key=body_fingerprint(article),
            minhash=kept[i][1].signature,
            paragraphs=len(article.paragraphs), units=[(u.paragraph, u.text) for u in units],
            unit_vectors=(_unit_vectors(units, chunks, embedded.spans[offsets[i]:offsets[i + 1]])
                          if embedded.spans is not None and chunks else None),
            chunks=[(c.start, c.end, c.text) for c in chunks],
        )
        for i, (article, units, chunks) in enumerate(per_article)
    ]
    first_row = manifest.next_row
    rows = writer.add_articles(new, first_row)
    phases.end("store")
    final = replace(manifest, build_seconds=round(time.perf_counter() - t0, 3))
    path = writer.commit(final, embedded.vectors, rows, cfg.vectors)
    phases.end("commit")
    after = writer.written
    assert after is not None
    return BuildReport(
        articles=after.article_count, chunks=after.chunk_count, embedded=embedded.embedded,
        reused=embedded.reused, problems=tuple(problems), seconds=time.perf_counter() - t0,
        encode_seconds=embedded.seconds, build_path=path, added=len(new),
        removed=len(removed), full=writer.new, notes=tuple(notes), phases=phases.seconds,
    )


def _entry_name(article: Article) -> str:
    """The corpus entry an article came from: its file, or its JSONL record."""
    if article.path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        return f"{article.path.name}#{article.id}"
    return article.path.name


def _without_duplicates(
    articles: Sequence[Article], prepared: Sequence[Prepared], writer: IndexWriter
) -> tuple[list[tuple[Article, Prepared]], list[FileProblem]]:
    """Drop articles the index (or an earlier new article) already has: the same id, body,
    page or nearly the same text. Returns the rest with their prepared chunks."""
    known = writer.known_articles()
    kept: list[tuple[Article, Prepared]] = []
    problems: list[FileProblem] = []
    for article, ready in zip(articles, prepared, strict=True):
        entry = _entry_name(article)
        key = body_fingerprint(article)
        sig = ready.signature
        reason = known.duplicate_of(article.id, key, article.url, sig, article.date)
        if reason is not None:
            problems.append(FileProblem(article.path.with_name(entry), reason, skipped=True))
        else:
            kept.append((article, ready))
            known.add(article.id, entry, key, article.url, sig, article.date)
    return kept, problems


def _embed_all(
    cfg: IndexConfig,
    encoders: Encoders,
    observer: BuildObserver,
    per_article: Sequence[tuple[Article, list[Unit], list[Chunk]]],
    chunks: Sequence[Chunk],
) -> _Embedded:
    """Vectors of every new passage in every space; sentence vectors from the primary one."""
    texts = [c.embed_text for c in chunks]
    lengths = [c.tokens for c in chunks]
    spans = [
        unit_spans(units[c.start : c.end], len(c.embed_text) - len(c.text))
        for _, units, article_chunks in per_article for c in article_chunks
    ]
    out = _Embedded({}, None)
    for space, encoder in encoders.spaces().items():
        vectors, pooled, count, seconds = _embed_space(
            texts, lengths, spans if space == PRIMARY else None, encoder, cfg, observer
        )
        out.vectors[space] = vectors
        if space == PRIMARY:
            out.spans = pooled
        out.embedded += count
        out.reused += len(texts) - count
        out.seconds += seconds
    return out
