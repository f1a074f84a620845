"""Freshness: the same folder named two ways is one source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.index.freshness import check_freshness
from embeddings.service import ensure_index
from tests.support.fake_encoders import HashingEncoder


def test_a_relative_and_an_absolute_path_are_one_source(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = IndexConfig(seeds_dir=Path("seeds"), index_dir=tmp_path / "index")
    absolute = IndexConfig(seeds_dir=seeds.resolve(), index_dir=tmp_path / "index")
    build_index(relative, HashingEncoder())
    name = HashingEncoder().name
    assert check_freshness(absolute, name).fresh
    (tmp_path / "link").symlink_to(seeds)
    assert check_freshness(IndexConfig(seeds_dir=Path("link"), index_dir=tmp_path / "index"),
                           name).fresh
    # An article added in between is seen whichever name the folder goes by.
    (seeds / "2024-03-02-office.md").write_text(
        "---\ntitle: Dien Bien office\n---\nThe police of Dien Bien opened an office.\n",
        encoding="utf-8")
    said: list[str] = []
    report = ensure_index(absolute, HashingEncoder(), notify=said.append)
    assert report is not None and report.added == 1 and "out of date" in said[0]
    assert not os.path.isabs(relative.seeds_dir)
