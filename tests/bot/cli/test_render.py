"""Terminal rendering: marks, citations and the no-answer text."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.cli.render import NO_ANSWER, citation, mark, render_answer, render_build
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


def test_unanswered_is_said_plainly_and_shows_titles_only() -> None:
    text = render_answer(Answer("q", False, (R,)), color=False)
    assert text.startswith(NO_ANSWER)
    assert "Closest articles (they do not answer this):" in text and R.title in text
    assert R.excerpt not in text and "The answer is here." not in text
    assert render_answer(Answer("q", False, ()), color=False) == NO_ANSWER


def test_why_there_is_no_answer() -> None:
    answer = Answer("What did Vietnam and the Philippines agree?", False, (R,),
                    missing=("Philippines", "coast guard"))
    text = render_answer(answer, color=False, articles=3)
    assert "None of the 3 articles mentions “Philippines” or “coast guard”." in text


def test_weaker_results_are_titles_and_answers_are_numbered_as_shown() -> None:
    weak = replace(R, rank=2, article_id="002_y", title="Other article", excerpt="Unrelated.",
                   highlight="Unrelated.", relevant=False)
    third = replace(R, rank=3, article_id="003_z", title="Third", relevant=True)
    text = render_answer(Answer("q", True, (R, weak, third)), color=False)
    assert text.startswith("1. Vietnam, Thailand") and "\n\n2. Third" in text
    assert "Related articles (they may not answer this):\n   - Other article" in text
    assert "Unrelated." not in text


def test_the_byline_is_cited() -> None:
    text = render_answer(Answer("q", True, (replace(R, byline="Le Thi Mai"),)), color=False)
    assert "· VNA · by Le Thi Mai · [001_x]" in text


def test_corrected_typos_are_mentioned() -> None:
    text = render_answer(Answer("q", True, (R,), corrections=(("phett", "phet"),)), color=False)
    assert text.startswith("(Searched for “phet” for “phett”.)")


def test_build_summary_names_skipped_and_repaired_files() -> None:
    from pathlib import Path

    from embeddings.articles.parsing import FileProblem
    from embeddings.index.report import BuildReport

    report = BuildReport(
        articles=3, chunks=20, embedded=0, reused=20,
        problems=(FileProblem(Path("seeds/empty.txt"), "empty file", True),
                  FileProblem(Path("seeds/old.txt"), "not UTF-8; decoded as cp1252", False)),
        seconds=0.4, encode_seconds=0.0, build_path=Path("index/builds/x"), full=True,
    )
    text = render_build(report)
    assert text.startswith("Built the index in 0.4 s. 3 articles")
    assert "embedded 0, reused 20" in text
    assert "Skipped 1 file(s):\n  empty.txt: empty file" in text
    assert "Repaired 1 file(s):\n  old.txt: not UTF-8; decoded as cp1252" in text


def test_build_summary_of_updates_and_long_problem_lists() -> None:
    from pathlib import Path

    from embeddings.articles.parsing import FileProblem
    from embeddings.index.report import BuildReport

    problems = tuple(FileProblem(Path(f"c.jsonl#r{i}"), "no text field", True) for i in range(25))
    update = BuildReport(articles=9, chunks=90, embedded=4, reused=0, problems=problems,
                         seconds=1.5, encode_seconds=0.5, build_path=Path("b"), added=2,
                         removed=1)
    text = render_build(update)
    assert text.startswith("Updated the index in 1.5 s: added 2, removed 1. 9 articles")
    assert text.count("no text field") == 20 and "... and 5 more" in text
    same = BuildReport(9, 90, 0, 0, (), 0.2, 0.0, Path("b"))
    assert render_build(same).startswith("Index is up to date: 9 articles, 90 passages")
