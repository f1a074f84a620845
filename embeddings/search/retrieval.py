"""From a question to an Answer: hybrid search, one entry per article, the answering sentence,
and how sure each result is.

    question ─┬─ dense (MiniLM; e5 for Vietnamese) ─┐
              └─ keyword (FTS5 BM25) ───────────────┴─ RRF ─ dates ─ rerank? ─ group ─ highlight
                                                                        ─ confidence (answered?)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from embeddings.answers import Answer, Result
from embeddings.encoders.base import MULTILINGUAL, PRIMARY, Encoder, Encoders, as_encoders
from embeddings.index.records import ArticleRecord, ChunkRecord, StoredUnit
from embeddings.index.storage import ReadableIndex
from embeddings.search.abstention import Abstention, Evidence
from embeddings.search.confidence import Confidence, model_key
from embeddings.search.dates import DateRange, find_date_range
from embeddings.search.fusion import fuse
from embeddings.search.glossary import english_terms
from embeddings.search.grouping import ArticleGroup, Excerpt, build_excerpt, group_by_article
from embeddings.search.highlight import sentence_scores
from embeddings.search.language import detect_language
from embeddings.search.names import missing_terms
from embeddings.search.rerank import Reranker
from embeddings.search.signals import ArticleStems, QuestionSignals, ResultView, result_features
from embeddings.search.terms import KeywordQuery, affordable_terms, prepare_query
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
    articles: Mapping[str, ArticleRecord] = field(default_factory=dict)
    """Records of the ranked passages' articles, when ranking already needed them (dates)."""
    lists: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)
    """The ranked lists before fusion: (row, raw score), best first, by list name."""


@dataclass(frozen=True)
class Assessment:
    """An answer with what its decision was made from (for calibration)."""

    answer: Answer
    evidence: Evidence
    features: tuple[dict[str, float], ...]
    """The confidence model's features of each result, in order."""
    rule_answers: bool
    """What the threshold rule of `embeddings.search.abstention` decides."""


