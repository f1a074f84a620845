"""Building the index from the corpus, and keeping it up to date incrementally.

A build compares the corpus's entries (files, JSONL records) with those the index has seen, by
content fingerprint, and touches only the difference: removed and changed entries are deleted,
new and changed ones are parsed, chunked, embedded (from the cache where possible) and added.
An unchanged corpus costs one scan. A full build, into a new folder, happens the first time,
when the model, chunker or on-disk format changed, or on request.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from embeddings.articles.countries import countries_in
from embeddings.articles.parsing import Article, FileProblem, body_fingerprint
from embeddings.chunking.chunker import Chunk
from embeddings.config import IndexConfig
from embeddings.corpus.sources import Corpus, scan_corpus
from embeddings.encoders.base import MULTILINGUAL, PRIMARY, Encoder, Encoders, as_encoders
from embeddings.encoders.cache import EmbeddingCache
from embeddings.errors import (
    CoopbotError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from embeddings.index import engine
from embeddings.index.changes import index_lock, write_error
from embeddings.index.embedding import Embedded, embed_all, unit_vectors
from embeddings.index.freshness import settings_differ
from embeddings.index.manifest import Manifest
from embeddings.index.prepare import Prepared, prepare_articles
from embeddings.index.records import ArticleRecord, NewArticle
from embeddings.index.report import BuildObserver, BuildReport, Phases
from embeddings.index.storage import WritableIndex


def build_index(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    observer: BuildObserver | None = None,
    *,
    full: bool = False,
    locked: bool = False,
) -> BuildReport:
    """Bring the index up to date with the corpus, embedding only text the cache has not seen.

    Changes are published atomically at the end; until then, and if anything fails, the index
    keeps serving what it had.

    Args:
        cfg: corpus, index folder, chunker and vector index settings.
        encoders: the embedding model, or a primary and a multilingual one.
        observer: progress hooks.
        full: rebuild from nothing (into a new folder) even if an update would do.
        locked: the caller holds the build lock already (`index_lock`), as `coopbot add` does
            so that no other build runs between its duplicate checks and this build.

    Returns:
        Counts and timings of the build.
    """
    observer = observer or BuildObserver()
    encoders = as_encoders(encoders)
    with contextlib.nullcontext() if locked else index_lock(cfg, observer):
        try:
            return _build(cfg, encoders, observer, full)
        except (OSError, sqlite3.OperationalError) as exc:
            raise write_error(cfg.index_dir, exc) from exc


def _build(cfg: IndexConfig, encoders: Encoders, observer: BuildObserver,
           full: bool) -> BuildReport:
    """The build itself; the caller holds the build lock."""
    started = time.perf_counter()
    phases = Phases()
    corpus = _scan(cfg)
    phases.end("scan")
    writer, manifest = _writer(cfg, encoders, full)
    phases.end("open")
    build = _Build(cfg=cfg, encoders=encoders, observer=observer, writer=writer,
                   manifest=manifest, corpus=corpus, started=started, phases=phases)
    try:
        report = _apply(build)
    except BaseException:
        writer.abort()
        raise
    engine.prune(cfg)
    return report


def _scan(cfg: IndexConfig) -> Corpus:
    try:
        return scan_corpus(cfg.seeds_dir, max_bytes=cfg.max_file_bytes)
    except OSError as exc:
        raise CoopbotError(
            f"cannot read the articles at {cfg.seeds_dir} ({exc.strerror or exc}): "
            "set COOPBOT_SEEDS_DIR or --seeds to a folder or a .jsonl file"
        ) from exc


def _writer(
    cfg: IndexConfig, encoders: Encoders, full: bool
) -> tuple[WritableIndex, Manifest]:
    """An in-place writer when the current build is compatible, else one for a new build.

    The engine (`engine`: SQLite + FAISS files, or PostgreSQL) is the configuration's; the
    rest of the build sees only `WritableIndex`.
    """
    primary = encoders.primary
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if not full and engine.has_index(cfg):
        try:
            old = engine.read_manifest(cfg)
        except (IndexCorruptError, IndexMissingError, IndexMismatchError):
            # A damaged index, or one of an older format, is rebuilt (vectors come from the
            # embedding cache); a busy one is not.
            old = None
        if old is not None and not settings_differ(
            old, cfg, primary.name, encoders.multilingual_name
        ):
            # No model property is touched here: an unchanged corpus never loads the model.
            return engine.update_build(cfg), replace(
                old, source=str(cfg.seeds_dir), updated_at=now
            )
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + f"{time.time_ns() % 16**6:06x}"
    template = Manifest(
        model=primary.name, dimension=primary.dim, max_tokens=primary.max_tokens,
        chunker=cfg.chunk.as_dict(), built_at=now, build_seconds=0.0, chunk_count=0,
        source=str(cfg.seeds_dir), multilingual_model=encoders.multilingual_name,
    )
    return engine.new_build(cfg, name), template


@dataclass(kw_only=True)
class _Build:
    """One build under way: what each of its steps reads, and what they decide on the way."""

    cfg: IndexConfig
    encoders: Encoders
    """The spaces to embed; narrowed to the primary one when the index has no other."""
    observer: BuildObserver
    writer: WritableIndex
    manifest: Manifest
    """The manifest to commit (multilingual vectors may be left out on the way)."""
    corpus: Corpus
    started: float
    phases: Phases
    notes: list[str] = field(default_factory=list)
    deferred: bool = False
    """The multilingual vectors of this build's articles are left to `index.filling`."""


