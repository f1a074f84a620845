"""Metadata and period questions on the real seeds and models: the article's own record
answers them ("Who wrote …", "When was … published"), and a period lists its articles."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.slow

QUANG_NINH, THAILAND, CAMBODIA = ("000_0d9ee5e30ea4e9d7", "001_838a14d103250a53",
                                  "003_b710457b8d8033c8")


@pytest.mark.parametrize(("question", "asks", "article"), [
    ("Who wrote the article about Sainyabuli?", "byline", QUANG_NINH),
    ("Tác giả bài báo về Quảng Ninh là ai?", "byline", QUANG_NINH),
    ("When was the article about the Cambodian anti-drug force published?", "date", CAMBODIA),
    ("Bài báo về Campuchia được đăng khi nào?", "date", CAMBODIA),
    ("Which agency reported the Thai police meeting?", "source", THAILAND),
    ("Where was the story about the Royal Thai Police filed?", "place", THAILAND),
])
def test_a_metadata_question_is_answered_from_the_right_articles_record(
        real_retriever, question: str, asks: str, article: str) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search(question, k=3)
    assert answer.answered and answer.asks == asks and answer.query == question
    first = answer.answers[0]
    assert first.article_id == article
    expected = {QUANG_NINH: {"byline": "Duy Tien", "date": dt.date(2023, 8, 25)},
                THAILAND: {"source": "VNA", "place": "Bangkok"},
                CAMBODIA: {"date": dt.date(2023, 10, 30), "source": "VNA"}}[article]
    value = {"byline": first.byline, "date": first.date, "source": first.source,
             "place": first.place}[asks]
    assert value == expected[asks]


def test_a_metadata_question_about_an_absent_subject_is_not_answered(real_retriever) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search("Who wrote the article about the Philippine coast guard?")
    assert not answer.answered and not answer.answers


def test_a_period_question_lists_its_articles_newest_first_with_scores_in_range(
        real_retriever) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search("What happened in 2023?", k=5)
    assert answer.answered and answer.asks == "period"
    assert answer.period == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert [r.article_id for r in answer.answers] == [THAILAND, CAMBODIA, QUANG_NINH]
    assert all(0.0 <= r.score <= 1.0 and r.highlight in r.excerpt for r in answer.results)
    autumn = real_retriever.search("Tin tức từ tháng 9 đến tháng 11 năm 2023", k=5)
    assert [r.article_id for r in autumn.answers] == [CAMBODIA]


def test_a_period_without_articles_is_searched_as_a_question(real_retriever) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search("What happened in 2019?")
    assert answer.asks == "passage" and not answer.answered


def test_a_period_with_a_subject_is_a_search_within_it(real_retriever) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search("What did Vietnam and Thailand agree in December 2023?")
    assert answer.asks == "passage" and answer.answers[0].article_id == THAILAND
    assert all(0.0 <= r.score <= 1.0 for r in answer.results)
