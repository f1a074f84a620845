"""Telegram faults injected by the fake Bot API server into a real `coopbot serve`: the bot
keeps serving, never crashes, and handles every update exactly once (one reply per question,
none twice, none skipped)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from tests.support.telegram_harness import Harness, serving

pytestmark = pytest.mark.slow

QUESTIONS = ["Who led the delegation from Sainyabuli?", "Who is Mom Kirisocheat?",
             "Who is Surachate Hakparn?"]
_chats = itertools.count(3000)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with serving(tmp_path_factory.mktemp("serve-faults"), COOPBOT_RATE_LIMIT="100") as harness:
        yield harness


def _questions(bot: Harness, count: int) -> list[int]:
    """Push `count` questions, each from its own chat; return the chats."""
    chats = [next(_chats) for _ in range(count)]
    for chat, question in zip(chats, itertools.cycle(QUESTIONS), strict=False):
        bot.call(bot.server.push_message, question, chat_id=chat, user_id=chat)
    return chats


def _exactly_one_reply_each(bot: Harness, chats: list[int], timeout: float = 90,
                            check: Callable[[str], bool] = lambda text: True) -> None:
    wanted = set(chats)
    bot.wait_for("sendMessage", lambda c: wanted <= {
        int(x.params["chat_id"]) for x in bot.server.calls_to("sendMessage") if x.ok},
        timeout=timeout)
    for chat in chats:
        replies = bot.replies(chat)
        assert len(replies) == 1, (chat, [r.params["text"][:60] for r in replies])
        assert check(str(replies[0].params["text"]))


def _alive(bot: Harness) -> None:
    assert bot.proc is not None and bot.proc.poll() is None
    chats = _questions(bot, 1)
    _exactly_one_reply_each(bot, chats)


def test_5xx_and_resets_on_get_updates_lose_and_repeat_nothing(bot: Harness) -> None:
    bot.call(bot.server.fail_next, "getUpdates", status=502, description="Bad Gateway", times=2)
    bot.call(bot.server.drop_connection_next, "getUpdates", times=2)
    chats = _questions(bot, 6)
    _exactly_one_reply_each(bot, chats, check=lambda text: "—" in text)  # cited answers
    _alive(bot)


def test_a_get_updates_call_that_times_out_is_retried_without_loss(bot: Harness) -> None:
    # PTB waits poll timeout (10 s) + read timeout (5 s) for getUpdates; answer after 17 s.
    bot.call(bot.server.delay_next, "getUpdates", 17.0)
    chats = _questions(bot, 3)
    _exactly_one_reply_each(bot, chats, timeout=120)
    _alive(bot)


def test_429_5xx_reset_and_400_on_sends_give_one_message_each(bot: Harness) -> None:
    for fault in ({"status": 429, "retry_after": 1}, {"status": 500, "description": "Internal"},
                  {"status": 400, "description": "Bad Request: message can't be sent"}):
        bot.call(bot.server.fail_next, "sendMessage", **fault)
        [chat] = _questions(bot, 1)
        _exactly_one_reply_each(bot, [chat])  # the answer (429 retried) or one apology
    bot.call(bot.server.drop_connection_next, "sendMessage")
    _exactly_one_reply_each(bot, _questions(bot, 1))
    _alive(bot)


def test_a_chat_that_blocked_the_bot_does_not_affect_others(bot: Harness) -> None:
    blocked = next(_chats)
    bot.call(bot.server.block_chat, blocked)
    bot.call(bot.server.push_message, QUESTIONS[0], chat_id=blocked, user_id=blocked)
    chats = _questions(bot, 3)
    _exactly_one_reply_each(bot, chats)
    refused = [c for c in bot.server.calls_to("sendMessage")
               if int(c.params["chat_id"]) == blocked]
    assert refused and all(c.status == 403 for c in refused)
    assert len(refused) <= 2  # the answer, and at most one apology attempt: no retry storm
    _alive(bot)
