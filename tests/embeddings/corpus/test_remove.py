"""Listing and removing articles: the corpus and the index change together, in place."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.corpus.sources import REMOVED
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.freshness import check_freshness
from embeddings.index.layout import current_build
from embeddings.index.reader import read_manifest
from embeddings.index.summaries import article_summaries
from embeddings.service import open_retriever, remove_articles
from tests.support.fake_encoders import HashingEncoder


def test_list_shows_every_article_newest_first(seeds: Path, tmp_path: Path) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    report = build_index(cfg, HashingEncoder())
    summaries = article_summaries(cfg.index_dir)
    assert len(summaries) == 3 and sum(a.passages for a in summaries) == report.chunks
    dates = [a.date for a in summaries]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert {a.entry for a in summaries} == {p.name for p in seeds.iterdir()}


def test_remove_moves_the_file_and_updates_in_place(seeds: Path, tmp_path: Path) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    build = current_build(cfg.index_dir)
    victim = article_summaries(cfg.index_dir)[0]
    enc = HashingEncoder()
    changed, report = remove_articles(cfg, enc, [victim.id])
    assert changed == [seeds / victim.entry] and not changed[0].exists()
    assert (seeds / REMOVED / victim.entry).is_file()  # kept, out of the corpus
    assert report.removed == 1 and report.added == 0 and not report.full
    assert enc.encoded_texts == [] and current_build(cfg.index_dir) == build
    assert victim.id not in {a.id for a in article_summaries(cfg.index_dir)}
    assert check_freshness(cfg, enc.name).fresh  # the next `coopbot index` has nothing to do
    hits = open_retriever(cfg, enc).search(victim.title, 3).results
    assert all(r.article_id != victim.id for r in hits)


def test_remove_drops_a_jsonl_record(tmp_path: Path) -> None:
    source = tmp_path / "c.jsonl.gz"
    records = [{"id": f"r/{i}", "title": f"Item {i}", "text": f"Body number {i} about ports."}
               for i in range(3)]
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    cfg = IndexConfig(seeds_dir=source, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    remove_articles(cfg, HashingEncoder(), ["r-1"])
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        assert [json.loads(line)["id"] for line in handle] == ["r/0", "r/2"]
    assert read_manifest(cfg.index_dir).article_count == 2


def test_unknown_id_is_a_clear_error_and_changes_nothing(seeds: Path, tmp_path: Path) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    with pytest.raises(CoopbotError, match="no article with id 'nope'.*coopbot list"):
        remove_articles(cfg, HashingEncoder(), ["nope"])
    assert len(list(seeds.iterdir())) == 3
