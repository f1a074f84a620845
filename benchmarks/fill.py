"""Vietnamese at any size: a large build serves first and fills in its e5 vectors afterwards.

    .venv/bin/python benchmarks/fill.py                      # 5,000 White House passages
    .venv/bin/python benchmarks/fill.py --distractors 100000 # the issue's size (hours here)

Corpus: XQuAD's 48 English articles (240 paragraphs; their 1,190 questions in English and
Vietnamese) and the first White House briefings that give `--distractors` passages, as one
JSONL file (`benchmarks/scale_quality.write_corpus`). Two builds of it in one run, each into
its own folder with its own embedding cache, as `coopbot index --from-jsonl` builds:

* MiniLM only (COOPBOT_MULTILINGUAL=off): the baseline.
* Both spaces, the default: over COOPBOT_MULTILINGUAL_INLINE (2,000) passages the build
  publishes with MiniLM, then `coopbot index` fills the e5 vectors in (`index.filling`).

Reported: wall and CPU seconds of each step, when English is served, the both-spaces total
against the MiniLM-only build (the issue's "≤ 2.5×"), e5's passages/s during the fill;
XQuAD article-level R@1/R@5 for the Vietnamese questions right after the build (nothing
filled: MiniLM, names and the glossary) and after the fill, with English beside them; and
Vietnamese `search(q, 3)` CPU ms per question after the fill. Results: a table on stdout and
benchmarks/results/fill.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, percentiles, question_contexts, require  # noqa: E402
from benchmarks.scale_quality import (  # noqa: E402
    WHITEHOUSE,
    XQUAD_EN,
    XQUAD_VI,
    Question,
    _cpu,
    metrics,
    questions_of,
    row_paragraphs,
    run_coopbot,
    write_corpus,
)

WORK = RESULTS / "fill"


def _config(corpus: Path, folder: Path, multilingual: str) -> Any:
    from bot.runtime import core_config
    from bot.settings import Settings

    # No query cache: every question is encoded, as a new one is.
    return core_config(Settings(seeds_dir=corpus, index_dir=folder, multilingual=multilingual,
                                query_cache=0))


def _timed(step: Any) -> tuple[Any, dict[str, float]]:
    wall, cpu = time.perf_counter(), _cpu()
    result = step()
    return result, {"seconds": round(time.perf_counter() - wall, 1),
                    "cpu_seconds": round(_cpu() - cpu, 1)}


def _recall(cfg: Any, sets: dict[str, list[Question]]) -> dict[str, dict[str, Any]]:
    """Article-level R@1/R@5 of the default retriever per question set, and the Vietnamese
    `search(q, 3)` CPU time."""
    from embeddings.encoders.loading import load_encoders
    from embeddings.service import open_retriever

    retriever = open_retriever(cfg.index, load_encoders(cfg.encoders))
    try:
        rows = row_paragraphs(retriever.index)
        out: dict[str, dict[str, Any]] = {}
        for name, questions in sets.items():
            row = metrics(run_coopbot(retriever, questions, rows, deepens=False), questions)
            out[name] = {k: row[k] for k in ("article R@1", "article R@5")}
            print(f"  {name}: {out[name]}", file=sys.stderr, flush=True)
        cpu_ms = []
        for q in sets["XQuAD Vietnamese"][:300]:
            began = time.process_time()
            retriever.search(q.text, 3)
            cpu_ms.append((time.process_time() - began) * 1000)
        out["XQuAD Vietnamese"]["search(q, 3) CPU ms"] = percentiles(cpu_ms)
        out["spaces"] = {"searched": sorted(retriever.index.spaces)}
        return out
    finally:
        retriever.index.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Build both ways, fill, measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distractors", type=int, default=5_000,
                        help="White House passages (default 5,000)")
    parser.add_argument("--json", type=Path, default=RESULTS / "fill.json")
    args = parser.parse_args(argv)
    if not all(require(p) for p in (WHITEHOUSE, XQUAD_EN, XQUAD_VI)):
        return 2
    import shutil

    from embeddings.encoders.loading import load_encoders
    from embeddings.index.reader import read_manifest
    from embeddings.service import build, fill

    en = json.loads(XQUAD_EN.read_text(encoding="utf-8"))
    vi = json.loads(XQUAD_VI.read_text(encoding="utf-8"))
    work = WORK / str(args.distractors)
    baseline_cfg = _config(work / "corpus.jsonl", work / "minilm", "off")
    corpus, gold, records = write_corpus(
        work, en, args.distractors, load_encoders(baseline_cfg.encoders).primary)
    contexts = question_contexts(en)
    sets = {"XQuAD English": questions_of(en, gold, contexts),
            "XQuAD Vietnamese": questions_of(vi, gold, contexts)}
    out: dict[str, Any] = {"machine": platform.platform(), "distractor_records": records}

    for name in ("minilm", "both"):  # fresh folders and caches: every vector is encoded
        shutil.rmtree(work / name, ignore_errors=True)
    print("MiniLM-only build", file=sys.stderr, flush=True)
    report, out["minilm_only_build"] = _timed(lambda: build(baseline_cfg))
    out["passages"] = report.chunks

    cfg = _config(corpus, work / "both", "auto")
    print("both spaces: build (serves English when it ends)", file=sys.stderr, flush=True)
    report, out["both_build"] = _timed(lambda: build(cfg))
    pending = read_manifest(cfg.index.index_dir).multilingual_pending
    out["both_build"]["e5 passages pending"] = pending
    out["before_fill"] = _recall(cfg, sets)
    print("both spaces: fill", file=sys.stderr, flush=True)
    filled, out["fill"] = _timed(lambda: fill(cfg))
    out["fill"]["passages"] = filled.passages
    out["fill"]["e5 passages/s"] = round(filled.passages / max(filled.seconds, 1e-9), 2)
    total = out["both_build"]["seconds"] + out["fill"]["seconds"]
    total_cpu = out["both_build"]["cpu_seconds"] + out["fill"]["cpu_seconds"]
    baseline = out["minilm_only_build"]
    out["both_total"] = {"seconds": round(total, 1), "cpu_seconds": round(total_cpu, 1),
                         "x minilm_only (wall)": round(total / baseline["seconds"], 2),
                         "x minilm_only (cpu)": round(total_cpu / baseline["cpu_seconds"], 2)}
    out["after_fill"] = _recall(cfg, sets)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    _print(out)
    return 0


def _print(out: dict[str, Any]) -> None:
    b, f, m = out["both_build"], out["fill"], out["minilm_only_build"]
    print(f"\n{out['passages']:,} passages ({out['machine']})")
    print(f"MiniLM-only build: {m['seconds']} s ({m['cpu_seconds']} CPU s)")
    print(f"both spaces: English served after {b['seconds']} s ({b['cpu_seconds']} CPU s), "
          f"e5 filled in {f['seconds']} s ({f['cpu_seconds']} CPU s, "
          f"{f['e5 passages/s']} passages/s)")
    t = out["both_total"]
    print(f"both spaces total {t['seconds']} s = {t['x minilm_only (wall)']}x the MiniLM-only "
          f"build ({t['x minilm_only (cpu)']}x in CPU)")
    for when in ("before_fill", "after_fill"):
        row = out[when]
        cpu = row["XQuAD Vietnamese"]["search(q, 3) CPU ms"]
        print(f"{when}: vi R@1/R@5 {row['XQuAD Vietnamese']['article R@1']}/"
              f"{row['XQuAD Vietnamese']['article R@5']}, en {row['XQuAD English']['article R@1']}/"
              f"{row['XQuAD English']['article R@5']}; vi search CPU ms p50/p95 "
              f"{cpu.get('p50')}/{cpu.get('p95')}; spaces {row['spaces']['searched']}")


if __name__ == "__main__":
    raise SystemExit(main())
