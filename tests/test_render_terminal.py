"""Terminal rendering: marks, citations and the no-answer text."""

from __future__ import annotations

import datetime as dt

from bot.render_terminal import NO_ANSWER, citation, mark, render_answer
from embeddings.answers import Answer, Result

R = Result(1, "001_x", "Vietnam, Thailand foster security cooperation", dt.date(2023, 12, 9),
           "VNA", "First sentence. The answer is here. Last one.", "The answer is here.", 0.61,
           "001_x#0")


def test_mark_plain_and_color() -> None:
    assert "**The answer is here.**" in mark(R.excerpt, R.highlight, color=False)
    assert "\033[1mThe answer is here.\033[0m" in mark(R.excerpt, R.highlight, color=True)


def test_citation_has_title_date_source_and_id() -> None:
    expected = "Vietnam, Thailand foster security cooperation · 2023-12-09 · VNA · [001_x]"
    assert citation(R) == expected


def test_unanswered_is_said_plainly_before_any_passage() -> None:
    text = render_answer(Answer("q", False, (R,)), color=False)
    assert text.startswith(NO_ANSWER)
    assert "probably not relevant" in text
    assert render_answer(Answer("q", False, ()), color=False) == NO_ANSWER
