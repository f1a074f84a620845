"""The core's one API for front ends (the CLI and the Telegram bot).

Front ends import this module, `embeddings.answers` (the results), `embeddings.errors` and
`embeddings.evaluation`, nothing deeper (a test enforces it). Here they find:

* `CoreConfig`: plain settings (`IndexConfig`, `EncoderConfig`, `RetrievalConfig`).
* Work on the index without serving it: `build`, `index_status`, `list_articles`,
  `add_articles`, `remove_articles`.
* `Library`: an index opened for serving, which answers questions, lists and shows
  articles, says what it holds, and picks up changes made by other processes.

The result types the functions return (`BuildReport`, `AddReport`, `ArticleSummary`, …) are
re-exported, so a front end names them from here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from embeddings.answers import Answer
from embeddings.chunking.chunker import ChunkConfig
from embeddings.config import IndexConfig
from embeddings.corpus.adding import FILE_SUFFIXES, AddOutcome, AddReport
from embeddings.corpus.adding import add_articles as _add_to_corpus
from embeddings.corpus.sources import is_jsonl, remove_entry
from embeddings.encoders.base import Encoder, Encoders, as_encoders
from embeddings.encoders.loading import EncoderConfig, load_encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.freshness import check_freshness
from embeddings.index.layout import current_build
from embeddings.index.manifest import describe_settings
from embeddings.index.reader import open_index
from embeddings.index.records import ArticleRecord
from embeddings.index.report import BuildObserver, BuildReport
from embeddings.index.summaries import ArticleSummary, article_date_range, article_summaries
from embeddings.index.vectors import VectorIndexConfig, kind_of_file
from embeddings.search.rerank import CrossEncoderReranker, Reranker
from embeddings.search.retrieval import RetrievalConfig, Retriever
from embeddings.text import clean_question

__all__ = [
    "FILE_SUFFIXES", "AddOutcome", "AddReport", "ArticleRecord", "ArticleSummary", "ArticleText",
    "BuildObserver", "BuildReport", "ChunkConfig", "CoreConfig", "EncoderConfig", "IndexConfig",
    "IndexInfo", "Library", "RetrievalConfig", "VectorIndexConfig", "add_articles", "build",
    "clean_question", "describe_settings", "ensure_index", "index_status", "is_jsonl",
    "list_articles", "open_retriever", "remove_articles",
]

log = logging.getLogger(__name__)

Notify = Callable[[str], None]


@dataclass(frozen=True)
class CoreConfig:
    """Everything the core needs, as plain values (front ends build it from their settings).

    Attributes:
        index: corpus, index folder, chunker and vector index settings.
        encoders: which models embed, and how they run.
        retrieval: retrieval knobs.
        reranker: folder of a local sentence-transformers CrossEncoder, or None.
    """

    index: IndexConfig = field(default_factory=IndexConfig)
    encoders: EncoderConfig = field(default_factory=EncoderConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    reranker: Path | None = None


@dataclass(frozen=True)
class ArticleText:
    """An article's metadata and its paragraphs, as stored in the index."""

    record: ArticleRecord
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class IndexInfo:
    """What the served index holds (for /about)."""

    articles: int
    passages: int
    model: str
    multilingual_model: str | None
    built_at: str
    build_seconds: float


def _quiet(_: str) -> None:
    """The default `notify`: say nothing."""


# --- the index, without serving it ------------------------------------------------------


def build(
    cfg: CoreConfig, observer: BuildObserver | None = None, *, full: bool = False
) -> BuildReport:
    """Bring the index up to date with the corpus (`full`: rebuild from nothing)."""
    return build_index(cfg.index, load_encoders(cfg.encoders), observer, full=full)


def list_articles(cfg: CoreConfig) -> list[ArticleSummary]:
    """The indexed articles, newest first (undated last), without loading any vectors."""
    return article_summaries(cfg.index.index_dir)


def add_articles(
    cfg: CoreConfig, sources: Sequence[str], observer: BuildObserver | None = None
) -> AddReport:
    """Save files, folders or web pages as articles in the corpus and update the index."""
    return _add_to_corpus(cfg.index, load_encoders(cfg.encoders), sources, observer=observer)


