"""Index faults: each gives one line that says how to fix it, the index in use keeps
answering, and concurrent builds wait for each other."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot.cli.main import main
from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError, IndexWriteError
from embeddings.index.builder import build_index
from embeddings.index.layout import META, build_lock, current_build
from embeddings.index.reader import read_manifest
from embeddings.index.report import BuildObserver
from embeddings.index.summaries import article_summaries
from embeddings.service import Library, open_retriever
from tests.support.fake_encoders import HashingEncoder

QUESTION = "Who led the delegation from Sainyabuli?"


@pytest.fixture
def cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    config = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(config, HashingEncoder())
    return config


def _new_article(cfg: IndexConfig) -> None:
    (cfg.seeds_dir / "2024-09-01-new.md").write_text(
        "---\ntitle: New patrol plan\ndate: 2024-09-01\n---\nA new joint patrol plan was "
        "agreed by the border guards of An Giang and Takeo.\n", encoding="utf-8")


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    return text


def test_disk_full_during_a_build_leaves_the_index_serving(
    cfg: IndexConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = open_retriever(cfg, HashingEncoder())
    before = {a.id for a in article_summaries(cfg.index_dir)}
    _new_article(cfg)

    def full_disk(index: Any, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("embeddings.index.writer.write_index", full_disk)
    with pytest.raises(IndexWriteError) as caught:
        build_index(cfg, HashingEncoder())
    message = _one_line(caught.value)
    assert "No space left on device" in message and "free some disk space" in message
    assert {a.id for a in article_summaries(cfg.index_dir)} == before
    assert serving.search(QUESTION, 1).results  # the open index still answers
    monkeypatch.undo()
    assert build_index(cfg, HashingEncoder()).added == 1  # and the next build catches up


def test_an_unwritable_index_folder_is_one_line(
    cfg: IndexConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root in CI, where permissions do not stop writes: refuse like the OS would.
    real_mkdir = Path.mkdir

    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        if str(self).startswith(str(cfg.index_dir)):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(IndexWriteError) as caught:
        build_index(cfg, HashingEncoder(), full=True)
    message = _one_line(caught.value)
    assert "Permission denied" in message and "COOPBOT_INDEX_DIR" in message


def test_a_locked_database_is_one_line_and_waits_only_so_long(
    cfg: IndexConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("embeddings.index.writer.WRITE_WAIT_SECONDS", 0.2)
    build = current_build(cfg.index_dir)
    assert build is not None
    holder = sqlite3.connect(build / META, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program writing
    try:
        _new_article(cfg)
        with pytest.raises(IndexWriteError) as caught:
            build_index(cfg, HashingEncoder())
        assert "database is locked" in _one_line(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert build_index(cfg, HashingEncoder()).added == 1


@pytest.mark.parametrize("damage", ["truncate-vectors", "garbage-database", "delete-database"])
def test_a_damaged_index_is_one_line_for_ask_and_full_rebuild_repairs_it(
    cfg: IndexConfig, damage: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build = current_build(cfg.index_dir)
    assert build is not None
    serving = Library(cfg, HashingEncoder())
    vectors = build / read_manifest(cfg.index_dir).vector_files["primary"]
    if damage == "truncate-vectors":  # replaced, as a copy tool would, not cut in place
        data = vectors.read_bytes()
        vectors.unlink()
        vectors.write_bytes(data[: len(data) // 2])
    elif damage == "garbage-database":
        (build / META).unlink()
        (build / META).write_bytes(b"this is not a database" * 100)
    else:
        (build / META).unlink()
    with pytest.raises(CoopbotError) as caught:
        open_retriever(cfg, HashingEncoder())
    assert "coopbot index --full" in _one_line(caught.value)
    assert serving.search(QUESTION, 1).results  # the bot keeps its open index
    # Through the CLI: one line on stderr, exit status 1 (the fake encoder stands in for the
    # model; the message is the same).
    monkeypatch.setattr("bot.cli.progress.open_library", lambda settings: Library(
        cfg, HashingEncoder()))
    assert main(["--seeds", str(cfg.seeds_dir), "--index", str(cfg.index_dir), "ask",
                 QUESTION]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("coopbot: error: ") and "\n" not in err
    report = build_index(cfg, HashingEncoder(), full=True)
    assert report.full and open_retriever(cfg, HashingEncoder()).search(QUESTION, 1).results


def test_a_second_build_waits_for_the_first_and_says_so(
    cfg: IndexConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[str] = []

    class Recorder(BuildObserver):
        def waiting_for_lock(self) -> None:
            events.append("waiting")

    _new_article(cfg)
    with build_lock(cfg.index_dir):  # a first build holds the lock
        second = threading.Thread(target=lambda: events.append(
            f"added {build_index(cfg, HashingEncoder(), Recorder()).added}"))
        second.start()
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.02)
        assert events == ["waiting"] and second.is_alive()
    second.join(30)
    assert events == ["waiting", "added 1"]
    from bot.cli.progress import TerminalObserver

    TerminalObserver(show_bar=False).waiting_for_lock()
    assert "another build of this index is running; waiting" in capsys.readouterr().err


def test_an_index_of_an_older_format_is_rebuilt_by_a_plain_build(cfg: IndexConfig) -> None:
    build = current_build(cfg.index_dir)
    assert build is not None
    db = sqlite3.connect(build / META)
    with db:
        (text,) = db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()
        old = json.loads(text)
        old["format_version"] -= 1
        db.execute("UPDATE state SET value = ? WHERE key = 'manifest'", (json.dumps(old),))
    db.close()
    with pytest.raises(CoopbotError, match="coopbot index"):
        open_retriever(cfg, HashingEncoder())
    report = build_index(cfg, HashingEncoder())  # what the message says to run
    assert report.full and report.build_path != build
    assert open_retriever(cfg, HashingEncoder()).search(QUESTION, 1)


def test_an_index_for_another_model_says_to_rebuild(cfg: IndexConfig) -> None:
    with pytest.raises(CoopbotError) as caught:
        open_retriever(cfg, HashingEncoder(name="other/model"))
    message = _one_line(caught.value)
    assert "model" in message and "coopbot index" in message
    assert shutil.which("true")  # (keeps the import list honest on minimal systems)
