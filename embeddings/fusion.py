"""Reciprocal rank fusion of ranked candidate lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60  # the constant of Cormack et al.; it damps the head so no single list dominates


def reciprocal_rank_fusion(
    lists: Mapping[str, Sequence[int]],
    weights: Mapping[str, float],
    *,
    k: int = RRF_K,
) -> dict[int, float]:
    """Fuse ranked lists of ids: score(id) = sum over lists of weight / (k + rank).

    Ranks, unlike raw scores, compare across BM25 and cosine without calibration.

    Args:
        lists: list name -> ids, best first.
        weights: list name -> weight (a missing name weighs 1).
        k: the damping constant.

    Returns:
        id -> fused score.
    """
    fused: dict[int, float] = {}
    for name, ids in lists.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ids, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def max_fused_score(weights: Mapping[str, float], names: Sequence[str], *, k: int = RRF_K) -> float:
    """The fused score of an id ranked first in every list: scales scores to 0..1."""
    return sum(weights.get(n, 1.0) for n in names) / (k + 1)
