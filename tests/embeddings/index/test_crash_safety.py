"""A build killed midway leaves the previous index answering, and keeps the work it did."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.encoders.cache import TABLE
from embeddings.index.builder import build_index
from embeddings.index.layout import CACHE, current_build
from embeddings.service import open_retriever
from tests.conftest import REPO, SEEDS

pytestmark = pytest.mark.slow

TOPICS = ["border patrols", "drug seizures", "cyber crime", "port security", "training courses"]


def _extra_articles(folder: Path, count: int) -> None:
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        body = "\n\n".join(
            f"Officers from province {i} discussed {topic} in meeting {j}. "
            f"They agreed on step {j} of plan {i} and on sharing reports about {topic}."
            for j in range(12)
        )
        (folder / f"extra-{i:03d}.md").write_text(
            f"---\ntitle: Cooperation note {i} on {topic}\ndate: 2024-01-{i % 28 + 1:02d}\n---\n"
            f"{body}\n", encoding="utf-8",
        )


def _cached(index_dir: Path) -> int | None:
    """Vectors committed to the cache, or None while it cannot be read (being written)."""
    db = sqlite3.connect(index_dir / CACHE, timeout=30)
    try:
        return int(db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
    except sqlite3.Error:
        # Not 0: a failed read taken for "empty" made the next read look like progress,
        # and the build was killed before it had committed anything.
        return None
    finally:
        db.close()


def _progressed(index_dir: Path, baseline: int) -> bool:
    count = _cached(index_dir)
    return count is not None and count > baseline


def test_killed_build_keeps_previous_index_serving(tmp_path: Path, real_encoder) -> None:  # type: ignore[no-untyped-def]
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    first = build_index(cfg, real_encoder)
    before = current_build(cfg.index_dir)
    baseline = _cached(cfg.index_dir)  # read before the build starts, so nothing else writes
    assert baseline is not None
    _extra_articles(seeds, 100)  # ~600 passages: several cache commits, 2 s apart
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--seeds", str(seeds), "--index", str(cfg.index_dir),
         "index", "--no-progress"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # The same model as this test's builds (MiniLM alone), so what the killed build
        # cached is what the next one can reuse.
        env={**os.environ, "COOPBOT_MULTILINGUAL": "off"},
    )
    deadline = time.monotonic() + 240
    # Kill once the new build has committed some vectors to the cache, i.e. truly midway.
    while not _progressed(cfg.index_dir, baseline) and proc.poll() is None:
        assert time.monotonic() < deadline, "build never made progress"
        time.sleep(0.05)
    assert proc.poll() is None, "build finished before it could be killed; add more articles"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    assert current_build(cfg.index_dir) == before
    answer = open_retriever(cfg, real_encoder).search("Who led the delegation from Sainyabuli?", 1)
    assert answer.answered and "Kham Pheng Phet" in answer.results[0].excerpt

    report = build_index(cfg, real_encoder)  # the next build reuses what the killed one embedded
    assert report.articles == 103
    assert 0 < report.embedded < report.chunks - first.chunks
