"""Vector index choice and growth: flat below the threshold, HNSW above, adds into a delta
without touching the main index, merges past a limit, compaction of dead vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.errors import IndexCorruptError
from embeddings.index.vectors import (
    SpaceUpdate,
    VectorIndexConfig,
    VectorSpace,
    kind_of_file,
    read_index,
    stored_vectors,
    updated_space,
    write_index,
)

CFG = VectorIndexConfig(flat_limit=100)


def _unit(n: int, seed: int, dim: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _rows(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.int64)


def test_kind_follows_size_and_setting() -> None:
    assert CFG.kind_for(100) == "flat" and CFG.kind_for(101) == "hnsw"
    assert VectorIndexConfig(kind="hnsw").kind_for(1) == "hnsw"
    with pytest.raises(ValueError, match="kind"):
        VectorIndexConfig(kind="ivf")


def _update(space: VectorSpace | None, vectors: np.ndarray, rows: np.ndarray, live: np.ndarray,
            cfg: VectorIndexConfig = CFG) -> tuple[VectorSpace, SpaceUpdate]:
    """Apply an update and return the space a reader would then open, with the update."""
    main = space.main if space is not None else None
    update = updated_space(space, lambda: main, vectors, rows, len(live), lambda: live, cfg)
    after = VectorSpace(update.main if update.main is not None else main, update.delta)
    assert after.ntotal == update.total
    return after, update


def test_adds_go_to_the_delta_and_the_main_index_changes_only_at_the_threshold() -> None:
    space, update = _update(None, _unit(60, 1), _rows(0, 60), _rows(0, 60))
    assert update.rebuilt and space.kind == "flat" and space.delta is None
    space, update = _update(space, _unit(30, 2), _rows(60, 90), _rows(0, 90))
    assert update.main is None and space.delta is not None and space.delta.ntotal == 30
    # 120 vectors pass flat_limit: rebuilt once as HNSW, main and delta together.
    space, update = _update(space, _unit(30, 3), _rows(90, 120), _rows(0, 120))
    assert update.rebuilt and space.kind == "hnsw" and space.delta is None
    hnsw = space.main
    space, update = _update(space, _unit(5, 4), _rows(120, 125), _rows(0, 125))
    assert update.main is None and not update.rebuilt and space.main is hnsw  # graph untouched
    rows, vectors = space.stored()
    assert rows.tolist() == list(range(125))
    np.testing.assert_allclose(vectors[:60], _unit(60, 1), rtol=1e-6)


def test_the_delta_is_merged_into_the_main_index_past_its_limit() -> None:
    cfg = VectorIndexConfig(kind="hnsw", delta_limit=20)
    space, _ = _update(None, _unit(50, 1), _rows(0, 50), _rows(0, 50), cfg)
    hnsw = space.main
    space, update = _update(space, _unit(15, 2), _rows(50, 65), _rows(0, 65), cfg)
    assert update.main is None and space.delta is not None
    space, update = _update(space, _unit(10, 3), _rows(65, 75), _rows(0, 75), cfg)
    assert update.main is hnsw and not update.rebuilt and space.delta is None  # grown in place
    assert sorted(stored_vectors(space.main)[0].tolist()) == list(range(75))


def test_search_merges_main_and_delta_by_score() -> None:
    vectors = _unit(80, 1)
    space, _ = _update(None, vectors[:50], _rows(0, 50), _rows(0, 50),
                       VectorIndexConfig(kind="flat"))
    space, _ = _update(space, vectors[50:], _rows(50, 80), _rows(0, 80),
                       VectorIndexConfig(kind="flat"))
    assert space.delta is not None
    queries = _unit(5, 9)
    scores, ids = space.search(queries, 7)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :7]
    assert ids.tolist() == exact.tolist()
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    _, few = space.search(queries[:1], 100)  # more than held: padded with -1, never invented
    assert sorted(r for r in few[0].tolist() if r >= 0) == list(range(80))


def test_dead_vectors_are_dropped_past_the_compaction_share() -> None:
    cfg = VectorIndexConfig(kind="flat", compact_at=0.25)
    space, _ = _update(None, _unit(40, 1), _rows(0, 40), _rows(0, 40), cfg)
    # 10 of 50 dead (20%): kept, filtered at search time.
    space, update = _update(space, _unit(10, 2), _rows(40, 50), _rows(10, 50), cfg)
    assert not update.rebuilt and space.ntotal == 50
    # 20 of 52 dead (38%): rewritten without them (delta folded in), ids kept.
    space, update = _update(space, _unit(2, 3), _rows(50, 52), _rows(20, 52), cfg)
    assert update.rebuilt and space.delta is None
    assert stored_vectors(space.main)[0].tolist() == list(range(20, 52))
    # A removal alone (no new vectors) compacts too, once past the share.
    space, update = _update(space, _unit(0, 4), _rows(0, 0), _rows(40, 52), cfg)
    assert update.rebuilt and stored_vectors(space.main)[0].tolist() == list(range(40, 52))


def test_files_round_trip_memory_mapped_and_garbage_is_named(tmp_path: Path) -> None:
    space, _ = _update(None, _unit(150, 1), _rows(0, 150), _rows(0, 150))
    write_index(space.main, tmp_path / "v.faiss")
    loaded = read_index(tmp_path / "v.faiss", mmap=True, ef_search=64)
    assert kind_of_file(tmp_path / "v.faiss") == "hnsw" and loaded.ntotal == 150
    _, found = loaded.search(_unit(150, 1)[7:8], 1)
    assert found[0][0] == 7
    (tmp_path / "bad.faiss").write_bytes(b"not an index")
    with pytest.raises(IndexCorruptError, match="coopbot index --full"):
        read_index(tmp_path / "bad.faiss", mmap=True)
    assert kind_of_file(tmp_path / "bad.faiss") == "unreadable"