def index_status(cfg: CoreConfig) -> dict[str, Any]:
    """What `coopbot status --json` prints: what is indexed, how, and whether it is fresh.

    Nothing is loaded but the manifest and the corpus's fingerprints (models load lazily, so
    naming them costs nothing).
    """
    encoders = load_encoders(cfg.encoders)
    freshness = check_freshness(cfg.index, encoders.primary.name, encoders.multilingual_name)
    manifest = freshness.manifest
    if manifest is None:
        return {"built": False, "index_dir": str(cfg.index.index_dir),
                "reason": freshness.reasons[0]}
    build_dir = current_build(cfg.index.index_dir)
    dates = article_date_range(build_dir) if build_dir else None
    return {
        "built": True, "index_dir": str(cfg.index.index_dir),
        "build": build_dir.name if build_dir else None,
        "built_at": manifest.built_at, "build_seconds": manifest.build_seconds,
        "model": manifest.model, "dimension": manifest.dimension,
        "multilingual_model": manifest.multilingual_model,
        "max_tokens": manifest.max_tokens, "chunker": manifest.chunker,
        "articles": manifest.article_count, "chunks": manifest.chunk_count,
        "date_range": [d.isoformat() for d in dates] if dates else None,
        "skipped": manifest.skipped, "source": manifest.source,
        "updated_at": manifest.updated_at,
        "vector_index": {space: kind_of_file(build_dir / name) if build_dir else None
                         for space, name in manifest.vector_files.items()},
        "fresh": freshness.fresh, "changes": list(freshness.reasons),
        "coopbot_version": manifest.coopbot_version,
    }


def ensure_index(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    *,
    observer: BuildObserver | None = None,
    notify: Notify = _quiet,
) -> BuildReport | None:
    """Build the index when it is missing or stale; `notify` gets one line saying why."""
    encoders = as_encoders(encoders)
    freshness = check_freshness(cfg, encoders.primary.name, encoders.multilingual_name)
    if freshness.fresh:
        return None
    if freshness.other_source and freshness.manifest is not None:
        # Rebuilding from the configured folder would throw away an index someone built on
        # purpose from another corpus (`coopbot index --from-jsonl`, say): serve it as built.
        notify(f"the index was built from {freshness.manifest.source}, not from "
               f"{cfg.seeds_dir}; answering from it as built (set COOPBOT_SEEDS_DIR to "
               f"{freshness.manifest.source}, or run `coopbot index` to rebuild)")
        return None
    if freshness.manifest is None:
        notify(f"no index in {cfg.index_dir} yet: building it from {cfg.seeds_dir}")
    else:
        notify("index is out of date (" + "; ".join(freshness.reasons) + "): rebuilding")
    return build_index(cfg, encoders, observer)


def open_retriever(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    retrieval: RetrievalConfig | None = None,
    *,
    reranker: Reranker | None = None,
) -> Retriever:
    """A Retriever over the current build; raises if it is missing or built differently."""
    encoders = as_encoders(encoders)
    index = open_index(
        cfg.index_dir, model=encoders.primary.name, chunker=cfg.chunk.as_dict(),
        multilingual_model=encoders.multilingual_name,
    )
    return Retriever(index, encoders, retrieval, reranker=reranker)


def remove_articles(
    cfg: IndexConfig | CoreConfig,
    encoders: Encoder | Encoders | None,
    ids: Sequence[str],
    *,
    observer: BuildObserver | None = None,
) -> tuple[list[Path], BuildReport]:
    """Remove articles from the corpus and the index, in place (no full rebuild).

    Article files are moved to ``<seeds>/.removed/``; JSONL records are dropped from their file.
    The index update that follows deletes the articles' passages, sentences and keyword
    postings; their vectors stop resolving at once and leave the FAISS file at the next
    compaction.

    Args:
        cfg: the index settings, or the whole core configuration.
        encoders: the encoders; None loads those of a `CoreConfig`.
        ids: article ids, as `list_articles` gives them.
        observer: progress hooks.

    Returns:
        The files changed or moved, and the update's report.

    Raises:
        CoopbotError: an id is not in the index, or its file is gone.
    """
    if isinstance(cfg, CoreConfig):
        encoders = encoders or load_encoders(cfg.encoders)
        cfg = cfg.index
    if encoders is None:
        raise ValueError("encoders are needed with an IndexConfig")
    known = {a.id: a for a in article_summaries(cfg.index_dir)}
    missing = [i for i in ids if i not in known]
    if missing:
        raise CoopbotError(f"no article with id {', '.join(map(repr, missing))} in the index; "
                           "`coopbot list` shows the ids")
    changed = []
    for article_id in dict.fromkeys(ids):
        try:
            changed.append(remove_entry(cfg.seeds_dir, known[article_id].entry))
        except FileNotFoundError as exc:
            raise CoopbotError(f"cannot remove {article_id!r}: {exc}; run `coopbot index` "
                               "to bring the index up to date") from exc
    return changed, build_index(cfg, encoders, observer)


# --- serving ----------------------------------------------------------------------------


