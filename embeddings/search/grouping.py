"""One entry per article: its best passages merged, widened to whole neighbouring sentences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from embeddings.chunking.chunker import Unit, join_units
from embeddings.index.records import ChunkRecord

GAP = " … "  # between two non-adjacent stretches of one article


@dataclass(frozen=True)
class ArticleGroup:
    """An article's best passages, best first, with the article's score."""

    article_id: str
    score: float
    passages: tuple[ChunkRecord, ...]
    scores: tuple[float, ...]
    """Fused score of each passage, in the same order."""


@dataclass(frozen=True)
class Excerpt:
    """Text shown for an article and the units it is made of."""

    text: str
    units: tuple[Unit, ...]
    core: frozenset[int]
    """Positions (in `units`) that belong to the best passage rather than to its neighbours."""
    indices: tuple[int, ...] = ()
    """Each unit's index in its article."""


def group_by_article(
    ranked: Sequence[tuple[float, ChunkRecord]],
    k: int,
    *,
    per_article: int = 2,
    min_ratio: float = 0.5,
) -> list[ArticleGroup]:
    """The k best articles, each with up to `per_article` of its passages.

    A second passage joins only if its score is at least `min_ratio` of the article's best,
    so a weak match does not dilute a precise excerpt.
    """
    groups: dict[str, list[tuple[float, ChunkRecord]]] = {}
    for score, chunk in ranked:
        bucket = groups.get(chunk.article_id)
        if bucket is None:
            if len(groups) == k:
                continue
            groups[chunk.article_id] = bucket = []
        if len(bucket) < per_article and score >= min_ratio * (bucket[0][0] if bucket else score):
            bucket.append((score, chunk))
    return [
        ArticleGroup(aid, bucket[0][0], tuple(c for _, c in bucket), tuple(s for s, _ in bucket))
        for aid, bucket in groups.items()
    ]


def excerpt_positions(
    passages: Sequence[ChunkRecord], *, neighbours: int = 1, max_units: int = 8
) -> tuple[list[int], set[int]]:
    """Unit indices to show for an article, and those of its best passage.

    The best passage is always shown whole, with `neighbours` sentences on each side; further
    passages are added, with their neighbours or else bare, while the excerpt stays within
    `max_units` sentences.
    """
    best = passages[0]
    core = set(range(best.start, best.end))
    chosen = set(range(max(0, best.start - neighbours), best.end + neighbours))
    for extra in passages[1:]:
        bare = set(range(extra.start, extra.end))
        for span in (set(range(max(0, extra.start - neighbours), extra.end + neighbours)), bare):
            if len(chosen | span) <= max(max_units, len(core)):
                chosen |= span
                break
    return sorted(chosen), core


def build_excerpt(
    passages: Sequence[ChunkRecord],
    fetch_units: Callable[[str, int, int], list[tuple[int, int, str]]],
    *,
    neighbours: int = 1,
    max_units: int = 8,
) -> Excerpt:
    """Assemble an article's excerpt from stored sentences.

    Args:
        passages: the article's passages, best first.
        fetch_units: (article_id, start, end) -> [(index, paragraph, text)] for existing units.
        neighbours: sentences of context on each side.
        max_units: a soft cap on sentences shown.
    """
    positions, core = excerpt_positions(passages, neighbours=neighbours, max_units=max_units)
    rows = fetch_units(passages[0].article_id, positions[0], positions[-1] + 1)
    wanted = set(positions)
    units: list[Unit] = []
    indices: list[int] = []
    core_positions: set[int] = set()
    parts: list[str] = []
    run: list[Unit] = []
    previous: int | None = None
    for index, paragraph, text in rows:
        if index not in wanted:
            continue
        if previous is not None and index != previous + 1:
            parts.append(join_units(run))
            run = []
        if index in core:
            core_positions.add(len(units))
        unit = Unit(paragraph, text)
        units.append(unit)
        indices.append(index)
        run.append(unit)
        previous = index
    if run:
        parts.append(join_units(run))
    return Excerpt(GAP.join(parts), tuple(units), frozenset(core_positions), tuple(indices))
