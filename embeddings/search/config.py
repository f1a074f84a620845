"""The retrieval knobs, and the names of the ranked lists that fusion combines."""

from __future__ import annotations

from dataclasses import dataclass, field

from embeddings.encoders.base import MULTILINGUAL

DENSE, KEYWORD = "dense", "keyword"
"""List names: the primary space's dense list and the keyword list (the multilingual dense
list is named after its space, `MULTILINGUAL`)."""
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
        candidates: passages taken from each ranked list before fusion, at least.
        depth_per_article: passages taken from each list per article asked for, when that
            is more than `candidates`; and if the fused list still holds fewer articles than
            asked while a list was cut short, the lists are searched twice as deep again (at
            104k passages, 50 deep, 211 of 500 SQuAD questions got fewer than 20 articles for
            k=20; now none do).
        weights: fusion weight per list (``dense``, ``multilingual``, ``keyword``).
        min_score: overrides the calibrated abstention threshold of the dense score.
        per_article: passages merged into one article's excerpt at most.
        passages_considered: an article's candidate passages searched for the answer sentence.
        neighbours: sentences of context around the best passage.
        max_excerpt_units: soft cap on sentences in one excerpt.
        second_passage_ratio: an article's second passage joins its excerpt (after a gap)
            when it lies apart from the first and scores at least this share of it, unless
            the best sentence's passage joined already (above 1: never). At 0.8, SQuAD's
            answer is in the first excerpt for 92.0% of questions instead of 90.7%, for
            excerpts 12% longer (benchmarks/quality.py, 300 questions).
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
    depth_per_article: int = 10
    weights: dict[str, float] = field(
        default_factory=lambda: {DENSE: 1.0, MULTILINGUAL: 1.0, KEYWORD: 1.0}
    )
    vietnamese_keyword_weight: float = 0.5
    min_score: float | None = None
    per_article: int = 2
    passages_considered: int = 4
    neighbours: int = 1
    max_excerpt_units: int = 8
    second_passage_ratio: float = 0.8
    date_boost: float = 1.0
    rerank_top: int = 20
    highlight_keyword_weight: float = 0.2
    highlight_passage_weight: float = 0.3
