"""The durable inbox: every question is on disk before Telegram is told it was received.

python-telegram-bot confirms a getUpdates batch with its next getUpdates call, so whatever it
fetched but had not answered when the process died was gone: Telegram would not send it again.
Here each update is written to SQLite first (see `bot.telegram_bot.intake`), marked done once
its handler has finished, and replayed on the next start while it is still pending.

What is kept: for a message, its ids, date, chat id and type, the sender's id and language,
its text or caption (with their entities), an attached document's ids and name, and the ids of
the message it replies to; for a button press, its id, data and the ids of its message. Names,
usernames and chat titles are never stored. A row loses its content once its update is done,
and rows older than `KEEP_S` are deleted: Telegram keeps an unconfirmed update for 24 hours,
so an update id older than that can no longer come back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.telegram_bot.state_db import Executor, SqliteState, StateDB, Tables

log = logging.getLogger(__name__)

JSON = dict[str, Any]

KEEP_S = 2 * 24 * 3600.0
"""How long a row (content already gone once done) is kept to recognise a redelivery."""

PENDING, DONE, SET_ASIDE, EXPIRED = "pending", "done", "set aside", "expired"

TABLES = Tables(
    sqlite="""
    CREATE TABLE IF NOT EXISTS inbox (
        update_id INTEGER PRIMARY KEY,
        received REAL NOT NULL,
        state TEXT NOT NULL,
        body TEXT
    );
    CREATE INDEX IF NOT EXISTS inbox_state ON inbox(state, received);
    """,
    # Shared by replicas: a pending row belongs to the replica that took it (`owner`) while
    # its lease runs; one whose lease ran out (the replica died) is claimed by another.
    postgres="""
    CREATE TABLE IF NOT EXISTS inbox (
        update_id BIGINT PRIMARY KEY,
        received DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL,
        body TEXT,
        owner TEXT,
        lease DOUBLE PRECISION
    );
    CREATE INDEX IF NOT EXISTS inbox_state ON inbox(state, received);
    """,
)


def open_state_file(path: Path) -> SqliteState:
    """The bot's state file (inbox, stored answers) on one machine."""
    return SqliteState(path)


def _user(user: Any) -> JSON | None:
    if not isinstance(user, Mapping) or "id" not in user:
        return None
    # first_name is required by the Bot API types, and never needed to answer: blanked.
    kept = {"id": user["id"], "is_bot": bool(user.get("is_bot")), "first_name": ""}
    if user.get("language_code"):
        kept["language_code"] = user["language_code"]
    return kept


def _chat(chat: Any) -> JSON | None:
    if not isinstance(chat, Mapping) or "id" not in chat:
        return None
    return {"id": chat["id"], "type": chat.get("type")}


_MESSAGE_FIELDS = ("message_id", "date", "text", "entities", "caption", "caption_entities",
                   "message_thread_id", "is_topic_message")


def _message(message: Any, *, with_content: bool = True) -> JSON | None:
    if not isinstance(message, Mapping):
        return None
    kept: JSON = {k: message[k] for k in _MESSAGE_FIELDS[:2] if k in message}
    kept["chat"] = _chat(message.get("chat"))
    sender = _user(message.get("from"))
    if sender is not None:
        kept["from"] = sender
    if not with_content:
        return kept
    kept.update({k: message[k] for k in _MESSAGE_FIELDS[2:] if k in message})
    document = message.get("document")
    if isinstance(document, Mapping):
        kept["document"] = {k: document[k] for k in
                            ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
                            if k in document}
    replied = _message(message.get("reply_to_message"), with_content=False)
    if replied is not None:
        kept["reply_to_message"] = replied
    return kept


def minimized(update: Mapping[str, Any]) -> JSON | None:
    """What answering `update` needs, or None for an update that needs no answer kept.

    Only new messages and button presses are kept: an inline query is useless seconds
    later (Telegram refuses late answers), and edits and chat events get no reply.
    """
    if "message" in update:
        message = _message(update["message"])
        return None if message is None else {"update_id": update["update_id"],
                                             "message": message}
    query = update.get("callback_query")
    if isinstance(query, Mapping):
        kept: JSON = {k: query[k] for k in ("id", "chat_instance", "data") if k in query}
        kept["from"] = _user(query.get("from"))
        message = _message(query.get("message"), with_content=False)
        if message is not None:
            kept["message"] = message
        return {"update_id": update["update_id"], "callback_query": kept}
    return None