def _apply(build: _Build) -> BuildReport:
    """Compare the corpus with the index's entries and apply the difference."""
    known = build.writer.entries()
    now = build.corpus.fingerprints
    stale = [n for n in known if now.get(n) != known[n]]
    fresh = sorted(n for n in now if known.get(n) != now[n])
    if not build.writer.new and not stale and not fresh:
        return _unchanged(build)
    removed = build.writer.remove_entries(stale)
    if removed:
        # A copy skipped while its original was indexed may now be the only one left.
        fresh = sorted({*fresh, *(n for n in build.writer.skipped_as_duplicates() if n in now)})
    build.phases.end("remove")
    kept, problems = _prepare(build, fresh)
    per_article = [(article, ready.units, ready.chunks) for article, ready in kept]
    all_chunks = [c for _, _, chunks in per_article for c in chunks]
    _plan_multilingual(build, all_chunks)
    embedded = embed_all(per_article, all_chunks, cfg=build.cfg, encoders=build.encoders,
                         observer=build.observer)
    build.phases.end("embed")
    build.phases.seconds["encode"] = round(embedded.seconds, 4)
    build.phases.seconds["cache"] = round(build.phases.seconds.pop("embed") - embedded.seconds, 4)
    new = _new_articles(kept, embedded, pending=build.deferred)
    return _store(build, new, embedded, problems=problems, removed=len(removed))


def _unchanged(build: _Build) -> BuildReport:
    """The report of a build that found nothing to do (the writer is dropped unused)."""
    old = build.writer.manifest()
    build.writer.abort()
    assert old is not None
    build.phases.end("compare")
    return BuildReport(old.article_count, old.chunk_count, 0, 0, tuple(build.corpus.problems),
                       time.perf_counter() - build.started, 0.0, build.writer.folder,
                       phases=build.phases.seconds)


def _prepare(
    build: _Build, fresh: list[str]
) -> tuple[list[tuple[Article, Prepared]], list[FileProblem]]:
    """Load, chunk and deduplicate the new and changed entries, and record them as seen.

    Returns:
        The articles to add with their chunks, and every problem found (skips included).
    """
    loaded = build.corpus.load(fresh, max_bytes=build.cfg.max_file_bytes)
    build.phases.end("load")
    problems = list(build.corpus.problems) + list(loaded.problems)
    primary = build.encoders.primary
    # Duplicates are chunked too (they are rare, and this runs in parallel on large builds).
    prepared = prepare_articles(loaded.articles, build.cfg.chunk, primary.count_tokens,
                                primary.max_tokens)
    build.phases.end("chunk")
    kept, duplicates = _without_duplicates(loaded.articles, prepared, build.writer)
    build.phases.end("duplicates")
    problems += duplicates
    skipped = {p.path.name: p.reason for p in problems if p.skipped}
    now = build.corpus.fingerprints
    build.writer.set_entries({n: (now[n], skipped.get(n)) for n in fresh})
    if not kept and not build.writer.has_articles():
        # Replacing a good index with an empty one (a folder not mounted, say) helps nobody.
        raise CoopbotError(
            f"no usable article in {build.cfg.seeds_dir} ({len(skipped)} file(s) skipped); "
            "the current index is unchanged"
        )
    return kept, problems


