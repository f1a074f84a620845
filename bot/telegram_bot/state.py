"""What the Telegram handlers keep between updates: stored results, limits, feedback, the
admin lock.

Everything here is plain Python (no telegram imports), so it is tested without a bot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from embeddings.answers import Answer


@dataclass(frozen=True)
class StoredAnswer:
    """An answer kept on the server so buttons can refer to it by a short id."""

    answer: Answer
    lang: str
    chat_id: int
    created: float


class ResultStore:
    """Answers by short random id, newest kept: callback_data must fit in 64 bytes."""

    def __init__(self, capacity: int = 2000) -> None:
        self._items: OrderedDict[str, StoredAnswer] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def put(self, answer: Answer, lang: str, chat_id: int) -> str:
        """Store an answer; returns its id (8 URL-safe characters)."""
        key = secrets.token_urlsafe(6)
        with self._lock:
            self._items[key] = StoredAnswer(answer, lang, chat_id, time.time())
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> StoredAnswer | None:
        """The stored answer, or None when it expired or never existed (forged data)."""
        with self._lock:
            return self._items.get(key)


class RateLimiter:
    """At most `limit` events per user in any `window` seconds (a sliding window)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user_id: int) -> float:
        """Record an event; returns 0 when allowed, else seconds until the next is allowed."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(user_id, deque())
            while events and now - events[0] >= self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(0.1, self.window - (now - events[0]))
            events.append(now)
            return 0.0


class FeedbackStore:
    """👍/👎 with the question and the results shown, for later evaluation.

    Stored per vote: the time, the vote, the question, whether it was answered, and per
    result shown its rank, article id, passage id, score and highlighted sentence: what
    scoring retrieval against the votes needs. Not stored: who voted (no user or chat id, no
    name or username), nor any other message. One vote per user per answer, which the user may
    change: a vote is keyed by a keyed hash of the answer and the user, whose key lives only in
    this process's memory, so the file cannot tell who voted, even by trying every user id.
    """

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS votes (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, vote INTEGER NOT NULL,
        question TEXT NOT NULL, answered INTEGER NOT NULL, results TEXT NOT NULL
    );
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self._db.executescript(self._SCHEMA)
        self._lock = threading.Lock()
        self._forget_old_chat_ids()
        self._add_voter_column()
        self._secret = secrets.token_bytes(32)

    def _add_voter_column(self) -> None:
        """A file written before votes could be changed gets the column that keys them."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(votes)")}
        with self._db:
            if "voter" not in columns:
                self._db.execute("ALTER TABLE votes ADD COLUMN voter TEXT")
            self._db.execute(
                "CREATE UNIQUE INDEX IF NOT EXISTS votes_voter ON votes(voter)")

    def voter(self, answer_key: str, user_id: int) -> str:
        """The key of one user's vote on one answer (an HMAC: it names neither)."""
        message = f"{answer_key}:{user_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def _forget_old_chat_ids(self) -> None:
        """Move votes stored by an older coopbot (table `feedback`, with chat ids) to `votes`,
        without the chat ids, and wipe them from the file."""
        old = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone()
        if old is None:
            return
        with self._db:
            self._db.execute("INSERT INTO votes (at, vote, question, answered, results) "
                             "SELECT at, vote, question, answered, results FROM feedback "
                             "ORDER BY id")
            self._db.execute("DROP TABLE feedback")
        self._db.execute("VACUUM")

    def record(self, stored: StoredAnswer, vote: int, voter: str | None = None) -> None:
        """Save a vote (+1 or -1); the same `voter` (see `voter()`) changes their vote."""
        results = [
            {"rank": r.rank, "article_id": r.article_id, "chunk_id": r.chunk_id,
             "score": round(r.score, 4), "highlight": r.highlight}
            for r in stored.answer.results
        ]
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO votes (at, vote, question, answered, results, voter) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(voter) DO UPDATE SET "
                "at = excluded.at, vote = excluded.vote",
                (datetime.now(UTC).isoformat(timespec="seconds"), vote, stored.answer.query,
                 int(stored.answer.answered), json.dumps(results), voter),
            )

    def rows(self) -> list[dict[str, Any]]:
        """All feedback, oldest first."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT at, vote, question, answered, results FROM votes ORDER BY id"
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def purge(self) -> int:
        """Delete all stored feedback; returns how many votes were deleted."""
        with self._lock, self._db:
            deleted = self._db.execute("DELETE FROM votes").rowcount
        with self._lock:
            self._db.execute("VACUUM")  # the deleted questions must not linger in free pages
        return int(deleted)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


@dataclass
class AdminState:
    """Whether an admin's /reindex or /add runs; another is refused while one does."""

    lock: threading.Lock = field(default_factory=threading.Lock)
