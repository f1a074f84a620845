"""The durable inbox and the screen in front of PTB, on a real SQLite file (no bot)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.telegram_bot.inbox import DONE, EXPIRED, KEEP_S, PENDING, SET_ASIDE, Inbox, minimized
from bot.telegram_bot.intake import Intake, unreadable
from bot.telegram_bot.state import ResultStore
from bot.telegram_bot.state_db import SqliteState
from embeddings.answers import Answer, Result


def message(update_id: int, text: str = "Who led the delegation?", **extra: Any) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": text,
        "chat": {"id": 5, "type": "private", "first_name": "Lan", "username": "lan_hn"},
        "from": {"id": 5, "is_bot": False, "first_name": "Lan", "last_name": "Nguyen",
                 "username": "lan_hn", "language_code": "vi"}, **extra}}


def poison(update_id: int) -> dict[str, Any]:
    """A chat without its `type`: PTB cannot build the update (and its batch) from it."""
    update = message(update_id, "Secret question from Lan")
    del update["message"]["chat"]["type"]
    return update


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_update_is_stored_without_names_and_answered_once(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "state.sqlite")
    assert inbox.admit([message(1), message(2)]) == [True, True]
    assert inbox.admit([message(2), message(3)]) == [False, True]  # 2 is a redelivery
    raw = (tmp_path / "state.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("state.sqlite-*"))
    assert b"Who led the delegation?" in raw
    assert b"Nguyen" not in raw and b"lan_hn" not in raw and b"Lan" not in raw
    assert [u["update_id"] for u in inbox.replay(3600)] == [1, 2, 3]
    inbox.finish(2)
    assert [u["update_id"] for u in inbox.replay(3600)] == [1, 3]
    assert inbox.counts() == {PENDING: 2, DONE: 1}


def test_what_is_kept_is_enough_for_ptb_to_rebuild_the_update(tmp_path: Path) -> None:
    from telegram import Update

    original = message(9, "/ask who?", entities=[{"type": "bot_command", "offset": 0,
                                                  "length": 4}],
                       reply_to_message={"message_id": 3, "date": 1, "text": "old answer",
                                         "chat": {"id": 5, "type": "private"},
                                         "from": {"id": 77, "is_bot": True, "first_name": "B"}})
    kept = minimized(original)
    assert kept is not None and "old answer" not in json.dumps(kept)
    update = Update.de_json(kept, None)
    assert update is not None and update.effective_message is not None
    assert update.effective_message.text == "/ask who?"
    assert update.effective_message.reply_to_message is not None
    assert update.effective_message.reply_to_message.from_user is not None
    assert update.effective_message.reply_to_message.from_user.id == 77
    assert update.effective_user is not None and update.effective_user.language_code == "vi"


def test_inline_queries_and_edits_are_deduplicated_but_not_kept(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "state.sqlite")
    inline = {"update_id": 4, "inline_query": {"id": "q", "query": "laos", "offset": "",
                                               "from": {"id": 5, "is_bot": False,
                                                        "first_name": "Lan"}}}
    assert inbox.admit([inline]) == [True]
    assert inbox.admit([inline]) == [False]
    assert inbox.replay(3600) == []


def test_old_pending_updates_expire_and_old_rows_are_deleted(tmp_path: Path) -> None:
    clock = Clock()
    inbox = Inbox(tmp_path / "state.sqlite", clock=clock)
    inbox.admit([message(1)])
    clock.now += 7200
    inbox.admit([message(2)])
    assert [u["update_id"] for u in inbox.replay(3600)] == [2]
    assert inbox.counts() == {EXPIRED: 1, PENDING: 1}
    clock.now += KEEP_S + 1
    inbox.replay(3600)
    assert inbox.counts() == {}


def test_the_screen_sets_an_unreadable_update_aside_and_keeps_the_offset_moving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert unreadable(message(1)) is None
    assert "type" in (unreadable(poison(2)) or "")
    inbox = Inbox(tmp_path / "state.sqlite")
    intake = Intake(inbox)
    with caplog.at_level(logging.WARNING):
        screened = intake.screen([message(1), poison(2), message(3)])
        again = intake.screen([poison(2), message(3)])  # redelivered: once in the log
    assert screened[0] == message(1) and screened[2] == message(3)
    assert screened[1] == {"update_id": 2}  # PTB reads it, advances past it, no handler runs
    assert again == [{"update_id": 2}, {"update_id": 3}]
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "skipped update 2" in line]) == 1
    assert not any("Secret" in line or "Lan" in line for line in lines)
    assert inbox.counts() == {PENDING: 2, SET_ASIDE: 1}


def test_the_screen_still_answers_when_the_inbox_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(tmp_path / "state.sqlite")
    inbox.db.execute("PRAGMA query_only = ON")  # every write now fails, as on a full disk
    with caplog.at_level(logging.WARNING):
        screened = Intake(inbox).screen([message(1), poison(2)])
    assert screened == [message(1), {"update_id": 2}]
    assert any("answered without being stored" in r.getMessage() for r in caplog.records)


ANSWER = Answer(query="Who led the delegation?", answered=True, results=(
    Result(rank=1, article_id="a1", title="T", date=date(2023, 8, 25), source="S",
           excerpt="E.", highlight="E.", score=0.9, chunk_id="a1:0"),
    Result(rank=2, article_id="a2", title="U", date=None, source=None, excerpt="F.",
           highlight="F.", score=0.4, chunk_id="a2:3")))


def test_stored_answers_outlive_the_process_for_their_time(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    key = ResultStore(db=SqliteState(path)).put(ANSWER, "vi", 42)
    after_restart = ResultStore(db=SqliteState(path))
    stored = after_restart.get(key)
    assert stored is not None and stored.answer is None  # searched again when needed
    assert (stored.query, stored.lang, stored.chat_id, stored.answered) == (
        ANSWER.query, "vi", 42, True)
    assert [(s.rank, s.article_id, s.chunk_id) for s in stored.shown] == [
        (1, "a1", "a1:0"), (2, "a2", "a2:3")]
    assert after_restart.get("forged") is None
    expired = ResultStore(db=SqliteState(path), keep_s=0)
    assert expired.get(key) is None


def test_only_the_stored_copy_of_an_update_marks_it_done(tmp_path: Path) -> None:
    """A redelivery, emptied by the screen, must not mark done the stored copy that is still
    queued: a kill before that copy is answered would lose it."""
    import asyncio

    from telegram import Update

    from bot.telegram_bot.intake import DurableProcessor

    inbox = Inbox(tmp_path / "state.sqlite")
    inbox.admit([message(1)])
    inbox.set_aside(2)
    processor = DurableProcessor(inbox)

    async def handled() -> None:
        return None

    async def scenario() -> None:
        for body in ({"update_id": 1}, {"update_id": 2}):
            await processor.do_process_update(Update.de_json(body, None), handled())
        assert [u["update_id"] for u in inbox.replay(3600)] == [1]
        await processor.do_process_update(Update.de_json(message(1), None), handled())

    asyncio.run(scenario())
    assert inbox.replay(3600) == [] and inbox.counts()[SET_ASIDE] == 1


def test_a_reply_confirmed_by_telegram_marks_its_update_done(tmp_path: Path) -> None:
    import asyncio

    from telegram.request import RequestData
    from telegram.request._requestparameter import RequestParameter

    from bot.telegram_bot.intake import HANDLING, ReplyRequest
    from tests.support.fake_telegram import FakeTelegram

    inbox = Inbox(tmp_path / "state.sqlite")
    inbox.admit([message(1), message(2)])

    async def scenario() -> None:
        server = await FakeTelegram().start()
        request = ReplyRequest(inbox)
        await request.initialize()
        try:
            base = f"{server.url}/bot{server.token}"
            HANDLING.set(1)
            await request.do_request(f"{base}/sendChatAction", "POST")  # not yet a reply
            assert [u["update_id"] for u in inbox.replay(3600)] == [1, 2]
            await request.do_request(f"{base}/getMe", "POST")
            data = RequestData([RequestParameter("chat_id", 5, None),
                                RequestParameter("text", "hi", None)])
            await request.do_request(f"{base}/sendMessage", "POST", request_data=data)
            assert [u["update_id"] for u in inbox.replay(3600)] == [2]
        finally:
            await request.shutdown()
            await server.stop()

    asyncio.run(scenario())


def test_a_request_that_never_left_is_sent_again_then_reported() -> None:
    import asyncio
    import socket

    from telegram.error import NetworkError

    from bot.telegram_bot.intake import ReplyRequest

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = ReplyRequest(None)
    request.RETRIES_S = (0.01, 0.01)
    tries: list[str] = []
    original = ReplyRequest.__mro__[1].do_request

    async def counting(self: Any, url: str, method: str, *args: Any, **kw: Any) -> Any:
        tries.append(url)
        return await original(self, url, method, *args, **kw)

    async def scenario() -> None:
        await request.initialize()
        try:
            with pytest.raises(NetworkError):
                await request.do_request(f"http://127.0.0.1:{port}/bot1:x/sendMessage", "POST")
        finally:
            await request.shutdown()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReplyRequest.__mro__[1], "do_request", counting)
        asyncio.run(scenario())
    assert len(tries) == 3  # the first try and two more, then the error


def test_the_webhook_stores_each_update_before_queueing_it_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Behind a webhook, an update is in the inbox before Telegram gets its 200; a redelivery
    is not queued again, an unreadable one is set aside with a line that names no one, and
    one arriving while the bot stops is kept for the next start."""
    import asyncio
    from types import SimpleNamespace

    from telegram import Update

    from bot.telegram_bot.webhook import WebhookReceiver

    inbox = Inbox(tmp_path / "state.sqlite")
    intake = Intake(inbox)
    application: Any = SimpleNamespace(bot=None, update_queue=None)
    receiver = WebhookReceiver(application, intake, "s3cret")

    async def scenario() -> None:
        application.update_queue = asyncio.Queue()
        await receiver.receive(message(1))
        assert [u["update_id"] for u in inbox.replay(3600)] == [1]  # stored
        await receiver.receive(message(1))  # Telegram sent it again
        await receiver.receive(poison(2))
        await receiver.receive(["not", "an", "update"])
        intake.stop_taking()
        await receiver.receive(message(3))

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    queued = [application.update_queue.get_nowait()
              for _ in range(application.update_queue.qsize())]
    assert [type(u) for u in queued] == [Update] and queued[0].update_id == 1
    assert [u["update_id"] for u in inbox.replay(3600)] == [1, 3]  # 3: for the next start
    assert inbox.counts()[SET_ASIDE] == 1
    skipped = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(skipped) == 1 and "update 2" in skipped[0]
    assert "Secret question" not in caplog.text and "Lan" not in caplog.text
    assert "without an update_id" in caplog.text
    assert receiver.authorised("s3cret")
    assert not receiver.authorised("s3cret!") and not receiver.authorised(None)
