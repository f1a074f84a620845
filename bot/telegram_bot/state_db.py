"""Where the bot keeps its state: a SQLite file on one machine, or PostgreSQL shared by
several bot replicas (`COOPBOT_DATABASE_URL`).

The stores (the inbox, the answers behind buttons, votes, and, shared, rate-limit windows and
follow-up memory) write one SQL for both engines: SQLite (3.24+) and PostgreSQL share
``INSERT … ON CONFLICT … DO …`` and ``RETURNING``, and this module rewrites the ``?``
placeholders to psycopg's ``%s``. Only the tables' definitions differ (column types), so each
store gives them per engine (`Tables`).

In PostgreSQL each bot (the number before the colon of its token) has a schema of its own,
``coopbot_bot_<id>``: update ids are counted per bot, so two bots sharing a database must not
share an inbox.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

Engine = Literal["sqlite", "postgres"]

CONNECT_SECONDS = 10
"""How long opening a connection may take before the server counts as unreachable."""


def state_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a failed state write raises: a full disk, a lost database server.

    A store that cannot write degrades (answers without the safety net, with a warning);
    it never takes a handler down with it.
    """
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
    with contextlib.suppress(ImportError):
        import psycopg
        from psycopg_pool import PoolTimeout

        errors += (psycopg.Error, PoolTimeout)
    return errors


@dataclass(frozen=True)
class Rows:
    """What a statement returned: its rows (all fetched) and how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        """The first row, or None."""
        return self.rows[0] if self.rows else None


@dataclass(frozen=True)
class Tables:
    """A store's tables and indexes, as each engine spells them (`;`-separated)."""

    sqlite: str
    postgres: str


class Executor(Protocol):
    """Runs statements (inside a transaction, or each on its own)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement written with ``?`` placeholders."""


class StateDB(Protocol):
    """One database holding the bot's state."""

    engine: Engine
    where: str
    """The file or the (password-free) database, for messages."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement in a transaction of its own."""

    def transaction(self) -> contextlib.AbstractContextManager[Executor]:
        """Statements committed together, or not at all; writers wait for each other."""

    def create(self, tables: Tables) -> None:
        """Create the tables and indexes that do not exist yet."""

    def close(self) -> None:
        """Let go of the file or the connections."""


class SqliteState:
    """The state file of a bot on one machine.

    WAL, so that readers never wait for the writer, and synchronous=NORMAL: a commit then
    survives the process being killed, which is what the inbox is for, though not a power cut.
    One connection, shared by the stores' threads under a lock.
    """

    engine: Engine = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.where = str(path)
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=10,
                                  isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (autocommit)."""
        with self._lock:
            cursor = self.db.execute(sql, tuple(params))
            return Rows(cursor.fetchall(), cursor.rowcount)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Executor]:
        """BEGIN IMMEDIATE … COMMIT: the write lock is taken first, so no two writers can
        each read and then both write."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def create(self, tables: Tables) -> None:
        """Create what is missing."""
        with self._lock:
            self.db.executescript(tables.sqlite)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self.db.close()


_PLACEHOLDER = re.compile(r"\?")


class _PostgresExecutor:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        cursor = self.conn.execute(_PLACEHOLDER.sub("%s", sql), tuple(params))
        rows = cursor.fetchall() if cursor.description is not None else []
        return Rows(rows, cursor.rowcount)


class PostgresState:
    """The state of one bot in a PostgreSQL database shared by its replicas.

    A small pool (a connection per thread that writes at once): a statement borrows one, so a
    server restart costs the statements in flight, not the bot.
    """

    engine: Engine = "postgres"

    def __init__(self, url: str, bot_id: int, *, size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        from embeddings.service import redact_url

        self.schema = f"coopbot_bot_{int(bot_id)}"
        self.where = f"{redact_url(url)} (schema {self.schema})"
        schema = self.schema

        def configure(conn: Any) -> None:
            conn.autocommit = True
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(f"SET search_path TO {schema}")

        self.pool: ConnectionPool = ConnectionPool(
            url, min_size=1, max_size=size, configure=configure, open=False,
            kwargs={"connect_timeout": CONNECT_SECONDS})
        self.pool.open(wait=True, timeout=CONNECT_SECONDS)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (autocommit)."""
        with self.pool.connection() as conn:
            return _PostgresExecutor(conn).execute(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Executor]:
        """One transaction on one connection."""
        with self.pool.connection() as conn, conn.transaction():
            yield _PostgresExecutor(conn)

    def create(self, tables: Tables) -> None:
        """Create what is missing; replicas starting together take turns (an advisory lock),
        as concurrent ``CREATE … IF NOT EXISTS`` of one table can fail in PostgreSQL."""
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (self.schema,))
            for statement in tables.postgres.split(";"):
                if statement.strip():
                    tx.execute(statement)

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()


def bot_id_of(token: str) -> int:
    """The bot's id: the number before the colon of its token (never secret)."""
    head = token.split(":", 1)[0]
    if not head.isascii() or not head.isdigit():
        raise ValueError("a bot token starts with the bot's numeric id and a colon")
    return int(head)
