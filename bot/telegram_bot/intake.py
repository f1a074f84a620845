"""Between Telegram and the handlers: unreadable updates set aside, every other one stored in
the inbox before python-telegram-bot may confirm it, redeliveries answered once, and an update
marked done when its handler has finished.

`Intake.screen` runs on each raw getUpdates batch (from `bot.telegram_bot.polling`), before
PTB parses it. PTB parses a batch as a whole: one update it cannot read (a poll as an older
self-hosted Bot API server writes it, a chat without its `type`) would fail every batch, the
offset would never advance, and the bot would answer nothing, ever. Such an update, and any
update already received, is replaced by a bare `{"update_id": n}`: PTB still advances its
offset past it, and no handler matches it.

With a webhook, updates reach the bot through `bot.telegram_bot.webhook`'s server instead, which
stores each one in the inbox before it answers Telegram "200 OK" (so an update Telegram counts
as delivered is on disk, or in the shared database, first) and drops redeliveries.

An update is done once its reply is sent: `ReplyRequest`, the request layer under the bot's
own calls, marks it the moment Telegram confirms the first message sent for it. A crash can
then only repeat an answer whose confirmation was on the wire when the process died (about a
millisecond on the loopback, one round trip to Telegram in production); marking it when the
handler returns would widen that to everything the handler does after sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any

import httpx
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import SimpleUpdateProcessor
from telegram.request import HTTPXRequest

from bot.telegram_bot.inbox import JSON, Inbox, SharedInbox
from bot.telegram_bot.state_db import state_errors

log = logging.getLogger(__name__)

HANDLING: ContextVar[int | None] = ContextVar("coopbot_update_id", default=None)
"""The id of the update whose handlers run in this task (set by `DurableProcessor`)."""

REPLIES = ("sendMessage", "sendDocument", "editMessageText")
"""The calls that answer: a chat action or a button's toast is not yet an answer."""


def unreadable(update: JSON) -> str | None:
    """Why PTB cannot read `update` (the exception's type and message), or None."""
    try:
        Update.de_json(update, None)
    except Exception as exc:  # noqa: BLE001 - any failure to parse is what is looked for
        return f"{type(exc).__name__}: {exc}"
    return None


class Intake:
    """Screens getUpdates batches into the inbox (see the module docstring).

    Args:
        inbox: where updates are stored; None keeps only the poison filter.
    """

    def __init__(self, inbox: Inbox | None) -> None:
        self.inbox = inbox
        self._unstored_warned = False
        self.stopping = False

    def stop_taking(self) -> None:
        """The bot is stopping: batches still arriving are stored, and PTB, which would drop
        them (and log it as CRITICAL), gets none; they are answered at the next start."""
        self.stopping = True

    def screen(self, batch: list[JSON]) -> list[JSON]:
        """The batch as PTB may see it: unreadable and already received updates emptied;
        nothing once stopping (see `stop_taking`)."""
        if self.stopping and self.inbox is not None:
            self._admit([u for u in batch if isinstance(u.get("update_id"), int)
                         and unreadable(u) is None])
            return []
        readable: list[JSON] = []
        out: list[JSON] = []
        for update in batch:
            update_id = update.get("update_id")
            if not isinstance(update_id, int):
                continue  # without an id PTB could not confirm it either: nothing to skip
            reason = unreadable(update)
            if reason is None:
                readable.append(update)
                out.append(update)
            else:
                self.set_aside(update_id, reason, update)
                out.append({"update_id": update_id})
        fresh = self._admit(readable)
        return [update if fresh.get(update["update_id"], True) else
                {"update_id": update["update_id"]} for update in out]

    def set_aside(self, update_id: int, reason: str, update: JSON) -> None:
        """Record that an update cannot be read (`reason`), with one log line the first time
        (no names, no text: its keys say the kind)."""
        known = False
        if self.inbox is not None:
            # Logging it below is all that matters for an unreadable update.
            with contextlib.suppress(*state_errors()):
                known = not self.inbox.set_aside(update_id)
        if not known:
            kinds = ",".join(sorted(k for k in update if k != "update_id"))
            log.warning("skipped update %d that cannot be read (%s): %s", update_id, kinds,
                        reason.split("\n", 1)[0][:200])

    def _admit(self, updates: list[JSON]) -> dict[int, bool]:
        if self.inbox is None or not updates:
            return {}
        try:
            fresh = self.inbox.admit(updates)
        except state_errors() as exc:
            # Answering without the safety net beats not answering at all.
            if not self._unstored_warned:
                self._unstored_warned = True
                log.warning("updates are answered without being stored (%s): a crash now "
                            "loses the questions in hand", exc)
            return {}
        self._unstored_warned = False
        return {u["update_id"]: new for u, new in zip(updates, fresh, strict=True)}


    def admit_one(self, update: JSON) -> bool:
        """Store one update (a webhook delivers them singly); False for a redelivery."""
        return self._admit([update]).get(update["update_id"], True)


