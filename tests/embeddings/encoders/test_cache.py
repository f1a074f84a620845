"""The embedding cache: vectors by model and text, kept across builds and upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from embeddings.encoders.cache import TABLE, EmbeddingCache, cache_key


def _vectors(count: int, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(count).standard_normal((count, dim)).astype(np.float32)


def test_vectors_come_back_by_model_and_text(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite", "model-a", dim=8)
    keys = cache.keys(["one", "two", "three"])
    vectors = _vectors(3)
    cache.put_many(zip(keys, vectors, strict=True))
    found = cache.get_many(keys + cache.keys(["unseen"]))
    assert set(found) == set(keys)
    for key, vector in zip(keys, vectors, strict=True):
        np.testing.assert_array_equal(found[key], vector)
    other = EmbeddingCache(tmp_path / "c.sqlite", "model-b", dim=8)
    assert other.get_many(other.keys(["one"])) == {}  # another model's vectors are not shared
    cache.close()
    other.close()


def test_spans_in_half_precision_beside_their_passage_and_replacing_an_entry(
    tmp_path: Path,
) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite", "m", dim=8)
    [key] = cache.keys(["text"])
    span_key = cache_key("m#spans", "text")
    first, second = _vectors(2)
    cache.put_many([(key, first)], spans=[(span_key, first)])
    cache.put_many([(key, second)], spans=[(span_key, second)])
    assert len(cache) == 2
    assert cache.get_many([key])[key].dtype == np.float32
    got = cache.get_many([span_key], spans=True)[span_key]
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, second, rtol=1e-3, atol=1e-3)
    cache.close()


def test_forget_makes_texts_missing(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite", "m", dim=8)
    keys = cache.keys(["a", "b", "c"])
    cache.put_many(zip(keys, _vectors(3), strict=True))
    assert cache.stored_keys() == set(keys)
    cache.forget(keys[:2])
    assert set(cache.get_many(keys)) == {keys[2]}
    cache.close()


def test_a_cache_written_by_an_older_coopbot_is_moved_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL) "
                "WITHOUT ROWID")
    vectors = _vectors(50)
    keys = [cache_key("m", f"passage {i}") for i in range(50)]
    with old:
        old.executemany("INSERT INTO embeddings VALUES (?, ?)",
                        ((k, v.tobytes()) for k, v in zip(keys, vectors, strict=True)))
    old.close()

    cache = EmbeddingCache(path, "m", dim=8)
    found = cache.get_many(keys)
    assert len(found) == 50
    np.testing.assert_array_equal(found[keys[7]], vectors[7])
    cache.close()
    db = sqlite3.connect(path)
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {TABLE}
    again = EmbeddingCache(path, "m", dim=8)  # a second open finds nothing left to move
    assert len(again) == 50
    again.close()
