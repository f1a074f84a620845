"""The index keeps each article's aliases: written by a build, read through the seam, kept
right across in-place adds and removes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from embeddings.articles.aliases import DEFINED, INITIALS, SEED
from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.index.layout import META, current_build
from embeddings.index.reader import open_index, read_manifest
from embeddings.index.records import AliasRecord
from embeddings.index.writer import IndexWriter
from tests.support.fake_encoders import HashingEncoder

DEFINING = """---
title: Vietnam and Thailand sign a police cooperation memorandum
date: 2024-03-02
---
The Ministry of Public Security (MPS) and the Royal Thai Police signed a memorandum of
understanding (MoU) in Bangkok.

The Royal Thai Police will send liaison officers to Hanoi.
"""

NAMING = """---
title: Border police meet again
date: 2024-04-10
---
Police of the two provinces reviewed the memorandum of understanding signed last year.
"""


def _cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    return IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")


def _aliases(cfg: IndexConfig, forms: list[str]) -> set[AliasRecord]:
    index = open_index(cfg.index_dir, model=HashingEncoder().name, chunker=cfg.chunk.as_dict())
    try:
        return set(index.aliases(forms))
    finally:
        index.close()


def _rows(cfg: IndexConfig) -> list[tuple[str, ...]]:
    build = current_build(cfg.index_dir)
    assert build is not None
    with sqlite3.connect(build / META) as db:
        return db.execute("SELECT short, long, article_id, kind FROM aliases ORDER BY 1, 2, 3")\
            .fetchall()


def test_a_build_stores_aliases_and_the_seam_sums_them(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "defining.md").write_text(DEFINING, encoding="utf-8")
    (seeds / "naming.md").write_text(NAMING, encoding="utf-8")
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    found = _aliases(cfg, ["mou", "rtp", "memorandum of understanding", "thailand"])
    assert AliasRecord("mou", "memorandum of understanding", DEFINED, 1, 1) in found
    assert AliasRecord("mou", "memorandum of understanding", INITIALS, 1, 1) in found
    assert AliasRecord("rtp", "royal thai police", INITIALS, 1, 2) in found
    assert AliasRecord("thai", "thailand", SEED, 1, 0) in found  # by its long form
    assert _aliases(cfg, ["mps"]) == {
        AliasRecord("mps", "ministry of public security", DEFINED, 1, 1)}
    assert _aliases(cfg, ["nothing", "at all"]) == set()
    assert _aliases(cfg, []) == set()


def test_aliases_follow_in_place_adds_and_removes(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    generation = read_manifest(cfg.index_dir).extra["generation"]
    before = _rows(cfg)
    assert ("rtp", "royal thai police", "001_838a14d103250a53", INITIALS) in before
    assert not any(row[2] == "defining" for row in before)

    (seeds / "defining.md").write_text(DEFINING, encoding="utf-8")
    report = build_index(cfg, HashingEncoder())
    assert not report.full and read_manifest(cfg.index_dir).extra["generation"] > generation
    added = _rows(cfg)
    assert ("mou", "memorandum of understanding", "defining", DEFINED) in added
    assert set(before) < set(added)
    rtp = _aliases(cfg, ["rtp"])
    assert {(r.articles, r.mentions) for r in rtp if r.long == "royal thai police"} == {(2, 4)}

    (seeds / "defining.md").unlink()
    (seeds / "001_838a14d103250a53.txt").unlink()
    report = build_index(cfg, HashingEncoder())
    assert not report.full and report.removed == 2
    after = _rows(cfg)
    assert not any(row[2] in ("defining", "001_838a14d103250a53") for row in after)
    assert set(after) == {row for row in before if row[2] != "001_838a14d103250a53"}
    assert _aliases(cfg, ["rtp"]) == set()


def test_removing_an_article_and_aborting_keeps_its_aliases(seeds: Path, tmp_path: Path) -> None:
    cfg = _cfg(seeds, tmp_path)
    build_index(cfg, HashingEncoder())
    before = _rows(cfg)
    writer = IndexWriter.update(cfg.index_dir)
    writer.remove_articles(["001_838a14d103250a53"])
    leftover = writer.db.execute(
        "SELECT count(*) FROM aliases WHERE article_id = '001_838a14d103250a53'").fetchone()[0]
    assert leftover == 0  # gone inside the transaction ...
    writer.abort()
    assert _rows(cfg) == before  # ... and back once it is rolled back
