"""The fake Bot API server on a background event loop, driven from synchronous tests that run
`coopbot serve` as a subprocess."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import SEEDS
from tests.support.fake_telegram import Call, FakeTelegram


class Harness:
    """The fake server on a background event loop, driven from synchronous tests."""

    def __init__(self, port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.run(self._start(port))
        self.proc: subprocess.Popen[str] | None = None
        self.log_path: Path | None = None
        """Where the bot's stdout and stderr go (a file: a pipe nobody reads would fill up
        and stop the bot)."""

    def log(self) -> str:
        """Everything the bot has logged so far."""
        return self.log_path.read_text(encoding="utf-8") if self.log_path else ""

    async def _start(self, port: int) -> FakeTelegram:
        return await FakeTelegram().start(port)

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def wrapper() -> Any:
            return fn(*args, **kwargs)
        return self.run(wrapper())

    def wait_for(self, method: str, predicate: Callable[[Call], bool] | None = None,
                 count: int = 1, timeout: float = 30) -> list[Call]:
        return self.run(self.server.wait_for(method, predicate, count, timeout), timeout + 5)

    def replies(self, chat_id: int) -> list[Call]:
        return [c for c in self.server.calls_to("sendMessage")
                if c.ok and int(c.params["chat_id"]) == chat_id]

    def start_bot(self, root: Path, *, cli_args: Sequence[str] = (), **env: str) -> None:
        """Start `coopbot [cli_args] serve` on `root`'s seeds and index, polling this server;
        its output is appended to `root`/serve.log (a restart keeps the earlier lines)."""
        self.log_path = root / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *cli_args, "serve",
             "--api-base-url", f"{self.server.url}/bot"],
            cwd=root, stdout=self.log_path.open("a", encoding="utf-8"),
            stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TELEGRAM_BOT_TOKEN": self.server.token, "HF_HUB_OFFLINE": "1",
                 "COOPBOT_SEEDS_DIR": str(root / "seeds"),
                 "COOPBOT_INDEX_DIR": str(root / "index"), **env},
        )

    def polls(self) -> int:
        """How many getUpdates calls the server has seen (to wait for a restarted bot)."""
        return len(self.server.calls_to("getUpdates"))

    def close(self) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextmanager
def serving(
    root: Path,
    *,
    cli_args: Sequence[str] = (),
    prepare_seeds: Callable[[Path], None] | None = None,
    **env: str,
) -> Iterator[Harness]:
    """A real `coopbot [cli_args] serve` on a copy of the seeds in `root`, polling a fresh fake
    server, ready (first getUpdates) when the block starts; killed if still running at its
    end. `prepare_seeds` may add articles to the copy before the bot starts."""
    shutil.copytree(SEEDS, root / "seeds")
    if prepare_seeds is not None:
        prepare_seeds(root / "seeds")
    harness = Harness()
    harness.start_bot(root, cli_args=cli_args, **env)
    harness.seeds = root / "seeds"  # type: ignore[attr-defined]
    try:
        harness.wait_for("getUpdates", timeout=180)
        yield harness
    finally:
        if harness.proc is not None and harness.proc.poll() is None:
            harness.proc.kill()
        harness.close()
