"""Waiting for the Bot API at startup: real connections to a closed port and to the fake
server (the end-to-end run is in test_durability)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from telegram.error import InvalidToken, NetworkError

from bot.telegram_bot.lifecycle import unreachable, wait_for_api
from tests.support.fake_telegram import FakeTelegram


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_api_is_retried_with_a_doubling_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waits: list[float] = []
    with caplog.at_level(logging.WARNING), pytest.raises(NetworkError):
        wait_for_api("1:x", f"http://127.0.0.1:{closed_port()}/bot", sleep=waits.append,
                     attempts=4)
    assert waits == [1.0, 2.0, 4.0]
    retries = [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]
    assert len(retries) == 3 and "retrying in 4 s" in retries[-1]


def test_a_rejected_token_is_not_retried() -> None:
    async def scenario() -> None:
        server = await FakeTelegram().start()
        server.valid_token = "1:other"
        try:
            waits: list[float] = []
            with pytest.raises(InvalidToken):
                await asyncio.to_thread(wait_for_api, server.token, f"{server.url}/bot",
                                        sleep=waits.append)
            assert waits == []
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_only_failures_to_reach_the_api_count_as_unreachable() -> None:
    from telegram.error import BadRequest, TimedOut

    assert unreachable(NetworkError("connection refused")) and unreachable(TimedOut())
    assert not unreachable(BadRequest("chat not found")) and not unreachable(InvalidToken())
    assert not unreachable(ValueError("bug"))
