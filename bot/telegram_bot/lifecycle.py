"""Starting and stopping the bot: wait for the Bot API at startup, and finish the questions in
hand on SIGTERM however many times it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from typing import NoReturn

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, NetworkError

log = logging.getLogger("coopbot.serve")

FIRST_RETRY_S = 1.0
LONGEST_RETRY_S = 60.0


def unreachable(exc: BaseException) -> bool:
    """True for a failure to reach the Bot API (worth retrying), not a refusal by it."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest | InvalidToken)


def wait_for_api(
    token: str,
    base_url: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int | None = None,
) -> None:
    """Return once the Bot API answers getMe, retrying with a doubling wait (capped at a
    minute) while it cannot be reached, with one log line per retry.

    A rejected token raises `InvalidToken` at once: no retry can fix it. `attempts` bounds the
    tries (None: until it answers or the process is stopped); the last failure is raised.
    """
    delay, tried = FIRST_RETRY_S, 0
    while True:
        tried += 1
        try:
            asyncio.run(_get_me(token, base_url))
            if tried > 1:
                log.info("the Telegram Bot API answers again: starting")
            return
        except Exception as exc:  # noqa: BLE001 - sorted just below
            if not unreachable(exc) or (attempts is not None and tried >= attempts):
                raise
            log.warning("cannot reach the Telegram Bot API (%s: %s): retrying in %.0f s",
                        type(exc).__name__, exc, delay)
        sleep(delay)
        delay = min(delay * 2, LONGEST_RETRY_S)


async def _get_me(token: str, base_url: str) -> None:
    bot = Bot(token, base_url=base_url)
    try:
        await bot.get_me()
    finally:
        await bot.shutdown()


def finish_on_sigterm(on_stop: Callable[[], None]) -> None:
    """Let the first SIGTERM stop the application gracefully (after calling `on_stop`), and
    keep later ones from cutting that short.

    PTB's own handler raises SystemExit on every signal; a second one during the graceful stop
    abandons the questions in hand. They are in the inbox and would be answered after the
    restart, but one whose reply was already sent would be answered twice. Call from within
    the running loop (post_init).
    """
    loop = asyncio.get_running_loop()
    stopping = False

    def on_sigterm() -> NoReturn | None:
        nonlocal stopping
        if not stopping:
            stopping = True
            on_stop()
            log.info("SIGTERM: finishing the questions in hand, then stopping")
            # From now on a plain handler: the loop's own is no longer served once the
            # graceful stop leaves run_forever.
            signal.signal(signal.SIGTERM, lambda *_: _again())
            raise SystemExit  # what PTB's handler does: run_polling's graceful stop follows
        _again()
        return None

    def _again() -> None:
        log.warning("SIGTERM again: still finishing the questions in hand (they are stored: "
                    "SIGKILL loses none, they are answered after the restart)")

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError):  # no signals in this loop (Windows, a thread)
        log.debug("SIGTERM handler not installed")


def ignore_sigterm_while_exiting() -> None:
    """Ignore SIGTERM from here to the exit. Python puts back the default handler (which
    kills) as the interpreter shuts down, so a second SIGTERM in those last moments ended a
    bot that had finished cleanly with "killed by SIGTERM"; an ignored signal stays ignored."""
    with contextlib.suppress(ValueError):  # not the main thread: nothing to do
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
