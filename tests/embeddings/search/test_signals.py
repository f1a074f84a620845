"""The confidence model's features: what a result's numbers are read from."""

from __future__ import annotations

import math
from typing import Any, cast

import pytest

from embeddings.index.storage import ReadableIndex
from embeddings.search.signals import ArticleStems, QuestionSignals, ResultView, result_features


class _NoUnits:
    """An index whose articles hold no sentences (the features read only the lists here)."""

    def unit_rows(self, article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
        return []


def _features(lists: dict[str, list[tuple[int, float]]]) -> list[dict[str, float | None]]:
    """Each result's features, NaN (a list not searched) as None so that they compare."""
    question = QuestionSignals(terms=(), weights=(), names=(), absent=frozenset(),
                               date_range=None, corrected=0.0)
    results = [ResultView("a", "A", "text a", 0.5, None), ResultView("b", "B", "text b", 0.4, None)]
    article_of = {1: "a", 2: "a", 3: "b", 4: "b"}
    stems = ArticleStems(cast(ReadableIndex, cast(Any, _NoUnits())))
    out = result_features(question, results, lists, article_of, {"a": 1.0, "b": 0.5}, stems,
                          dense_list="dense", multilingual_list=None, keyword_list="keyword")
    return [{k: None if math.isnan(v) else v for k, v in f.items()} for f in out]


def test_rows_of_removed_articles_weigh_in_no_feature() -> None:
    live = [(1, 0.8), (3, 0.7), (2, 0.6), (4, 0.5)]
    # Rows 9 and 8 belong to an article removed from the index while its vectors stay (until
    # the vector index compacts): the search still returns them, on top.
    with_dead = [(9, 0.95), (8, 0.9), *live]
    clean = _features({"dense": live, "keyword": []})
    assert _features({"dense": with_dead, "keyword": []}) == clean
    first = clean[0]
    assert first["dense"] == pytest.approx(0.8)
    assert first["dense_margin"] == pytest.approx(0.1)
    assert first["dense_gap"] == pytest.approx(0.8 - 0.7)  # over the median of the live rows
