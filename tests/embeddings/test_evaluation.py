"""Evaluation figures from known outcomes, and clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.answers import Answer, Result
from embeddings.errors import EvalFileError
from embeddings.evaluation import load_eval_file, run_eval, summarize


def _result(rank: int, excerpt: str) -> Result:
    return Result(rank, f"a{rank}", "T", None, None, excerpt, excerpt, 0.5, f"a{rank}#0")


def _write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_hits_mrr_and_abstention(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        {"id": "1", "q": "first", "expect": ["alpha"], "kind": "fact"},
        {"id": "2", "q": "second", "expect": ["gamma"], "kind": "fact"},
        {"id": "3", "q": "third", "expect": ["zzz"], "kind": "fact"},
        {"id": "4", "q": "nothing", "expect": [], "kind": "unanswerable"},
    ])
    canned = {
        "first": Answer("first", True, (_result(1, "alpha here"), _result(2, "beta"))),
        "second": Answer(
            "second", False, (_result(1, "beta"), _result(2, "x"), _result(3, "gamma"))
        ),
        "third": Answer("third", True, (_result(1, "none"),)),
        "nothing": Answer("nothing", False, ()),
    }
    summary = summarize(run_eval(load_eval_file(path), lambda q, k: canned[q], k=5))
    fact = summary["per_kind"]["fact"]
    assert fact["hit@1"] == pytest.approx(1 / 3)
    assert fact["hit@3"] == pytest.approx(2 / 3)
    assert fact["mrr"] == pytest.approx((1 + 1 / 3) / 3)
    assert fact["false_abstention"] == pytest.approx(1 / 3)
    assert summary["per_kind"]["unanswerable"]["abstention"] == 1.0
    assert summary["questions"] == 4


def test_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "ok"}\n{"no question": 1}\n', encoding="utf-8")
    with pytest.raises(EvalFileError, match=r"bad.jsonl:2"):
        load_eval_file(path)


def test_missing_file_is_an_eval_error(tmp_path: Path) -> None:
    with pytest.raises(EvalFileError, match="cannot read"):
        load_eval_file(tmp_path / "absent.jsonl")
