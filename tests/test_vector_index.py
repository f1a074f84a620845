"""Vector index choice and growth: flat below the threshold, HNSW above, appends without
rebuilding, compaction of dead vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.errors import IndexCorruptError
from embeddings.vector_index import (
    VectorIndexConfig,
    kind_of,
    kind_of_file,
    read_index,
    stored_vectors,
    updated_index,
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


def test_growth_appends_and_converts_once_at_the_threshold() -> None:
    index, rebuilt = updated_index(None, _unit(60, 1), _rows(0, 60), 60, lambda: _rows(0, 60),
                                   CFG)
    assert rebuilt and kind_of(index) == "flat"
    same, rebuilt = updated_index(index, _unit(30, 2), _rows(60, 90), 90, lambda: _rows(0, 90),
                                  CFG)
    assert same is index and not rebuilt and index.ntotal == 90
    hnsw, rebuilt = updated_index(index, _unit(30, 3), _rows(90, 120), 120,
                                  lambda: _rows(0, 120), CFG)
    assert rebuilt and kind_of(hnsw) == "hnsw" and hnsw.ntotal == 120
    grown, rebuilt = updated_index(hnsw, _unit(5, 4), _rows(120, 125), 125,
                                   lambda: _rows(0, 125), CFG)
    assert grown is hnsw and not rebuilt  # the HNSW graph grows; nothing is rebuilt
    rows, vectors = stored_vectors(grown)
    assert rows.tolist() == list(range(125))
    np.testing.assert_allclose(vectors[:60], _unit(60, 1), rtol=1e-6)


def test_dead_vectors_are_dropped_past_the_compaction_share() -> None:
    cfg = VectorIndexConfig(kind="flat", compact_at=0.25)
    index, _ = updated_index(None, _unit(40, 1), _rows(0, 40), 40, lambda: _rows(0, 40), cfg)
    # 10 of 50 dead (20%): kept, filtered at search time.
    kept, rebuilt = updated_index(index, _unit(10, 2), _rows(40, 50), 40, lambda: _rows(10, 50),
                                  cfg)
    assert not rebuilt and kept.ntotal == 50
    # 20 of 52 dead (38%): rewritten without them, ids kept.
    compact, rebuilt = updated_index(kept, _unit(2, 3), _rows(50, 52), 32,
                                     lambda: _rows(20, 52), cfg)
    assert rebuilt and stored_vectors(compact)[0].tolist() == list(range(20, 52))


def test_files_round_trip_memory_mapped_and_garbage_is_named(tmp_path: Path) -> None:
    index, _ = updated_index(None, _unit(150, 1), _rows(0, 150), 150, lambda: _rows(0, 150),
                             CFG)
    write_index(index, tmp_path / "v.faiss")
    loaded = read_index(tmp_path / "v.faiss", mmap=True, ef_search=64)
    assert kind_of_file(tmp_path / "v.faiss") == "hnsw" and loaded.ntotal == 150
    _, found = loaded.search(_unit(150, 1)[7:8], 1)
    assert found[0][0] == 7
    (tmp_path / "bad.faiss").write_bytes(b"not an index")
    with pytest.raises(IndexCorruptError, match="coopbot index --full"):
        read_index(tmp_path / "bad.faiss", mmap=True)
    assert kind_of_file(tmp_path / "bad.faiss") == "unreadable"
