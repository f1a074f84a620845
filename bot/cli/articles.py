"""`coopbot add`, `list` and `remove`: putting articles in, seeing them, taking them out."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the indexed articles: id, date, title, source, passages."""
    from bot.cli.render import render_article_list
    from bot.runtime import core_config
    from embeddings.service import list_articles

    summaries = list_articles(core_config(settings))
    if args.json:
        rows = [{**asdict(a), "date": a.date.isoformat() if a.date else None} for a in summaries]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(render_article_list(summaries))
    return 0


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    """The cooperation events, newest first: date, parties, place, what happened."""
    from bot.cli.progress import open_library

    entries = open_library(settings).timeline(" ".join(args.about) or None)
    if args.json:
        rows = [{**asdict(e), "date": e.date.isoformat() if e.date else None}
                for e in entries]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("no dated article" + (f" about “{' '.join(args.about)}”" if args.about else ""))
        return 0
    for e in entries:
        facts = [e.date.isoformat() if e.date else "-", ", ".join(e.countries) or "-",
                 e.place or "-"]
        print(f"{' · '.join(facts)}\n  {e.event}\n  {e.title}"
              + (f" <{e.url}>" if e.url else f" [{e.article_id}]"))
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove articles by id from the corpus and the index, without a full rebuild."""
    from bot.cli.progress import TerminalObserver
    from bot.cli.render import render_build
    from bot.runtime import core_config
    from embeddings.service import remove_articles

    changed, report = remove_articles(core_config(settings), None, args.ids,
                                      observer=TerminalObserver(False))
    for path in changed:
        print(f"removed from the corpus: {path}")
    print(render_build(report))
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Save files, folders or pages as articles in the seeds folder and update the index.

    Exit status 1 when a source could not be added for a reason other than being indexed
    already."""
    import sys

    from bot.cli.progress import TerminalObserver
    from bot.cli.render import render_added
    from bot.runtime import core_config
    from embeddings.service import add_articles

    show_bar = sys.stderr.isatty() and not args.no_progress  # never bars into a pipe or a log
    report = add_articles(core_config(settings), args.sources, TerminalObserver(show_bar))
    print(render_added(report))
    failed = [o for o in report.outcomes if o.problem is not None and not o.duplicate]
    return 1 if failed else 0