class DurableProcessor(SimpleUpdateProcessor):
    """PTB's concurrent update processor, marking each update done in the inbox once its
    handlers have finished, if `ReplyRequest` has not already. A cancelled handler (the
    process stopping) leaves it pending, to be replayed on the next start."""

    def __init__(self, inbox: Inbox, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.inbox = inbox

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers, then mark the update done (PTB reports handler errors itself)."""
        if not isinstance(update, Update) or emptied(update):
            # An emptied update is a redelivery or an unreadable one: its row, if pending,
            # belongs to the stored copy, which may still be waiting in the queue.
            await coroutine
            return
        HANDLING.set(update.update_id)  # this task's context: seen by the requests it makes
        await coroutine
        finish(self.inbox, update.update_id)


class ReplyRequest(HTTPXRequest):
    """The request layer under the bot's own calls.

    - A request that never reached Telegram (no connection could be made, or none was free
      in the pool) is sent again, after 0.5, 1 and 2 s: on a loaded machine a connect can
      time out, and the user would otherwise get an apology instead of the answer.
    - With an inbox, the first reply Telegram confirms for an update marks that update done
      (see the module docstring).
    """

    RETRIES_S = (0.5, 1.0, 2.0)

    def __init__(self, inbox: Inbox | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox = inbox

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Send the request (again while it was not sent); mark the update done on a reply."""
        for wait in (*self.RETRIES_S, None):
            try:
                status, payload = await super().do_request(url, method, *args, **kwargs)
                break
            except NetworkError as exc:
                if wait is None or not never_sent(exc):
                    raise
                log.warning("%s was not sent (%s): again in %.1f s", url.rsplit("/", 1)[-1],
                            type(exc.__cause__).__name__, wait)
                await asyncio.sleep(wait)
        update_id = HANDLING.get()
        if (self.inbox is not None and update_id is not None and status == 200
                and url.endswith(REPLIES)):
            finish(self.inbox, update_id)
        return status, payload


def never_sent(exc: BaseException) -> bool:
    """True when PTB's error comes from a connection that was never made: the request did
    not reach Telegram, so sending it again cannot repeat anything."""
    return isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout
                      | httpx.PoolTimeout)


def emptied(update: Update) -> bool:
    """True for the bare `{"update_id": n}` that `Intake.screen` hands PTB in place of an
    update it must not answer."""
    return update.to_dict().keys() <= {"update_id"}


def finish(inbox: Inbox, update_id: int) -> None:
    """Mark an update done; a failure to write is logged, never raised into a handler."""
    try:
        inbox.finish(update_id)
    except state_errors() as exc:
        log.warning("update %d answered but not marked done (%s): it may be answered again "
                    "after a restart", update_id, exc)


def replay(inbox: Inbox, max_age: float, bot: Any) -> list[Update]:
    """The pending updates of an earlier run, as updates for PTB's queue."""
    updates = _updates(inbox.replay(max_age), bot)
    if updates:
        log.info("answering %d questions received before the restart", len(updates))
    return updates


def _updates(bodies: list[JSON], bot: Any) -> list[Update]:
    return [u for u in (Update.de_json(body, bot) for body in bodies) if u is not None]


async def keep_leases(inbox: SharedInbox, queue: asyncio.Queue[object], bot: Any) -> None:
    """Until cancelled, every third of a lease: renew this replica's leases, and queue the
    updates whose replica died holding them (see `SharedInbox`)."""
    while True:
        await asyncio.sleep(inbox.lease_s / 3)
        try:
            await asyncio.to_thread(inbox.renew)
            for update in _updates(await asyncio.to_thread(inbox.claim), bot):
                queue.put_nowait(update)
        except state_errors() as exc:  # the database is away: try again next round
            log.warning("inbox leases not renewed: %s", exc)
