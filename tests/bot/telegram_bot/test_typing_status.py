""""typing…" only for slow answers, renewed while they last, never an error of its own."""

from __future__ import annotations

import asyncio

from telegram.error import NetworkError

from bot.telegram_bot.typing_status import typing_while


def run(work_s: float, *, fail: bool = False) -> tuple[str, int]:
    shown: list[float] = []

    async def work() -> str:
        await asyncio.sleep(work_s)
        return "answer"

    async def show() -> None:
        shown.append(asyncio.get_running_loop().time())
        if fail:
            raise NetworkError("flood")

    async def scenario() -> str:
        return await typing_while(work(), show, after=0.2, every=0.3)

    return asyncio.run(scenario()), len(shown)


def test_a_fast_answer_shows_no_typing_status() -> None:
    assert run(0.0) == ("answer", 0)


def test_a_slow_answer_shows_it_and_renews_it() -> None:
    answer, shown = run(0.95)  # shown at 0.2, 0.5 and 0.8 s
    assert answer == "answer" and 2 <= shown <= 3


def test_a_status_that_cannot_be_sent_does_not_stop_the_answer() -> None:
    answer, shown = run(0.35, fail=True)
    assert answer == "answer" and shown == 1