class Library:
    """An index opened for serving: questions, the article list, an article's text.

    Safe to share between threads. The index is reopened when it changes on disk (another
    process ran `coopbot index` or `add`; the check is one SQLite pragma and one small file
    read per question), and after `rebuild`, `add` and `remove` here. Questions in flight
    finish on the build they started on.
    """

    def __init__(
        self,
        cfg: IndexConfig,
        encoders: Encoder | Encoders,
        retrieval: RetrievalConfig | None = None,
        *,
        reranker: Reranker | None = None,
    ) -> None:
        self.cfg = cfg
        self.encoders = as_encoders(encoders)
        self._retrieval = retrieval
        self._reranker = reranker
        self._retriever = self._open()
        self._articles: tuple[str, list[ArticleSummary]] | None = None
        self._lock = threading.Lock()
        self._reopening = threading.Lock()

    @classmethod
    def open(
        cls,
        cfg: CoreConfig,
        *,
        observer: BuildObserver | None = None,
        notify: Notify = _quiet,
    ) -> Library:
        """Load the configured encoders, build the index if it is missing or stale (`notify`
        says so in one line), and open it."""
        encoders = load_encoders(cfg.encoders)
        report = ensure_index(cfg.index, encoders, observer=observer, notify=notify)
        if report is not None:
            notify(f"built the index: {report.articles} articles, {report.chunks} passages "
                   f"in {report.seconds:.1f} s")
        reranker = CrossEncoderReranker(cfg.reranker) if cfg.reranker is not None else None
        return cls(cfg.index, encoders, cfg.retrieval, reranker=reranker)

    def _open(self) -> Retriever:
        return open_retriever(self.cfg, self.encoders, self._retrieval, reranker=self._reranker)

    # -- the retriever answering now --

    @property
    def retriever(self) -> Retriever:
        """The retriever to use for one question (keep the reference for its duration)."""
        with self._lock:
            retriever = self._retriever
        if retriever.index.changed():
            retriever = self._refresh(retriever)
        return retriever

    def _refresh(self, stale: Retriever) -> Retriever:
        with self._reopening:
            with self._lock:
                if self._retriever is not stale:  # another question reopened it meanwhile
                    return self._retriever
            try:
                fresh = self._open()
            except CoopbotError as exc:  # caught mid-update, say: keep serving, retry later
                log.warning("index changed but could not be reopened yet: %s", exc)
                return stale
            self._swap(fresh)
            log.info("index changed on disk: reopened it")
            return fresh

    def _swap(self, retriever: Retriever) -> None:
        with self._lock:
            self._retriever = retriever
            self._articles = None

    def reload(self) -> None:
        """Reopen the index now (after this process changed it)."""
        self._swap(self._open())

    # -- questions --

    def search(self, question: str, k: int = 3) -> Answer:
        """Answer a question with up to k cited excerpts, one per article."""
        return self.retriever.search(question, k)

    # -- what the index holds --

    @property
    def build_id(self) -> str:
        """A short id of the build served, so that buttons from before a rebuild are stale."""
        return self.retriever.index.path.name[-6:]

    def info(self) -> IndexInfo:
        """Counts, models and build time of the index served."""
        manifest = self.retriever.index.manifest
        return IndexInfo(manifest.article_count, manifest.chunk_count, manifest.model,
                         manifest.multilingual_model, manifest.built_at, manifest.build_seconds)

    def articles(self, offset: int = 0, limit: int | None = None) -> list[ArticleSummary]:
        """Indexed articles, newest first (undated last), in `coopbot list`'s order.

        Read in SQL once per build served, then kept until the index changes.
        """
        retriever = self.retriever
        tag = retriever.index.path.name
        with self._lock:
            cached = self._articles
        if cached is None or cached[0] != tag:
            cached = (tag, article_summaries(self.cfg.index_dir))
            with self._lock:
                self._articles = cached
        stop = None if limit is None else offset + limit
        return cached[1][offset:stop]

    def article_count(self) -> int:
        """How many articles are indexed."""
        return len(self.articles())

    def date_range(self) -> tuple[date, date] | None:
        """The oldest and newest article dates, or None when no article has a date."""
        dates = [a.date for a in self.articles() if a.date is not None]
        return (min(dates), max(dates)) if dates else None

    def article(self, article_id: str) -> ArticleText | None:
        """An article's metadata and paragraphs, or None when it is not indexed (any more)."""
        index = self.retriever.index
        record = index.articles([article_id]).get(article_id)
        if record is None:
            return None
        paragraphs: list[list[str]] = []
        for _, paragraph, text in index.unit_rows(article_id, 0, 1 << 31):
            while len(paragraphs) <= paragraph:
                paragraphs.append([])
            paragraphs[paragraph].append(text)
        return ArticleText(record, tuple(" ".join(p) for p in paragraphs if p))

    # -- changing the corpus --

    def rebuild(self, observer: BuildObserver | None = None, *, full: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus, then serve the result."""
        report = build_index(self.cfg, self.encoders, observer, full=full)
        self.reload()
        return report

    def add(self, sources: Sequence[str], observer: BuildObserver | None = None) -> AddReport:
        """Add articles from files, folders or URLs; serve them from the next question on."""
        report = _add_to_corpus(self.cfg, self.encoders, sources, observer=observer)
        if report.build is not None:
            self.reload()
        return report
