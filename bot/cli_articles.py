"""`coopbot list` and `coopbot remove`: the articles in the index, and taking some out."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the indexed articles: id, date, title, source, passages."""
    from bot.render_terminal import render_article_list
    from embeddings.store import article_summaries

    summaries = article_summaries(settings.index_dir)
    if args.json:
        rows = [{**asdict(a), "date": a.date.isoformat() if a.date else None} for a in summaries]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(render_article_list(summaries))
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove articles by id from the corpus and the index, without a full rebuild."""
    from bot.cli import _observer
    from bot.render_terminal import render_build
    from bot.runtime import index_config, make_encoders
    from embeddings.service import remove_articles

    changed, report = remove_articles(index_config(settings), make_encoders(settings), args.ids,
                                      observer=_observer(False))
    for path in changed:
        print(f"removed from the corpus: {path}")
    print(render_build(report))
    return 0
