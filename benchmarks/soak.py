"""Load and soak: many users asking at once through the fake Bot API server, with a /reindex
in the middle. Every question must be answered exactly once, with no error.

    .venv/bin/python benchmarks/soak.py            # 50 users x 20 questions
    .venv/bin/python benchmarks/soak.py --quick    # 10 users x 5 questions (CI)

The real bot runs as a subprocess (`coopbot serve`) long-polling tests/support/fake_telegram.py's
server on 127.0.0.1, in this script's event loop; nothing is sent anywhere else. Each user has
a private chat and asks its questions one after another. When half of all questions have been
answered, an admin adds an article file to the seeds and sends /reindex; the users keep asking
while it rebuilds, and the reindex must finish too.

Counted per chat from what the server recorded: answered (one ok sendMessage per question),
lost (no reply within the timeout), duplicated (more replies than questions, after a grace
period), errors (a reply that failed, or an apology). Reported: latency p50/p95/p99, and the
bot's RSS at the start (after warm-up) and at the end, with its peak. Every loop is bounded by
a count and the whole run by `--deadline` seconds. Exit status 1 when anything was lost,
duplicated or failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS, percentiles  # noqa: E402
from benchmarks.telegram_latency import (  # noqa: E402
    QUESTIONS,
    ReplyClock,
    ask,
    language_of,
    peak_rss_mb,
    start_bot,
    status_mb,
    stop_bot,
    wait_ready,
)
from tests.support.fake_telegram import FakeTelegram  # noqa: E402

WORKDIR = RESULTS / "soak"
ADMIN = 424_242
CHAT_BASE = 600_000
RSS_EVERY_S = 10.0
GRACE_S = 3.0  # after the last answer, time for any duplicate to show up
NEW_ARTICLE = """---
title: Soak test cooperation note
date: 2024-11-01
source: Soak Wire
---
Border guards of Lang Son and Guangxi agreed on a joint hotline during the soak test.
"""


def rss_mb(pid: int) -> float | None:
    """The process's resident set now (VmRSS), MB."""
    return status_mb(pid, "VmRSS")


class Soak:
    """The users, the admin's /reindex, and the tallies."""

    def __init__(self, server: FakeTelegram, clock: ReplyClock, seeds: Path, total: int) -> None:
        self.server, self.clock, self.seeds, self.total = server, clock, seeds, total
        self.latencies_ms: list[float] = []
        self.answered = self.lost = self.errors = 0
        self.half = asyncio.Event()
        self.reindex: dict[str, Any] = {}

    async def user(self, chat_id: int, questions: list[str]) -> None:
        for n, question in enumerate(questions):
            try:
                ms, reply = await ask(self.server, self.clock, chat_id, question,
                                      language_of(question))
            except TimeoutError:
                self.lost += len(questions) - n  # later replies would be misattributed
                return
            text = str(reply.params.get("text", ""))
            if not reply.ok or "sorry" in text.lower() or "xin lỗi" in text.lower():
                self.errors += 1
            else:
                self.answered += 1
                self.latencies_ms.append(ms)
            if self.answered + self.errors >= self.total // 2:
                self.half.set()

    async def admin(self) -> None:
        await self.half.wait()
        (self.seeds / "2024-11-01-soak-note.md").write_text(NEW_ARTICLE, encoding="utf-8")
        t0 = time.perf_counter()
        self.server.push_message("/reindex", chat_id=ADMIN, user_id=ADMIN)
        done = await self.server.wait_for(
            "editMessageText", lambda c: "rebuilt" in str(c.params.get("text", "")), timeout=600)
        self.reindex = {"seconds": round(time.perf_counter() - t0, 1),
                        "message": str(done[-1].params["text"])}

    def duplicates(self, chats: Sequence[int], per_chat: Sequence[int]) -> int:
        extra = 0
        for chat, expected in zip(chats, per_chat, strict=True):
            got = sum(1 for c in self.server.calls_to("sendMessage")
                      if c.ok and int(c.params["chat_id"]) == chat)
            extra += max(0, got - expected)
        return extra


async def _sample_rss(pid: int, soak: Soak, t0: float,
                      samples: list[tuple[float, float | None, int]]) -> None:
    """Every `RSS_EVERY_S` seconds, the bot's RSS and how many questions it has answered: does
    memory level off under steady load, or keep growing?"""
    while True:
        samples.append((round(time.perf_counter() - t0, 1), rss_mb(pid), soak.answered))
        await asyncio.sleep(RSS_EVERY_S)


