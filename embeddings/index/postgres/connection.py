"""Talking to the server: connections, pools, and psycopg failures as coopbot's errors.

The driver (psycopg 3, its pool, pgvector's adapters) is an optional dependency, imported here
only when a database URL is configured: the embedded default never loads it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from embeddings.errors import (
    CoopbotError,
    DatabaseError,
    IndexCorruptError,
    IndexMissingError,
    IndexWriteError,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

CONNECT_SECONDS = 10
"""How long opening a connection may take before the server counts as unreachable."""

# One advisory lock key for "a build changes the database": full builds and updates from
# every machine run one at a time, as the embedded engine's build.lock makes them on one.
BUILD_LOCK_KEY = 0x636F6F70  # "coop"


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401  (checked here, used by `pool`)
        from pgvector.psycopg import register_vector  # noqa: F401
    except ImportError as exc:
        raise DatabaseError(
            f"COOPBOT_DATABASE_URL is set but the PostgreSQL driver is not installed ({exc}); "
            "install it with `pip install 'coopbot[postgres]'`, or unset the URL to use the "
            "embedded index") from exc
    return psycopg


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection with pgvector's types registered (the extension is created if missing).

    Raises:
        DatabaseError: the driver is missing, the server is unreachable or refuses the login,
            or pgvector cannot be created there.
    """
    psycopg = _driver()
    with database_errors(url):
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_SECONDS)
    try:
        with database_errors(url):
            _prepare(conn)
            conn.autocommit = autocommit
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: psycopg.Connection[Any]) -> None:
    """Create pgvector where missing and register its types; queries are too short for JIT
    compilation to pay (it costs tens of milliseconds a query)."""
    from pgvector.psycopg import register_vector

    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    if row is None:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as exc:
            raise DatabaseError(
                f"the database has no pgvector extension and this user cannot create it "
                f"({exc}); run `CREATE EXTENSION vector` as its owner") from exc
    register_vector(conn)
    conn.execute("SET jit = off")


def pool(url: str, search_path: str, *, ef_search: int, size: int) -> ConnectionPool:
    """A pool of autocommit connections that read one build (its schema first on the path).

    Args:
        url: the database URL.
        search_path: the build's schema.
        ef_search: HNSW query-time search width (pgvector caps it at 1000).
        size: connections at most (one per thread that searches at once).
    """
    _driver()
    from psycopg_pool import ConnectionPool

    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.autocommit = True
        _prepare(conn)
        conn.execute(f"SET search_path TO {search_path}, public")
        conn.execute(f"SET hnsw.ef_search = {max(1, min(int(ef_search), 1000))}")

    with database_errors(url):
        opened = ConnectionPool(url, min_size=1, max_size=size, configure=configure,
                                kwargs={"connect_timeout": CONNECT_SECONDS}, open=False)
        opened.open(wait=True, timeout=CONNECT_SECONDS)
    return opened


@contextlib.contextmanager
def database_errors(url: str, *, writing: bool = False) -> Iterator[None]:
    """Report psycopg failures on the database at `url` as coopbot's errors.

    Raises:
        IndexWriteError: a write failed (`writing`): a full disk, a lost connection.
        IndexMissingError: a table of the build is gone (it was replaced meanwhile).
        DatabaseError: the server is unreachable or refused the login.
        IndexCorruptError: any other database failure while reading.
    """
    try:
        yield
    except CoopbotError:
        raise
    except Exception as exc:
        raise _translated(url, exc, writing=writing) from exc


def _translated(url: str, exc: Exception, *, writing: bool) -> CoopbotError:
    import psycopg
    from psycopg import errors as pg
    from psycopg_pool import PoolTimeout

    where = redact(url)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pg.UndefinedTable):
        return IndexMissingError(f"the index in {where} was replaced or removed meanwhile "
                                 f"({detail}); run the command again")
    if writing:
        hint = ("free space on the database server, then run `coopbot index` again"
                if isinstance(exc, pg.DiskFull) else "run `coopbot index` again")
        return IndexWriteError(f"cannot update the index in {where} ({detail}); {hint}. "
                               "The index in use is unchanged")
    if isinstance(exc, psycopg.OperationalError | PoolTimeout):
        return DatabaseError(f"cannot use the database {where} ({detail}); check "
                             "COOPBOT_DATABASE_URL and that the server is running")
    return IndexCorruptError(f"cannot read the index in {where} ({detail}); run "
                             "`coopbot index --full` to rebuild it")
