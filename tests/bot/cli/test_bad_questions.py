"""Bad questions through the command line: never a traceback, always a polite line or an
answer, and `--json` stays valid JSON. (The bot side is in test_telegram_e2e.py; the core in
test_retriever.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.cli.main import main

pytestmark = pytest.mark.slow

BAD_QUESTIONS = [
    "x" * 100_000,
    "Who led\x00 the\x07 delegation\x1b[31m from Sainyabuli?\x7f",
    "من قاد الوفد؟ \u202eSainyabuli\u202c 🚓🇻🇳👮‍♀️",
    "<script>alert(1)</script> <b>bold</b> &amp; [link](http://x) *stars* _under_ `code`",
    '"Sainyabuli', "Sainyabuli*", "NEAR(Sainyabuli delegation)", "' OR 1=1 --", "a -- b",
]


@pytest.mark.parametrize("question", BAD_QUESTIONS)
def test_the_cli_answers_bad_questions_without_raising(
    question: str, real_index: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--seeds", str(real_index.seeds_dir), "--index", str(real_index.index_dir)]
    assert main([*argv, "ask", question]) == 0
    out = capsys.readouterr()
    assert out.out.strip() and "Traceback" not in out.err
    assert main([*argv, "ask", "--json", question]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(r["highlight"] in r["excerpt"] for r in data["results"])


@pytest.mark.parametrize("question", ["", "   ", "\t\n", "\x00\x01"])
def test_an_empty_question_is_one_polite_line(
    question: str, real_index: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--seeds", str(real_index.seeds_dir), "--index", str(real_index.index_dir)]
    assert main([*argv, "ask", question]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("coopbot: error: the question is empty") and "\n" not in err
