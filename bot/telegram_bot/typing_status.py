""""typing…" while a slow answer is worked out, and only then.

Telegram shows a chat action for about 5 seconds. Sending it before every answer costs one
of the bot's 30 requests a second (Telegram's flood limit, and so half its throughput when
each question also needs its answer), for answers that mostly arrive in well under a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.error import TelegramError

log = logging.getLogger(__name__)

T = TypeVar("T")

SHOW_AFTER_S = 0.5
"""An answer faster than this needs no "typing…"."""
REPEAT_EVERY_S = 4.5
"""Telegram clears the status after about 5 s: renewed before it does."""


async def typing_while(
    work: Awaitable[T],
    show: Callable[[], Awaitable[object]],
    *,
    after: float = SHOW_AFTER_S,
    every: float = REPEAT_EVERY_S,
) -> T:
    """Await `work`; if it takes longer than `after` seconds, call `show` then, and again
    every `every` seconds until it is done. A failing `show` is logged, never raised: the
    status is a courtesy, the answer is what matters."""
    task = asyncio.ensure_future(work)
    wait = after
    while True:
        done, _ = await asyncio.wait({task}, timeout=wait)
        if done:
            return task.result()
        try:
            await show()
        except TelegramError as exc:
            log.info("typing status not sent: %s", exc)
        wait = every
