"""Encoding jobs in the database: a build queues the passages it must embed, `coopbot worker`
processes on any machine (and the build itself, unless told not to) take them, and the vectors
land in the embedding cache that every machine shares.

- A job is one batch of passages of one model: their texts, their sentences' spans where the
  model pools spans, and the cache keys the vectors go under (computed by the build, so that
  a worker need not know how keys are made).
- A job is taken with ``SELECT … FOR UPDATE SKIP LOCKED``: one worker at a time holds it,
  under a lease that it renews while it encodes. A worker that dies stops renewing; once the
  lease ran out another worker takes the job again (`attempts` counts the takes).
- Finishing a job writes its vectors into the cache and marks it done in one transaction, and
  only while the worker still holds the job. So each job's vectors are written once, by one
  worker: one that lost its lease (stalled past it) writes nothing and moves on.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.encoders.cache import vector_bytes
from embeddings.index.postgres.connection import connect, database_errors
from embeddings.index.postgres.shared_cache import CACHE_TABLE, create_cache_table

if TYPE_CHECKING:
    import psycopg

JOBS_TABLE = "public.coopbot_jobs"

QUEUED, RUNNING, DONE = "queued", "running", "done"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {JOBS_TABLE} (
    id bigserial PRIMARY KEY,
    batch text NOT NULL,        -- the build's request (one per vector space and build)
    model text NOT NULL,
    passages jsonb NOT NULL,    -- [{{"text", "key", "spans"?, "span_key"?}}]
    size integer NOT NULL,
    state text NOT NULL DEFAULT '{QUEUED}',
    worker text,
    lease double precision,
    attempts integer NOT NULL DEFAULT 0,
    finished_by text,           -- the worker whose vectors were written
    created double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS coopbot_jobs_todo ON {JOBS_TABLE} (model, state, id);
CREATE INDEX IF NOT EXISTS coopbot_jobs_batch ON {JOBS_TABLE} (batch, state);
"""

KEEP_DONE_S = 24 * 3600.0

DEFAULT_LEASE_S = 60.0
"""How long a job stays with a worker that stopped renewing it (a killed one)."""


@dataclass(frozen=True)
class Passage:
    """One passage to embed, with the keys its vectors go under."""

    text: str
    key: bytes
    spans: tuple[tuple[int, int], ...] | None = None
    span_key: bytes | None = None


@dataclass(frozen=True)
class Job:
    """A job a worker holds."""

    id: int
    batch: str
    model: str
    passages: tuple[Passage, ...]
    attempt: int


def _payload(passages: Sequence[Passage]) -> str:
    return json.dumps([
        {"text": p.text, "key": p.key.hex(),
         **({"spans": [list(s) for s in p.spans], "span_key": p.span_key.hex()}
            if p.spans is not None and p.span_key is not None else {})}
        for p in passages])


def _passages(payload: Any) -> tuple[Passage, ...]:
    items = json.loads(payload) if isinstance(payload, str) else payload
    return tuple(
        Passage(item["text"], bytes.fromhex(item["key"]),
                tuple((int(a), int(b)) for a, b in item["spans"]) if "spans" in item else None,
                bytes.fromhex(item["span_key"]) if "span_key" in item else None)
        for item in items)


