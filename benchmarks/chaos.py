"""Chaos: many users asking while the bot is killed, stopped twice and fed an unreadable
update. No question may be lost and none answered twice.

    .venv/bin/python benchmarks/chaos.py            # 50 users x 20 questions, 5 SIGKILLs
    .venv/bin/python benchmarks/chaos.py --quick    # 10 users x 6 questions, 2 SIGKILLs (CI)

The real bot runs as a subprocess (`coopbot serve`) long-polling tests/support/fake_telegram.py's
server on 127.0.0.1. Each user has a private chat and asks its questions one after another,
waiting for each reply. Meanwhile, at moments drawn at random (`--seed`; printed): once the
users have had a random number of answers, then after a random delay of up to 0.25 s (so that
a fault does not always land just after an answer), the bot is killed with SIGKILL and
started again, `--kills` times; it gets two SIGTERMs 0.3 s apart once, and is started again;
and an update PTB cannot read (a chat without its type) and a poll as an older Bot API
server writes it are pushed among the questions.

Counted per question from what the server recorded, after a grace period (each answer quotes
its question, and a chat's questions are distinct): answered, lost (no answer), duplicated
(more than one). Telegram has no idempotent send, so one reply can
be repeated by a replay: one the server had received but whose confirmation the bot had not
yet written when it was killed. Right after each kill, before the restart, the inbox file
says exactly which: a question still pending there whose reply the server already has. Those
are counted as `in_flight_at_kill`. An apology ("Sorry, something went wrong") counts against
the run too. Exit status 1 when anything is lost or apologised for, or duplicated beyond
those replies in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS  # noqa: E402
from benchmarks.telegram_latency import (  # noqa: E402
    QUESTIONS,
    READY_TIMEOUT,
    language_of,
    start_bot,
)
from bot.telegram_bot.serve import STATE_DB  # noqa: E402
from bot.telegram_bot.texts import t  # noqa: E402
from tests.support.fake_telegram import Call, FakeTelegram  # noqa: E402

WORKDIR = RESULTS / "chaos"
CHAT_BASE = 700_000
APOLOGIES = {t("error_apology", "en"), t("error_apology", "vi")}
QUOTED = re.compile(r"❓ <i>(.*?)</i>")
REPLY_TIMEOUT_S = 300.0  # a reply may wait for a restart, and the restart for the CPU
GRACE_S = 3.0
MAX_DELAY_S = 0.25  # about as long as an answer: a fault lands anywhere, not just after one


class Chaos:
    """The users, the faults, and what the server saw."""

    def __init__(self, server: FakeTelegram, root: Path, env: dict[str, str],
                 total: int, faults: list[tuple[int, float, str]]) -> None:
        self.server, self.root, self.env, self.total = server, root, env, total
        self.faults = faults  # (answers so far, then seconds, fault), in order
        self.answered = 0
        self.timeouts = 0
        self.events: list[dict[str, Any]] = []
        self.asked: dict[tuple[int, int], str] = {}  # (chat, message id) -> question
        self.replies: Counter[tuple[int, str]] = Counter()  # (chat, question) -> replies
        self.in_flight: Counter[tuple[int, str]] = Counter()  # replies in flight at kills
        self.apologies = 0  # "Sorry, something went wrong" instead of an answer
        self.progress = asyncio.Event()
        self.proc: asyncio.subprocess.Process | None = None
        self.log = (WORKDIR / "bot.log").open("wb")
        self.verbose = False
        self._record = server._record  # benchmark-only: count replies as the server records
        server._record = self._count  # type: ignore[method-assign]

    def _count(self, call: Call) -> None:
        """Each answer quotes its question first ("❓ <i>question</i>"): a reply is matched
        to the question it answers, so a repeated answer is never taken for the next one."""
        self._record(call)
        if call.method != "sendMessage" or not call.ok:
            return
        text = str(call.params.get("text"))
        quoted = QUOTED.match(text)
        if quoted:
            self.replies[int(call.params["chat_id"]), html.unescape(quoted[1])] += 1
        elif text in APOLOGIES:
            self.apologies += 1

    async def user(self, chat_id: int, questions: list[str]) -> None:
        for question in questions:
            pushed = self.server.push_message(question, chat_id=chat_id, user_id=chat_id,
                                              language_code=language_of(question))
            self.asked[chat_id, int(pushed["message_id"])] = question
            deadline = time.monotonic() + REPLY_TIMEOUT_S
            while not self.replies[chat_id, question]:
                if time.monotonic() > deadline:
                    self.timeouts += 1
                    break  # lost (or very late): counted from the server at the end
                await asyncio.sleep(0.02)
            self.answered += 1
            self.progress.set()

    async def start(self) -> None:
        """Start the bot; return once it polls (a restart's first getUpdates)."""
        polls = len(self.server.calls_to("getUpdates"))
        self.proc = await start_bot(self.server, self.root, self.env, self.log,
                                    ["-v"] if self.verbose else [])
        async with asyncio.timeout(READY_TIMEOUT):
            while len(self.server.calls_to("getUpdates")) <= polls:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"the bot exited with status {self.proc.returncode}; "
                                       f"see {WORKDIR / 'bot.log'}")
                await asyncio.sleep(0.05)

    async def director(self) -> None:
        """Apply each fault once the users have had that many answers."""
        for at, delay, fault in self.faults:
            while self.answered < at:
                self.progress.clear()
                await self.progress.wait()
            await asyncio.sleep(delay)
            assert self.proc is not None
            t0 = time.perf_counter()
            event: dict[str, Any] = {"fault": fault, "after_answers": self.answered,
                                     "questions_in_hand": self.answered < self.total}
            if fault == "sigkill":
                self.proc.send_signal(signal.SIGKILL)
                await self.proc.wait()
                self.note_in_flight()
            elif fault == "double-sigterm":
                self.proc.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3)
                if self.proc.returncode is None:
                    self.proc.send_signal(signal.SIGTERM)
                event["exit_status"] = await self.proc.wait()
            else:  # unreadable updates, among the questions
                self.server.push_raw(_poison_chat())
                self.server.push_raw(_old_poll())
                self.events.append(event)
                continue
            await self.start()
            event["restart_s"] = round(time.perf_counter() - t0, 1)
            self.events.append(event)

    def note_in_flight(self) -> None:
        """After a kill: the questions still pending in the inbox although the server
        already has their answer (see the module docstring)."""
        db = sqlite3.connect(f"file:{self.root / 'index' / STATE_DB}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT body FROM inbox WHERE state = 'pending'").fetchall()
        finally:
            db.close()
        for (body,) in rows:
            message = json.loads(body).get("message") or {}
            chat = int((message.get("chat") or {}).get("id", 0))
            question = self.asked.get((chat, int(message.get("message_id", 0))))
            if question is not None and self.replies[chat, question]:
                self.in_flight[chat, question] += 1

    def tally(self, plan: dict[int, list[str]]) -> dict[str, Any]:
        asked = [(chat, q) for chat, questions in plan.items() for q in questions]
        extra = {key: self.replies[key] - 1 for key in asked if self.replies[key] > 1}
        return {"asked": len(asked), "answered": sum(1 for key in asked if self.replies[key]),
                "lost": sum(1 for key in asked if not self.replies[key]),
                "duplicated": sum(extra.values()),
                "in_flight_at_kill": sum(self.in_flight.values()),
                "duplicated_in_flight": sum(min(n, self.in_flight[key])
                                            for key, n in extra.items()),
                "timeouts": self.timeouts, "apologies": self.apologies}


