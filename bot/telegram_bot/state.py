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
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.telegram_bot.state_db import SqliteState, StateDB, Tables, state_errors

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from embeddings.answers import Answer


@dataclass(frozen=True)
class ShownResult:
    """What a button needs of one result shown: which article, and what was shown."""

    rank: int
    article_id: str
    chunk_id: str
    score: float
    highlight: str


@dataclass(frozen=True)
class StoredAnswer:
    """An answer kept on the server so buttons can refer to it by a short id.

    `answer` is the full answer while this process has it in memory; after a restart it is
    None, and what the buttons need comes from the other fields (a page of "More results" is
    searched again).
    """

    query: str
    lang: str
    chat_id: int
    created: float
    answered: bool
    shown: tuple[ShownResult, ...]
    answer: Answer | None = None

    @classmethod
    def of(cls, answer: Answer, lang: str, chat_id: int) -> StoredAnswer:
        """The stored form of a fresh answer."""
        from embeddings.service import filter_tokens

        shown = tuple(ShownResult(r.rank, r.article_id, r.chunk_id, r.score, r.highlight)
                      for r in answer.results)
        # With its filters written in, so that asking it again (a button after a restart, on
        # another replica) asks the same articles.
        query = " ".join(p for p in (answer.query, filter_tokens(answer.filters)) if p) \
            if answer.filters else answer.query
        return cls(query, lang, chat_id, time.time(), answer.answered, shown, answer)

    def to_json(self) -> str:
        """The persisted form (everything but the in-memory answer)."""
        return json.dumps({"query": self.query, "lang": self.lang, "chat_id": self.chat_id,
                           "created": self.created, "answered": self.answered,
                           "shown": [asdict(s) for s in self.shown]})

    @classmethod
    def from_json(cls, text: str) -> StoredAnswer:
        """Read `to_json`'s output back."""
        data = json.loads(text)
        return cls(data["query"], data["lang"], int(data["chat_id"]), float(data["created"]),
                   bool(data["answered"]), tuple(ShownResult(**s) for s in data["shown"]))