class JobQueue:
    """The jobs and the shared cache, over one autocommit connection (one per thread that
    uses it): the queue's own, or `db` (whose owner closes it)."""

    def __init__(self, url: str, *, db: psycopg.Connection[Any] | None = None) -> None:
        self.url = url
        self._owned = db is None
        self.db = connect(url, autocommit=True) if db is None else db
        create_cache_table(self.db, url)
        with database_errors(url, writing=True), self.db.transaction():
            # Workers and builds starting together take turns creating the tables.
            self.db.execute("SELECT pg_advisory_xact_lock(hashtext('coopbot_jobs'))")
            self.db.execute(_SCHEMA)

    def enqueue(self, model: str, passages: Sequence[Passage], *, per_job: int = 64) -> str:
        """Queue passages in jobs of `per_job`; returns the batch id the jobs share."""
        batch = secrets.token_hex(8)
        now = time.time()
        with (database_errors(self.url, writing=True), self.db.transaction(),
              self.db.cursor() as cursor):
            # Done jobs are kept a day, for `coopbot status` and for checking who did what.
            cursor.execute(f"DELETE FROM {JOBS_TABLE} WHERE state = %s AND created < %s",
                           (DONE, now - KEEP_DONE_S))
            cursor.executemany(
                f"INSERT INTO {JOBS_TABLE} (batch, model, passages, size, created) "
                "VALUES (%s, %s, %s::jsonb, %s, %s)",
                [(batch, model, _payload(passages[i : i + per_job]),
                  len(passages[i : i + per_job]), now)
                 for i in range(0, len(passages), per_job)])
        return batch

    def claim(self, worker: str, models: Sequence[str], *, lease_s: float = DEFAULT_LEASE_S,
              batch: str | None = None) -> Job | None:
        """Take the oldest job of one of `models` that is queued, or whose worker's lease ran
        out (of `batch` only, when given); None when there is none."""
        now = time.time()
        with database_errors(self.url, writing=True):
            row = self.db.execute(
                f"UPDATE {JOBS_TABLE} SET state = %s, worker = %s, lease = %s, "
                "attempts = attempts + 1 WHERE id = ("
                f" SELECT id FROM {JOBS_TABLE} WHERE model = ANY(%s) "
                " AND (state = %s OR (state = %s AND lease < %s)) AND (%s::text IS NULL OR "
                " batch = %s) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                "RETURNING id, batch, model, passages, attempts",
                (RUNNING, worker, now + lease_s, list(models), QUEUED, RUNNING, now, batch,
                 batch)).fetchone()
        if row is None:
            return None
        return Job(int(row[0]), str(row[1]), str(row[2]), _passages(row[3]), int(row[4]))

    def renew(self, job: Job, worker: str, *, lease_s: float = DEFAULT_LEASE_S) -> bool:
        """Extend this worker's lease on a job; False when it lost the job to another."""
        with database_errors(self.url, writing=True):
            cursor = self.db.execute(
                f"UPDATE {JOBS_TABLE} SET lease = %s WHERE id = %s AND worker = %s "
                "AND state = %s", (time.time() + lease_s, job.id, worker, RUNNING))
        return cursor.rowcount == 1

    def finish(self, job: Job, worker: str, vectors: np.ndarray,
               spans: Sequence[np.ndarray] | None) -> bool:
        """Write the job's vectors into the cache and mark it done, together; False (and
        nothing written) when the job is no longer this worker's."""
        rows = [(p.key, vector_bytes(v)) for p, v in zip(job.passages, vectors, strict=True)]
        if spans is not None:
            rows += [(p.span_key, vector_bytes(s, spans=True))
                     for p, s in zip(job.passages, spans, strict=True) if p.span_key is not None]
        with database_errors(self.url, writing=True), self.db.transaction():
            held = self.db.execute(
                f"UPDATE {JOBS_TABLE} SET state = %s, lease = NULL, finished_by = %s "
                "WHERE id = %s AND worker = %s AND state = %s",
                (DONE, worker, job.id, worker, RUNNING)).rowcount
            if held != 1:
                return False
            with self.db.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {CACHE_TABLE} (key, vector) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO NOTHING", rows)
        return True

    def progress(self, batch: str) -> tuple[int, int]:
        """(passages done, passages in all) of one batch."""
        with database_errors(self.url):
            row = self.db.execute(
                f"SELECT coalesce(sum(size) FILTER (WHERE state = %s), 0), coalesce(sum(size), 0)"
                f" FROM {JOBS_TABLE} WHERE batch = %s", (DONE, batch)).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def close(self) -> None:
        """Close the connection, if it is the queue's own."""
        if self._owned:
            self.db.close()
