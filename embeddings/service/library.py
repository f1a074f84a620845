"""Serving: `Library`, an index opened for answering questions that picks up changes."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from embeddings.answers import Answer, Filters
from embeddings.config import IndexConfig
from embeddings.corpus.adding import AddReport
from embeddings.corpus.adding import add_articles as _add_to_corpus
from embeddings.encoders.base import Encoder, Encoders, as_encoders
from embeddings.encoders.loading import load_encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.engine import article_summaries
from embeddings.index.filling import FillReport, fill_multilingual
from embeddings.index.leases import Leases
from embeddings.index.records import ArticleRecord
from embeddings.index.report import BuildObserver, BuildReport
from embeddings.index.summaries import ArticleSummary
from embeddings.search.followup import Conversation
from embeddings.search.rerank import CrossEncoderReranker, Reranker
from embeddings.search.retrieval import RetrievalConfig, Retriever
from embeddings.search.timeline import Event, TimelineEntry, events, matching, timeline
from embeddings.service.work import CoreConfig, Notify, _quiet, ensure_index, open_retriever

log = logging.getLogger(__name__)

WARM_UP = ("Who signed the agreement?", "Ai đã ký thỏa thuận?", "ai da ky thoa thuan?")
"""One question of each path: English, Vietnamese, Vietnamese typed without accents."""


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
    multilingual_share: float | None = None
    """Share of passages with multilingual vectors while a fill is pending, else None."""


def _close_retriever(retriever: Retriever) -> None:
    retriever.index.close()


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

    def warm_up(self) -> None:
        """Ask `WARM_UP`'s questions and forget the answers, so that what a question loads on
        first use (both models, the index files, the typo dictionary, the accent restorer) is
        loaded before the first user asks. Raises CoopbotError where a search would."""
        for question in WARM_UP:
            self.search(question, 1)

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
