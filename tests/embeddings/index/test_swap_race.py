"""Opening the index while a full rebuild swaps builds opens one build or the other, whole,
never a false "corrupt index" (issue 16, item 7); so does opening it while an update in place
replaces its vector files. A damaged current build is still reported."""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError, IndexCorruptError
from embeddings.index.builder import build_index
from embeddings.index.layout import META, require_build
from embeddings.index.reader import read_manifest
from embeddings.index.summaries import article_summaries
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder

SWAPS = {True: 30, False: 50}
"""Rebuilds per run. Before the fix 0.5% of the opens failed during full rebuilds (about 5 of
the 700 that 30 make), 0.3% during updates in place."""
QUESTION = "police cooperation with Laos"
OFFICE = ("---\ntitle: Dien Bien office\ndate: 2024-03-02\n---\nThe police of Dien Bien "
          "opened a liaison office with Lao border guards.\n")


def _rebuild(cfg: IndexConfig, swaps: int, full: bool) -> None:
    """`coopbot index --full` again and again (each publishes a build and deletes the one
    before), or an article added and removed again and again, in place (each addition writes
    the vector files anew and deletes those it replaced)."""
    office = cfg.seeds_dir / "2024-03-02-office.md"
    for _ in range(swaps):
        if not full:
            if office.exists():
                office.unlink()
            else:
                office.write_text(OFFICE, encoding="utf-8")
        build_index(cfg, HashingEncoder(), full=full)


@pytest.mark.parametrize("full", [True, False], ids=["full-rebuilds", "updates-in-place"])
def test_opening_during_rebuilds_never_reports_corruption(
    seeds: Path, tmp_path: Path, full: bool
) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    # Spawned, not forked: this process has run FAISS and OpenMP, which a fork can hang.
    rebuilder = multiprocessing.get_context("spawn").Process(target=_rebuild,
                                                             args=(cfg, SWAPS[full], full))
    rebuilder.start()
    errors: list[str] = []
    opened: set[str] = set()
    try:
        for attempt in itertools.count():
            if not rebuilder.is_alive():
                break
            try:
                retriever = open_retriever(cfg, HashingEncoder())
                opened.add(f"{retriever.index.path.name} {retriever.index.manifest.extra}")
                # Opening is where the race is; a question (10 ms) now and then shows the
                # build opened is whole. (Not during updates in place: a question that finds
                # an article's passages and then its record removed fails in
                # `search.assembly`, a separate defect.)
                if full and attempt % 10 == 0:
                    assert retriever.search(QUESTION, 3).results
                retriever.index.close()
                assert len(article_summaries(cfg.index_dir)) in (3, 4)
            except CoopbotError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        rebuilder.join(timeout=300)
    assert rebuilder.exitcode == 0
    assert len(opened) > 1  # the reader did run across changes
    assert errors == [], f"{len(errors)} of {attempt} opens failed"


@pytest.mark.parametrize("damaged", ["faiss", META])
def test_a_damaged_current_build_is_still_reported_corrupt(
    seeds: Path, tmp_path: Path, damaged: str
) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    build = require_build(cfg.index_dir)
    name = read_manifest(cfg.index_dir).vector_files["primary"] if damaged == "faiss" else META
    with (build / name).open("r+b") as handle:
        handle.truncate(100)
    with pytest.raises(IndexCorruptError, match="coopbot index --full"):
        open_retriever(cfg, HashingEncoder())
