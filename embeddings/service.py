"""The core's one API for front ends (the CLI and the Telegram bot).

Front ends import this module, `embeddings.answers` (the results), `embeddings.errors` and
`embeddings.evaluation`, nothing deeper (a test enforces it). Here they find:

* `CoreConfig`: plain settings (`IndexConfig`, `EncoderConfig`, `RetrievalConfig`).
* Work on the index without serving it: `build`, `fill` (the multilingual vectors a large
  build left for later), `index_status`, `list_articles`,
  `add_articles`, `remove_articles`; and `run_encoding_worker`, which encodes passages that
  builds on other machines queued in the database.
* `Library`: an index opened for serving, which answers questions, lists and shows
  articles, says what it holds, and picks up changes made by other processes.

The result types the functions return (`BuildReport`, `AddReport`, `ArticleSummary`, …) are
re-exported, so a front end names them from here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from embeddings.answers import Answer, Filters
from embeddings.articles.countries import country_label, country_named
from embeddings.chunking.chunker import ChunkConfig
from embeddings.config import IndexConfig
from embeddings.corpus.adding import FILE_SUFFIXES, AddOutcome, AddReport
from embeddings.corpus.adding import add_articles as _add_to_corpus
from embeddings.corpus.removing import remove_articles as _remove_from_corpus
from embeddings.corpus.sources import is_jsonl
from embeddings.encoders.base import Encoder, Encoders, as_encoders
from embeddings.encoders.loading import EncoderConfig, load_encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.engine import article_summaries, open_index
from embeddings.index.filling import FillReport, fill_multilingual
from embeddings.index.freshness import check_freshness
from embeddings.index.leases import Leases
from embeddings.index.manifest import describe_settings
from embeddings.index.postgres.connection import redact as redact_url
from embeddings.index.postgres.jobs import DEFAULT_LEASE_S
from embeddings.index.postgres.worker import WorkerStats
from embeddings.index.records import ArticleRecord
from embeddings.index.report import BuildObserver, BuildReport
from embeddings.index.status import status_of
from embeddings.index.summaries import ArticleSummary
from embeddings.index.vectors import VectorIndexConfig
from embeddings.search.filters import FilterError, filter_tokens, split_filters
from embeddings.search.followup import Conversation, names_its_subject, reads_as_follow_up
from embeddings.search.rerank import CrossEncoderReranker, Reranker
from embeddings.search.retrieval import RetrievalConfig, Retriever
from embeddings.search.timeline import Event, TimelineEntry, events, matching, timeline
from embeddings.text import clean_question

__all__ = [
    "FILE_SUFFIXES", "AddOutcome", "AddReport", "ArticleRecord", "ArticleSummary", "ArticleText",
    "BuildObserver", "BuildReport", "ChunkConfig", "Conversation", "CoreConfig", "EncoderConfig",
    "FillReport", "FilterError", "Filters", "country_label", "country_named", "filter_tokens",
    "split_filters", "TimelineEntry",
    "IndexConfig", "IndexInfo", "Library", "RetrievalConfig", "VectorIndexConfig", "add_articles",
    "build", "clean_question", "fill", "describe_settings", "ensure_index", "index_status",
    "is_jsonl", "list_articles", "names_its_subject", "open_retriever", "reads_as_follow_up",
    "redact_url", "remove_articles", "run_encoding_worker", "WorkerStats",
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
    multilingual_filled: float | None = None
    """Share of passages with multilingual vectors while a fill is pending, else None."""


def _quiet(_: str) -> None:
    """The default `notify`: say nothing."""


def _close_retriever(retriever: Retriever) -> None:
    retriever.index.close()


# --- the index, without serving it ------------------------------------------------------


def build(
    cfg: CoreConfig, observer: BuildObserver | None = None, *, full: bool = False
) -> BuildReport:
    """Bring the index up to date with the corpus (`full`: rebuild from nothing)."""
    return build_index(cfg.index, load_encoders(cfg.encoders), observer, full=full)


def fill(
    cfg: CoreConfig, observer: BuildObserver | None = None, *,
    stop: threading.Event | None = None,
) -> FillReport:
    """Add the multilingual vectors a large build left for later (`index.filling`); the index
    serves meanwhile, and a stopped fill goes on next time."""
    return fill_multilingual(cfg.index, load_encoders(cfg.encoders), observer, stop=stop)


def run_encoding_worker(
    cfg: CoreConfig,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    should_stop: Callable[[], bool] = lambda: False,
    on_job: Callable[[WorkerStats], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> WorkerStats:
    """`coopbot worker`: encode the jobs builds queue in the database, for each of this
    configuration's models, until `should_stop()` (see `index.postgres.jobs`); `on_ready`
    once the database is reached."""
    if not cfg.index.database_url:
        raise CoopbotError("`coopbot worker` takes its jobs from the database: set "
                           "COOPBOT_DATABASE_URL to the database the builds use")
    from embeddings.index.postgres.jobs import JobQueue
    from embeddings.index.postgres.worker import run_worker

    encoders = load_encoders(cfg.encoders)
    models = {encoder.name: encoder for encoder in encoders.spaces().values()}
    queue = JobQueue(cfg.index.database_url)
    if on_ready is not None:
        on_ready()
    try:
        return run_worker(queue, models, lease_s=lease_s, should_stop=should_stop,
                          on_job=on_job)
    finally:
        queue.close()


def list_articles(cfg: CoreConfig) -> list[ArticleSummary]:
    """The indexed articles, newest first (undated last), without loading any vectors."""
    return article_summaries(cfg.index)


def add_articles(
    cfg: CoreConfig, sources: Sequence[str], observer: BuildObserver | None = None
) -> AddReport:
    """Save files, folders or web pages as articles in the corpus and update the index."""
    return _add_to_corpus(cfg.index, load_encoders(cfg.encoders), sources, observer=observer)


def index_status(cfg: CoreConfig) -> dict[str, Any]:
    """What `coopbot status --json` prints: what is indexed, how, and whether it is fresh
    (`index.status`; models load lazily, so naming them loads nothing)."""
    encoders = load_encoders(cfg.encoders)
    return status_of(cfg.index, encoders.primary.name, encoders.multilingual_name)


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
        cfg, model=encoders.primary.name, chunker=cfg.chunk.as_dict(),
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
    """Remove articles from the corpus and the index, in place (`corpus.removing`).

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
    return _remove_from_corpus(cfg, encoders, ids, observer=observer)