async def run(args: argparse.Namespace, root: Path, env: dict[str, str]) -> dict[str, Any]:
    server = await FakeTelegram().start()
    clock = ReplyClock(server)
    log = (WORKDIR / "bot.log").open("wb")
    proc = await start_bot(server, root, env, log)
    out: dict[str, Any] = {"users": args.users, "questions_per_user": args.questions}
    try:
        out["ready_s"] = round(await wait_ready(server, proc), 1)
        await ask(server, clock, CHAT_BASE - 1, QUESTIONS[0], "en")  # warm-up, not counted
        out["rss_start_mb"] = rss_mb(proc.pid)
        plan = [[QUESTIONS[(u + i) % len(QUESTIONS)] for i in range(args.questions)]
                for u in range(args.users)]
        soak = Soak(server, clock, root / "seeds", args.users * args.questions)
        chats = [CHAT_BASE + u for u in range(args.users)]
        t0 = time.perf_counter()
        samples: list[tuple[float, float | None, int]] = []
        sampler = asyncio.create_task(_sample_rss(proc.pid, soak, t0, samples))
        try:
            async with asyncio.timeout(args.deadline):
                await asyncio.gather(soak.admin(), *(soak.user(chat, questions)
                                                     for chat, questions in zip(chats, plan,
                                                                                strict=True)))
                await asyncio.sleep(GRACE_S)
        finally:
            sampler.cancel()
        out["rss_samples"] = [{"s": s, "mb": mb, "answered": n} for s, mb, n in samples]
        out.update({
            "wall_s": round(time.perf_counter() - t0, 1), "asked": soak.total,
            "answered": soak.answered, "lost": soak.lost, "errors": soak.errors,
            "duplicated": soak.duplicates(chats, [len(q) for q in plan]),
            **percentiles(soak.latencies_ms), "reindex": soak.reindex,
            "rss_end_mb": rss_mb(proc.pid), "rss_peak_mb": peak_rss_mb(proc.pid),
        })
    finally:
        out["bot_exit_status"] = await stop_bot(proc)
        log.close()
        await server.stop()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 users x 5 questions")
    parser.add_argument("--users", type=int)
    parser.add_argument("--questions", type=int, help="questions per user")
    parser.add_argument("--deadline", type=float, help="seconds for the whole run")
    args = parser.parse_args(argv)
    args.users = args.users or (10 if args.quick else 50)
    args.questions = args.questions or (5 if args.quick else 20)
    args.deadline = args.deadline or (300.0 if args.quick else 1800.0)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coopbot-soak-") as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "seeds", root / "seeds")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO),
               "COOPBOT_SEEDS_DIR": str(root / "seeds"),
               "COOPBOT_INDEX_DIR": str(root / "index"), "COOPBOT_ADMIN_IDS": str(ADMIN),
               "COOPBOT_RATE_LIMIT": "1000"}
        out = asyncio.run(run(args, root, env))
    out["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}"
    name = "soak-quick.json" if args.quick else "soak.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"{out['users']} users x {out['questions_per_user']} questions, /reindex midway "
          f"({out.get('reindex', {}).get('seconds')} s): asked {out.get('asked')}, answered "
          f"{out.get('answered')}, lost {out.get('lost')}, duplicated {out.get('duplicated')}, "
          f"errors {out.get('errors')}")
    print(f"latency p50/p95/p99 {out.get('p50')}/{out.get('p95')}/{out.get('p99')} ms; bot RSS "
          f"start {out.get('rss_start_mb')} MB, end {out.get('rss_end_mb')} MB, peak "
          f"{out.get('rss_peak_mb')} MB; wall {out.get('wall_s')} s; JSON {RESULTS / name}")
    samples = out.get("rss_samples", [])
    step = max(1, len(samples) // 12)
    print("bot RSS over the run (s: MB, answered): " + ", ".join(
        f"{r['s']:.0f}: {r['mb']} MB, {r['answered']}" for r in samples[::step]))
    ok = (out.get("answered") == out.get("asked") and not out.get("lost")
          and not out.get("duplicated") and not out.get("errors") and out.get("reindex"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
