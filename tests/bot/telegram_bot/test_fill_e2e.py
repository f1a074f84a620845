"""A real `coopbot serve` started on an index whose e5 vectors are still pending (a large
build published with `coopbot index --no-fill`) answers at once, fills them in on its own, and
says how far it is in /about; through the fake Bot API server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bot.telegram_bot.test_e2e import _ask, _filler_articles
from tests.conftest import REPO, SEEDS
from tests.support.telegram_harness import Harness


@pytest.mark.slow
def test_the_bot_fills_in_a_pending_index_while_it_answers(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    _filler_articles(tmp_path / "seeds")  # an 80-paragraph article: more to fill than seeds
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "COOPBOT_MULTILINGUAL_INLINE": "0"}
    built = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--seeds", str(tmp_path / "seeds"), "--index",
         str(tmp_path / "index"), "index", "--no-fill"],
        capture_output=True, text=True, timeout=600, env=env)
    assert built.returncode == 0, built.stderr
    assert "filled in after the build" in built.stdout + built.stderr

    harness = Harness()
    try:
        harness.start_bot(tmp_path, COOPBOT_MULTILINGUAL_INLINE="0")
        harness.wait_for("getUpdates", timeout=180)
        answer = _ask(harness, "Ai dẫn đầu đoàn công tác từ Sainyabuli?", chat_id=301,
                      user_id=301, language_code="vi")
        assert "Sainyabuli" in answer.params["text"]  # answered while vectors are pending
        seen = []
        deadline = time.monotonic() + 240
        while True:  # /about says how far the fill is, until it is done
            about = _ask(harness, "/about", chat_id=302, user_id=302).params["text"]
            seen.append(about)
            if "Vietnamese search" not in about:
                break
            assert "% of passages so far" in about
            assert time.monotonic() < deadline, "the fill did not end"
            time.sleep(1)
        log = harness.log()
        assert "filling in the multilingual vectors" in log
        assert "Vietnamese search covers every passage" in log
        assert "Traceback" not in log
    finally:
        if harness.proc is not None and harness.proc.poll() is None:
            harness.proc.kill()
        harness.close()
    status = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--seeds", str(tmp_path / "seeds"), "--index",
         str(tmp_path / "index"), "status"], capture_output=True, text=True, timeout=120,
        env=env)
    assert status.returncode == 0 and "Vietnamese search" not in status.stdout
