"""End to end on both engines: `coopbot ask --json` with the real models over the real seeds,
the index in the folder and then in PostgreSQL, must give the same answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS

pytestmark = pytest.mark.slow

QUESTIONS = [
    "Who led the delegation from Sainyabuli?",
    "Đoàn công tác của Sainyabuli do ai dẫn đầu?",
    "What did the Japanese police promise Laos?",
]


def _ask(tmp_path: Path, engine: str, database_url: str, question: str) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if engine == "postgresql":
        env["COOPBOT_DATABASE_URL"] = database_url
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--seeds", str(SEEDS), "--index",
         str(tmp_path / engine), "ask", "--json", question],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_ask_answers_alike_from_the_folder_and_from_postgres(
    tmp_path: Path, database_url: str
) -> None:
    for question in QUESTIONS:
        embedded, postgres = (_ask(tmp_path, engine, database_url, question)
                              for engine in ("embedded", "postgresql"))
        assert embedded["answered"] == postgres["answered"], question
        assert [(r["article_id"], r["highlight"]) for r in embedded["results"]] == [
            (r["article_id"], r["highlight"]) for r in postgres["results"]], question
        assert [r["score"] for r in embedded["results"]] == pytest.approx(
            [r["score"] for r in postgres["results"]], abs=1e-4), question
    assert postgres["results"] and _ask(tmp_path, "postgresql", database_url,
                                        QUESTIONS[0])["answered"]
    # The answers came from the database: the index folder holds no build.
    assert not (tmp_path / "postgresql" / "builds").exists()
