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
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JSON = dict[str, Any]

KEEP_S = 2 * 24 * 3600.0
"""How long a row (content already gone once done) is kept to recognise a redelivery."""

PENDING, DONE, SET_ASIDE, EXPIRED = "pending", "done", "set aside", "expired"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    update_id INTEGER PRIMARY KEY,
    received REAL NOT NULL,
    state TEXT NOT NULL,
    body TEXT
);
CREATE INDEX IF NOT EXISTS inbox_state ON inbox(state, received);
"""


def open_state_file(path: Path) -> sqlite3.Connection:
    """The bot's state file (inbox, stored answers).

    WAL, so that readers never wait for the writer, and synchronous=NORMAL: a commit then
    survives the process being killed, which is what the inbox is for, though not a power cut.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


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
        path: the SQLite file (created with its folder).
        clock: seconds since the epoch (tests pass their own).
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._db = open_state_file(path)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def admit(self, updates: list[JSON]) -> list[bool]:
        """Store the updates not seen before, in one transaction; per update, True when it is
        new (to be answered) and False when it was received before (a redelivery)."""
        now = self._clock()
        fresh: list[bool] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for update in updates:
                    kept = minimized(update)
                    state, body = (PENDING, json.dumps(kept)) if kept else (DONE, None)
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO inbox (update_id, received, state, body) "
                        "VALUES (?, ?, ?, ?)", (int(update["update_id"]), now, state, body))
                    fresh.append(cursor.rowcount == 1)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return fresh

    def set_aside(self, update_id: int) -> bool:
        """Record an update that cannot be read, with no content; False if already known."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, received, state) VALUES (?, ?, ?)",
                (update_id, self._clock(), SET_ASIDE))
        return cursor.rowcount == 1

    def finish(self, update_id: int) -> None:
        """Mark an update answered and forget its content."""
        with self._lock:
            self._db.execute("UPDATE inbox SET state = ?, body = NULL "
                             "WHERE update_id = ? AND state = ?", (DONE, update_id, PENDING))

    def replay(self, max_age: float) -> list[JSON]:
        """The pending updates received within `max_age` seconds, oldest first. Older pending
        ones are marked expired (and counted in the log); rows past `KEEP_S` are deleted."""
        now = self._clock()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE inbox SET state = ?, body = NULL WHERE state = ? AND received < ?",
                (EXPIRED, PENDING, now - max_age))
            if cursor.rowcount:
                log.warning("%d stored updates were older than %.0f s and will not be "
                            "answered (COOPBOT_REPLAY_MAX_AGE)", cursor.rowcount, max_age)
            self._db.execute("DELETE FROM inbox WHERE received < ?", (now - KEEP_S,))
            rows = self._db.execute(
                "SELECT body FROM inbox WHERE state = ? ORDER BY update_id", (PENDING,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def counts(self) -> dict[str, int]:
        """Rows per state (for status and tests)."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM inbox GROUP BY state")
            return {state: n for state, n in rows}

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
