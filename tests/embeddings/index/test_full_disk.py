"""A real full disk (a small tmpfs, filled): the message says to free disk space, and the
index in use keeps answering. (`test_faults.py` fakes the error; this is the real thing.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.errors import IndexWriteError
from embeddings.index.builder import build_index
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder
from tests.support.full_disk import fill, small_disk

NOTE = ("---\ntitle: Dien Bien office\ndate: 2024-03-02\n---\n"
        + "The police of Dien Bien opened a liaison office near the border. " * 300 + "\n")


def test_an_update_on_a_full_disk_says_free_disk_space(seeds: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 6144) as disk:
        cfg = IndexConfig(seeds_dir=seeds, index_dir=disk / "index")
        build_index(cfg, HashingEncoder())
        serving = open_retriever(cfg, HashingEncoder())
        filler = fill(disk)
        (seeds / "2024-03-02-office.md").write_text(NOTE, encoding="utf-8")
        with pytest.raises(IndexWriteError) as caught:
            build_index(cfg, HashingEncoder())
        message = str(caught.value)
        assert "free some disk space" in message and "The index in use is unchanged" in message
        assert "--full" not in message
        assert serving.search("Sainyabuli delegation", 1).results  # still answering
        assert open_retriever(cfg, HashingEncoder()).search("Sainyabuli", 1).results
        filler.unlink()
        report = build_index(cfg, HashingEncoder())  # space again: the update goes through
        assert report.added == 1
        serving.index.close()


def test_adding_to_seeds_on_a_full_disk_says_so(tmp_path: Path, seeds: Path) -> None:
    from embeddings.corpus.adding import add_articles

    page = tmp_path / "note.md"
    page.write_text(NOTE, encoding="utf-8")
    with small_disk(tmp_path / "disk", 512) as disk:
        full_seeds = disk / "seeds"
        full_seeds.mkdir()
        for article in seeds.glob("*.txt"):
            (full_seeds / article.name).write_bytes(article.read_bytes())
        cfg = IndexConfig(seeds_dir=full_seeds, index_dir=tmp_path / "index")
        build_index(cfg, HashingEncoder())
        fill(disk)
        report = add_articles(cfg, HashingEncoder(), [str(page)])
        assert report.build is None  # nothing was written, so nothing was indexed
        (outcome,) = report.outcomes
        assert outcome.problem is not None and "the disk is full" in outcome.problem
        assert not list(full_seeds.glob(".adding-*"))  # no half-written file left behind


def test_a_fill_on_a_full_disk_says_so_and_the_next_one_goes_on(
    seeds: Path, tmp_path: Path
) -> None:
    from embeddings.encoders.base import Encoders
    from embeddings.index.filling import fill_multilingual
    from embeddings.index.reader import read_manifest

    def encoders() -> Encoders:
        return Encoders(HashingEncoder(), HashingEncoder(dim=64, name="fake/multilingual"))

    with small_disk(tmp_path / "disk", 6144) as disk:
        cfg = IndexConfig(seeds_dir=seeds, index_dir=disk / "index", multilingual_inline=0)
        total = build_index(cfg, encoders()).chunks
        serving = open_retriever(cfg, encoders())
        filler = fill(disk)
        with pytest.raises(IndexWriteError, match="free some disk space"):
            fill_multilingual(cfg, encoders())
        assert read_manifest(cfg.index_dir).multilingual_pending == total  # nothing half-done
        assert serving.search("Sainyabuli delegation", 1).results  # still answering
        filler.unlink()
        assert fill_multilingual(cfg, encoders()).remaining == 0
        assert read_manifest(cfg.index_dir).multilingual_pending == 0
        serving.index.close()
