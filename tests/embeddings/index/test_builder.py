"""Building with the fake encoder: caching, incremental adds, bad files, failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.freshness import check_freshness
from embeddings.index.layout import current_build
from embeddings.index.reader import read_manifest
from embeddings.service import ensure_index, open_retriever
from tests.support.fake_encoders import HashingEncoder

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
    assert first.articles == 3 and first.embedded == first.chunks > 0 and first.full
    enc = HashingEncoder()
    generation = read_manifest(cfg.index_dir).extra["generation"]
    second = build_index(cfg, enc)
    assert second.unchanged and second.embedded == 0 and second.chunks == first.chunks
    assert enc.encoded_texts == []
    assert read_manifest(cfg.index_dir).extra["generation"] == generation  # nothing written
    assert check_freshness(cfg, enc.name).fresh
    full = build_index(cfg, enc, full=True)  # a forced full build reuses every cached vector
    assert full.full and full.embedded == 0 and full.reused == first.chunks
    assert enc.encoded_texts == []


def test_removed_and_changed_files_update_in_place(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    first = build_index(cfg, HashingEncoder())
    before = current_build(cfg.index_dir)
    names = sorted(p.name for p in seeds.iterdir())
    (seeds / names[0]).unlink()
    changed = seeds / names[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA closing sentence was added.\n",
                       encoding="utf-8")
    enc = HashingEncoder()
    report = build_index(cfg, enc)
    assert not report.full and report.removed == 2 and report.added == 1
    assert current_build(cfg.index_dir) == before
    assert 0 < report.embedded < first.chunks  # only the changed article's new passages
    assert all("closing sentence" in t for t in enc.encoded_texts)
    index = open_retriever(cfg, enc).index
    assert set(index.articles()) == {Path(names[1]).stem, Path(names[2]).stem}
    assert check_freshness(cfg, enc.name).fresh


def test_same_article_under_a_new_name_is_skipped(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    original = sorted(seeds.iterdir())[0]
    shutil.copy(original, seeds / "zz-copy.txt")
    report = build_index(cfg, HashingEncoder())
    assert report.articles == 3 and report.added == 0
    assert [(p.path.name, p.reason) for p in report.skipped] == [
        ("zz-copy.txt", f"duplicate of {original.stem}")
    ]


def test_sentence_vectors_are_stored_and_used_for_the_highlight(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    enc = HashingEncoder()
    retriever = open_retriever(cfg, enc)
    answer = retriever.search("Who led the delegation from Sainyabuli?", 3)
    assert answer.results and "Kham Pheng Phet" in answer.results[0].highlight
    assert enc.encoded_texts == []  # no sentence was encoded at question time
    stored = retriever.index.unit_vectors(answer.results[0].article_id, 0, 5)
    assert len(stored) == 5 and all(abs(np.linalg.norm(v) - 1) < 1e-2 for v in stored.values())


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
    steps = ["scan", "open", "remove", "load", "chunk", "duplicates", "encode", "cache", "store",
             "commit"]
    assert list(report.phases) == steps
    assert all(s >= 0 for s in report.phases.values())
    assert sum(report.phases.values()) <= report.seconds + 0.05
    assert report.phases["encode"] == round(report.encode_seconds, 4)
    again = build_index(cfg, enc)
    assert list(again.phases) == ["scan", "open", "compare"]


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


def test_a_large_embedded_build_defers_its_multilingual_vectors(
    seeds: Path, tmp_path: Path
) -> None:
    """Over COOPBOT_MULTILINGUAL_INLINE passages to encode, the embedded engine publishes the
    primary vectors and leaves e5's to the fill (`test_filling`); the database engine's
    COOPBOT_MULTILINGUAL_LIMIT does not apply to it."""
    from embeddings.encoders.base import Encoders

    multilingual = HashingEncoder(name="fake/multilingual")
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index", multilingual_limit=10,
                      multilingual_inline=10)
    report = build_index(cfg, Encoders(HashingEncoder(), multilingual))
    assert multilingual.encoded_texts == []
    manifest = read_manifest(cfg.index_dir)
    assert manifest.multilingual_model == "fake/multilingual"
    assert manifest.multilingual_pending == report.chunks
    assert "multilingual_off" not in manifest.extra
    assert check_freshness(cfg, "fake/hashing", "fake/multilingual").fresh
    retriever = open_retriever(cfg, Encoders(HashingEncoder(), multilingual))
    assert retriever.search("Sainyabuli delegation", 1).results  # serves meanwhile
