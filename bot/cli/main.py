"""The `coopbot` command. Heavy imports happen inside each command, so --help is instant."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.runtime import coopbot_version

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.telegram_bot.state import FeedbackStore
    from embeddings.service import CoreConfig

log = logging.getLogger("coopbot")

SAMPLE_QUESTION = "Who led the delegation from Sainyabuli?"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="coopbot",
        description="Answers questions about security-cooperation news with cited excerpts.",
    )
    parser.add_argument("--seeds", type=Path, help="article folder (env COOPBOT_SEEDS_DIR)")
    parser.add_argument("--index", type=Path, help="index folder (env COOPBOT_INDEX_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument("--version", action="version", version=f"coopbot {coopbot_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _index_commands(sub)
    _article_commands(sub)
    _question_commands(sub)
    _bot_commands(sub)
    return parser


def _index_commands(sub: Any) -> None:
    p = sub.add_parser("index", help="build or refresh the index from the seeds folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--from-jsonl", type=Path, metavar="FILE",
                   help="index a .jsonl or .jsonl.gz collection (fields id, title, date, url, "
                        "text) instead of the seeds folder")
    p.add_argument("--full", action="store_true",
                   help="rebuild from nothing instead of updating in place")
    p.add_argument("--no-fill", action="store_true",
                   help="do not wait for the multilingual vectors a large build leaves for "
                        "later; a running bot or the next `coopbot index` fills them in")
    p.add_argument("--workers-only", action="store_true",
                   help="with COOPBOT_DATABASE_URL: queue the passages and wait for `coopbot "
                        "worker` processes to encode them, encoding none here")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("worker", help="encode passages that builds queue in the database "
                                      "(COOPBOT_DATABASE_URL), on this machine, until stopped")
    p.add_argument("--lease", type=float, default=60.0, metavar="SECONDS",
                   help="how long a job stays with this worker if it dies (default 60)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("status", help="what is indexed, with which model, and if seeds changed")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)


def _article_commands(sub: Any) -> None:
    from bot.cli import articles

    p = sub.add_parser("list", help="the indexed articles: id, date, title, source")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=articles.cmd_list)

    p = sub.add_parser("timeline", help="cooperation events, newest first: date, parties, "
                                        "place, what was agreed or done")
    p.add_argument("about", nargs="*", help="a country (Laos, Lào) or a term (extradition)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=articles.cmd_timeline)

    p = sub.add_parser("add", help="add articles from files, folders or web pages, then update "
                                   "the index (embeds only the new passages)")
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL",
                   help=".txt, .md or .html files, folders of them, or http(s) URLs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=articles.cmd_add)

    p = sub.add_parser("remove", help="remove articles by id (no full rebuild)")
    p.add_argument("ids", nargs="+", metavar="ID", help="article ids, as `coopbot list` shows")
    p.set_defaults(func=articles.cmd_remove)


def _question_commands(sub: Any) -> None:
    p = sub.add_parser("ask", help="answer a question with cited excerpts")
    p.add_argument("question", nargs="+", help="the question (quote it or not)")
    p.add_argument("-k", type=int, default=None, help="number of results (env COOPBOT_TOP_K)")
    p.add_argument("--json", action="store_true", help="print the JSON contract")
    p.add_argument("--country", action="append", default=[], metavar="NAME",
                   help="only articles about this country (repeat for any of several)")
    p.add_argument("--since", metavar="DATE", help="only articles from this year, month or "
                   "day on (2023, 2023-06, 06/2023)")
    p.add_argument("--until", metavar="DATE", help="only articles up to this year, month or "
                   "day")
    p.add_argument("--source", metavar="NAME", help="only articles from a source whose name "
                   "contains NAME")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="score retrieval on a JSONL question file")
    p.add_argument("file", type=Path, help="questions, e.g. ../shared/eval/dev.jsonl")
    p.add_argument("-k", type=int, default=5, help="results per question (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_eval)


def _positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def _bot_commands(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    p.add_argument("--api-base-url", help="Bot API base URL (env COOPBOT_API_BASE_URL)")
    p.add_argument("--webhook-url", help="public HTTPS URL: use a webhook instead of polling")
    p.add_argument("--webhook-listen", default="127.0.0.1", help="webhook listen address")
    p.add_argument("--webhook-port", type=int, default=8443, help="webhook listen port")
    p.add_argument("--webhook-secret", help="secret token Telegram must send (env "
                   "COOPBOT_WEBHOOK_SECRET)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", help="show or purge the stored 👍/👎 feedback")
    p.add_argument("--purge", action="store_true", help="delete all stored feedback")
    p.add_argument("--json", action="store_true", help="print the votes as JSON")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("stats", help="the bot's questions, answers, latency and feedback")
    p.add_argument("--days", type=_positive, default=14, help="over the last N days (14)")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(func=cmd_stats)


def _configure_logging(args: argparse.Namespace) -> None:
    """Warnings for one-off commands (INFO with -v). `serve` is a service: its log has
    timestamps and one INFO line per question (language, latency, answered), and -v adds
    each question's text and user id (DEBUG)."""
    if args.command != "serve":
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        return
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose:
        for name in ("coopbot", "bot", "embeddings"):
            logging.getLogger(name).setLevel(logging.DEBUG)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    from bot.settings import Settings
    from embeddings.errors import CoopbotError

    try:
        settings = Settings.from_env().with_overrides(seeds_dir=args.seeds, index_dir=args.index)
        result: int = args.func(args, settings)
        return result
    except CoopbotError as exc:
        print(f"coopbot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("coopbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`coopbot list | head -2`): nothing more to say, and Python must
        # not complain about the unflushed rest at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a program stopped by a closed pipe


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or refresh the index."""
    from bot.cli.progress import TerminalObserver, say
    from bot.cli.render import render_build
    from bot.runtime import core_config
    from embeddings.errors import CoopbotError
    from embeddings.service import build, is_jsonl

    if args.from_jsonl is not None:
        if not is_jsonl(args.from_jsonl):
            raise CoopbotError(f"--from-jsonl wants a .jsonl or .jsonl.gz file: {args.from_jsonl}")
        settings = settings.with_overrides(seeds_dir=args.from_jsonl)
    show_bar = sys.stderr.isatty() and not args.no_progress
    cfg = core_config(settings)
    if args.workers_only:
        if not settings.database_url:
            raise CoopbotError("--workers-only needs COOPBOT_DATABASE_URL: the workers take "
                               "their jobs from the database")
        cfg = replace(cfg, index=replace(cfg.index, build_encodes=False))
    report = build(cfg, TerminalObserver(show_bar), full=args.full)
    print(render_build(report))
    log.info("build steps: %s", ", ".join(f"{step} {s:.2f} s" for step, s in report.phases.items()))
    if not args.no_fill:
        _fill(cfg, show_bar)
    if args.from_jsonl is not None:
        say(f"to ask and serve from this index, set COOPBOT_SEEDS_DIR={args.from_jsonl} "
            "(in the environment or .env)")
    return 0


def _fill(cfg: CoreConfig, show_bar: bool) -> None:
    """Fill in the multilingual vectors a large build left for later, saying so; the index
    serves English (and what is filled) meanwhile, and Ctrl-C keeps what is done."""
    from bot.cli.progress import FillObserver, say
    from embeddings.service import fill

    try:
        report = fill(cfg, FillObserver(show_bar))
    except KeyboardInterrupt:
        say("stopped filling in the multilingual vectors; what was filled is served, and "
            "`coopbot index` (or a running bot) goes on from there")
        raise
    if report.passages:
        say(f"multilingual vectors filled in: {report.passages} passages in "
            f"{report.seconds:.0f} s; Vietnamese search covers every passage"
            if not report.remaining else
            f"multilingual vectors filled in for {report.passages} passages; "
            f"{report.remaining} remain")


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Encode queued passages until SIGTERM or Ctrl-C (the job in hand is finished first)."""
    import signal

    from bot.cli.progress import say
    from bot.runtime import core_config
    from embeddings.service import run_encoding_worker

    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        if stopping:  # a second signal: now
            raise SystemExit(128 + signum)
        stopping.append(signum)
        say("stopping after the job in hand (again to stop now)")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stats = run_encoding_worker(
        core_config(settings), lease_s=args.lease, should_stop=lambda: bool(stopping),
        on_job=lambda s: say(f"encoded {s.passages} passages in {s.jobs} jobs "
                             f"({s.seconds:.1f} s of encoding)"),
        on_ready=lambda: say("waiting for encoding jobs (Ctrl-C to stop)"))
    say(f"worker stopped: {stats.passages} passages in {stats.jobs} jobs")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Say what is indexed and whether the seeds changed since."""
    from bot.cli.render import render_status
    from bot.runtime import core_config
    from embeddings.service import index_status

    status = index_status(core_config(settings))
    print(json.dumps(status, indent=2, ensure_ascii=False) if args.json else render_status(status))
    return 0 if status["built"] else 1  # a health check: no index, nothing to serve


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question."""
    from bot.cli.progress import open_library, say
    from bot.cli.render import render_answer
    from embeddings.service import clean_question, split_filters

    k = args.k if args.k is not None else settings.top_k
    if not 1 <= k <= 50:
        say("error: -k must be between 1 and 50")
        return 2
    question = " ".join(args.question)
    if not clean_question(question):
        say('error: the question is empty; ask in words, e.g. coopbot ask "Who led the '
            'delegation from Sainyabuli?"')
        return 2
    # The options are read as the same filters written in a question would be.
    written = [f"country:{c.replace(' ', '_')}" for c in args.country]
    written += [f"{key}:{value.replace(' ', '_')}" for key, value in
                (("since", args.since), ("until", args.until), ("source", args.source)) if value]
    filters, _ = split_filters(" ".join(written))
    library = open_library(settings)
    answer = library.search(question, k, filters=filters or None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_answer(answer, color=sys.stdout.isatty(), articles=library.article_count()))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Telegram bot until SIGINT/SIGTERM."""
    from bot.telegram_bot.serve import serve

    return serve(settings, api_base_url=args.api_base_url, webhook_url=args.webhook_url,
                 listen=args.webhook_listen, port=args.webhook_port, secret=args.webhook_secret)


def _bot_records(settings: Settings) -> tuple[FeedbackStore | None, str]:
    """The store of the bot's votes (and, beside them, its question counts), or None when
    the bot has kept none; and where they are."""
    from bot.telegram_bot.serve import FEEDBACK_DB, shared_state
    from bot.telegram_bot.state import FeedbackStore

    path = settings.index_dir / FEEDBACK_DB
    if settings.database_url:  # replicas keep them in the database, under the bot's id
        store = FeedbackStore(shared_state(settings))
        return store, store.path
    if not path.is_file():
        return None, f"{path} does not exist"
    return FeedbackStore(path), str(path)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """Show a summary of the stored feedback, or purge it."""
    store, where = _bot_records(settings)
    if store is None:
        print("[]" if args.json else f"no feedback stored ({where})")
        return 0
    try:
        if args.purge:
            print(f"deleted {store.purge()} vote(s) from {where}")
        elif args.json:
            rows = [{**r, "results": json.loads(r["results"])} for r in store.rows()]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            rows = store.rows()
            up = sum(r["vote"] > 0 for r in rows)
            print(f"{len(rows)} vote(s) in {where}: {up} 👍, {len(rows) - up} 👎")
    finally:
        store.close()
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """The bot's questions, answers, latency and feedback over the last days (as /stats)."""
    from bot.cli.render import plain
    from bot.telegram_bot.render import render_stats
    from bot.telegram_bot.stats import QuestionLog

    store, where = _bot_records(settings)
    if store is None:
        print(json.dumps(None) if args.json else f"no statistics kept ({where})")
        return 0
    try:
        stats = QuestionLog(store.db).summary(args.days, votes=store.tally)
    finally:
        store.close()
    if args.json:
        print(json.dumps(stats.as_json(), ensure_ascii=False, indent=2))
    else:
        print(plain(render_stats(stats, "en")))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Score retrieval on a question file."""
    from bot.cli.progress import open_library, say
    from bot.cli.render import render_eval, render_outcome
    from embeddings.evaluation import load_eval_file, run_eval, summarize

    questions = load_eval_file(args.file)
    library = open_library(settings)
    library.search("warm-up", 1)  # load the model before the clock starts
    outcomes = run_eval(
        questions, library.search, k=args.k,
        on_question=(lambda o: say(render_outcome(o))) if args.verbose else None,
    )
    summary = summarize(outcomes)
    summary["k"] = args.k
    summary["model"] = library.encoders.primary.name
    if args.json:
        summary["questions_detail"] = [
            {"id": o.question.id, "kind": o.question.kind, "answered": o.answered,
             "hit_rank": o.hit_rank, "ms": round(o.seconds * 1000, 1)}
            for o in outcomes
        ]
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(render_eval(summary))
    return 0
