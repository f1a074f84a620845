"""An index served from a folder nobody can write: a read-only mount, or a copy owned by
another user. SQLite cannot open a WAL-mode database read-only there without help, and the
bot cannot store votes there; coopbot answers all the same."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.layout import META, current_build
from embeddings.index.summaries import article_summaries
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder
from tests.support.telegram_harness import serving

QUESTION = "Who led the delegation from Sainyabuli?"


@contextlib.contextmanager
def read_only_copy(index: Path, where: Path, *, leave_out: str = "") -> Iterator[Path]:
    """A copy of `index` in a folder this process cannot write. As root, permissions do not
    stop writes, so the copy goes on a tmpfs remounted read-only (skipped where mounting is
    not allowed); as another user, the folders lose their write bits. `leave_out`: a file
    name pattern not copied."""
    ignore = shutil.ignore_patterns(leave_out) if leave_out else None
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        copy = where / "index"
        shutil.copytree(index, copy, ignore=ignore)
        folders = [copy, *(p for p in copy.rglob("*") if p.is_dir())]
        for folder in folders:
            folder.chmod(0o555)
        try:
            yield copy
        finally:
            for folder in folders:
                folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "coopbot-ro", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only folder here: {mounted.stderr.strip()}")
    try:
        shutil.copytree(index, where / "index", ignore=ignore)
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where / "index"
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    config = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(config, HashingEncoder())
    return config


def test_an_index_in_a_read_only_folder_answers(cfg: IndexConfig, tmp_path: Path) -> None:
    with read_only_copy(cfg.index_dir, tmp_path / "ro") as copy:
        with pytest.raises(OSError):
            (copy / "probe").write_text("x", encoding="utf-8")  # the folder really is read-only
        ro = IndexConfig(seeds_dir=cfg.seeds_dir, index_dir=copy)
        answer = open_retriever(ro, HashingEncoder()).search(QUESTION, 1)
        assert answer.results and "Sainyabuli" in answer.results[0].title
        assert len(article_summaries(copy)) == len(article_summaries(cfg.index_dir))


@pytest.mark.parametrize("with_shm", [True, False])
def test_unmerged_changes_in_a_read_only_folder_are_read_or_explained(
    cfg: IndexConfig, tmp_path: Path, with_shm: bool
) -> None:
    build = current_build(cfg.index_dir)
    assert build is not None
    writer = sqlite3.connect(build / META)  # keeps its write-ahead log while open
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    with writer:
        writer.execute("INSERT OR REPLACE INTO state VALUES ('note', 'unmerged')")
    assert (build / f"{META}-wal").stat().st_size > 0
    try:
        with read_only_copy(cfg.index_dir, tmp_path / "ro",
                            leave_out="" if with_shm else "*-shm") as copy:
            ro = IndexConfig(seeds_dir=cfg.seeds_dir, index_dir=copy)
            if with_shm:  # SQLite reads the log through the copied -shm file
                assert open_retriever(ro, HashingEncoder()).search(QUESTION, 1).results
                return
            with pytest.raises(CoopbotError) as caught:
                open_retriever(ro, HashingEncoder())
    finally:
        writer.close()
    message = str(caught.value)
    assert "\n" not in message and "read-only" in message and "coopbot index" in message


@pytest.mark.slow
def test_the_cli_and_the_bot_answer_from_a_read_only_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(Path(__file__).resolve().parents[3] / "seeds", seeds)
    assert main(["--seeds", str(seeds), "--index", str(tmp_path / "index"), "index"]) == 0
    with read_only_copy(tmp_path / "index", tmp_path / "ro") as copy:
        capsys.readouterr()
        assert main(["--seeds", str(seeds), "--index", str(copy), "ask", QUESTION]) == 0
        assert "Sainyabuli" in capsys.readouterr().out
        with serving(tmp_path / "serve", COOPBOT_SEEDS_DIR=str(seeds),
                     COOPBOT_INDEX_DIR=str(copy)) as bot:
            bot.call(bot.server.push_message, QUESTION, chat_id=31, user_id=31)
            [reply] = bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 31,
                                   timeout=60)
            assert "Sainyabuli" in reply.params["text"]
            vote = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row
                    if b["callback_data"].startswith("fb:")][0]
            message = bot.call(bot.server.message, 31, reply.result["message_id"])
            query_id = bot.call(bot.server.push_callback, vote["callback_data"],
                                message=message, user_id=31)
            [thanks] = bot.wait_for("answerCallbackQuery",
                                    lambda c: c.params["callback_query_id"] == query_id)
            assert "thanks" in thanks.params["text"].lower()
            assert bot.proc is not None
            bot.proc.terminate()
            assert bot.proc.wait(timeout=30) == 0
            output = bot.log()
        assert "votes will not be stored" in output
        assert not (copy / "feedback.sqlite").exists()
