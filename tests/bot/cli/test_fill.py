"""`coopbot index` on a large build: it serves first, fills in the Vietnamese vectors after, and
a real SIGKILL in the middle of that loses nothing (real models, real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED

VIETNAMESE = [json.loads(line)["q"] for line in
              (SHARED / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
              if line.strip() and json.loads(line)["lang"] == "vi"] if (
    SHARED / "eval" / "dev.jsonl").is_file() else []


def _env() -> dict[str, str]:
    # Every build defers its e5 vectors: the seeds are small, the path is the large one's.
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
            "COOPBOT_MULTILINGUAL_INLINE": "0"}


def _coopbot(args: list[str], index: Path, seeds: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "--seeds", str(seeds), "--index",
                           str(index), *args], capture_output=True, text=True, timeout=600,
                          env=_env())


def _status(index: Path, seeds: Path) -> dict[str, int]:
    done = _coopbot(["status", "--json"], index, seeds)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    return {"filled": status["multilingual_passages"], "total": status["chunks"]}


@pytest.mark.slow
def test_a_fill_killed_midway_serves_meanwhile_and_the_next_index_finishes_it(
    seeds: Path, tmp_path: Path, real_retriever,  # type: ignore[no-untyped-def]
    real_encoders,  # type: ignore[no-untyped-def]
) -> None:
    if not VIETNAMESE:
        pytest.skip("shared/eval/dev.jsonl is not beside the repository")
    index = tmp_path / "index"
    run = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--seeds", str(seeds), "--index", str(index), "index"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert run.stderr is not None
    seen = []
    for line in run.stderr:  # the build is published before the fill starts
        seen.append(line)
        if "filling in the Vietnamese search vectors" in line:
            break
    else:
        pytest.fail("no fill announced:\n" + "".join(seen))
    time.sleep(0.3)  # inside the round's encoding
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    assert run.returncode == -signal.SIGKILL
    killed = _status(index, seeds)
    assert killed["filled"] < killed["total"], "killed before the fill ended"

    asked = _coopbot(["ask", "--json", VIETNAMESE[0]], index, seeds)  # serves while pending
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["results"]

    resumed = _coopbot(["index"], index, seeds)
    assert resumed.returncode == 0, resumed.stderr
    assert "Vietnamese search covers every passage" in resumed.stderr
    done = _status(index, seeds)
    assert done["filled"] == done["total"] > 0

    # Filled in later, the index answers Vietnamese questions as one built in one go.
    from embeddings.config import IndexConfig
    from embeddings.service import open_retriever

    filled = open_retriever(IndexConfig(seeds_dir=seeds, index_dir=index), real_encoders)
    try:
        for question in VIETNAMESE:
            want = real_retriever.search(question, 3)
            got = filled.search(question, 3)
            assert [r.article_id for r in got.results] == [r.article_id for r in want.results]
            assert got.answered == want.answered, question
            if want.results:
                assert got.results[0].highlight == want.results[0].highlight, question
    finally:
        filled.index.close()
