"""Edges of the command a user meets: a closed pipe, progress in a pipe, `status` as a health
check, `feedback --json` always JSON. Real `python -m bot.cli` processes where the edge is a
process's (a pipe closed by its reader)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.telegram_bot.state import FeedbackStore, ResultStore
from embeddings.answers import Answer, Result
from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from tests.support.fake_encoders import HashingEncoder

REPO = Path(__file__).resolve().parents[3]


def _many_articles(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        (folder / f"2024-01-{i % 28 + 1:02d}-a{i}.md").write_text(
            f"---\ntitle: Article {i} about police cooperation\ndate: 2024-01-{i % 28 + 1:02d}\n"
            f"---\nThe police of province {i} met their neighbours about border patrols.\n",
            encoding="utf-8")


def test_a_closed_pipe_ends_the_listing_quietly(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    # More output than a pipe holds (64 KiB), so the writer is still writing when the reader
    # goes: the listing as JSON, of 1,000 articles, is about 300 KB.
    _many_articles(seeds, 1000)
    build_index(IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index"), HashingEncoder())
    # `coopbot list | head -2`: head exits after two lines and closes the pipe.
    listing = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--index", str(tmp_path / "index"), "list", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.readline()
    listing.stdout.close()
    err = listing.stderr.read().decode()
    assert listing.wait(60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_status_fails_without_an_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--seeds", str(tmp_path / "seeds"), "--index", str(tmp_path / "none")]
    assert main([*argv, "status", "--json"]) == 1  # a health check can rely on it
    assert json.loads(capsys.readouterr().out)["built"] is False
    assert main([*argv, "status"]) == 1


@pytest.mark.slow
def test_no_progress_bar_is_drawn_into_a_pipe(seeds: Path, tmp_path: Path) -> None:
    # `coopbot add page.html 2>&1 | cat`: stderr is a pipe, so plain lines only.
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--seeds", str(seeds), "--index",
         str(tmp_path / "index"), "add", str(REPO / "tests" / "data" / "news_page.html")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "embedding " in done.stderr  # what is embedded is still said, in plain lines
    assert "\r" not in done.stderr and "passage/s" not in done.stderr and "it/s" not in done.stderr


def test_feedback_json_is_always_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index"
    assert main(["--index", str(index), "feedback", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    store = FeedbackStore(index / "feedback.sqlite")
    results = ResultStore()
    answer = Answer("who?", True, (Result(1, "a", "T", None, None, "Hi.", "Hi.", 0.9, "a#0"),))
    stored = results.get(results.put(answer, "en", 1))
    assert stored is not None
    store.record(stored, -1)
    store.close()
    assert main(["--index", str(index), "feedback", "--json"]) == 0
    votes = json.loads(capsys.readouterr().out)
    assert votes[0]["vote"] == -1 and votes[0]["results"][0]["article_id"] == "a"


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"coopbot {version('coopbot')}"
