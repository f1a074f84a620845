"""Telegram round-trip latency of `coopbot serve`, against the fake Bot API server.

    .venv/bin/python benchmarks/telegram_latency.py            # 200 questions from 20 users
    .venv/bin/python benchmarks/telegram_latency.py --quick    # 40 questions from 8 users
    .venv/bin/python benchmarks/telegram_latency.py --rates 2 5 10 13   # offered loads

With --rates, questions arrive as a Poisson stream at each rate in turn (20 s each by default,
English and Vietnamese with even odds, from 20 users, each question in a chat of its own) and
are pushed whatever the bot is doing, as users arrive: an open loop, unlike the users of the
default run, who wait for each reply. Telegram itself caps a bot near 30 messages a second,
so back-to-back load measures the rate limiter, not the bot.

The real bot runs as a subprocess (`python -m bot.cli serve --api-base-url ...`), long-polling
tests/support/fake_telegram.py's server, which runs in this script's own asyncio loop on 127.0.0.1.
Each simulated user has its own private chat and asks its questions one after another, waiting
for each reply; the users ask concurrently. Latency is measured from the moment push_message
queues the update to the moment the server records the bot's sendMessage call for that chat
(the server's call-recording hook is wrapped here to stamp each call with time.perf_counter()).

COOPBOT_RATE_LIMIT is raised to 1000 so the per-user rate limit does not interfere, and
COOPBOT_QUERY_CACHE is 0 so that a question asked by two users is encoded twice. Two
warm-up questions (not timed) load the models first. The baseline is Retriever.search(q, 9),
what the bot calls for a question, in this process on the same index and questions, asked
sequentially after the bot has stopped, so the two do not compete for the CPUs.

The seeds are copied to a temporary folder; the index lives under
benchmarks/results/telegram-latency/index (git-ignored), so re-runs reuse its embeddings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS, percentiles  # noqa: E402
from tests.support.fake_telegram import Call, FakeTelegram  # noqa: E402

WORKDIR = RESULTS / "telegram-latency"
RATE_LIMIT = 1000
SEARCH_K = 9  # bot.telegram_bot.app.MAX_RESULTS
REPLY_TIMEOUT = 60.0
READY_TIMEOUT = 600.0
CHAT_BASE = 500_000  # user u chats from chat/user id CHAT_BASE + u
WARMUP_CHAT = 499_999
OFFERED_CHAT = 1_000_000  # offered-load question n of rate i: chat OFFERED_CHAT + i*100,000 + n

QUESTIONS_EN = [
    "Who led the delegation from Sainyabuli?",
    "When did the Sainyabuli police delegation visit Quang Ninh?",
    "What did Major General Kham Pheng Phet ask Quang Ninh police to help with?",
    "What did the Quang Ninh police give to the Sainyabuli Public Security Department?",
    "Which meeting between Quang Ninh and Sainyabuli police was held in 2023?",
    "What did Major General Dinh Van Noi propose about exchanging information on criminals?",
    "Which crimes did Quang Ninh and Sainyabuli agree to fight together?",
    "Who did Luong Tam Quang meet in Bangkok?",
    "When did Vietnam's deputy public security minister visit the Royal Thai Police?",
    "What did Surachate Hakparn say about Vietnam's help in arresting criminals?",
    "When was the memorandum between the Vietnamese and Thai police signed?",
    "Will Vietnam and Thailand send liaison officers to each other's country?",
    "Who is Voranut Khongmuang?",
    "Do Vietnam and Thailand cooperate through Interpol?",
    "What training workshop did Vietnam hold for Cambodia's anti-drug force?",
    "Where and when was the drug investigation workshop for Cambodian officers held?",
    "Who is Mom Kirisocheat?",
    "How do Vietnam and Cambodia exchange information about drug crimes?",
    "How is Vietnam cooperating with Laos on border security?",
    "What agreements did Vietnam make on human trafficking and illegal immigration?",
]
QUESTIONS_VI = [
    "Ai dẫn đầu đoàn công tác của tỉnh Sainyabuli?",
    "Việt Nam và Thái Lan hợp tác phòng chống tội phạm như thế nào?",
    "Việt Nam giúp Campuchia nâng cao năng lực phòng chống ma túy ra sao?",
    # The rest mirror the English questions, for the 50/50 mix of the offered-load runs.
    "Đoàn công an Sainyabuli thăm Quảng Ninh khi nào?",
    "Thiếu tướng Kham Pheng Phet đề nghị công an Quảng Ninh giúp đỡ việc gì?",
    "Công an Quảng Ninh đã tặng gì cho Công an tỉnh Sainyabuli?",
    "Cuộc họp lần thứ mấy giữa công an Quảng Ninh và Sainyabuli được tổ chức năm 2023?",
    "Thiếu tướng Đinh Văn Nơi đề xuất gì về trao đổi thông tin tội phạm?",
    "Quảng Ninh và Sainyabuli thống nhất cùng đấu tranh với những loại tội phạm nào?",
    "Thượng tướng Lương Tam Quang đã gặp ai ở Bangkok?",
    "Thứ trưởng Bộ Công an Việt Nam làm việc với Cảnh sát Hoàng gia Thái Lan khi nào?",
    "Surachate Hakparn nói gì về sự hỗ trợ của Việt Nam trong việc bắt giữ tội phạm?",
    "Biên bản ghi nhớ giữa cảnh sát Việt Nam và Thái Lan được ký năm nào?",
    "Việt Nam và Thái Lan có cử sĩ quan liên lạc sang nước nhau không?",
    "Hai bên hợp tác qua kênh Interpol như thế nào?",
    "Việt Nam tổ chức hội thảo tập huấn gì cho lực lượng phòng chống ma túy Campuchia?",
    "Hội thảo điều tra tội phạm ma túy cho cán bộ Campuchia diễn ra ở đâu và khi nào?",
    "Mom Kirisocheat là ai?",
    "Việt Nam và Campuchia trao đổi thông tin về tội phạm ma túy bằng cách nào?",
]
QUESTIONS = QUESTIONS_EN + QUESTIONS_VI
WARMUP = ["Who led the delegation from Sainyabuli?", QUESTIONS_VI[0]]


@dataclass
class Load:
    """What the simulated users saw."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0  # a reply that is not an ok sendMessage, or no reply within the timeout
    timeouts: int = 0
    not_asked: int = 0  # left unasked after a user's timeout
    wall_s: float = 0.0


