"""Gathering candidate passages: the ranked lists, their fusion, the date bonus, reranking.

    question ─┬─ dense (MiniLM; e5 for Vietnamese) ─┐
              └─ keyword (FTS5 BM25) ───────────────┴─ fusion ─ dates ─ rerank? ─▶ Retrieval

Every list is at least `candidates` deep, and deep enough that the fusion holds the articles
asked for wherever the corpus has them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from embeddings.answers import Filters
from embeddings.encoders.base import MULTILINGUAL, PRIMARY, Encoders
from embeddings.index.records import ArticleRecord, ChunkRecord
from embeddings.index.storage import ReadableIndex
from embeddings.search.accents import restore_accents
from embeddings.search.config import DENSE, KEYWORD, RetrievalConfig
from embeddings.search.dates import DateRange, find_date_range
from embeddings.search.filters import admitted
from embeddings.search.fusion import fuse
from embeddings.search.glossary import english_terms
from embeddings.search.language import detect_language
from embeddings.search.rerank import Reranker
from embeddings.search.terms import KeywordQuery, prepare_query, terms_that_matter
from embeddings.text import clean_question, names_and_numbers


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages for a question, with the evidence the answer is built from."""

    query: str
    language: str
    keyword: KeywordQuery
    date_range: DateRange | None
    ranked: tuple[tuple[float, ChunkRecord], ...]
    """(fused score scaled to 0..1, passage), best first."""
    dense_space: str | None
    dense_scores: dict[int, float]
    query_vectors: dict[str, np.ndarray]
    articles: Mapping[str, ArticleRecord] = field(default_factory=dict)
    """Records of the ranked passages' articles, when ranking already needed them (dates)."""
    lists: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)
    """The ranked lists before fusion: (row, raw score), best first, by list name."""


