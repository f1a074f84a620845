"""The index store against numpy brute force, atomic swaps and refusals of bad indexes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from embeddings.manifest import Manifest
from embeddings.store import (
    VECTORS,
    ArticleRecord,
    BuildWriter,
    ChunkRecord,
    current_build,
    open_index,
    prune_builds,
)

CHUNKER = {"target_tokens": 96, "overlap_sentences": 1, "paragraph_fill": 0.5}


def _manifest(n: int, dim: int, model: str = "m") -> Manifest:
    return Manifest(
        model=model, dimension=dim, max_tokens=256, chunker=CHUNKER, files={}, articles={},
        skipped={}, built_at="2026-01-01T00:00:00+00:00", build_seconds=0.0, chunk_count=n,
    )


def _write(root: Path, name: str, vectors: np.ndarray, model: str = "m") -> Path:
    writer = BuildWriter(root, name)
    writer.add_article(ArticleRecord("a", "T", None, None, None, None, None, None, "a.txt"), 1,
                       [(0, f"s{i}") for i in range(len(vectors))])
    writer.add_chunks([ChunkRecord(i, "a", i, i, i + 1, f"s{i}") for i in range(len(vectors))])
    return writer.commit({"primary": vectors}, _manifest(len(vectors), vectors.shape[1], model))


def _random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_matches_brute_force(tmp_path: Path) -> None:
    vectors = _random_unit(500, 32, seed=1)
    _write(tmp_path, "b1", vectors)
    index = open_index(tmp_path, model="m", chunker=CHUNKER)
    for query in _random_unit(20, 32, seed=2):
        scores, rows = index.search(query, 10)
        expected = np.argsort(-(vectors @ query))[:10]
        assert list(rows) == list(expected)
        np.testing.assert_allclose(scores, (vectors @ query)[expected], rtol=1e-5)
    records = index.chunks([3, 7])
    assert records[3].text == "s3" and records[7].start == 7
    assert index.units("a", 2, 4) == [(0, "s2"), (0, "s3")]


def test_new_build_replaces_current_and_prune_keeps_it(tmp_path: Path) -> None:
    _write(tmp_path, "b1", _random_unit(5, 8, 1))
    _write(tmp_path, "b2", _random_unit(7, 8, 2))
    assert current_build(tmp_path) == tmp_path / "builds" / "b2"
    (tmp_path / "builds" / ".tmp-crashed").mkdir()
    prune_builds(tmp_path)
    assert sorted(p.name for p in (tmp_path / "builds").iterdir()) == ["b2"]
    assert open_index(tmp_path, model="m", chunker=CHUNKER).vectors.ntotal == 7


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="coopbot index"):
        open_index(tmp_path / "nothing", model="m", chunker=CHUNKER)


def test_mismatched_model_or_chunker_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "b1", _random_unit(3, 8, 1), model="model-a")
    with pytest.raises(IndexMismatchError, match="model-a.*rebuild"):
        open_index(tmp_path, model="model-b", chunker=CHUNKER)
    with pytest.raises(IndexMismatchError, match="chunker"):
        open_index(tmp_path, model="model-a", chunker={**CHUNKER, "target_tokens": 64})


def test_truncated_vectors_file_is_reported(tmp_path: Path) -> None:
    build = _write(tmp_path, "b1", _random_unit(50, 8, 1))
    data = (build / VECTORS).read_bytes()
    (build / VECTORS).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="rebuild"):
        open_index(tmp_path, model="m", chunker=CHUNKER)


def test_garbage_manifest_is_reported(tmp_path: Path) -> None:
    build = _write(tmp_path, "b1", _random_unit(3, 8, 1))
    (build / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        open_index(tmp_path, model="m", chunker=CHUNKER)