def _poison_chat() -> dict[str, Any]:
    """A message whose chat lacks its `type`: PTB cannot read it, nor its whole batch."""
    return {"message": {"message_id": 1, "date": int(time.time()), "text": "chaos",
                        "chat": {"id": 1}, "from": {"id": 1, "is_bot": False,
                                                    "first_name": "X"}}}


def _old_poll() -> dict[str, Any]:
    """A poll as an older self-hosted Bot API server writes it (no voter counts)."""
    return {"poll": {"id": "p", "question": "?", "options": [{"text": "a"}],
                     "is_closed": False}}


def plan_faults(rng: random.Random, total: int,
                kills: int) -> list[tuple[int, float, str]]:
    """One (answers so far, then a delay in seconds, fault) per fault: distinct answer counts
    between 5% and 95% of the run, delays up to `MAX_DELAY_S`."""
    faults = ["sigkill"] * kills + ["double-sigterm", "unreadable"]
    moments = sorted(rng.sample(range(max(1, total // 20), max(2, total * 19 // 20)),
                                len(faults)))
    rng.shuffle(faults)
    return [(at, round(rng.uniform(0.0, MAX_DELAY_S), 3), fault)
            for at, fault in zip(moments, faults, strict=True)]


async def run(args: argparse.Namespace, root: Path, env: dict[str, str]) -> dict[str, Any]:
    server = await FakeTelegram().start()
    rng = random.Random(args.seed)
    total = args.users * args.questions
    chaos = Chaos(server, root, env, total, plan_faults(rng, total, args.kills))
    chaos.verbose = args.verbose
    # Distinct questions within a chat, so that each answer says which question it answers.
    plan = {CHAT_BASE + u: [QUESTIONS[(u + i) % len(QUESTIONS)] for i in range(args.questions)]
            for u in range(args.users)}
    out: dict[str, Any] = {"users": args.users, "questions_per_user": args.questions,
                           "seed": args.seed, "planned": chaos.faults}
    try:
        await chaos.start()
        t0 = time.perf_counter()
        async with asyncio.timeout(args.deadline):
            director = asyncio.create_task(chaos.director())
            await asyncio.gather(*(chaos.user(chat, q) for chat, q in plan.items()))
            await director
            await asyncio.sleep(GRACE_S)
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        out.update(chaos.tally(plan))
    finally:
        out["events"] = chaos.events
        if chaos.proc is not None and chaos.proc.returncode is None:
            chaos.proc.send_signal(signal.SIGTERM)
            await chaos.proc.wait()
        chaos.log.close()
        await server.stop()
    text = (WORKDIR / "bot.log").read_text(encoding="utf-8", errors="replace")
    out["log"] = {"skipped_updates": text.count("skipped update"),
                  "replayed_lines": text.count("questions received before the restart"),
                  "tracebacks": text.count("Traceback"), "critical": text.count("CRITICAL")}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chaos benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 users x 6 questions, 2 kills")
    parser.add_argument("--users", type=int)
    parser.add_argument("--questions", type=int, help="questions per user")
    parser.add_argument("--kills", type=int, help="SIGKILLs at random moments")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--deadline", type=float, help="seconds for the whole run")
    parser.add_argument("--verbose", action="store_true",
                        help="run the bot with -v (questions and users in its log)")
    args = parser.parse_args(argv)
    args.users = args.users or (10 if args.quick else 50)
    args.questions = args.questions or (6 if args.quick else 20)
    args.kills = args.kills if args.kills is not None else (2 if args.quick else 5)
    args.deadline = args.deadline or (900.0 if args.quick else 3600.0)
    if args.questions > len(QUESTIONS):
        parser.error(f"--questions: at most {len(QUESTIONS)} (distinct questions per chat)")
    # The bot's seeds, index and inbox stay in WORKDIR after the run, for a post-mortem.
    root = WORKDIR / "run"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO / "seeds", root / "seeds")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO),
           "COOPBOT_SEEDS_DIR": str(root / "seeds"),
           "COOPBOT_INDEX_DIR": str(root / "index"), "COOPBOT_RATE_LIMIT": "1000"}
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # a killed bot's requests
    out = asyncio.run(run(args, root, env))
    out["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}"
    name = "chaos-quick.json" if args.quick else "chaos.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2), encoding="utf-8")
    faults = ", ".join(f"{e['fault']} after {e['after_answers']}" for e in out["events"])
    print(f"{out['users']} users x {out['questions_per_user']} questions (seed {args.seed}); "
          f"faults: {faults}")
    print(f"asked {out.get('asked')}, answered {out.get('answered')}, lost {out.get('lost')}, "
          f"apologies {out.get('apologies')}, duplicated {out.get('duplicated')} (of them "
          f"replies in flight at a kill: {out.get('duplicated_in_flight')}, of "
          f"{out.get('in_flight_at_kill')} in flight); "
          f"wall {out.get('wall_s')} s; log: {out['log']}; JSON {RESULTS / name}")
    kills_in_hand = sum(1 for e in out["events"]
                        if e["fault"] == "sigkill" and e["questions_in_hand"])
    if not kills_in_hand:
        print("no kill came while questions were still being asked: nothing was tested")
    ok = (kills_in_hand > 0
          and out.get("lost") == 0 and out.get("duplicated") == out.get("duplicated_in_flight")
          and out.get("apologies") == 0
          and out.get("asked") == out.get("answered") and len(out["events"]) == len(out["planned"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