class ResultStore:
    """Answers by short random id: callback_data must fit in 64 bytes.

    The newest `capacity` are kept in memory. With `db` (the bot's state file) every answer is
    also written there and kept `keep_s` seconds, so that buttons pressed after a restart
    still work; "expired" then means really gone.
    """

    TABLES = Tables(
        sqlite="""CREATE TABLE IF NOT EXISTS answers (
            key TEXT PRIMARY KEY, created REAL NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS answers_created ON answers(created);""",
        postgres="""CREATE TABLE IF NOT EXISTS answers (
            key TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS answers_created ON answers(created);""",
    )

    def __init__(self, capacity: int = 2000, db: StateDB | None = None,
                 keep_s: float = 7 * 24 * 3600.0) -> None:
        self._items: OrderedDict[str, StoredAnswer] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._db, self._keep_s, self._puts = db, keep_s, 0
        if db is not None:
            db.create(self.TABLES)
            self._forget_old()

    def put(self, answer: Answer, lang: str, chat_id: int) -> str:
        """Store an answer; returns its id (8 URL-safe characters)."""
        key = secrets.token_urlsafe(6)
        stored = StoredAnswer.of(answer, lang, chat_id)
        with self._lock:
            self._remember(key, stored)
            if self._db is not None:
                self._persist(key, stored)
        return key

    def get(self, key: str) -> StoredAnswer | None:
        """The stored answer, or None when it expired or never existed (forged data)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None or self._db is None:
                return found
            try:
                row = self._db.execute("SELECT body FROM answers WHERE key = ? AND created >= ?",
                                       (key, time.time() - self._keep_s)).first()
            except state_errors() as exc:
                log.warning("stored answers cannot be read: %s", exc)
                return None
        return StoredAnswer.from_json(row[0]) if row else None

    def refresh(self, key: str, stored: StoredAnswer) -> None:
        """Keep a re-searched answer in memory under its old id."""
        with self._lock:
            self._remember(key, stored)

    def _remember(self, key: str, stored: StoredAnswer) -> None:
        self._items[key] = stored
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def _persist(self, key: str, stored: StoredAnswer) -> None:
        assert self._db is not None
        try:
            self._db.execute("INSERT INTO answers (key, created, body) VALUES (?, ?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET created = excluded.created, "
                             "body = excluded.body", (key, stored.created, stored.to_json()))
            self._puts += 1
            if self._puts % 500 == 0:  # now and then, not on every answer
                self._forget_old()
        except state_errors() as exc:  # a full disk, say: the buttons work until a restart
            log.warning("answer kept in memory only (buttons expire on restart): %s", exc)

    def _forget_old(self) -> None:
        assert self._db is not None
        self._db.execute("DELETE FROM answers WHERE created < ?", (time.time() - self._keep_s,))


class Limiter(Protocol):
    """A per-user rate limit (`RateLimiter` in memory, `SharedRateLimiter` in a database)."""

    def check(self, user_id: int) -> float:
        """Record an event; 0 when allowed, else seconds until the next is allowed."""


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


class SharedRateLimiter:
    """`RateLimiter`'s sliding windows in the database replicas share, so that a user's limit
    holds whichever replica their questions reach. Times are the replicas' wall clocks
    (kept in step by NTP); the few a second that a limit allows make their skew harmless."""

    TABLES = Tables(
        sqlite="""CREATE TABLE IF NOT EXISTS rate_events (user_id INTEGER NOT NULL,
            at REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS rate_events_user ON rate_events(user_id, at);""",
        postgres="""CREATE TABLE IF NOT EXISTS rate_events (user_id BIGINT NOT NULL,
            at DOUBLE PRECISION NOT NULL);
            CREATE INDEX IF NOT EXISTS rate_events_user ON rate_events(user_id, at);""",
    )
    _LOCK_CLASS = 0x7261  # "ra": advisory locks of two int4 keys, apart from the builds' lock
    _SWEEP_EVERY = 500

    def __init__(self, db: StateDB, limit: int, window: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.limit, self.window, self._clock = db, limit, window, clock
        self._checks = 0
        db.create(self.TABLES)

    def check(self, user_id: int) -> float:
        """Record an event; returns 0 when allowed, else seconds until the next is allowed."""
        try:
            return self._check(user_id)
        except state_errors() as exc:  # the database is down: answer rather than refuse
            log.warning("rate limit not checked: %s", exc)
            return 0.0

    def _check(self, user_id: int) -> float:
        now = self._clock()
        self._checks += 1
        with self.db.transaction() as tx:
            if self.db.engine == "postgres":  # one user's checks in turn, on every replica
                tx.execute("SELECT pg_advisory_xact_lock(?, ?)",
                           (self._LOCK_CLASS, user_id % 2**31))
            if self._checks % self._SWEEP_EVERY == 0:  # everyone's old events, now and then
                tx.execute("DELETE FROM rate_events WHERE at <= ?", (now - self.window,))
            tx.execute("DELETE FROM rate_events WHERE user_id = ? AND at <= ?",
                       (user_id, now - self.window))
            row = tx.execute("SELECT count(*), min(at) FROM rate_events WHERE user_id = ?",
                             (user_id,)).first()
            count, first = (int(row[0]), row[1]) if row else (0, None)
            if count >= self.limit and first is not None:
                return max(0.1, self.window - (now - float(first)))
            tx.execute("INSERT INTO rate_events (user_id, at) VALUES (?, ?)", (user_id, now))
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

    TABLES = Tables(
        sqlite="""CREATE TABLE IF NOT EXISTS votes (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, vote INTEGER NOT NULL,
            question TEXT NOT NULL, answered INTEGER NOT NULL, results TEXT NOT NULL);""",
        postgres="""CREATE TABLE IF NOT EXISTS votes (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at TEXT NOT NULL,
            vote INTEGER NOT NULL, question TEXT NOT NULL, answered INTEGER NOT NULL,
            results TEXT NOT NULL, voter TEXT);
            CREATE UNIQUE INDEX IF NOT EXISTS votes_voter ON votes(voter);
            ALTER TABLE votes ADD COLUMN IF NOT EXISTS reason TEXT;""",
    )
    _COLUMNS = ("at", "vote", "question", "answered", "results", "reason")
    REASONS = ("wrong_article", "not_answered", "outdated")
    """Why a 👎: the article cited is not about the question, the question was not answered,
    or what the article says is out of date."""

    def __init__(self, db: StateDB | Path, secret: bytes | None = None) -> None:
        """Open the store.

        Args:
            db: the state database, or the path of a SQLite file of its own.
            secret: the key of the voter hashes. Replicas sharing a database must share it
                (`vote_secret`); by default a random one, so only this process can tell
                whether a user voted on an answer before.
        """
        self.db = SqliteState(db) if isinstance(db, Path) else db
        self.path = self.db.where
        self._lock = threading.Lock()
        self.db.create(self.TABLES)
        if self.db.engine == "sqlite":
            self._forget_old_chat_ids()
            self._add_voter_column()
        self._secret = secret or secrets.token_bytes(32)

    def _add_voter_column(self) -> None:
        """A file written before votes could be changed (or have reasons) gets the columns
        that key them and say why."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(votes)").rows}
        with self.db.transaction() as tx:
            if "voter" not in columns:
                tx.execute("ALTER TABLE votes ADD COLUMN voter TEXT")
            if "reason" not in columns:
                tx.execute("ALTER TABLE votes ADD COLUMN reason TEXT")
            tx.execute("CREATE UNIQUE INDEX IF NOT EXISTS votes_voter ON votes(voter)")

    def voter(self, answer_key: str, user_id: int) -> str:
        """The key of one user's vote on one answer (an HMAC: it names neither)."""
        message = f"{answer_key}:{user_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def _forget_old_chat_ids(self) -> None:
        """Move votes stored by an older coopbot (table `feedback`, with chat ids) to `votes`,
        without the chat ids, and wipe them from the file."""
        old = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").first()
        if old is None:
            return
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO votes (at, vote, question, answered, results) "
                       "SELECT at, vote, question, answered, results FROM feedback ORDER BY id")
            tx.execute("DROP TABLE feedback")
        self.db.execute("VACUUM")

    def record(self, stored: StoredAnswer, vote: int, voter: str | None = None) -> None:
        """Save a vote (+1 or -1); the same `voter` (see `voter()`) changes their vote, and
        with it forgets the reason they gave."""
        results = [
            {"rank": r.rank, "article_id": r.article_id, "chunk_id": r.chunk_id,
             "score": round(r.score, 4), "highlight": r.highlight}
            for r in stored.shown
        ]
        with self._lock:
            self.db.execute(
                "INSERT INTO votes (at, vote, question, answered, results, voter) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (voter) DO UPDATE SET "
                "at = excluded.at, vote = excluded.vote, reason = NULL",
                (datetime.now(UTC).isoformat(timespec="seconds"), vote, stored.query,
                 int(stored.answered), json.dumps(results), voter),
            )

    def give_reason(self, voter: str, reason: str) -> bool:
        """Say why a 👎 (one of `REASONS`; giving another replaces it); False when this voter
        has no 👎 on that answer."""
        if reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        with self._lock:
            changed = self.db.execute("UPDATE votes SET reason = ? WHERE voter = ? AND vote < 0",
                                      (reason, voter)).rowcount
        return changed == 1

    def tally(self, since: str = "") -> dict[str, int]:
        """👍 and 👎 counts, and 👎 per reason, of the votes cast at or after `since` (an ISO
        time in UTC, as the votes' own)."""
        with self._lock:
            found = self.db.execute(
                "SELECT vote > 0, coalesce(reason, ''), count(*) FROM votes WHERE at >= ? "
                "GROUP BY 1, 2", (since,)).rows
        out = {"up": 0, "down": 0, **{reason: 0 for reason in self.REASONS}}
        for up, reason, n in found:
            out["up" if up else "down"] += int(n)
            if reason in out and not up:
                out[reason] += int(n)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """All feedback, oldest first."""
        with self._lock:
            found = self.db.execute(
                f"SELECT {', '.join(self._COLUMNS)} FROM votes ORDER BY id").rows
        return [dict(zip(self._COLUMNS, row, strict=True)) for row in found]

    def purge(self) -> int:
        """Delete all stored feedback; returns how many votes were deleted."""
        with self._lock:
            deleted = self.db.execute("DELETE FROM votes").rowcount
            if self.db.engine == "sqlite":
                self.db.execute("VACUUM")  # the deleted questions must not linger in free pages
        return int(deleted)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self.db.close()


def vote_secret(token: str) -> bytes:
    """The voter-hash key of replicas sharing one database: derived from the bot token, which
    the database does not hold, so its votes still cannot be traced to users."""
    return hashlib.sha256(b"coopbot votes\0" + token.encode()).digest()


@dataclass
class AdminState:
    """Whether an admin's /reindex or /add runs; another is refused while one does."""

    lock: threading.Lock = field(default_factory=threading.Lock)
