"""Faults of the running bot, through a real `coopbot serve`: a token revoked while it runs
(one line, and the process exits non-zero so that a supervisor restarts it or alerts, instead
of a silent, dead bot), and a vote when the disk is full (a real, filled tmpfs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.telegram_bot.serve import RedactToken
from tests.support.telegram_harness import serving

pytestmark = pytest.mark.slow


def test_a_revoked_token_stops_the_bot_loudly(tmp_path: Path) -> None:
    with serving(tmp_path) as bot:
        assert bot.proc is not None
        bot.call(bot.server.push_message, "Who led the delegation from Sainyabuli?",
                 chat_id=1, user_id=1)
        bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 1,
                     timeout=120)
        bot.server.valid_token = "1:the-new-token"  # revoked with @BotFather: getUpdates 401s
        assert bot.proc.wait(timeout=60) == 1
        log = bot.log()
    assert "Telegram rejected TELEGRAM_BOT_TOKEN while the bot ran" in log
    assert "Traceback" not in log and bot.server.token not in log


def test_redaction_keeps_the_record_of_an_invalid_token() -> None:
    import logging

    from telegram.error import InvalidToken

    try:
        raise InvalidToken("Not Found")
    except InvalidToken:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "error handling update %s",
                                   (7,), exc_info=__import__("sys").exc_info())
    assert RedactToken("123:SECRET").filter(record)
    assert record.getMessage() == "error handling update 7 (InvalidToken: Not Found)"
    assert record.exc_info is None


def test_a_vote_on_a_full_disk_is_answered_without_an_apology(tmp_path: Path) -> None:
    from tests.support.full_disk import fill, small_disk

    with small_disk(tmp_path / "disk", 65536) as disk, \
            serving(tmp_path / "root", COOPBOT_INDEX_DIR=str(disk / "index")) as bot:
        bot.call(bot.server.push_message, "Who led the delegation from Sainyabuli?",
                 chat_id=7, user_id=7)
        reply = bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 7,
                             timeout=120)[-1]
        fill(disk)
        message = bot.call(bot.server.message, 7, reply.result["message_id"])
        buttons = [b["callback_data"] for row in reply.params["reply_markup"]["inline_keyboard"]
                   for b in row]
        up = next(data for data in buttons if data.startswith("fb:") and data.endswith(":1"))
        query = bot.call(bot.server.push_callback, up, message=message, user_id=7)
        answered = bot.wait_for("answerCallbackQuery",
                                lambda c: c.params["callback_query_id"] == query)[-1]
        assert "could not be saved" in answered.params.get("text", ""), (answered, bot.log())
        assert not [c for c in bot.server.calls_to("sendMessage")
                    if int(c.params["chat_id"]) == 7 and "Sorry" in str(c.params["text"])]
        assert "Traceback" not in bot.log()
