"""Evaluation on question files: hit@k, MRR and abstention per kind of question."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.answers import Answer
from embeddings.errors import EvalFileError

UNANSWERABLE = "unanswerable"


@dataclass(frozen=True)
class EvalQuestion:
    """One line of an evaluation file (see shared/eval/README.md)."""

    id: str
    q: str
    lang: str
    doc: tuple[str, ...]
    expect: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class QuestionOutcome:
    """How one question fared."""

    question: EvalQuestion
    answered: bool
    hit_rank: int | None
    """Rank of the first excerpt holding an expected string (None: no such excerpt)."""
    seconds: float


def load_eval_file(path: Path) -> list[EvalQuestion]:
    """Read a JSONL evaluation file, naming the line of any malformed entry."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"cannot read evaluation file {path}: {exc}") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                EvalQuestion(
                    id=str(row.get("id", number)), q=str(row["q"]), lang=str(row.get("lang", "")),
                    doc=tuple(row.get("doc", ())), expect=tuple(row.get("expect", ())),
                    kind=str(row.get("kind", "fact")),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvalFileError(f"{path}:{number}: not a valid question ({exc})") from exc
    if not questions:
        raise EvalFileError(f"{path} holds no questions")
    return questions


def first_hit(answer: Answer, expect: Sequence[str]) -> int | None:
    """Rank of the first result whose excerpt contains one of the expected strings verbatim."""
    for result in answer.results:
        if any(e in result.excerpt for e in expect):
            return result.rank
    return None


def run_eval(
    questions: Sequence[EvalQuestion],
    search: Callable[[str, int], Answer],
    *,
    k: int = 5,
    on_question: Callable[[QuestionOutcome], None] | None = None,
) -> list[QuestionOutcome]:
    """Ask every question and record answer, hit rank and latency."""
    outcomes = []
    for question in questions:
        t0 = time.perf_counter()
        answer = search(question.q, k)
        seconds = time.perf_counter() - t0
        hit = first_hit(answer, question.expect) if question.expect else None
        outcome = QuestionOutcome(question, answer.answered, hit, seconds)
        outcomes.append(outcome)
        if on_question is not None:
            on_question(outcome)
    return outcomes


def _group_summary(group: Sequence[QuestionOutcome]) -> dict[str, Any]:
    answerable = [o for o in group if o.question.kind != UNANSWERABLE]
    unanswerable = [o for o in group if o.question.kind == UNANSWERABLE]
    row: dict[str, Any] = {"n": len(group)}
    if answerable:
        n = len(answerable)
        for cut in (1, 3, 5):
            row[f"hit@{cut}"] = sum(o.hit_rank is not None and o.hit_rank <= cut
                                    for o in answerable) / n
        row["mrr"] = sum(1 / o.hit_rank for o in answerable if o.hit_rank) / n
        row["false_abstention"] = sum(not o.answered for o in answerable) / n
    if unanswerable:
        row["abstention"] = sum(not o.answered for o in unanswerable) / len(unanswerable)
    return row


def summarize(outcomes: Sequence[QuestionOutcome]) -> dict[str, Any]:
    """Figures per kind of question, over all answerable ones, and latency."""
    kinds = sorted({o.question.kind for o in outcomes})
    per_kind = {
        kind: _group_summary([o for o in outcomes if o.question.kind == kind]) for kind in kinds
    }
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    return {
        "questions": len(outcomes),
        "per_kind": per_kind,
        "all": _group_summary(outcomes),
        "latency_ms": {
            "mean": round(statistics.fmean(latencies), 1) if latencies else 0.0,
            "p50": round(_percentile(latencies, 50), 1),
            "p95": round(_percentile(latencies, 95), 1),
        },
    }


def _percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(pct / 100 * (len(sorted_values) - 1))))
    return sorted_values[rank]
