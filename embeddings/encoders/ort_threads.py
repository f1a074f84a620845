"""How both ONNX Runtime encoders use the cores: one intra-op thread per run, runs side by side.

A session with several intra-op threads splits every matrix product of one run across the
cores. For a question (one short run) that buys a few milliseconds of wall time for more CPU
time (threads that wake, share the work and wait), and when two questions are searched at
once, each run's threads compete with the other's. Measured on this project's 2-core machine,
640 SQuAD paragraphs in batches of 32 with MiniLM: two intra-op threads, 35.5-36.8 s wall and
46.8-50.7 s CPU; one intra-op thread and the batches on two threads, 22.9-25.7 s wall and
40.9-45.8 s CPU. So every session here runs on its caller's thread, never spins (idle threads
otherwise spin after each call, starving the next one), and a call with several batches hands
them to `in_order`, which runs them on up to `threads` threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from embeddings.errors import EncoderError

T = TypeVar("T")
R = TypeVar("R")


def thread_count(num_threads: int | None) -> int:
    """`num_threads`, or every core this process may use when None. Raises ValueError below 1."""
    if num_threads is not None and num_threads < 1:
        raise ValueError("num_threads must be at least 1 (or None for every core)")
    return num_threads or len(os.sched_getaffinity(0))


def single_thread_session(path: Path) -> Any:
    """An onnxruntime CPU session on `path` that runs on its caller's thread and never spins.

    Raises EncoderError when onnxruntime is missing or the file cannot be loaded."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EncoderError("onnxruntime is not installed: run `make setup`") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a damaged cache file: say where it is
        raise EncoderError(f"cannot open the ONNX model {path}: {exc}; delete its folder to "
                           "make it again") from exc


def in_order(work: Callable[[T], R], items: Sequence[T], threads: int, name: str
             ) -> Iterator[R]:
    """`work(item)` for each item, yielded in the items' order; on up to `threads` threads
    (named `name`) when there is more than one item, else on the caller's."""
    if len(items) <= 1 or threads <= 1:
        for item in items:
            yield work(item)
        return
    with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix=name) as pool:
        yield from pool.map(work, items)