class Retriever:
    """Answers questions from one loaded index."""

    def __init__(
        self,
        index: ReadableIndex,
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
        self.confidence = Confidence.for_encoders(self.encoders)
        self._article_stems = ArticleStems(index)

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
        articles: dict[str, ArticleRecord] = {}
        if date_range is not None:
            articles = self._boost_dates(fused, records, date_range)
        # A row missing from `records` belongs to an article removed since the vectors were
        # loaded: it no longer exists.
        ranked = sorted(((s, records[r]) for r, s in fused.items() if r in records),
                        key=lambda pair: (-pair[0], pair[1].row))
        if self.reranker is not None and ranked:
            ranked = self._rerank(query, ranked)
        return Retrieval(query, language, keyword, date_range, tuple(ranked), space,
                         dense_scores, vectors, articles, lists)

    def _keyword(self, query: str, language: str) -> tuple[KeywordQuery, list[tuple[int, float]]]:
        """Keyword hits. A Vietnamese question's own words would match English look-alikes
        ("thật" folds to "that"), so it searches only its names, numbers and translations."""
        if language == "en":
            keyword = prepare_query(query, self.index)
        else:
            searchable = " ".join(names_and_numbers(query))
            keyword = prepare_query(searchable, self.index, english_terms(query), correct=False)
        terms = affordable_terms(keyword.terms, keyword.counts)
        return keyword, self.index.keyword_top(terms, self.cfg.candidates)

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

    def assess(self, question: str, k: int = 3) -> Assessment | None:
        """The answer with the features and evidence it was decided from (for calibration);
        None when nothing was found."""
        found = self.retrieve(question)
        return self._answer(found, k)[1] if found.ranked and k > 0 else None

    def _answer(self, found: Retrieval, k: int) -> tuple[Answer, Assessment]:
        """Group by article, build each excerpt and pick its answering sentence.

        Each result article's sentences (with their stored vectors) and its record are read
        once, for all articles together: the answer sentence, the excerpt and the citation all
        come from that one read.
        """
        groups = group_by_article(found.ranked, k, per_article=self.cfg.passages_considered)
        units = self.index.article_units(
            {g.article_id: _reach(g, self.cfg.neighbours) for g in groups})
        pools = [_pool(g, units.get(g.article_id, [])) for g in groups]
        scores, similarities = self._sentence_scores(found, pools)
        picked = [self._excerpt(group, pool, pool_scores, pool_similarities, units)
                  for group, pool, pool_scores, pool_similarities
                  in zip(groups, pools, scores, similarities, strict=True)]
        wanted = [g.article_id for g in groups if g.article_id not in found.articles]
        articles = {**found.articles, **(self.index.articles(wanted) if wanted else {})}
        results = [
            _result(rank, g, articles[g.article_id], e, h, found)
            for rank, (g, (e, h, _)) in enumerate(zip(groups, picked, strict=True), 1)
        ]
        top = picked[0][0].text
        evidence = Evidence.of(
            query=found.query, language=found.language, terms=found.keyword.terms,
            dense_scores=found.dense_scores.values(), space=found.dense_space,
            top_text=f"{articles[groups[0].article_id].title} {top}",
        )
        views = [ResultView(r.article_id, r.title, r.excerpt, sim, r.date)
                 for r, (_, _, sim) in zip(results, picked, strict=True)]
        features = self._features(found, views)
        rule = self.abstention.answers(evidence)
        answer = self._decide(found, results, features, rule)
        return answer, Assessment(answer, evidence, tuple(features), rule)

    def _features(self, found: Retrieval, views: list[ResultView]) -> list[dict[str, float]]:
        """The confidence model's features of each result (see `embeddings.search.signals`)."""
        question = QuestionSignals.of(
            found.query, found.language, found.keyword.terms, found.keyword.counts, self.index,
            date_range=found.date_range, corrections=len(found.keyword.corrections))
        article_of = {chunk.row: chunk.article_id for _, chunk in found.ranked}
        fused: dict[str, float] = {}
        for score, chunk in found.ranked:
            fused[chunk.article_id] = max(score, fused.get(chunk.article_id, 0.0))
        dense_list = {PRIMARY: DENSE, MULTILINGUAL: MULTILINGUAL}.get(found.dense_space or "")
        return result_features(
            question, views, found.lists, article_of, fused, self._article_stems,
            dense_list=dense_list,
            multilingual_list=MULTILINGUAL if MULTILINGUAL in found.lists else None,
            keyword_list=KEYWORD)

    def _decide(
        self, found: Retrieval, results: list[Result], features: list[dict[str, float]],
        rule: bool,
    ) -> Answer:
        """Answered or not, each result's confidence and whether it is an answer, and, when
        nothing answers, the question's words that no article mentions.

        The confidence model decides where it fits the search that ran (hybrid, score fusion,
        the question's language searched in the space the model was fitted on); elsewhere,
        and whenever `min_score` is set, the threshold rule does.
        """
        language, key = found.language, model_key(found.query, found.language)
        fits = (self.confidence is not None and self.cfg.mode == "hybrid"
                and self.cfg.fusion == "score"
                and found.dense_space == (PRIMARY if language == "en" else MULTILINGUAL))
        probabilities = (self.confidence.probabilities(key, features)
                         if fits and self.confidence is not None else None)
        if probabilities is None or self.confidence is None:
            answered, relevant = rule, [rule] * len(results)
        else:
            threshold = self.confidence.threshold(key)
            answered = probabilities[0] >= threshold if self.cfg.min_score is None else rule
            relevant = (self.confidence.relevant(key, probabilities) if answered
                        else [False] * len(results))
        shown = tuple(
            replace(r, relevant=ok, confidence=None if probabilities is None else probabilities[i])
            for i, (r, ok) in enumerate(zip(results, relevant, strict=True)))
        missing = () if answered else missing_terms(
            found.query, language, self.index, [typed for typed, _ in found.keyword.corrections])
        return Answer(found.query, answered, shown, language=language,
                      corrections=found.keyword.corrections,
                      confidence=None if probabilities is None else probabilities[0],
                      missing=missing)

    def _excerpt(
        self, group: ArticleGroup, pool: list[tuple[StoredUnit, float]], pool_scores: np.ndarray,
        pool_similarities: np.ndarray, units: Mapping[str, list[StoredUnit]],
    ) -> tuple[Excerpt, str, float]:
        """An article's excerpt, its answering sentence and that sentence's cosine to the
        question.

        An excerpt always holds the article's top passage; the passage holding the best
        sentence among the article's other candidates joins it when it fits, because fusion
        ranks passages while sentence scores see which one actually answers.
        """
        score_of = {u.index: float(s) for (u, _), s in zip(pool, pool_scores, strict=True)}
        similarity_of = {u.index: float(s)
                         for (u, _), s in zip(pool, pool_similarities, strict=True)}
        best = max(score_of, key=score_of.__getitem__)
        anchor = next(p for p in group.passages if p.start <= best < p.end)
        passages = [group.passages[0]] + ([anchor] if anchor is not group.passages[0] else [])

        def fetch(article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
            return [(u.index, u.paragraph, u.text) for u in units.get(article_id, [])
                    if start <= u.index < end]

        excerpt = build_excerpt(passages, fetch, neighbours=self.cfg.neighbours,
                                max_units=self.cfg.max_excerpt_units)
        # The best sentence the excerpt holds (neighbours count, unscored ones last).
        shown = max(range(len(excerpt.units)),
                    key=lambda i: score_of.get(excerpt.indices[i], float("-inf")))
        similarity = similarity_of.get(excerpt.indices[shown], 0.0)
        return excerpt, excerpt.units[shown].text, similarity

    def _sentence_scores(
        self, found: Retrieval, pools: list[list[tuple[StoredUnit, float]]]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Answer-sentence scores for each group's pool, and the sentences' cosines to the
        question.

        In the primary space the sentence vectors were stored at build time (pooled from the
        passage encodings), so this costs one dot product; otherwise, or for an index without
        them, the pool's sentences are encoded now, in one call.
        """
        space = found.dense_space or self._dense_space(found.language) or PRIMARY
        encoder = self.encoders.spaces()[space]
        vector = found.query_vectors.get(space)
        if vector is None:
            vector = encoder.encode_queries([found.query])[0]
        texts = [unit.text for pool in pools for unit, _ in pool]
        stored = _stored_vectors(pools) if space == PRIMARY else None
        if stored is None and texts:
            stored = encoder.encode_passages(texts)
        flat = sentence_scores(
            texts, [score for pool in pools for _, score in pool],
            vector, encoder, set(found.keyword.terms),
            keyword_weight=self.cfg.highlight_keyword_weight,
            passage_weight=self.cfg.highlight_passage_weight,
            sentence_vectors=stored,
        )
        cosines = stored @ vector if stored is not None else np.zeros(0, dtype=np.float32)
        bounds = np.cumsum([0] + [len(pool) for pool in pools])
        return ([flat[bounds[i] : bounds[i + 1]] for i in range(len(pools))],
                [cosines[bounds[i] : bounds[i + 1]] for i in range(len(pools))])


def _reach(group: ArticleGroup, neighbours: int) -> tuple[int, int]:
    """The units [start, end) an article's pool and excerpt can draw on: its candidate
    passages, widened by the excerpt's neighbouring sentences."""
    low = min(p.start for p in group.passages)
    high = max(p.end for p in group.passages)
    return max(0, low - neighbours), high + neighbours


def _pool(group: ArticleGroup, units: list[StoredUnit]) -> list[tuple[StoredUnit, float]]:
    """(unit, best score of a passage holding it) for the units of the group's passages."""
    best: dict[int, float] = {}
    for score, passage in zip(group.scores, group.passages, strict=True):
        for i in range(passage.start, passage.end):
            best[i] = max(best.get(i, 0.0), score)
    return [(unit, best[unit.index]) for unit in units if unit.index in best]


def _stored_vectors(pools: list[list[tuple[StoredUnit, float]]]) -> np.ndarray | None:
    """The pools' stored sentence vectors in pool order, or None if any is missing."""
    vectors = [unit.vector for pool in pools for unit, _ in pool]
    if any(v is None for v in vectors):
        return None
    return np.stack([v for v in vectors if v is not None]) if vectors else None


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
        byline=article.byline,
    )