class ReplyClock:
    """Stamps every call the fake server records and routes sendMessage calls by chat."""

    def __init__(self, server: FakeTelegram) -> None:
        self.arrived: dict[int, float] = {}  # id(call) -> perf_counter() when recorded
        self.queues: dict[int, asyncio.Queue[Call]] = {}
        self._record = server._record  # benchmark-only: wrap the server's recording hook
        server._record = self._stamp  # type: ignore[method-assign]

    def queue(self, chat_id: int) -> asyncio.Queue[Call]:
        return self.queues.setdefault(chat_id, asyncio.Queue())

    def _stamp(self, call: Call) -> None:
        self.arrived[id(call)] = time.perf_counter()  # calls stay in server.calls: ids unique
        self._record(call)
        if call.method == "sendMessage":
            with contextlib.suppress(TypeError, ValueError):
                self.queue(int(call.params.get("chat_id"))).put_nowait(call)


async def wait_ready(server: FakeTelegram, proc: asyncio.subprocess.Process) -> float:
    """Wait for two setMyCommands calls then a getUpdates call; seconds it took."""
    t0 = time.perf_counter()
    for method, count in (("setMyCommands", 2), ("getUpdates", 1)):
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"the bot exited with status {proc.returncode} while "
                                   f"starting; see {WORKDIR / 'bot.log'}")
            if time.perf_counter() - t0 > READY_TIMEOUT:
                raise TimeoutError(f"the bot was not ready after {READY_TIMEOUT:.0f} s")
            try:
                await server.wait_for(method, count=count, timeout=5)
                break
            except AssertionError:
                continue
    return time.perf_counter() - t0


async def ask(server: FakeTelegram, clock: ReplyClock, chat_id: int, question: str,
              language: str) -> tuple[float, Call]:
    """Push one question and wait for the reply; (latency ms, reply call). TimeoutError."""
    replies = clock.queue(chat_id)
    while not replies.empty():  # a stray reply to an earlier question must not count
        replies.get_nowait()
    t0 = time.perf_counter()
    server.push_message(question, chat_id=chat_id, user_id=chat_id, language_code=language)
    async with asyncio.timeout(REPLY_TIMEOUT):
        reply = await replies.get()
    return (clock.arrived[id(reply)] - t0) * 1000, reply


