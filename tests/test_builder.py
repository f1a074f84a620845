"""Building with the fake encoder: caching, incremental adds, bad files, failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings.builder import build_index, check_freshness
from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError
from embeddings.service import ensure_index, open_retriever
from embeddings.store import current_build, read_manifest
from tests.fakes import HashingEncoder

NEW_ARTICLE = """---
title: Vietnam and Laos open a joint border liaison office
date: 2024-03-02
source: Example News
---
The police of Dien Bien and Phongsaly opened a joint liaison office at the border gate.

Officers will share information on drug trafficking every week.
"""


def _cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    return IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")


def test_rebuild_of_unchanged_seeds_embeds_nothing(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    first = build_index(cfg, HashingEncoder())
    assert first.articles == 3 and first.embedded == first.chunks > 0
    enc = HashingEncoder()
    second = build_index(cfg, enc)
    assert second.embedded == 0 and second.reused == first.chunks
    assert enc.encoded_texts == []
    assert check_freshness(cfg, enc.name).fresh


def test_adding_an_article_embeds_only_its_chunks(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    first = build_index(cfg, HashingEncoder())
    (seeds / "2024-03-02-liaison-office.md").write_text(NEW_ARTICLE, encoding="utf-8")
    freshness = check_freshness(cfg, "fake/hashing")
    assert not freshness.fresh and "new" in freshness.reasons[0]
    enc = HashingEncoder()
    report = build_index(cfg, enc)
    assert report.articles == 4
    assert report.embedded == report.chunks - first.chunks > 0
    assert all("Dien Bien" in t or "drug trafficking every week" in t for t in enc.encoded_texts)
    answer = open_retriever(cfg, enc).search("joint liaison office Dien Bien Phongsaly", 1)
    assert answer.results[0].article_id == "2024-03-02-liaison-office"
    assert answer.results[0].title == "Vietnam and Laos open a joint border liaison office"


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(
    seeds: Path, tmp_path: Path
) -> None:
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (seeds / "no-body.md").write_text("---\ntitle: Only a title\n---\n", encoding="utf-8")
    report = build_index(_cfg(seeds, tmp_path), HashingEncoder())
    assert report.articles == 3
    reasons = {p.path.name: p.reason for p in report.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "no-body.md"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["binary.txt"]
    manifest = read_manifest(tmp_path / "index")
    assert set(manifest.skipped) == set(reasons)
    assert check_freshness(_cfg(seeds, tmp_path), "fake/hashing").fresh  # skipped is not 'new'


def test_failed_build_leaves_previous_index_serving(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    before = current_build(cfg.index_dir)
    (seeds / "2024-03-02-liaison-office.md").write_text(NEW_ARTICLE, encoding="utf-8")
    enc = HashingEncoder()
    enc.fail_after = 0
    with pytest.raises(RuntimeError, match="simulated"):
        build_index(cfg, enc)
    assert current_build(cfg.index_dir) == before
    answer = open_retriever(cfg, HashingEncoder()).search("Sainyabuli delegation", 1)
    assert answer.results and answer.results[0].article_id.startswith("000")


def test_empty_seeds_folder_keeps_the_old_index(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    before = current_build(cfg.index_dir)
    shutil.rmtree(seeds)
    seeds.mkdir()
    with pytest.raises(CoopbotError, match="unchanged"):
        build_index(cfg, HashingEncoder())
    assert current_build(cfg.index_dir) == before


def test_missing_seeds_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CoopbotError, match="COOPBOT_SEEDS_DIR"):
        build_index(_cfg(tmp_path / "nope", tmp_path), HashingEncoder())


def test_ensure_index_builds_once_then_not_again(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    notes: list[str] = []
    assert ensure_index(cfg, HashingEncoder(), notify=notes.append) is not None
    assert "building" in notes[0]
    assert ensure_index(cfg, HashingEncoder(), notify=notes.append) is None
    (seeds / "001_838a14d103250a53.txt").write_text("changed title\nNew body text here.\n")
    assert ensure_index(cfg, HashingEncoder(), notify=notes.append) is not None
    assert "out of date" in notes[-1] and "changed" in notes[-1]


def test_other_model_makes_index_stale_and_opening_refuses(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    other = HashingEncoder(name="fake/other")
    assert not check_freshness(cfg, other.name).fresh
    with pytest.raises(CoopbotError, match="rebuild"):
        open_retriever(cfg, other)
