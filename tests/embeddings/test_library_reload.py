"""A serving `Library` closes the build it replaces once no search uses it (issue 16, item 8).

A full rebuild deletes the build before it; until the process that served it closes its files
(SQLite connection, memory-mapped FAISS files), the disk space stays taken. Before the fix the
old index waited for the garbage collector, and up to 8 deleted builds stayed open.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.service import Library
from tests.support.fake_encoders import HashingEncoder

SWAPS = 8
QUESTION = "police cooperation with Laos"
DELETED = " (deleted)"


def deleted_builds(index_dir: Path) -> set[str]:
    """The deleted builds whose files this process still holds: open (/proc/self/fd) or
    memory-mapped (/proc/self/maps)."""
    builds = f"{index_dir.resolve() / 'builds'}/"
    paths = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            paths.append(os.readlink(fd))
        except OSError:  # closed since listed
            continue
    for line in Path("/proc/self/maps").read_text(encoding="utf-8").splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            paths.append(fields[5])
    return {p[len(builds):].split("/")[0] for p in paths
            if p.startswith(builds) and p.endswith(DELETED)}


@pytest.fixture
def cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    return cfg


@pytest.fixture
def no_gc() -> Iterator[None]:
    """No garbage collection: a build must be closed because it was replaced, not because the
    collector happened to run."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.usefixtures("no_gc")
def test_a_replaced_build_is_closed_when_the_next_question_reopens(cfg: IndexConfig) -> None:
    library = Library(cfg, HashingEncoder())
    for _ in range(SWAPS):
        build_index(cfg, HashingEncoder(), full=True)  # another process's `coopbot index --full`
        assert len(deleted_builds(cfg.index_dir)) <= 1  # the one served until the next question
        assert library.search(QUESTION, 3).results
        assert deleted_builds(cfg.index_dir) == set()
    library.rebuild(full=True)  # a rebuild of its own (the bot's /reindex)
    assert library.article_count() == 3
    assert deleted_builds(cfg.index_dir) == set()


@pytest.mark.usefixtures("no_gc")
def test_searches_running_during_reloads_all_finish(cfg: IndexConfig) -> None:
    library = Library(cfg, HashingEncoder())
    failures: list[BaseException] = []
    answered = [0]
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            try:
                assert library.search(QUESTION, 3).results
                assert library.article(library.articles(0, 1)[0].id) is not None
                answered[0] += 1
            except BaseException as exc:  # noqa: BLE001 (any failure fails the test)
                failures.append(exc)
                return

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    held = []
    try:
        for swap in range(SWAPS):
            if swap % 2:
                library.rebuild(full=True)
            else:
                build_index(cfg, HashingEncoder(), full=True)
            held.append(len(deleted_builds(cfg.index_dir)))
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert answered[0] > SWAPS
    assert max(held) <= 2  # the one being replaced, and one still finishing a search
    assert library.search(QUESTION, 3).results
    assert deleted_builds(cfg.index_dir) == set()
