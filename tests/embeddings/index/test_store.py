"""The index store against numpy brute force, in-place updates, atomic swaps and refusals of
bad indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from embeddings.corpus.duplicates import signature
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from embeddings.index.layout import META, current_build, prune_builds
from embeddings.index.manifest import Manifest
from embeddings.index.reader import open_index, read_manifest
from embeddings.index.records import ArticleRecord, NewArticle
from embeddings.index.vectors import VectorIndexConfig
from embeddings.index.writer import IndexWriter

CHUNKER = {"target_tokens": 96, "overlap_sentences": 1, "paragraph_fill": 0.5}
FLAT = VectorIndexConfig(kind="flat")


def _manifest(dim: int, model: str = "m") -> Manifest:
    return Manifest(model=model, dimension=dim, max_tokens=256, chunker=CHUNKER,
                    built_at="2026-01-01T00:00:00+00:00", build_seconds=0.0, chunk_count=0)


def _article(article_id: str, n: int) -> NewArticle:
    return NewArticle(
        record=ArticleRecord(article_id, f"Title {article_id}", None, None, None, None, None,
                             None, f"{article_id}.txt"),
        entry=f"{article_id}.txt", body_key=article_id, minhash=signature(article_id),
        paragraphs=1,
        units=[(0, f"s{i}") for i in range(n)], unit_vectors=None,
        chunks=[(i, i + 1, f"{article_id} passage s{i}") for i in range(n)],
    )


def _write(root: Path, name: str, vectors: np.ndarray, model: str = "m",
           cfg: VectorIndexConfig = FLAT) -> Path:
    writer = IndexWriter.create(root, name)
    rows = writer.add_articles([_article("a", len(vectors))], 0)
    return writer.commit(_manifest(vectors.shape[1], model), {"primary": vectors}, rows, cfg)


def _update(root: Path, add: list[NewArticle], vectors: np.ndarray, remove: list[str] = (),
            cfg: VectorIndexConfig = FLAT) -> list[int]:  # type: ignore[assignment]
    writer = IndexWriter.update(root)
    manifest = writer.manifest()
    assert manifest is not None
    writer.remove_articles(list(remove))
    rows = writer.add_articles(add, manifest.next_row)
    writer.commit(manifest, {"primary": vectors}, rows, cfg)
    return rows


def _random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_matches_brute_force(tmp_path: Path) -> None:
    vectors = _random_unit(500, 32, seed=1)
    _write(tmp_path, "b1", vectors)
    index = open_index(tmp_path, model="m", chunker=CHUNKER)
    for query in _random_unit(20, 32, seed=2):
        scores, rows = index.search(query, 10, "primary")
        expected = np.argsort(-(vectors @ query))[:10]
        assert list(rows) == list(expected)
        np.testing.assert_allclose(scores, (vectors @ query)[expected], rtol=1e-5)
    records = index.chunks([3, 7])
    assert records[3].text == "a passage s3" and records[7].start == 7
    assert index.units("a", 2, 4) == [(0, "s2"), (0, "s3")]


def test_new_build_replaces_current_and_prune_keeps_it(tmp_path: Path) -> None:
    _write(tmp_path, "b1", _random_unit(5, 8, 1))
    _write(tmp_path, "b2", _random_unit(7, 8, 2))
    assert current_build(tmp_path) == tmp_path / "builds" / "b2"
    (tmp_path / "builds" / ".tmp-crashed").mkdir()
    prune_builds(tmp_path)
    assert sorted(p.name for p in (tmp_path / "builds").iterdir()) == ["b2"]
    assert open_index(tmp_path, model="m", chunker=CHUNKER).spaces["primary"].ntotal == 7


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="coopbot index"):
        open_index(tmp_path / "nothing", model="m", chunker=CHUNKER)


def test_mismatched_model_or_chunker_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "b1", _random_unit(3, 8, 1), model="model-a")
    with pytest.raises(IndexMismatchError, match="model-a.*rebuild"):
        open_index(tmp_path, model="model-b", chunker=CHUNKER)
    with pytest.raises(IndexMismatchError, match="chunker"):
        open_index(tmp_path, model="model-a", chunker={**CHUNKER, "target_tokens": 64})


def _vector_file(root: Path) -> Path:
    build = current_build(root)
    assert build is not None
    return build / read_manifest(root).vector_files["primary"]


def test_truncated_vectors_file_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "b1", _random_unit(50, 8, 1))
    path = _vector_file(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="rebuild"):
        open_index(tmp_path, model="m", chunker=CHUNKER)


def test_garbage_manifest_is_reported(tmp_path: Path) -> None:
    build = _write(tmp_path, "b1", _random_unit(3, 8, 1))
    db = sqlite3.connect(build / META)
    with db:
        db.execute("UPDATE state SET value = '{not json' WHERE key = 'manifest'")
    db.close()
    with pytest.raises(IndexCorruptError, match="manifest"):
        open_index(tmp_path, model="m", chunker=CHUNKER)


def test_index_from_an_older_format_asks_for_a_rebuild(tmp_path: Path) -> None:
    build = tmp_path / "builds" / "old"
    build.mkdir(parents=True)
    (build / "manifest.json").write_text("{}", encoding="utf-8")
    sqlite3.connect(build / META).executescript("CREATE TABLE chunks (row INTEGER);").close()
    (tmp_path / "CURRENT").write_text("old\n", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="older coopbot.*coopbot index"):
        open_index(tmp_path, model="m", chunker=CHUNKER)


def test_update_adds_and_removes_in_place_without_reusing_rows(tmp_path: Path) -> None:
    vectors = _random_unit(6, 8, 1)
    _write(tmp_path, "b1", vectors)
    reader = open_index(tmp_path, model="m", chunker=CHUNKER)
    extra = _random_unit(4, 8, 2)
    rows = _update(tmp_path, [_article("b", 4)], extra, remove=["a"])
    assert rows == [6, 7, 8, 9]  # rows of the removed article are not reused
    assert reader.changed()  # an open reader learns that it should reopen
    # The old reader still has a's vectors, but their passages no longer resolve.
    _, old_rows = reader.search(vectors[0], 3, "primary")
    assert old_rows[0] == 0 and reader.chunks([int(r) for r in old_rows]) == {}
    fresh = open_index(tmp_path, model="m", chunker=CHUNKER)
    assert not fresh.changed()
    assert set(fresh.articles()) == {"b"}
    assert read_manifest(tmp_path).chunk_count == 4
    _, found = fresh.search(extra[2], 1, "primary")
    assert fresh.chunks([int(found[0])])[8].text == "b passage s2"
    assert current_build(tmp_path) == tmp_path / "builds" / "b1"  # same build, changed in place


def test_dead_vectors_are_compacted_away(tmp_path: Path) -> None:
    _write(tmp_path, "b1", _random_unit(10, 8, 1))
    _update(tmp_path, [_article("b", 2)], _random_unit(2, 8, 2), remove=["a"])
    manifest = read_manifest(tmp_path)
    assert manifest.chunk_count == 2 and manifest.vector_total["primary"] == 2


def test_failed_update_leaves_the_index_as_it_was(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, "b1", _random_unit(5, 8, 1))
    before = read_manifest(tmp_path)

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("embeddings.index.writer.write_index", disk_full)
    writer = IndexWriter.update(tmp_path)
    writer.remove_articles(["a"])
    rows = writer.add_articles([_article("b", 2)], before.next_row)
    with pytest.raises(OSError, match="No space"):
        writer.commit(before, {"primary": _random_unit(2, 8, 2)}, rows, FLAT)
    writer.abort()
    index = open_index(tmp_path, model="m", chunker=CHUNKER)
    assert set(index.articles()) == {"a"} and index.manifest == before


def test_hnsw_above_the_threshold_finds_the_exact_neighbours(tmp_path: Path) -> None:
    cfg = VectorIndexConfig(kind="auto", flat_limit=1000)
    vectors = _random_unit(3000, 16, 1)
    _write(tmp_path, "b1", vectors, cfg=cfg)
    index = open_index(tmp_path, model="m", chunker=CHUNKER)
    assert index.spaces["primary"].kind == "hnsw"
    queries = _random_unit(50, 16, 2)
    found = 0
    for query in queries:
        _, rows = index.search(query, 10, "primary")
        exact = np.argsort(-(vectors @ query))[:10]
        found += len(set(rows.tolist()) & set(exact.tolist()))
    assert found / (10 * len(queries)) >= 0.95
    # Growing it leaves the graph's file alone: the new vectors go to a small delta file.
    main_file = index.manifest.vector_files["primary"]
    _update(tmp_path, [_article("b", 5)], _random_unit(5, 16, 3), cfg=cfg)
    grown = open_index(tmp_path, model="m", chunker=CHUNKER)
    space = grown.spaces["primary"]
    assert space.kind == "hnsw" and space.ntotal == 3005 and space.delta is not None
    assert grown.manifest.vector_files["primary"] == main_file
    assert sorted(p.name for p in grown.path.glob("*.faiss")) == sorted(
        [main_file, grown.manifest.vector_deltas["primary"]])  # nothing stale left behind
    _, rows = grown.search(_random_unit(5, 16, 3)[2], 1, "primary")
    assert rows[0] >= 3000  # a vector of the new article, found through the delta