def _plan_multilingual(build: _Build, chunks: Sequence[Chunk]) -> None:
    """Decide whether this build encodes the multilingual space itself.

    An embedded build that would encode more than `IndexConfig.multilingual_inline` passages
    in it publishes with the primary vectors and leaves those to `index.filling`, so a large
    corpus serves English at once. A database build has no fill: over
    COOPBOT_MULTILINGUAL_LIMIT passages it leaves the multilingual vectors out. An update
    embeds only the spaces the index has.
    """
    multilingual = build.encoders.multilingual
    if multilingual is not None and build.manifest.multilingual_model is not None:
        if build.cfg.database_url:
            _limit_multilingual(build, len(chunks))
        elif build.cfg.multilingual_inline is not None and (
            len(chunks) > build.cfg.multilingual_inline
        ):
            cache = EmbeddingCache(build.cfg.cache_path, multilingual.name)
            try:
                missing = cache.count_missing(cache.keys([c.embed_text for c in chunks]))
            finally:
                cache.close()
            if missing > build.cfg.multilingual_inline:
                build.deferred = True
                build.notes.append(
                    f"multilingual vectors of {len(chunks)} passages are filled in after the "
                    f"build ({missing} to encode, over COOPBOT_MULTILINGUAL_INLINE="
                    f"{build.cfg.multilingual_inline}); Vietnamese questions search what is "
                    "filled so far")
    if build.manifest.multilingual_model is None or build.deferred:
        build.encoders = Encoders(build.encoders.primary)


def _limit_multilingual(build: _Build, passages: int) -> None:
    """Leave the multilingual vectors out of a full database build over
    COOPBOT_MULTILINGUAL_LIMIT passages."""
    limit = build.cfg.multilingual_limit
    if build.writer.new and limit is not None and passages > limit:
        reason = (f"{passages} passages is over COOPBOT_MULTILINGUAL_LIMIT={limit}; "
                  "Vietnamese questions use the primary model and the glossary")
        build.notes.append(f"multilingual vectors left out: {reason}")
        build.manifest = replace(build.manifest, multilingual_model=None,
                                 extra={**build.manifest.extra, "multilingual_off": reason})


def _new_articles(
    kept: Sequence[tuple[Article, Prepared]], embedded: Embedded, *, pending: bool = False
) -> list[NewArticle]:
    """What the index stores for each new article, sentence vectors included when pooled;
    `pending`: its multilingual vectors are left to the fill."""
    offsets = np.cumsum([0] + [len(ready.chunks) for _, ready in kept])
    return [
        NewArticle(
            record=_record(article), entry=_entry_name(article), body_key=body_fingerprint(article),
            minhash=ready.signature, paragraphs=len(article.paragraphs),
            units=[(u.paragraph, u.text) for u in ready.units],
            unit_vectors=_sentence_vectors(ready, embedded.spans.get(PRIMARY),
                                           offsets[i], offsets[i + 1]),
            chunks=[(c.start, c.end, c.text) for c in ready.chunks],
            aliases=ready.aliases,
            multilingual_unit_vectors=_sentence_vectors(
                ready, embedded.spans.get(MULTILINGUAL), offsets[i], offsets[i + 1]),
            multilingual_pending=pending,
        )
        for i, (article, ready) in enumerate(kept)
    ]


def _sentence_vectors(
    ready: Prepared, pooled: list[np.ndarray] | None, first: int, end: int
) -> np.ndarray | None:
    """An article's sentence vectors in one space, from its passages' pooled spans (the
    build's passages [first, end)); None where the space pooled none."""
    if pooled is None or not ready.chunks:
        return None
    return unit_vectors(ready.units, [(c.start, c.end) for c in ready.chunks], pooled[first:end])


def _store(
    build: _Build, new: list[NewArticle], embedded: Embedded, *, problems: list[FileProblem],
    removed: int,
) -> BuildReport:
    """Add the new articles and their vectors, commit, and report."""
    rows = build.writer.add_articles(new, build.manifest.next_row)
    build.phases.end("store")
    final = replace(build.manifest, build_seconds=round(time.perf_counter() - build.started, 3))
    path = build.writer.commit(final, embedded.vectors, rows, build.cfg.vectors)
    build.phases.end("commit")
    after = build.writer.written
    assert after is not None
    return BuildReport(
        articles=after.article_count, chunks=after.chunk_count, embedded=embedded.embedded,
        reused=embedded.reused, problems=tuple(problems),
        seconds=time.perf_counter() - build.started, encode_seconds=embedded.seconds,
        build_path=path, added=len(new), removed=removed, full=build.writer.new,
        notes=tuple(build.notes), phases=build.phases.seconds,
    )


def _record(article: Article) -> ArticleRecord:
    return ArticleRecord(
        id=article.id, title=article.title, date=article.date, source=article.source,
        byline=article.byline, place=article.place, url=article.url,
        language=article.language,
        file=article.path.name if article.id == article.path.stem
        else f"{article.path.name}#{article.id}",
        countries=countries_in(article.title, article.place, article.paragraphs),
    )


def _entry_name(article: Article) -> str:
    """The corpus entry an article came from: its file, or its JSONL record."""
    if article.path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        return f"{article.path.name}#{article.id}"
    return article.path.name


def _without_duplicates(
    articles: Sequence[Article], prepared: Sequence[Prepared], writer: WritableIndex
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
