"""CPU time per question of `search()` on the seed articles, by language, and where it goes.

    .venv/bin/python benchmarks/search_cpu.py              # dev.jsonl's questions, 5 rounds
    .venv/bin/python benchmarks/search_cpu.py --rounds 10

Every question of `shared/eval/dev.jsonl` (English and Vietnamese, answerable or not) is asked
`--rounds` times with `Retriever.search(q, 9)` (what the bot asks for), in this one process,
one at a time, the query-vector cache off, so that each question is encoded every time. CPU
time (`time.process_time`, all threads of the process) is read around each search, and
around each encoder call inside it, so the table splits a question's CPU into MiniLM's query,
e5's query and the rest (lists, fusion, excerpts, answer sentence, confidence).

English questions are asked two ways in the same run: as shipped (`dense_spaces=both`: MiniLM
and e5 lists) and with MiniLM alone (`auto`), with `coopbot eval`'s hit@1/hit@3 (an expected
string in the first / first three excerpts), false abstention (answerable questions refused)
and abstention (unanswerable ones refused) beside the CPU figures, since e5's query is what an
English question could save.

The index is built once under benchmarks/results/search-cpu/ (git-ignored) from the seeds;
results go to benchmarks/results/search_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS, SHARED, percentiles  # noqa: E402

WORKDIR = RESULTS / "search-cpu"
DEV = SHARED / "eval" / "dev.jsonl"
SEARCH_K = 9  # bot.telegram_bot.app.MAX_RESULTS


class CpuMeter:
    """Wraps an encoder's `encode_queries`, adding the CPU seconds its calls take to `spent`."""

    def __init__(self, encoder: Any) -> None:
        self.spent = 0.0
        inner: Callable[[Sequence[str]], Any] = encoder.encode_queries

        def timed(texts: Sequence[str]) -> Any:
            start = time.process_time()
            try:
                return inner(texts)
            finally:
                self.spent += time.process_time() - start

        encoder.encode_queries = timed


def measure(retriever: Any, meters: dict[str, CpuMeter], questions: Sequence[Any],
            rounds: int) -> dict[str, Any]:
    """CPU ms per search (and per encoder inside it) over `rounds` passes of `questions`
    (`EvalQuestion`s), plus `coopbot eval`'s figures for the last pass."""
    from embeddings.evaluation import QuestionOutcome, first_hit, summarize

    total: list[float] = []
    parts: dict[str, list[float]] = {name: [] for name in meters}
    outcomes: list[QuestionOutcome] = []
    for round_ in range(rounds):
        for question in questions:
            before = {name: m.spent for name, m in meters.items()}
            start = time.process_time()
            answer = retriever.search(question.q, SEARCH_K)
            cpu = time.process_time() - start
            total.append(cpu * 1000)
            for name, m in meters.items():
                parts[name].append((m.spent - before[name]) * 1000)
            if round_ == rounds - 1:
                hit = first_hit(answer, question.expect) if question.expect else None
                outcomes.append(QuestionOutcome(question, answer.answered, hit, cpu))
    rest = [t - sum(p[i] for p in parts.values()) for i, t in enumerate(total)]
    found = summarize(outcomes)["all"]
    return {"searches": len(total), "cpu_ms": percentiles(total),
            **{f"{name}_query_cpu_ms": percentiles(v) for name, v in parts.items()},
            "rest_cpu_ms": percentiles(rest),
            **{key: round(found[key], 3) for key in
               ("hit@1", "hit@3", "false_abstention", "abstention") if key in found}}


def main(argv: Sequence[str] | None = None) -> int:
    """Build the seeds' index if needed, measure, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the questions")
    parser.add_argument("--json", type=Path, default=RESULTS / "search_cpu.json")
    args = parser.parse_args(argv)
    os.environ.update({"HF_HUB_OFFLINE": "1", "COOPBOT_QUERY_CACHE": "0",
                       "COOPBOT_SEEDS_DIR": str(REPO / "seeds"),
                       "COOPBOT_INDEX_DIR": str(WORKDIR / "index")})
    from bot.runtime import core_config, prepare_offline_runtime
    from bot.settings import Settings

    prepare_offline_runtime()
    from embeddings.encoders.loading import load_encoders
    from embeddings.service import ensure_index, open_retriever

    core = core_config(Settings.from_env(dict(os.environ), dotenv=None))
    encoders = load_encoders(core.encoders)
    ensure_index(core.index, encoders, notify=lambda line: print(f"  {line}", file=sys.stderr))
    meters = {"minilm": CpuMeter(encoders.primary)}
    if encoders.multilingual is not None:
        meters["e5"] = CpuMeter(encoders.multilingual)
    from embeddings.evaluation import load_eval_file

    rows = load_eval_file(DEV)
    by_lang = {lang: [r for r in rows if r.lang == lang] for lang in ("en", "vi")}
    shipped = open_retriever(core.index, encoders, core.retrieval)
    minilm_only = open_retriever(core.index, encoders,
                                 replace(core.retrieval, dense_spaces="auto"))
    for retriever in (shipped, minilm_only):  # load both models and the index files
        for row in rows[:3] + by_lang["vi"][:1]:
            retriever.search(row.q, SEARCH_K)
    runs = {
        "en": measure(shipped, meters, by_lang["en"], args.rounds),
        "en_minilm_only": measure(minilm_only, meters, by_lang["en"], args.rounds),
        "vi": measure(shipped, meters, by_lang["vi"], args.rounds),
    }
    out = {"machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
                      f"Python {platform.python_version()}",
           "rounds": args.rounds, "k": SEARCH_K, "runs": runs}
    print_table(out)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 0


def print_table(out: dict[str, Any]) -> None:
    """CPU ms p50/p95 per run and its parts, then the quality columns."""
    print(f"\nsearch(q, {out['k']}) on the seeds, CPU ms per question p50 / p95 "
          f"({out['rounds']} rounds of dev.jsonl; {out['machine']})")
    print(f"{'run':<16}{'searches':>9}{'total':>14}{'MiniLM':>14}{'e5':>14}{'rest':>14}"
          f"{'hit@1':>7}{'hit@3':>7}{'refused':>8}{'abstained':>10}")
    for name, run in out["runs"].items():
        cells = [_p50_p95(run.get(key)) for key in
                 ("cpu_ms", "minilm_query_cpu_ms", "e5_query_cpu_ms", "rest_cpu_ms")]
        print(f"{name:<16}{run['searches']:>9}" + "".join(f"{c:>14}" for c in cells)
              + "".join(f"{run.get(key, '-')!s:>{width}}" for key, width in
                        (("hit@1", 7), ("hit@3", 7), ("false_abstention", 8),
                         ("abstention", 10))))


def _p50_p95(found: dict[str, float] | None) -> str:
    return f"{found['p50']:.1f} / {found['p95']:.1f}" if found else "-"


if __name__ == "__main__":
    raise SystemExit(main())
