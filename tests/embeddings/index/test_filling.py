"""A large build serves first and fills in its multilingual vectors afterwards
(`index.filling`), with fake encoders: the filled index equals one built inline, a stopped
fill keeps its rounds, and adds, removals and a second filler meanwhile are safe."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from embeddings.config import IndexConfig
from embeddings.encoders.base import MULTILINGUAL, PRIMARY, Encoders
from embeddings.index.builder import build_index
from embeddings.index.filling import fill_multilingual
from embeddings.index.layout import FILL_LOCK, META, build_lock, current_build
from embeddings.index.reader import open_index, read_manifest
from embeddings.index.report import BuildObserver
from embeddings.index.status import status_of
from tests.embeddings.index.test_builder import NEW_ARTICLE
from tests.support.fake_encoders import HashingEncoder


def _encoders(multilingual: HashingEncoder | None = None) -> Encoders:
    return Encoders(HashingEncoder(),
                    multilingual or HashingEncoder(dim=64, name="fake/multilingual"))


def _cfg(seeds: Path, root: Path, inline: int | None) -> IndexConfig:
    return IndexConfig(seeds_dir=seeds, index_dir=root, multilingual_inline=inline)


def _multilingual(root: Path) -> tuple[dict[int, np.ndarray], dict[tuple[str, int], bytes]]:
    """The multilingual space's vectors by row, and the sentences' multilingual vectors."""
    manifest = read_manifest(root)
    index = open_index(root, model=manifest.model, chunker=manifest.chunker,
                       multilingual_model=manifest.multilingual_model)
    try:
        rows, vectors = (index.spaces[MULTILINGUAL].stored() if MULTILINGUAL in index.spaces
                         else (np.zeros(0, np.int64), np.zeros((0, 64), np.float32)))
    finally:
        index.close()
    build = current_build(root)
    assert build is not None
    db = sqlite3.connect(build / META)
    try:
        units = {(a, i): v for a, i, v in db.execute(
            "SELECT article_id, idx, vector_multilingual FROM units")}
    finally:
        db.close()
    return dict(zip(rows.tolist(), vectors, strict=True)), units


class _Counting(BuildObserver):
    def __init__(self) -> None:
        self.started: list[int] = []
        self.count = 0

    def encoding_started(self, total: int, model: str) -> None:
        self.started.append(total)

    def encoded(self, count: int) -> None:
        self.count += count


def test_a_large_build_serves_first_then_fills_in_what_an_inline_build_has(
    seeds: Path, tmp_path: Path
) -> None:
    inline = _cfg(seeds, tmp_path / "inline", None)
    build_index(inline, _encoders())
    cfg = _cfg(seeds, tmp_path / "deferred", 0)
    encoders = _encoders()
    report = build_index(cfg, encoders)
    manifest = read_manifest(cfg.index_dir)
    assert manifest.multilingual_model == "fake/multilingual"
    assert manifest.multilingual_pending == manifest.chunk_count == report.chunks > 0
    assert MULTILINGUAL not in manifest.vector_files and PRIMARY in manifest.vector_files
    assert any("filled in after the build" in note for note in report.notes)
    status = status_of(cfg, encoders.primary.name, encoders.multilingual_name)
    assert status["multilingual_passages"] == 0 and status["fresh"]

    observer = _Counting()
    filled = fill_multilingual(cfg, encoders, observer, round_passages=5)
    assert filled.passages == report.chunks and filled.remaining == 0 and not filled.stopped
    assert filled.rounds >= 2, "several commits, each served as it lands"
    assert observer.started == [report.chunks] and observer.count == report.chunks
    after = read_manifest(cfg.index_dir)
    assert after.multilingual_pending == 0 and "multilingual_pending" not in after.extra
    assert after.multilingual_filled == after.chunk_count
    assert after.vector_files[PRIMARY] == manifest.vector_files[PRIMARY], "primary untouched"

    want_vectors, want_units = _multilingual(inline.index_dir)
    got_vectors, got_units = _multilingual(cfg.index_dir)
    assert got_vectors.keys() == want_vectors.keys()
    for row, vector in want_vectors.items():
        np.testing.assert_allclose(got_vectors[row], vector, atol=1e-6)
    assert got_units == want_units and all(v is not None for v in got_units.values())
    assert fill_multilingual(cfg, encoders).passages == 0, "nothing left to do"


def test_the_fill_encodes_the_texts_a_build_would(seeds: Path, tmp_path: Path) -> None:
    """The fill rebuilds each passage's embedded text and spans from what the index stores:
    after a fill, a full rebuild finds every multilingual vector in the cache (so it encodes
    nothing and defers nothing), which it could not if a prefix, text or span differed."""
    cfg = _cfg(seeds, tmp_path / "index", 0)
    build_index(cfg, _encoders())
    assert read_manifest(cfg.index_dir).multilingual_pending > 0
    assert fill_multilingual(cfg, _encoders()).remaining == 0
    multilingual = HashingEncoder(dim=64, name="fake/multilingual")
    report = build_index(cfg, _encoders(multilingual), full=True)
    assert multilingual.encoded_texts == []
    assert report.full and read_manifest(cfg.index_dir).multilingual_pending == 0
    assert MULTILINGUAL in read_manifest(cfg.index_dir).vector_files


def test_a_stopped_fill_keeps_its_rounds_and_the_next_one_goes_on(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = _cfg(seeds, tmp_path / "index", 0)
    encoders = _encoders()
    total = build_index(cfg, encoders).chunks
    stop = threading.Event()

    class StopInTheSecondRound(_Counting):
        calls = 0

        def encoded(self, count: int) -> None:  # the fake encodes a round in one call
            super().encoded(count)
            self.calls += 1
            if self.calls == 2:
                stop.set()

    first = fill_multilingual(cfg, encoders, StopInTheSecondRound(), stop=stop, round_passages=5)
    assert first.stopped and first.rounds == 1 and 0 < first.passages < total
    assert first.remaining == total - first.passages
    assert read_manifest(cfg.index_dir).multilingual_pending == first.remaining
    vectors, _ = _multilingual(cfg.index_dir)
    assert len(vectors) == first.passages, "the committed rounds are searchable"

    second = fill_multilingual(cfg, encoders, round_passages=5)
    assert second.passages == first.remaining and second.remaining == 0
    assert len(_multilingual(cfg.index_dir)[0]) == total


def test_an_add_during_a_pending_fill_encodes_its_own_article(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = _cfg(seeds, tmp_path / "index", 0)
    encoders = _encoders()
    pending = build_index(cfg, encoders).chunks
    (seeds / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    small = replace(cfg, multilingual_inline=50)  # one article: encoded in the build itself
    added = build_index(small, encoders)
    assert added.added == 1
    manifest = read_manifest(cfg.index_dir)
    assert manifest.multilingual_pending == pending, "the new article is not pending"
    assert len(_multilingual(cfg.index_dir)[0]) == manifest.chunk_count - pending
    fill_multilingual(cfg, encoders)
    assert len(_multilingual(cfg.index_dir)[0]) == manifest.chunk_count


def test_a_removed_article_leaves_the_pending_list(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path / "index", 0)
    encoders = _encoders()
    before = build_index(cfg, encoders).chunks
    sorted(seeds.iterdir())[0].unlink()
    after = build_index(cfg, encoders)
    assert after.removed == 1
    assert read_manifest(cfg.index_dir).multilingual_pending == after.chunks < before
    assert fill_multilingual(cfg, encoders).passages == after.chunks


def test_a_second_filler_leaves_the_index_to_the_first(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path / "index", 0)
    multilingual = HashingEncoder(dim=64, name="fake/multilingual")
    total = build_index(cfg, _encoders(multilingual)).chunks
    with build_lock(cfg.index_dir, wait=False, name=FILL_LOCK):
        report = fill_multilingual(cfg, _encoders(multilingual))
    assert report.elsewhere and report.passages == 0 and report.remaining == total
    assert multilingual.encoded_texts == []


def test_small_builds_and_an_index_without_a_second_space_fill_nothing(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = _cfg(seeds, tmp_path / "index", 2_000)
    build_index(cfg, _encoders())
    assert read_manifest(cfg.index_dir).multilingual_pending == 0
    only = _cfg(seeds, tmp_path / "primary", 0)
    build_index(only, HashingEncoder())
    assert read_manifest(only.index_dir).multilingual_filled is None
    assert fill_multilingual(only, Encoders(HashingEncoder())).passages == 0
