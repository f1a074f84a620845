"""From a question to an Answer: hybrid search, one entry per article, the answering sentence.

    question ─┬─ dense (MiniLM; e5 for Vietnamese) ─┐
              └─ keyword (FTS5 BM25) ───────────────┴─ RRF ─ dates ─ rerank? ─ group ─ highlight
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from embeddings.answers import Answer, Result
from embeddings.encoders.base import MULTILINGUAL, PRIMARY, Encoder, Encoders, as_encoders
from embeddings.index.keyword import KeywordQuery
from embeddings.index.store import ArticleRecord, ChunkRecord, LoadedIndex
from embeddings.search.abstention import Abstention, Evidence
from embeddings.search.dates import DateRange, find_date_range
from embeddings.search.fusion import fuse
from embeddings.search.glossary import english_terms
from embeddings.search.grouping import ArticleGroup, Excerpt, build_excerpt, group_by_article
from embeddings.search.highlight import sentence_scores
from embeddings.search.language import detect_language
from embeddings.search.rerank import Reranker
from embeddings.text import clean_question, names_and_numbers

DENSE, KEYWORD = "dense", "keyword"
MODES = ("hybrid", "dense", "keyword")


@dataclass(frozen=True)
class RetrievalConfig:
    """Retrieval knobs; the defaults are what the benchmarks measured best.

    Attributes:
        mode: ``hybrid`` (dense + keyword), ``dense`` or ``keyword`` only.
        fusion: ``score`` (min-max normalised, weighted sum) or ``rrf``.
        dense_spaces: ``auto`` searches the primary vectors for English questions and the
            multilingual ones for other languages; ``both`` (default) adds the multilingual
            vectors to English questions too; ``primary`` or ``multilingual`` forces one.
        vietnamese_keyword_weight: keyword weight for Vietnamese questions, whose keywords are
            only names, numbers and glossary translations.
        candidates: passages taken from each ranked list before fusion.
        weights: RRF weight per list (``dense``, ``multilingual``, ``keyword``).
        min_score: overrides the calibrated abstention threshold of the dense score.
        per_article: passages merged into one article's excerpt at most.
        passages_considered: an article's candidate passages searched for the answer sentence.
        neighbours: sentences of context around the best passage.
        max_excerpt_units: soft cap on sentences in one excerpt.
        date_boost: fused-score bonus (a third of it, on the 0..1 scale) for articles in the
            question's date range.
        rerank_top: candidates re-scored by the reranker, when there is one.
        highlight_keyword_weight: keyword share against cosine when picking the highlight.
        highlight_passage_weight: the passage's fused score against cosine, likewise.
    """

    mode: str = "hybrid"
    dense_spaces: str = "both"
    fusion: str = "score"
    candidates: int = 50
    weights: dict[str, float] = field(
        default_factory=lambda: {DENSE: 1.0, MULTILINGUAL: 1.0, KEYWORD: 1.0}
    )
    vietnamese_keyword_weight: float = 0.5
    min_score: float | None = None
    per_article: int = 2
    passages_considered: int = 4
    neighbours: int = 1
    max_excerpt_units: int = 8
    date_boost: float = 1.0
    rerank_top: int = 20
    highlight_keyword_weight: float = 0.2
    highlight_passage_weight: float = 0.3


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


class Retriever:
    """Answers questions from one loaded index."""

    def __init__(
        self,
        index: LoadedIndex,
        encoders: Encoder | Encoders,
        cfg: RetrievalConfig | None = None,
        *,
        reranker: Reranker | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.index = index
        self.encoders = as_encoders(encoders)
        self.cfg = cfg or RetrievalConfig()
        if self.cfg.mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, got {self.cfg.mode!r}")
        self.reranker = reranker
        self.today = today
        self.abstention = Abstention.for_encoders(self.encoders, self.cfg.min_score)

    @property
    def encoder(self) -> Encoder:
        """The primary encoder."""
        return self.encoders.primary

    def _dense_space(self, language: str) -> str | None:
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

    def retrieve(self, question: str) -> Retrieval:
        """Fused, ranked passages for a question (before grouping by article)."""
        query = clean_question(question)
        language = detect_language(query)
        space = self._dense_space(language) if query else None
        lists: dict[str, list[tuple[int, float]]] = {}
        dense_scores: dict[int, float] = {}
        vectors: dict[str, np.ndarray] = {}
        searched = [space] if space is not None else []
        if space is not None and self.cfg.dense_spaces == "both" and language == "en":
            searched = self._available
        for name in searched:
            vectors[name] = self.encoders.spaces()[name].encode_queries([query])[0]
            scores, rows = self.index.search(vectors[name], self.cfg.candidates, name)
            lists[DENSE if name == PRIMARY else MULTILINGUAL] = [
                (int(r), float(s)) for r, s in zip(rows, scores, strict=True)
            ]
            if name == space:  # abstention reads the space that fits the language
                dense_scores = {int(r): float(s) for r, s in zip(rows, scores, strict=True)}
        keyword, hits = self._keyword(query, language)
        weights = dict(self.cfg.weights)
        if language != "en":
            weights[KEYWORD] = self.cfg.vietnamese_keyword_weight
        if self.cfg.mode != "dense":
            lists[KEYWORD] = hits
        fused = fuse(lists, weights, self.cfg.fusion)
        records = self.index.chunks(list(fused))
        date_range = find_date_range(query, self.today()) if query else None
        if date_range is not None:
            self._boost_dates(fused, records, date_range)
        # A row missing from `records` belongs to an article removed since the vectors were
        # loaded: it no longer exists.
        ranked = sorted(((s, records[r]) for r, s in fused.items() if r in records),
                        key=lambda pair: (-pair[0], pair[1].row))
        if self.reranker is not None and ranked:
            ranked = self._rerank(query, ranked)
        return Retrieval(query, language, keyword, date_range, tuple(ranked), space,
                         dense_scores, vectors)

    def _keyword(self, query: str, language: str) -> tuple[KeywordQuery, list[tuple[int, float]]]:
        """Keyword hits. A Vietnamese question's own words would match English look-alikes
        ("thật" folds to "that"), so it searches only its names, numbers and translations."""
        if language == "en":
            return self.index.keyword_search(query, self.cfg.candidates)
        searchable = " ".join(names_and_numbers(query))
        return self.index.keyword_search(
            searchable, self.cfg.candidates, english_terms(query), correct=False
        )

    def _boost_dates(
        self, fused: dict[int, float], records: dict[int, ChunkRecord], span: DateRange
    ) -> None:
        articles = self.index.articles(sorted({c.article_id for c in records.values()}))
        # Scores are scaled to 0..1; the bonus is a share of that scale.
        bonus = self.cfg.date_boost / 3
        for row, chunk in records.items():
            day = articles[chunk.article_id].date
            if day is not None and span.contains(day):
                fused[row] += bonus

    def _rerank(
        self, query: str, ranked: list[tuple[float, ChunkRecord]]
    ) -> list[tuple[float, ChunkRecord]]:
        assert self.reranker is not None
        head, tail = ranked[: self.cfg.rerank_top], ranked[self.cfg.rerank_top :]
        scores = self.reranker.score(query, [c.text for _, c in head])
        order = sorted(range(len(head)), key=lambda i: -scores[i])
        # Keep the fused scores in rank order so they stay comparable across questions.
        reordered = [(head[i][0], head[j][1]) for i, j in zip(range(len(head)), order, strict=True)]
        return reordered + tail

    def search(self, question: str, k: int = 3) -> Answer:
        """Answer a question with up to k cited excerpts, one per article.

        Args:
            question: free text in English or Vietnamese.
            k: number of articles wanted.

        Returns:
            An Answer; ``answered`` is False when nothing relevant was found.
        """
        found = self.retrieve(question)
        if not found.query or k <= 0 or not found.ranked:
            return Answer(found.query, False, ())
        return self._answer(found, k)[0]

    def assess(self, question: str) -> Evidence | None:
        """The evidence the abstention rule sees for a question (for calibration)."""
        found = self.retrieve(question)
        return self._answer(found, 1)[1] if found.ranked else None

    def _answer(self, found: Retrieval, k: int) -> tuple[Answer, Evidence]:
        """Group by article, build each excerpt and pick its answering sentence.

        An excerpt always holds the article's top passage; the passage holding the best
        sentence among the article's other candidates joins it when it fits, because fusion
        ranks passages while sentence scores see which one actually answers.
        """
        groups = group_by_article(found.ranked, k, per_article=self.cfg.passages_considered)
        pools = [self._pool(g) for g in groups]
        scores = self._sentence_scores(found, groups, pools)
        excerpts, highlights = [], []
        for group, pool, pool_scores in zip(groups, pools, scores, strict=True):
            score_of = {index: float(s) for (index, _, _), s in zip(pool, pool_scores, strict=True)}
            best = max(score_of, key=score_of.__getitem__)
            anchor = next(p for p in group.passages if p.start <= best < p.end)
            passages = [group.passages[0]] + ([anchor] if anchor is not group.passages[0] else [])
            excerpt = build_excerpt(passages, self.index.unit_rows,
                                    neighbours=self.cfg.neighbours,
                                    max_units=self.cfg.max_excerpt_units)
            # The best sentence the excerpt holds (neighbours count, unscored ones last).
            shown = max(range(len(excerpt.units)),
                        key=lambda i: score_of.get(excerpt.indices[i], float("-inf")))
            excerpts.append(excerpt)
            highlights.append(excerpt.units[shown].text)
        articles = self.index.articles([g.article_id for g in groups])
        results = tuple(
            _result(rank, g, articles[g.article_id], e, h, found)
            for rank, (g, e, h) in enumerate(zip(groups, excerpts, highlights, strict=True), 1)
        )
        evidence = Evidence.of(found, excerpts[0].text, articles[groups[0].article_id].title)
        answer = Answer(found.query, self.abstention.answers(evidence), results,
                        language=found.language, corrections=found.keyword.corrections)
        return answer, evidence

    def _pool(self, group: ArticleGroup) -> list[tuple[int, str, float]]:
        """(unit index, sentence, best score of a passage holding it) for the group's units."""
        best: dict[int, float] = {}
        for score, passage in zip(group.scores, group.passages, strict=True):
            for i in range(passage.start, passage.end):
                best[i] = max(best.get(i, 0.0), score)
        low = min(p.start for p in group.passages)
        high = max(p.end for p in group.passages)
        return [
            (index, text, best[index])
            for index, _, text in self.index.unit_rows(group.article_id, low, high)
            if index in best
        ]

    def _sentence_scores(
        self,
        found: Retrieval,
        groups: list[ArticleGroup],
        pools: list[list[tuple[int, str, float]]],
    ) -> list[np.ndarray]:
        """Answer-sentence scores for each group's pool.

        In the primary space the sentence vectors were stored at build time (pooled from the
        passage encodings), so this costs one dot product; otherwise, or for an index without
        them, the pool's sentences are encoded now, in one call.
        """
        space = found.dense_space or self._dense_space(found.language) or PRIMARY
        encoder = self.encoders.spaces()[space]
        vector = found.query_vectors.get(space)
        if vector is None:
            vector = encoder.encode_queries([found.query])[0]
        stored = self._stored_sentence_vectors(groups, pools) if space == PRIMARY else None
        flat = sentence_scores(
            [text for pool in pools for _, text, _ in pool],
            [score for pool in pools for _, _, score in pool],
            vector, encoder, set(found.keyword.terms),
            keyword_weight=self.cfg.highlight_keyword_weight,
            passage_weight=self.cfg.highlight_passage_weight,
            sentence_vectors=stored,
        )
        bounds = np.cumsum([0] + [len(pool) for pool in pools])
        return [flat[bounds[i] : bounds[i + 1]] for i in range(len(pools))]

    def _stored_sentence_vectors(
        self, groups: list[ArticleGroup], pools: list[list[tuple[int, str, float]]]
    ) -> np.ndarray | None:
        """The pools' stored sentence vectors in pool order, or None if any is missing."""
        out: list[np.ndarray] = []
        for group, pool in zip(groups, pools, strict=True):
            if not pool:
                continue
            indices = [index for index, _, _ in pool]
            stored = self.index.unit_vectors(group.article_id, min(indices), max(indices) + 1)
            if any(i not in stored for i in indices):
                return None
            out.extend(stored[i] for i in indices)
        return np.stack(out) if out else None


def _result(
    rank: int, group: ArticleGroup, article: ArticleRecord, excerpt: Excerpt, highlight: str,
    found: Retrieval,
) -> Result:
    assert highlight in excerpt.text, "the answer sentence must lie inside its excerpt"
    similarity = max((found.dense_scores.get(c.row, float("nan")) for c in group.passages),
                     default=float("nan"))
    return Result(
        rank=rank, article_id=article.id, title=article.title, date=article.date,
        source=article.source, excerpt=excerpt.text, highlight=highlight, score=group.score,
        chunk_id=f"{article.id}#{group.passages[0].ordinal}", place=article.place,
        url=article.url, similarity=None if np.isnan(similarity) else similarity,
    )