def language_of(question: str) -> str:
    return "vi" if question in QUESTIONS_VI else "en"


async def user(server: FakeTelegram, clock: ReplyClock, chat_id: int, questions: list[str],
               load: Load) -> None:
    for n, question in enumerate(questions):
        try:
            ms, reply = await ask(server, clock, chat_id, question, language_of(question))
        except TimeoutError:
            load.errors += 1
            load.timeouts += 1
            load.not_asked += len(questions) - n - 1  # a late reply would be misattributed
            return
        if reply.ok:
            load.latencies_ms.append(ms)
        else:
            load.errors += 1


def arrivals(rate: float, seconds: float, rng: random.Random) -> list[tuple[float, str]]:
    """A Poisson stream of questions for `seconds` at `rate` a second: (offset s, question),
    English or Vietnamese with even odds."""
    out: list[tuple[float, str]] = []
    at = rng.expovariate(rate)
    while at < seconds:
        pool = QUESTIONS_EN if rng.random() < 0.5 else QUESTIONS_VI
        out.append((at, rng.choice(pool)))
        at += rng.expovariate(rate)
    return out


async def offered_load(server: FakeTelegram, clock: ReplyClock, rate: float, seconds: float,
                       users: int, rng: random.Random, first_chat: int
                       ) -> tuple[dict[str, Any], list[str]]:
    """Questions pushed at Poisson arrival times whatever the replies do (an open loop, as
    users arrive), each in a chat of its own so that replies cannot be mistaken for another's,
    from `users` users; the reply latencies and the questions asked."""
    plan = arrivals(rate, seconds, rng)
    load = Load()
    start = time.perf_counter()

    async def one(n: int, offset: float, question: str) -> None:
        await asyncio.sleep(max(0.0, start + offset - time.perf_counter()))
        chat = first_chat + n
        user_id = CHAT_BASE + n % users
        replies = clock.queue(chat)
        t0 = time.perf_counter()
        server.push_message(question, chat_id=chat, user_id=user_id,
                            language_code=language_of(question))
        try:
            async with asyncio.timeout(REPLY_TIMEOUT):
                reply = await replies.get()
        except TimeoutError:
            load.errors += 1
            load.timeouts += 1
            return
        if reply.ok:
            load.latencies_ms.append((clock.arrived[id(reply)] - t0) * 1000)
        else:
            load.errors += 1

    await asyncio.gather(*(one(n, offset, q) for n, (offset, q) in enumerate(plan)))
    load.wall_s = time.perf_counter() - start
    row = {"offered_qps": rate, "questions": len(plan), "users": users,
           **percentiles(load.latencies_ms), "errors": load.errors, "timeouts": load.timeouts,
           "wall_s": round(load.wall_s, 2),
           "throughput_qps": round(len(load.latencies_ms) / max(load.wall_s, 1e-9), 2)}
    return row, [q for _, q in plan]


def assignments(total: int, users: int) -> list[list[str]]:
    """Question i goes to user i % users; questions cycle through QUESTIONS."""
    out: list[list[str]] = [[] for _ in range(users)]
    for i in range(total):
        out[i % users].append(QUESTIONS[i % len(QUESTIONS)])
    return out


def status_mb(pid: int, field: str) -> float | None:
    """A memory line of /proc/<pid>/status (VmRSS now, VmHWM peak) in MB, or None where /proc
    has no such line."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), MB."""
    return status_mb(pid, "VmHWM")


async def stop_bot(proc: asyncio.subprocess.Process) -> int | None:
    """SIGTERM, then wait (SIGKILL after 30 s); the exit status."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            async with asyncio.timeout(10):
                await proc.wait()
    return proc.returncode


async def start_bot(server: FakeTelegram, root: Path, env: dict[str, str],
                    log: Any, cli_args: Sequence[str] = ()) -> asyncio.subprocess.Process:
    """`coopbot [cli_args] serve` in `root`, long-polling `server`, its output into the open
    file `log`."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *cli_args, "serve", "--api-base-url",
        f"{server.url}/bot",
        cwd=root, env={**env, "TELEGRAM_BOT_TOKEN": server.token},
        stdout=log, stderr=asyncio.subprocess.STDOUT,
    )


