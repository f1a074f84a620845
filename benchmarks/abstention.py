"""Calibrating when to abstain: the evidence of answerable and unanswerable questions.

Answerable: dev.jsonl's answerable questions against the seeds, and SQuAD/XQuAD questions
against their own paragraphs (from benchmarks/quality.py's indexes, if built). Unanswerable:
dev.jsonl's unanswerable ones, NQ-open and XQuAD's Vietnamese questions against the seeds.
Prints the evidence distributions and the rates of the current rule.

    .venv/bin/python benchmarks/abstention.py --sample 500
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DATA, REPO, RESULTS, SHARED, squad_questions  # noqa: E402


def _retriever(index_dir: Path, seeds: Path) -> Any:
    from bot.runtime import prepare_offline_runtime

    prepare_offline_runtime()
    from embeddings.config import IndexConfig
    from embeddings.encoders.base import Encoders, SentenceTransformerEncoder
    from embeddings.encoders.e5_encoder import load_e5_encoder
    from embeddings.index.builder import build_index
    from embeddings.service import open_retriever

    encoders = Encoders(SentenceTransformerEncoder(), load_e5_encoder())
    cfg = IndexConfig(seeds_dir=seeds, index_dir=index_dir)
    build_index(cfg, encoders)
    return open_retriever(cfg, encoders)


def _collect(retriever: Any, questions: list[str]) -> list[Any]:
    return [retriever.assess(q) for q in questions]


def main() -> int:
    """Collect evidence per group and print the rule's answer rate for each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(3)
    seeds = _retriever(RESULTS / "seeds" / "index", REPO / "seeds")
    dev = [json.loads(line) for line in (SHARED / "eval" / "dev.jsonl").read_text().splitlines()]
    nq = [json.loads(line)["question"] for line in
          (DATA / "nq-open" / "NQ-open.dev.jsonl").read_text().splitlines()]
    xquad_vi = [q for _, q, _ in squad_questions(
        json.loads((DATA / "xquad" / "xquad.vi.json").read_text()))]
    groups: dict[str, tuple[bool, list[Any]]] = {
        "dev answerable": (True, _collect(seeds, [d["q"] for d in dev if d["expect"]])),
        "dev unanswerable": (False, _collect(seeds, [d["q"] for d in dev if not d["expect"]])),
        "nq-open vs seeds": (False, _collect(seeds, rng.sample(nq, args.sample))),
        "xquad-vi vs seeds": (False, _collect(seeds, rng.sample(xquad_vi, args.sample))),
    }
    if (RESULTS / "xquad" / "index").is_dir():
        xq = _retriever(RESULTS / "xquad" / "index", RESULTS / "xquad" / "seeds")
        groups["xquad-vi vs xquad (answerable)"] = (True, _collect(xq, rng.sample(xquad_vi, 300)))
        xquad_en = [q for _, q, _ in squad_questions(
            json.loads((DATA / "xquad" / "xquad.en.json").read_text()))]
        groups["xquad-en vs xquad (answerable)"] = (True, _collect(xq, rng.sample(xquad_en, 300)))
    rule = seeds.abstention
    coverage: dict[str, list[float]] = {}
    for name, (_, evidence) in groups.items():
        coverage[name] = [round(e.coverage, 2) for e in evidence if e is not None]
    for name, (answerable, evidence) in groups.items():
        rate = sum(e is not None and rule.answers(e) for e in evidence) / len(evidence)
        by_space: dict[str, list[float]] = {}
        for e in evidence:
            if e is not None and e.dense is not None:
                by_space.setdefault(e.space, []).append(e.dense)
        spread = {s: [round(float(x), 3) for x in _quantiles(v)] for s, v in by_space.items()}
        label = "answered" if answerable else "answered (should be ~0)"
        print(f"{name:<34} n={len(evidence):<4} {label}: {rate:.3f}  dense q10/50/90/99/max "
              f"{spread}  coverage q50/90/99 {_quantiles(coverage[name])[1:4]}")
    return 0


def _quantiles(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[int(q * (len(ordered) - 1))] for q in (0.1, 0.5, 0.9, 0.99, 1.0)]


if __name__ == "__main__":
    sys.exit(main())