class CandidateSearch:
    """Runs a question's ranked lists over one index and fuses them into a `Retrieval`."""

    def __init__(
        self,
        index: ReadableIndex,
        encoders: Encoders,
        cfg: RetrievalConfig,
        *,
        reranker: Reranker | None,
        today: Callable[[], dt.date],
    ) -> None:
        self.index = index
        self.encoders = encoders
        self.cfg = cfg
        self.reranker = reranker
        self.today = today

    def dense_space(self, language: str) -> str | None:
        """The vector space that understands the question's language best."""
        if self.cfg.mode == "keyword":
            return None
        if self.cfg.dense_spaces in (PRIMARY, MULTILINGUAL):
            return self.cfg.dense_spaces
        if language != "en" and MULTILINGUAL in self._available:
            return MULTILINGUAL
        return PRIMARY

    @property
    def _available(self) -> list[str]:
        """Vector spaces present in the index and backed by an encoder here."""
        return [s for s in self.index.spaces if s in self.encoders.spaces()]

    def retrieve(self, question: str, articles: int = 0, language: str | None = None,
                 filters: Filters | None = None) -> Retrieval:
        """Fused, ranked passages for a question (before grouping by article).

        Args:
            question: free text.
            articles: how many distinct articles the ranking must hold where the corpus
                has them (what `search(question, k)` shows); 0: as deep as `candidates`.
            language: the question's language when known from more text than `question`
                (a metadata question searches only its subject); detected when None.
            filters: only passages of the articles these admit are ranked (the lists are
                searched deeper until they hold `articles` such articles, or end).
        """
        query = clean_question(question)
        language = language or detect_language(query)
        space = self.dense_space(language) if query else None
        keyword = self.keyword_query(query, language)
        weights = dict(self.cfg.weights)
        if language != "en":
            weights[KEYWORD] = self.cfg.vietnamese_keyword_weight
        depth = max(self.cfg.candidates, articles * self.cfg.depth_per_article)
        vectors: dict[str, np.ndarray] = {}
        while True:
            lists, dense_scores, cut_short = self._lists(query, language, space, keyword,
                                                         depth, vectors)
            records = self.index.chunks(sorted({r for pairs in lists.values() for r, _ in pairs}))
            if filters:
                records = self._admitted(records, filters)
            found = len({chunk.article_id for chunk in records.values()})
            # Each list is cut at `depth` passages, and one article may fill many of them: an
            # article-poor ranking is searched deeper while some list has more to give.
            if found >= articles or not cut_short:
                break
            depth *= 2
        # A row missing from `records` belongs to an article removed in place: its vectors
        # stay in the vector index until it compacts, and left in the lists they would still
        # set fusion's min-max scale and what abstention reads, as if the article were there.
        lists = {name: [(r, s) for r, s in pairs if r in records] for name, pairs in lists.items()}
        dense_scores = {r: s for r, s in dense_scores.items() if r in records}
        fused = fuse(lists, weights, self.cfg.fusion)
        date_range = find_date_range(query, self.today()) if query else None
        read: dict[str, ArticleRecord] = {}
        if date_range is not None:
            read = self._boost_dates(fused, records, date_range)
        ranked = sorted(((s, records[r]) for r, s in fused.items() if r in records),
                        key=lambda pair: (-pair[0], pair[1].row))
        if self.reranker is not None and ranked:
            ranked = self._rerank(query, ranked)
        return Retrieval(query, language, keyword, date_range, tuple(ranked), space,
                         dense_scores, vectors, read, lists)

    def _admitted(self, records: dict[int, ChunkRecord], filters: Filters
                  ) -> dict[int, ChunkRecord]:
        """The passages whose articles `filters` admit."""
        articles = self.index.articles(sorted({c.article_id for c in records.values()}))
        return {row: chunk for row, chunk in records.items()
                if chunk.article_id in articles and admitted(filters, articles[chunk.article_id])}

    def _lists(
        self, query: str, language: str, space: str | None, keyword: KeywordQuery, depth: int,
        vectors: dict[str, np.ndarray],
    ) -> tuple[dict[str, list[tuple[int, float]]], dict[int, float], bool]:
        """The dense and keyword lists, `depth` deep, by name; the scores of the dense list in
        `space` by row (what abstention reads); and whether some list was cut at `depth`.
        The query's vector in each space searched is added to `vectors` (encoded once)."""
        lists: dict[str, list[tuple[int, float]]] = {}
        dense_scores: dict[int, float] = {}
        searched = [space] if space is not None else []
        if space is not None and self.cfg.dense_spaces == "both" and language == "en":
            searched = self._available
        for name in searched:
            if name not in vectors:
                # e5 reads Vietnamese typed without accents far better with them restored.
                restore = name == MULTILINGUAL and language == "vi"
                text = restore_accents(query) if restore else query
                vectors[name] = self.encoders.spaces()[name].encode_queries([text])[0]
            scores, rows = self.index.search(vectors[name], depth, name)
            lists[DENSE if name == PRIMARY else MULTILINGUAL] = [
                (int(r), float(s)) for r, s in zip(rows, scores, strict=True)
            ]
            if name == space:  # abstention reads the space that fits the language
                dense_scores = {int(r): float(s) for r, s in zip(rows, scores, strict=True)}
        if self.cfg.mode != "dense":
            lists[KEYWORD] = self._keyword_hits(keyword, depth)
        return lists, dense_scores, any(len(pairs) >= depth for pairs in lists.values())

    def keyword_query(self, query: str, language: str) -> KeywordQuery:
        """The keyword terms. A Vietnamese question's own words would match English look-alikes
        ("thật" folds to "that"), so it searches only its names, numbers and translations."""
        if language == "en":
            return prepare_query(query, self.index)
        searchable = " ".join(names_and_numbers(query))
        return prepare_query(searchable, self.index, english_terms(query), correct=False)

    def _keyword_hits(self, keyword: KeywordQuery, depth: int) -> list[tuple[int, float]]:
        """BM25 top passages for every term that matters (common words left out)."""
        terms = terms_that_matter(keyword.terms, keyword.counts, self.index.manifest.chunk_count)
        return self.index.keyword_top(terms, depth)

    def _boost_dates(
        self, fused: dict[int, float], records: dict[int, ChunkRecord], span: DateRange
    ) -> dict[str, ArticleRecord]:
        """Add the date bonus to passages of articles dated in the span; returns the articles
        read for it."""
        articles = self.index.articles(sorted({c.article_id for c in records.values()}))
        # Scores are scaled to 0..1; the bonus is a share of that scale, and the sum is scaled
        # back to 0..1 (the same factor for every passage, so the ranking is that of the sums).
        bonus = self.cfg.date_boost / 3
        for row, chunk in records.items():
            day = articles[chunk.article_id].date
            inside = day is not None and span.contains(day)
            fused[row] = (fused[row] + (bonus if inside else 0.0)) / (1 + bonus)
        return articles

    def _rerank(
        self, query: str, ranked: list[tuple[float, ChunkRecord]]
    ) -> list[tuple[float, ChunkRecord]]:
        """The reranker's order over the head of the list, with the fused scores kept."""
        assert self.reranker is not None
        head, tail = ranked[: self.cfg.rerank_top], ranked[self.cfg.rerank_top :]
        scores = self.reranker.score(query, [c.text for _, c in head])
        order = sorted(range(len(head)), key=lambda i: -scores[i])
        # Keep the fused scores in rank order so they stay comparable across questions.
        reordered = [(head[i][0], head[j][1]) for i, j in zip(range(len(head)), order, strict=True)]
        return reordered + tail
