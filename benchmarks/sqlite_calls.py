"""SQLite work per question: statements run and lock acquisitions, over the dev questions.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/sqlite_calls.py [--k 3] [--json]

Builds an index of `seeds/` in a temporary folder with the real encoders, opens a retriever
over it as the front ends do (`embeddings.service.ensure_index`, `open_retriever`), asks every
question of ``../shared/eval/dev.jsonl`` once untimed, then counts per question:

* locked: acquisitions of the index's connection lock, i.e. separate trips to SQLite (worker
  threads share one connection, so each trip also waits for the others);
* statements: every statement SQLite starts, as its trace callback reports them; ``own`` are
  the ones coopbot issues, the rest are FTS5's reads of its own tables while scoring BM25.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


class CountingLock:
    """A lock that counts its acquisitions."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.count = 0

    def __enter__(self) -> bool:
        self.count += 1
        return bool(self.inner.__enter__())

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def acquire(self, *args: Any, **kwargs: Any) -> bool:
        self.count += 1
        return bool(self.inner.acquire(*args, **kwargs))

    def release(self) -> None:
        self.inner.release()


def _retriever(index_dir: Path) -> Any:
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.encoders.loading import load_encoders
    from embeddings.service import ensure_index, open_retriever

    settings = Settings.from_env().with_overrides(seeds_dir=REPO / "seeds", index_dir=index_dir)
    cfg = core_config(settings)
    encoders = load_encoders(cfg.encoders)
    ensure_index(cfg.index, encoders, notify=lambda line: print(line, file=sys.stderr))
    return open_retriever(cfg.index, encoders, cfg.retrieval)


def measure(retriever: Any, questions: Sequence[str], k: int) -> list[dict[str, Any]]:
    """Per question: lock acquisitions, statements in all and coopbot's own."""
    index = retriever.index
    db: sqlite3.Connection = index._db
    lock = CountingLock(index._lock)
    index._lock = lock
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    rows = []
    try:
        for question in questions:
            statements.clear()
            lock.count = 0
            retriever.search(question, k)
            # FTS5's own reads of its shadow tables are reported with a leading "-- ".
            own = sum(not s.startswith("--") for s in statements)
            rows.append({"question": question, "locked": lock.count,
                         "statements": len(statements), "own": own})
    finally:
        db.set_trace_callback(None)
        index._lock = lock.inner
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"questions": len(rows)}
    for key in ("locked", "statements", "own"):
        values = [r[key] for r in rows]
        out[key] = {"mean": round(statistics.mean(values), 2), "max": max(values),
                    "min": min(values)}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=3, help="results asked per question")
    parser.add_argument("--json", action="store_true", help="print per-question rows too")
    args = parser.parse_args(argv)
    if not DEV.exists():
        print(f"skipped: {DEV} not found", file=sys.stderr)
        return 0
    questions = [json.loads(line)["q"] for line in DEV.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    with tempfile.TemporaryDirectory(prefix="coopbot-sqlite-") as tmp:
        retriever = _retriever(Path(tmp) / "index")
        try:
            for question in questions:  # first use: the model warms up, pages come in
                retriever.search(question, args.k)
            rows = measure(retriever, questions, args.k)
        finally:
            retriever.index.close()
    summary = _summary(rows)
    if args.json:
        print(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False, indent=1))
        return 0
    print(f"{summary['questions']} questions, k={args.k}")
    for key, label in (("locked", "lock acquisitions"), ("statements", "SQLite statements"),
                       ("own", "  of them coopbot's")):
        s = summary[key]
        print(f"{label:<20} mean {s['mean']:6.2f}  min {s['min']:3d}  max {s['max']:3d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
