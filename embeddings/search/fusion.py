"""Fusing ranked candidate lists: normalised score fusion (default) or reciprocal rank fusion.

On SQuAD (benchmarks/quality.py) min-max normalised scores, summed with weights, beat RRF at
every cut-off: RRF throws away how far ahead the first candidate is, which is exactly what
separates a confident keyword match from a lucky one.
"""

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


def normalized_score_fusion(
    lists: Mapping[str, Sequence[tuple[int, float]]], weights: Mapping[str, float]
) -> dict[int, float]:
    """Fuse scored lists: each list's scores min-max normalised to 0..1, then a weighted sum.

    An id missing from a list gets 0 from it. A list whose scores are all equal gives 1 to
    each of its ids (they are equally good, and present).

    Args:
        lists: list name -> (id, score) pairs, best first.
        weights: list name -> weight (a missing name weighs 1).

    Returns:
        id -> fused score, at most the sum of the weights.
    """
    fused: dict[int, float] = {}
    for name, pairs in lists.items():
        if not pairs:
            continue
        scores = [s for _, s in pairs]
        low, span = min(scores), max(scores) - min(scores)
        weight = weights.get(name, 1.0)
        for item, score in pairs:
            normalised = (score - low) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + weight * normalised
    return fused


def fuse(
    lists: Mapping[str, Sequence[tuple[int, float]]],
    weights: Mapping[str, float],
    method: str = "score",
) -> dict[int, float]:
    """Fused scores scaled to 0..1 (1: first in every list), by `score` or `rrf` fusion."""
    present = [name for name, pairs in lists.items() if pairs]
    total = sum(weights.get(n, 1.0) for n in present) or 1.0
    if method == "rrf":
        ranked = {name: [i for i, _ in pairs] for name, pairs in lists.items()}
        fused = reciprocal_rank_fusion(ranked, weights)
        total /= RRF_K + 1
    else:
        fused = normalized_score_fusion(lists, weights)
    return {item: score / total for item, score in fused.items()}