# --- serving ----------------------------------------------------------------------------


class Library:
    """An index opened for serving: questions, the article list, an article's text.

    Safe to share between threads. The index is reopened when it changes on disk (another
    process ran `coopbot index` or `add`; the check is one SQLite pragma and one small file
    read per question), and after `rebuild`, `add` and `remove` here. Questions in flight
    finish on the build they started on, which is closed (its files released) when the last of
    them ends.
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
        self._served = Leases(self._open(), _close_retriever)
        self._articles: tuple[Retriever, list[ArticleSummary]] | None = None
        self._events: tuple[Retriever, list[Event]] | None = None
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
        """The retriever serving now, reopened first if the index changed. To inspect only: it
        is closed once replaced, so questions go through `search`, which keeps it open."""
        with self._using() as retriever:
            return retriever

    @contextlib.contextmanager
    def _using(self, *, look: bool = True) -> Iterator[Retriever]:
        """The retriever to use, kept open until the block ends; `look`: reopen the index
        first if it changed on disk."""
        with self._served.lease() as retriever:
            if not look or not retriever.index.changed():
                yield retriever
                return
        self._refresh(retriever)
        with self._served.lease() as retriever:
            yield retriever

    def _refresh(self, stale: Retriever) -> None:
        with self._reopening:
            if self._served.current is not stale:  # another question reopened it meanwhile
                return
            try:
                fresh = self._open()
            except CoopbotError as exc:  # caught mid-update, say: keep serving, retry later
                log.warning("index changed but could not be reopened yet: %s", exc)
                return
            self._swap(fresh)
            log.info("index changed on disk: reopened it")

    def _swap(self, retriever: Retriever) -> None:
        self._served.replace(retriever)
        with self._lock:
            # Neither may keep the replaced build open (they hold its retriever).
            self._articles = None
            self._events = None

    def reload(self) -> None:
        """Reopen the index now (after this process changed it)."""
        self._swap(self._open())

    def close(self) -> None:
        """Release the index served, once the questions in flight end."""
        self._served.close()

    # -- questions --

    def search(self, question: str, k: int = 3, *, after: Conversation | None = None,
               filters: Filters | None = None) -> Answer:
        """Answer a question with up to k cited excerpts, one per article; `after` is the
        exchange it follows up (`embeddings.search.followup`), if any; only the articles
        `filters` (and the filters written in the question) admit are searched.

        Raises:
            FilterError: a filter written in the question cannot be read.
        """
        with self._using() as retriever:
            return retriever.search(question, k, after=after, filters=filters)

    # -- what the index holds --

    @property
    def build_id(self) -> str:
        """A short id of the build served, so that buttons from before a rebuild are stale."""
        return self.retriever.index.path.name[-6:]

    def info(self) -> IndexInfo:
        """Counts, models and build time of the index served."""
        manifest = self.retriever.index.manifest
        filled = manifest.multilingual_filled
        return IndexInfo(manifest.article_count, manifest.chunk_count, manifest.model,
                         manifest.multilingual_model, manifest.built_at, manifest.build_seconds,
                         None if filled is None or filled >= manifest.chunk_count
                         else filled / max(1, manifest.chunk_count))

    def articles(self, offset: int = 0, limit: int | None = None) -> list[ArticleSummary]:
        """Indexed articles, newest first (undated last), in `coopbot list`'s order.

        Read in SQL once per build served, then kept until the index changes.
        """
        stop = None if limit is None else offset + limit
        return self._summaries(look=True)[offset:stop]

    def article_count(self) -> int:
        """How many articles the build served holds.

        It does not look for a newer build (`articles` and questions do): a page shows the
        count beside a list or an answer, and one look on disk serves them both.
        """
        return len(self._summaries(look=False))

    def date_range(self) -> tuple[date, date] | None:
        """The oldest and newest article dates, or None when no article has a date (of the
        build served, as `article_count`)."""
        dates = [a.date for a in self._summaries(look=False) if a.date is not None]
        return (min(dates), max(dates)) if dates else None

    def _summaries(self, *, look: bool) -> list[ArticleSummary]:
        with self._using(look=look) as retriever:
            with self._lock:
                cached = self._articles
            if cached is None or cached[0] is not retriever:
                cached = (retriever, article_summaries(self.cfg))
                with self._lock:
                    self._articles = cached
            return cached[1]

    def article(self, article_id: str) -> ArticleText | None:
        """An article's metadata and paragraphs, or None when it is not indexed (any more)."""
        with self._using() as retriever:
            index = retriever.index
            record = index.articles([article_id]).get(article_id)
            if record is None:
                return None
            rows = index.unit_rows(article_id, 0, 1 << 31)
        paragraphs: list[list[str]] = []
        for _, paragraph, text in rows:
            while len(paragraphs) <= paragraph:
                paragraphs.append([])
            paragraphs[paragraph].append(text)
        return ArticleText(record, tuple(" ".join(p) for p in paragraphs if p))

    def timeline(self, about: str | None = None, ids: Sequence[str] | None = None
                 ) -> list[TimelineEntry]:
        """The corpus's events, newest first (`embeddings.search.timeline`); only those
        about a country or mentioning a term, when `about` is given; of the articles `ids`
        only (dated or not), when given."""
        with self._using() as retriever:
            if ids is not None:
                return timeline(retriever.index, about, ids)
            with self._lock:
                cached = self._events
            if cached is None or cached[0] is not retriever:  # once per build served
                cached = (retriever, events(retriever.index))
                with self._lock:
                    self._events = cached
            return matching(cached[1], about)

    # -- changing the corpus --

    def rebuild(self, observer: BuildObserver | None = None, *, full: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus, then serve the result."""
        report = build_index(self.cfg, self.encoders, observer, full=full)
        self.reload()
        return report

    def fill_multilingual(self, stop: threading.Event | None = None) -> FillReport:
        """Add the multilingual vectors a large build left pending (`index.filling`); each
        round is served from the next question on. `stop` ends it within a passage."""
        return fill_multilingual(self.cfg, self.encoders, stop=stop)

    def add(self, sources: Sequence[str], observer: BuildObserver | None = None) -> AddReport:
        """Add articles from files, folders or URLs; serve them from the next question on."""
        report = _add_to_corpus(self.cfg, self.encoders, sources, observer=observer)
        if report.build is not None:
            self.reload()
        return report
