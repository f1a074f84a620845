"""Bot state without Telegram: rate limit, stored results, feedback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.telegram_bot.state import FeedbackStore, RateLimiter, ResultStore
from embeddings.answers import Answer, Result

ANSWER = Answer("who?", True, (Result(1, "a", "T", None, "VNA", "Ex. Hi.", "Hi.", 0.9, "a#0"),))


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, window=60, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check(1) == 60.0
    assert limiter.check(2) == 0.0  # per user
    now[0] = 59.0
    assert 0.9 < limiter.check(1) <= 1.0
    now[0] = 60.0
    assert limiter.check(1) == 0.0


def test_result_store_ids_are_short_and_old_ones_expire() -> None:
    store = ResultStore(capacity=2)
    first = store.put(ANSWER, "en", 5)
    assert len(first.encode()) == 8 and store.get(first) is not None
    store.put(ANSWER, "en", 5)
    store.put(ANSWER, "en", 5)
    assert store.get(first) is None
    assert store.get("forged") is None


def test_token_is_redacted_from_log_records() -> None:
    import logging

    from bot.telegram_bot.serve import RedactToken

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url /bot%s/getMe", ("123:SECRET",),
                               None)
    assert RedactToken("123:SECRET").filter(record)
    assert "SECRET" not in record.getMessage() and "[token]" in record.getMessage()


def test_feedback_purge_deletes_everything(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    results = ResultStore()
    stored = results.get(results.put(ANSWER, "en", 1))
    assert stored is not None
    store.record(stored, 1)
    store.record(stored, -1)
    assert store.purge() == 2 and store.rows() == []
    store.close()
    assert b"who?" not in (tmp_path / "feedback.sqlite").read_bytes()


def test_feedback_keeps_what_evaluation_needs_and_nobody_s_id(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    store = FeedbackStore(path)
    results = ResultStore()
    stored = results.get(results.put(ANSWER, "en", 918273645))
    assert stored is not None
    store.record(stored, -1)
    [row] = store.rows()
    store.close()
    assert set(row) == {"at", "vote", "question", "answered", "results", "reason"}
    assert row["vote"] == -1 and row["question"] == ANSWER.query and row["answered"] == 1
    assert '"article_id": "a"' in row["results"] and '"highlight": "Hi."' in row["results"]
    assert b"918273645" not in path.read_bytes()


def test_feedback_from_an_older_coopbot_loses_its_chat_ids(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    old = sqlite3.connect(path)
    with old:
        old.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
                    "chat_id INTEGER NOT NULL, vote INTEGER NOT NULL, question TEXT NOT NULL, "
                    "answered INTEGER NOT NULL, results TEXT NOT NULL)")
        old.execute("INSERT INTO feedback VALUES (1, '2026-01-01T00:00:00+00:00', 918273645, 1, "
                    "'who signed?', 1, '[]')")
    old.close()
    store = FeedbackStore(path)
    assert store.rows() == [{"at": "2026-01-01T00:00:00+00:00", "vote": 1,
                             "question": "who signed?", "answered": 1, "results": "[]",
                             "reason": None}]
    store.close()
    assert 918273645 .to_bytes(4, "big") not in path.read_bytes()
    assert b"918273645" not in path.read_bytes()


def test_env_file_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.telegram_bot.serve import warn_if_env_file_is_shared

    env = tmp_path / ".env"
    env.write_text("TELEGRAM_BOT_TOKEN=1:x\n", encoding="utf-8")
    env.chmod(0o644)
    assert warn_if_env_file_is_shared(env) and "chmod 600" in caplog.text
    env.chmod(0o600)
    assert not warn_if_env_file_is_shared(env)
    assert not warn_if_env_file_is_shared(tmp_path / "absent")
    for mode in (0o622, 0o602, 0o620):  # writable by others: they could swap the API URL
        env.chmod(mode)
        caplog.clear()
        assert warn_if_env_file_is_shared(env) and "written by other users" in caplog.text


def test_feedback_command_summarises_and_purges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    store = FeedbackStore(tmp_path / "index" / "feedback.sqlite")
    results = ResultStore()
    stored = results.get(results.put(ANSWER, "en", 1))
    assert stored is not None
    store.record(stored, 1)
    store.close()
    assert main(["--index", str(tmp_path / "index"), "feedback"]) == 0
    assert "1 vote(s)" in capsys.readouterr().out
    assert main(["--index", str(tmp_path / "index"), "feedback", "--purge"]) == 0
    assert "deleted 1 vote(s)" in capsys.readouterr().out


def test_one_vote_per_user_per_answer_and_it_can_change(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    store, results = FeedbackStore(path), ResultStore()
    key = results.put(ANSWER, "en", 1)
    stored = results.get(key)
    assert stored is not None
    for vote in (1, 1, 1, -1):  # pressed four times, changed their mind last
        store.record(stored, vote, store.voter(key, 4242))
    store.record(stored, 1, store.voter(key, 5151))  # another user
    other = results.put(ANSWER, "en", 1)
    store.record(stored, 1, store.voter(other, 4242))  # the same user on another answer
    assert sorted(r["vote"] for r in store.rows()) == [-1, 1, 1]
    store.close()
    assert b"4242" not in path.read_bytes() and b"5151" not in path.read_bytes()


def test_votes_of_an_older_file_are_kept_when_it_gains_the_voter_key(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE votes (id INTEGER PRIMARY KEY, at TEXT NOT NULL, vote INTEGER "
               "NOT NULL, question TEXT NOT NULL, answered INTEGER NOT NULL, results TEXT NOT "
               "NULL)")
    db.execute("INSERT INTO votes (at, vote, question, answered, results) VALUES "
               "('2026-01-01T00:00:00+00:00', 1, 'q', 1, '[]')")
    db.commit()
    db.close()
    store = FeedbackStore(path)
    assert [r["question"] for r in store.rows()] == ["q"]
    store.close()