async def telegram_run(args: argparse.Namespace, env: dict[str, str], root: Path,
                       out: dict[str, Any]) -> None:
    server = await FakeTelegram().start()
    clock = ReplyClock(server)
    log = (WORKDIR / "bot.log").open("wb")
    proc = await start_bot(server, root, env, log)
    try:
        out["startup_s"] = round(await wait_ready(server, proc), 1)
        print(f"  bot ready after {out['startup_s']} s (pid {proc.pid})", file=sys.stderr)
        for question in WARMUP:
            ms, reply = await ask(server, clock, WARMUP_CHAT, question, language_of(question))
            print(f"  warm-up {'ok' if reply.ok else 'FAILED'} in {ms:.0f} ms",
                  file=sys.stderr)
        if args.rates:
            rng = random.Random(args.seed)
            out["offered"], asked = [], []
            for i, rate in enumerate(args.rates):
                row, questions = await offered_load(server, clock, rate, args.seconds,
                                                    args.users, rng, OFFERED_CHAT + i * 100_000)
                out["offered"].append(row)
                asked += questions
                print(f"  offered {rate} q/s: {row}", file=sys.stderr, flush=True)
            out["asked"] = asked
            out["bot_peak_rss_mb"] = peak_rss_mb(proc.pid)
            return
        load = Load()
        plan = assignments(args.questions, args.users)
        t0 = time.perf_counter()
        await asyncio.gather(*(user(server, clock, CHAT_BASE + u, questions, load)
                               for u, questions in enumerate(plan)))
        load.wall_s = time.perf_counter() - t0
        out["telegram"] = {
            "questions": args.questions, "users": args.users,
            **percentiles(load.latencies_ms), "errors": load.errors,
            "timeouts": load.timeouts, "not_asked": load.not_asked,
            "wall_s": round(load.wall_s, 2),
            "throughput_qps": round(len(load.latencies_ms) / load.wall_s, 2),
            "bot_peak_rss_mb": peak_rss_mb(proc.pid),
        }
    finally:
        out["bot_exit_status"] = await stop_bot(proc)
        log.close()
        await server.stop()


