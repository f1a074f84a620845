"""Encoding jobs from the queue (`jobs`): the loop of `coopbot worker`, and of a build that
encodes its own jobs beside the workers.

While a job is encoded a thread renews its lease, so that only a worker that died (or hangs)
loses it; the vectors are written by `JobQueue.finish`, with the job marked done.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from embeddings.encoders.base import Encoder, SpanEncoder
from embeddings.index.postgres.jobs import DEFAULT_LEASE_S, Job, JobQueue

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
"""How often an idle worker looks for new jobs."""


def worker_name() -> str:
    """This process's name in the queue: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerStats:
    """What a worker did."""

    jobs: int = 0
    passages: int = 0
    lost: int = 0
    """Jobs encoded but finished by another worker meanwhile (this one's lease ran out)."""
    seconds: float = 0.0
    """Encoding time."""


def encode_job(job: Job, encoder: Encoder) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """A job's passage vectors, and its span vectors where the job asks and the encoder can."""
    texts = [p.text for p in job.passages]
    wants_spans = all(p.spans is not None for p in job.passages)
    if wants_spans and isinstance(encoder, SpanEncoder):
        spans = [p.spans or () for p in job.passages]
        return encoder.encode_passages_with_spans(texts, spans)
    return encoder.encode_passages(texts), None


class _Renewal:
    """Renews one job's lease every third of it, on a thread, until stopped."""

    def __init__(self, queue: JobQueue, job: Job, name: str, lease_s: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(queue, job, name, lease_s),
                                        daemon=True, name="coopbot-lease")
        self._thread.start()

    def _run(self, queue: JobQueue, job: Job, name: str, lease_s: float) -> None:
        while not self._stop.wait(lease_s / 3):
            try:
                if not queue.renew(job, name, lease_s=lease_s):
                    return  # another worker has it now: finishing will say so
            except Exception as exc:  # noqa: BLE001 - the next renewal, or finish, will tell
                log.warning("lease of job %d not renewed: %s", job.id, exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def work_one(queue: JobQueue, encoders: Mapping[str, Encoder], name: str, stats: WorkerStats,
             *, lease_s: float = DEFAULT_LEASE_S, batch: str | None = None) -> bool:
    """Take one job (of `batch` only, when given), encode and finish it; False when none was
    waiting."""
    job = queue.claim(name, list(encoders), lease_s=lease_s, batch=batch)
    if job is None:
        return False
    renewal = _Renewal(queue, job, name, lease_s)
    try:
        t0 = time.perf_counter()
        vectors, spans = encode_job(job, encoders[job.model])
        stats.seconds += time.perf_counter() - t0
    finally:
        renewal.stop()
    if queue.finish(job, name, vectors, spans):
        stats.jobs += 1
        stats.passages += len(job.passages)
    else:
        stats.lost += 1
        log.warning("job %d was finished by another worker while this one encoded it", job.id)
    return True


def run_worker(
    queue: JobQueue,
    encoders: Mapping[str, Encoder],
    *,
    name: str | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    should_stop: Callable[[], bool] = lambda: False,
    on_job: Callable[[WorkerStats], None] | None = None,
) -> WorkerStats:
    """Take and encode jobs of `encoders`' models (by model name) until `should_stop()`."""
    name = name or worker_name()
    stats = WorkerStats()
    while not should_stop():
        if work_one(queue, encoders, name, stats, lease_s=lease_s):
            if on_job is not None:
                on_job(stats)
        else:
            time.sleep(IDLE_POLL_S)
    return stats
