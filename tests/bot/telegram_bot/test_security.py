"""Security through the real `coopbot -v serve` and the fake Bot API server: the rate limit
covers inline queries and buttons, votes are stored without who cast them, and a verbose
session that goes through every kind of update and fault never logs the token."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_telegram import Call
from tests.support.telegram_harness import Harness, serving

pytestmark = pytest.mark.slow

ADMIN = 4242
LIMIT = 3


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One verbose bot (INFO logs) with a rate limit of three actions a minute."""
    root = tmp_path_factory.mktemp("secure")
    with serving(root, cli_args=["-v"], COOPBOT_ADMIN_IDS=str(ADMIN),
                 COOPBOT_RATE_LIMIT=str(LIMIT)) as harness:
        harness.root = root  # type: ignore[attr-defined]
        yield harness


def _ask(bot: Harness, text: str, user_id: int, **kw: object) -> Call:
    before = len(bot.replies(user_id))
    bot.call(bot.server.push_message, text, chat_id=user_id, user_id=user_id, **kw)
    return bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == user_id,
                        count=before + 1, timeout=60)[-1]


def _inline(bot: Harness, text: str, user_id: int) -> Call:
    query_id = bot.call(bot.server.push_inline, text, user_id=user_id)
    return bot.wait_for("answerInlineQuery",
                        lambda c: c.params["inline_query_id"] == query_id, timeout=60)[-1]


def _press(bot: Harness, data: str, message: dict[str, object], user_id: int) -> Call:
    query_id = bot.call(bot.server.push_callback, data, message=message, user_id=user_id)
    return bot.wait_for("answerCallbackQuery",
                        lambda c: c.params["callback_query_id"] == query_id, timeout=60)[-1]


def test_the_rate_limit_covers_inline_queries(bot: Harness) -> None:
    answers = [_inline(bot, "Surachate Hakparn Bangkok", user_id=301) for _ in range(LIMIT + 1)]
    assert all(a.ok and a.params["results"] for a in answers[:LIMIT])
    over = answers[LIMIT]
    assert over.ok and over.params["results"] == []
    assert "wait" in over.params["button"]["text"].lower()
    # The limit is per user: someone else is still served.
    assert _inline(bot, "Surachate Hakparn Bangkok", user_id=302).params["results"]


def test_the_rate_limit_covers_buttons(bot: Harness) -> None:
    reply = _ask(bot, "Who is Surachate Hakparn?", user_id=303)  # one action of three
    message = bot.call(bot.server.message, 303, reply.result["message_id"])
    presses = [_press(bot, "fb:expired-key:1", message, user_id=303) for _ in range(LIMIT)]
    assert "expired" in presses[0].params["text"]  # within the limit: handled
    assert "expired" in presses[1].params["text"]
    assert "wait" in presses[2].params["text"].lower()  # the fourth action is refused
    assert "wait" in _ask(bot, "Who is Surachate Hakparn?", user_id=303).params["text"].lower()


def test_a_vote_is_stored_without_who_cast_it(bot: Harness) -> None:
    voter = 918273645
    reply = _ask(bot, "Which crimes will Vietnam and Thailand fight together?", user_id=voter,
                 username="analyst_nguyen", first_name="Nguyen")
    message = bot.call(bot.server.message, voter, reply.result["message_id"])
    down = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row
            if b["callback_data"].startswith("fb:") and b["callback_data"].endswith(":-1")][0]
    assert "thank" in _press(bot, down["callback_data"], message, user_id=voter
                             ).params["text"].lower()
    path = bot.root / "index" / "feedback.sqlite"  # type: ignore[attr-defined]
    db = sqlite3.connect(path)
    try:
        columns = [r[1] for r in db.execute("PRAGMA table_info(votes)")]
        rows = db.execute("SELECT vote, question FROM votes").fetchall()
    finally:
        db.close()
    # `voter` is an HMAC of the answer and the user under a key only the process held.
    assert columns == ["id", "at", "vote", "question", "answered", "results", "voter",
                       "reason"]
    assert rows == [(-1, "Which crimes will Vietnam and Thailand fight together?")]
    stored = b"".join(p.read_bytes() for p in path.parent.glob("feedback.sqlite*"))
    for identity in (b"918273645", voter.to_bytes(4, "big"), b"analyst_nguyen", b"Nguyen"):
        assert identity not in stored


def test_zz_a_verbose_session_with_faults_never_logs_the_token(bot: Harness) -> None:
    """Questions, buttons, inline queries, an admin /reindex and injected faults, all logged
    at INFO; then the whole output is searched for the token and its secret half."""
    server = bot.server
    _ask(bot, "/reindex", user_id=ADMIN)
    bot.wait_for("editMessageText", lambda c: any(
        done in c.params.get("text", "") for done in ("rebuilt", "Nothing to rebuild")),
        timeout=120)
    bot.call(server.fail_next, "sendMessage", status=500, description="Internal Server Error")
    _ask(bot, "Who led the delegation from Sainyabuli?", user_id=304)
    bot.call(server.fail_next, "getUpdates", status=502)
    bot.call(server.drop_connection_next, "sendMessage")
    _ask(bot, "Who is Mom Kirisocheat?", user_id=305)
    bot.call(server.block_chat, 306)
    bot.call(server.push_message, "Who is Mom Kirisocheat?", chat_id=306, user_id=306)
    bot.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == 306 and c.status == 403)
    _ask(bot, "/add https://127.0.0.1:9/nothing", user_id=305)  # not an admin: refused
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(timeout=30) == 0
    output = bot.log()
    assert "INFO telegram.ext.Application" in output  # a verbose log was read
    assert "question from user 305: 'Who is Mom Kirisocheat?'" in output  # -v: who and what
    assert server.token not in output
    assert server.token.split(":", 1)[1] not in output
    assert Path(bot.root, "index").is_dir()  # type: ignore[attr-defined]
