"""Encoding jobs in a real PostgreSQL: taken by one worker at a time, given to another when a
worker dies, written once; and `coopbot worker` processes encoding a build, one of them
killed midway."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from embeddings.config import IndexConfig
from embeddings.encoders.cache import cache_key, vector_from
from embeddings.index.builder import build_index
from embeddings.index.postgres.jobs import DONE, JOBS_TABLE, JobQueue, Passage
from embeddings.index.postgres.shared_cache import CACHE_TABLE, SharedEmbeddingCache
from embeddings.index.postgres.worker import WorkerStats, work_one
from tests.conftest import REPO, SEEDS
from tests.embeddings.index.test_crash_safety import _extra_articles
from tests.support.fake_encoders import HashingEncoder


def _passages(model: str, count: int) -> list[Passage]:
    return [Passage(f"passage {i} about border patrols", cache_key(model, f"passage {i}"))
            for i in range(count)]


def test_a_job_goes_to_one_worker_and_to_another_once_its_lease_ran_out(
    database_url: str,
) -> None:
    encoder = HashingEncoder()
    queue = JobQueue(database_url)
    try:
        batch = queue.enqueue(encoder.name, _passages(encoder.name, 5), per_job=2)
        assert queue.progress(batch) == (0, 5)
        slow = queue.claim("a", [encoder.name], lease_s=0.2)
        other = queue.claim("b", [encoder.name], lease_s=60)
        assert slow is not None and other is not None and slow.id != other.id
        assert queue.claim("c", ["another/model"]) is None  # only jobs of the worker's models
        time.sleep(0.3)  # a's lease runs out: a died, or hangs
        again = queue.claim("c", [encoder.name], lease_s=60)
        assert again is not None and again.id == slow.id and again.attempt == 2
        assert not queue.renew(slow, "a")
        vectors = encoder.encode_passages([p.text for p in slow.passages])
        assert not queue.finish(slow, "a", vectors, None)  # too late: writes nothing
        assert queue.progress(batch) == (0, 5)
        assert queue.finish(again, "c", vectors, None)
        assert queue.progress(batch) == (2, 5)
        stats = WorkerStats()
        while work_one(queue, {encoder.name: encoder}, "d", stats, batch=batch):
            pass
        assert (stats.jobs, stats.passages) == (1, 1)  # b still holds its job
        assert queue.finish(other, "b", encoder.encode_passages(
            [p.text for p in other.passages]), None)
        assert queue.progress(batch) == (5, 5)
        cache = SharedEmbeddingCache(database_url, encoder.name)
        found = cache.get_many([p.key for p in _passages(encoder.name, 5)])
        assert len(found) == 5
        cache.close()
    finally:
        queue.close()


def test_a_build_with_a_database_encodes_its_jobs_itself_without_workers(
    database_url: str, tmp_path: Path,
) -> None:
    encoder = HashingEncoder()
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "pg", database_url=database_url)
    report = build_index(cfg, encoder)
    assert report.embedded == report.chunks > 0
    # A second machine (its own folder, an empty local cache) reuses the shared vectors.
    elsewhere = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "elsewhere",
                            database_url=database_url)
    assert build_index(elsewhere, encoder, full=True).embedded == 0


def _worker(env: dict[str, str], root: Path, name: str) -> subprocess.Popen[bytes]:
    log = (root / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--index", str(root / name), "worker", "--lease", "3"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_two_workers_encode_a_build_and_one_killed_midway_loses_nothing(
    database_url: str, tmp_path: Path, real_encoder,  # type: ignore[no-untyped-def]
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    _extra_articles(seeds, 60)
    env = {**os.environ, "COOPBOT_DATABASE_URL": database_url, "COOPBOT_SEEDS_DIR": str(seeds),
           "COOPBOT_MULTILINGUAL": "off", "HF_HUB_OFFLINE": "1"}
    JobQueue(database_url).close()  # the tables, for this test to watch from the start
    workers = [_worker(env, tmp_path, "w1"), _worker(env, tmp_path, "w2")]
    build = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--index", str(tmp_path / "build"), "index",
         "--no-progress", "--workers-only"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        victim = f":{workers[0].pid}"
        deadline = time.monotonic() + 240
        with psycopg.connect(database_url, autocommit=True) as db:
            # Kill the first worker while it holds a job, with jobs still queued.
            while True:
                assert time.monotonic() < deadline, "the first worker never took a job"
                assert build.poll() is None, build.communicate()
                held = db.execute(f"SELECT count(*) FROM {JOBS_TABLE} WHERE state = 'running' "
                                  "AND worker LIKE %s", (f"%{victim}",)).fetchone()
                queued = db.execute(f"SELECT count(*) FROM {JOBS_TABLE} "
                                    "WHERE state = 'queued'").fetchone()
                if held and held[0] and queued and queued[0]:
                    break
                time.sleep(0.05)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=30)
            out, err = build.communicate(timeout=300)
            assert build.returncode == 0, err.decode()
            jobs = db.execute(f"SELECT state, size, attempts, finished_by, worker FROM "
                              f"{JOBS_TABLE}").fetchall()
            cached = {bytes(k): bytes(v) for k, v in db.execute(
                f"SELECT key, vector FROM {CACHE_TABLE}").fetchall()}
            payload = db.execute(f"SELECT passages FROM {JOBS_TABLE} ORDER BY id "
                                 "LIMIT 1").fetchone()
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    assert all(state == DONE for state, *_ in jobs)
    passages = sum(size for _, size, *_ in jobs)
    assert passages > 300
    # The killed worker finished nothing after the kill; the job it held went to another.
    taken_over = [j for j in jobs if j[2] >= 2]
    assert taken_over and all(not str(j[3]).endswith(victim) for j in taken_over)
    assert any(str(j[3]).endswith(f":{workers[1].pid}") for j in jobs)
    # Every passage once in the cache, with its sentence vectors beside it.
    assert len(cached) == 2 * passages
    # The workers' vectors are this process's own, encoded here.
    assert payload is not None
    probe = payload[0][:8]
    mine = real_encoder.encode_passages([p["text"] for p in probe])
    theirs = np.stack([vector_from(cached[bytes.fromhex(p["key"])]) for p in probe])
    assert np.min(np.sum(mine * theirs, axis=1)) > 0.9999


def test_a_worker_or_a_workers_only_build_without_a_database_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.cli.main import main

    monkeypatch.delenv("COOPBOT_DATABASE_URL", raising=False)
    assert main(["--index", str(tmp_path / "index"), "worker"]) == 1
    assert "COOPBOT_DATABASE_URL" in capsys.readouterr().err
    assert main(["--index", str(tmp_path / "index"), "index", "--workers-only"]) == 1
    err = capsys.readouterr().err
    assert "COOPBOT_DATABASE_URL" in err and err.strip().count("\n") == 0