class Inbox:
    """Updates by id: pending until done, set aside when unreadable.

    Args:
        db: the state database, or the path of the SQLite file (created with its folder).
        clock: seconds since the epoch (tests pass their own).
    """

    def __init__(self, db: StateDB | Path, clock: Callable[[], float] = time.time) -> None:
        self.db = open_state_file(db) if isinstance(db, Path) else db
        self.path = self.db.where
        self._clock = clock
        self.db.create(TABLES)
        self._lock = threading.Lock()

    def admit(self, updates: list[JSON]) -> list[bool]:
        """Store the updates not seen before, in one transaction; per update, True when it is
        new (to be answered) and False when it was received before (a redelivery)."""
        now = self._clock()
        fresh: list[bool] = []
        with self._lock, self.db.transaction() as tx:
            for update in updates:
                kept = minimized(update)
                state, body = (PENDING, json.dumps(kept)) if kept else (DONE, None)
                fresh.append(self._insert(tx, int(update["update_id"]), now, state, body) == 1)
        return fresh

    def _insert(self, tx: Executor, update_id: int, now: float, state: str,
                body: str | None) -> int:
        """Insert one row unless its update is known; the rows inserted (1 or 0)."""
        return tx.execute(
            "INSERT INTO inbox (update_id, received, state, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (update_id) DO NOTHING", (update_id, now, state, body)).rowcount

    def set_aside(self, update_id: int) -> bool:
        """Record an update that cannot be read, with no content; False if already known."""
        with self._lock, self.db.transaction() as tx:
            return self._insert(tx, update_id, self._clock(), SET_ASIDE, None) == 1

    def finish(self, update_id: int) -> None:
        """Mark an update answered and forget its content."""
        with self._lock:
            self.db.execute("UPDATE inbox SET state = ?, body = NULL "
                            "WHERE update_id = ? AND state = ?", (DONE, update_id, PENDING))

    def replay(self, max_age: float) -> list[JSON]:
        """The pending updates received within `max_age` seconds, oldest first. Older pending
        ones are marked expired (and counted in the log); rows past `KEEP_S` are deleted."""
        with self._lock:
            self._expire(max_age)
            rows = self.db.execute(
                "SELECT body FROM inbox WHERE state = ? ORDER BY update_id", (PENDING,)).rows
        return [json.loads(body) for (body,) in rows]

    def _expire(self, max_age: float) -> None:
        now = self._clock()
        expired = self.db.execute(
            "UPDATE inbox SET state = ?, body = NULL WHERE state = ? AND received < ?",
            (EXPIRED, PENDING, now - max_age)).rowcount
        if expired:
            log.warning("%d stored updates were older than %.0f s and will not be "
                        "answered (COOPBOT_REPLAY_MAX_AGE)", expired, max_age)
        self.db.execute("DELETE FROM inbox WHERE received < ?", (now - KEEP_S,))

    def counts(self) -> dict[str, int]:
        """Rows per state (for status and tests)."""
        with self._lock:
            rows = self.db.execute("SELECT state, COUNT(*) FROM inbox GROUP BY state").rows
        return {state: int(n) for state, n in rows}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self.db.close()


class SharedInbox(Inbox):
    """The inbox of several replicas of one bot, in one PostgreSQL database.

    A replica owns the updates it admitted while their lease runs, and renews the leases of
    those it still holds (`renew`, every few seconds); a replica that dies stops renewing, and
    once its leases ran out another claims the updates (`claim`) and answers them. A
    restarted replica (same `owner` name) takes its own back at once.

    Args:
        owner: this replica's name, stable across its restarts (host and port).
        lease_s: how long an update stays with a replica that stopped renewing.
    """

    CLAIM_BATCH = 100

    def __init__(self, db: StateDB, owner: str, *, lease_s: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(db, clock)
        self.owner = owner
        self.lease_s = lease_s

    def _insert(self, tx: Executor, update_id: int, now: float, state: str,
                body: str | None) -> int:
        return tx.execute(
            "INSERT INTO inbox (update_id, received, state, body, owner, lease) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, now, state, body, self.owner, now + self.lease_s)).rowcount

    def replay(self, max_age: float) -> list[JSON]:
        """At start: this replica's own pending updates from before its restart, and those
        whose owner's lease ran out, oldest first (see `claim`)."""
        with self._lock:
            self._expire(max_age)
        return self.claim(mine_too=True)

    def renew(self) -> int:
        """Extend the leases of the updates this replica holds; how many."""
        with self._lock:
            return self.db.execute(
                "UPDATE inbox SET lease = ? WHERE owner = ? AND state = ?",
                (self._clock() + self.lease_s, self.owner, PENDING)).rowcount

    def claim(self, *, mine_too: bool = False) -> list[JSON]:
        """Take the pending updates whose lease ran out (a replica died holding them), oldest
        first; each goes to one replica only (rows locked, the others skipped)."""
        now = self._clock()
        with self._lock:
            rows = self.db.execute(
                "UPDATE inbox SET owner = ?, lease = ? WHERE update_id IN ("
                " SELECT update_id FROM inbox WHERE state = ? AND (lease < ? OR owner = ?)"
                " ORDER BY update_id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING update_id, body",
                (self.owner, now + self.lease_s, PENDING, now,
                 self.owner if mine_too else "", self.CLAIM_BATCH)).rows
        if rows:
            log.info("took over %d stored updates", len(rows))
        return [json.loads(body) for _, body in sorted(rows)]