def baseline_run(questions: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Retriever.search(q, 9) in this process, sequentially, on the same index."""
    from bot.runtime import prepare_offline_runtime

    prepare_offline_runtime()
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.encoders.loading import load_encoders
    from embeddings.service import open_retriever

    settings = Settings.from_env(env, dotenv=None)
    core = core_config(settings)
    retriever = open_retriever(core.index, load_encoders(core.encoders), core.retrieval)
    for question in WARMUP:
        retriever.search(question, SEARCH_K)
    latencies: list[float] = []
    cpu: list[float] = []
    errors = 0
    t0 = time.perf_counter()
    for question in questions:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            retriever.search(question, SEARCH_K)
        except Exception as error:  # count it, report it, go on
            errors += 1
            print(f"  search failed: {error!r}", file=sys.stderr)
            continue
        latencies.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    wall = time.perf_counter() - t0
    return {"questions": len(questions), "users": 1, **percentiles(latencies),
            "cpu_ms": percentiles(cpu), "errors": errors, "wall_s": round(wall, 2),
            "throughput_qps": round(len(latencies) / wall, 2) if wall else 0.0}


def print_table(out: dict[str, Any]) -> None:
    print(f"\nTelegram round trip: fake Bot API on 127.0.0.1 <-> `coopbot serve` subprocess "
          f"(long polling); COOPBOT_RATE_LIMIT={RATE_LIMIT} so the per-user limit does not "
          f"interfere; {out['machine']}")
    header = (f"{'path':<34}{'questions':>10}{'users':>6}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'p99 ms':>9}{'mean ms':>9}{'errors':>7}{'wall s':>8}{'q/s':>7}")
    print(header)
    print("-" * len(header))
    rows = [("push_message -> sendMessage", out.get("telegram")),
            *((f"offered {r['offered_qps']:g} q/s (Poisson)", r) for r in out.get("offered", [])),
            (f"in-process search(q, {SEARCH_K}), serial", out.get("baseline"))]
    for name, row in rows:
        if not row:
            continue
        cells = "".join(f"{row.get(c, float('nan')):>9.1f}" for c in ("p50", "p95", "p99",
                                                                        "mean"))
        print(f"{name:<34}{row['questions']:>10}{row['users']:>6}{cells}{row['errors']:>7}"
              f"{row['wall_s']:>8.1f}{row['throughput_qps']:>7.2f}")
    if out.get("offered") and out.get("baseline"):
        base = out["baseline"]
        print(f"in-process search CPU ms p50/p95: {base['cpu_ms']['p50']}/{base['cpu_ms']['p95']};"
              " reply p95 above the in-process p95 at each rate: "
              + ", ".join(f"{r['offered_qps']:g} q/s +{r['p95'] - base['p95']:.0f} ms"
                          for r in out["offered"])
              + f"; bot peak RSS {out.get('bot_peak_rss_mb')} MB")
    telegram = out.get("telegram")
    if telegram:
        rss = telegram["bot_peak_rss_mb"]
        print(f"bot peak RSS (VmHWM): {f'{rss:.0f} MB' if rss is not None else 'unavailable'}; "
              f"timeouts {telegram['timeouts']}, unasked after a timeout "
              f"{telegram['not_asked']}; bot startup {out.get('startup_s')} s, exit status "
              f"{out.get('bot_exit_status')}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200, help="questions asked in all")
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users")
    parser.add_argument("--quick", action="store_true", help="40 questions from 8 users")
    parser.add_argument("--rates", type=float, nargs="+", default=None,
                        help="offered loads, questions/s (Poisson arrivals, 50/50 English/"
                             "Vietnamese), instead of users asking back to back")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long each offered load lasts")
    parser.add_argument("--seed", type=int, default=1, help="arrival times and questions")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="overall limit for the Telegram part, seconds")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the in-process search() baseline")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the figures (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    if args.quick:
        args.questions, args.users = 40, 8
    if args.questions < 1 or not 1 <= args.users <= args.questions:
        parser.error("need at least 1 question and 1 <= users <= questions")
    json_path = args.json or RESULTS / ("telegram_latency_quick.json" if args.quick
                                        else "telegram_latency.json")
    WORKDIR.mkdir(parents=True, exist_ok=True)
    # The index is kept for its embeddings, the bot's state is not: a new fake server counts
    # update ids from 1 again, and the inbox would take them for the last run's, delivered
    # twice (Telegram's own ids never go back).
    for stale in (WORKDIR / "index").glob("bot-state.sqlite*"):
        stale.unlink()
    out: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                                      f"Python {platform.python_version()}",
                           "rate_limit": RATE_LIMIT, "reply_timeout_s": REPLY_TIMEOUT}
    with tempfile.TemporaryDirectory(prefix="coopbot-tg-bench-") as tmp:
        root = Path(tmp)
        seeds = root / "seeds"
        shutil.copytree(REPO / "seeds", seeds)
        env = {**os.environ, "COOPBOT_SEEDS_DIR": str(seeds),
               "COOPBOT_INDEX_DIR": str(WORKDIR / "index"),
               "COOPBOT_RATE_LIMIT": str(RATE_LIMIT), "HF_HUB_OFFLINE": "1",
               # Users here repeat each other's questions: every one is encoded, as a new one.
               "COOPBOT_QUERY_CACHE": "0",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                            os.environ.get("PYTHONPATH")]))}
        what = (f"offered loads {args.rates} q/s for {args.seconds:g} s each" if args.rates
                else f"{args.questions} questions")
        print(f"== telegram: {what} from {args.users} users", file=sys.stderr, flush=True)

        async def bounded() -> None:
            async with asyncio.timeout(args.timeout):
                await telegram_run(args, env, root, out)

        asyncio.run(bounded())
        if not args.no_baseline:
            print("== baseline: in-process search()", file=sys.stderr, flush=True)
            questions = out.pop("asked", None) or [
                q for qs in assignments(args.questions, args.users) for q in qs]
            out["baseline"] = baseline_run(questions, env)
    print_table(out)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
