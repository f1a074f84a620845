"""Answer assembly: an article that answers in two places shows both, in one result."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.search.config import RetrievalConfig
from embeddings.search.grouping import GAP
from embeddings.search.retrieval import Retriever
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder

FIRST = "The border police agreed to open a hotline for fugitives."
SECOND = "The border police agreed to open a hotline for fugitives at sea."


@pytest.fixture
def two_places(tmp_path: Path) -> IndexConfig:
    """An article that answers at its start and again at its end, with filler between."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    filler = [f"Farmers in village {i} planted rice on the terraces above the river this spring. "
              f"The harvest {i} was late because the monsoon rains came weeks after the usual "
              f"time. Traders waited at the market for the carts." for i in range(8)]
    about = (" The hotline links the border police of both provinces, and officers will answer"
             " calls from both sides of the border day and night.")
    body = "\n\n".join([FIRST + about, *filler, SECOND + about])
    (seeds / "talks.md").write_text(f"---\ntitle: Talks\ndate: 2024-01-02\n---\n{body}\n",
                                    encoding="utf-8")
    (seeds / "other.md").write_text("---\ntitle: Weather\ndate: 2024-01-03\n---\n"
                                    "Rain fell in the capital. The police closed a road.\n",
                                    encoding="utf-8")
    return IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")


def _open(cfg: IndexConfig, **knobs: object) -> Retriever:
    encoder = HashingEncoder()
    build_index(cfg, encoder)
    return open_retriever(cfg, encoder, RetrievalConfig(**knobs))  # type: ignore[arg-type]


def test_two_far_apart_passages_that_score_high_share_one_excerpt(two_places: IndexConfig) -> None:
    question = "Did the border police agree to a hotline for fugitives?"
    answer = _open(two_places).search(question, 3)
    top = answer.results[0]
    assert top.article_id == "talks" and [r.article_id for r in answer.results].count("talks") == 1
    assert FIRST in top.excerpt and SECOND in top.excerpt and GAP in top.excerpt
    assert top.highlight in top.excerpt
    alone = _open(two_places, second_passage_ratio=2.0).search(question, 3).results[0]
    assert GAP not in alone.excerpt and len(alone.excerpt) < len(top.excerpt)


def test_the_second_passage_does_not_change_what_the_answer_is_judged_by(
    two_places: IndexConfig,
) -> None:
    question = "Did the border police agree to a hotline for fugitives?"
    joined = _open(two_places).assess(question, 3)
    alone = _open(two_places, second_passage_ratio=2.0).assess(question, 3)
    assert joined is not None and alone is not None
    assert joined.answer.results[0].excerpt != alone.answer.results[0].excerpt
    assert repr(joined.features) == repr(alone.features)  # NaN (no e5 here) != NaN
    assert joined.evidence == alone.evidence
    assert joined.answer.answered == alone.answer.answered
