"""Answered or not, on the real models and seeds: the confidence model end to end.

The questions are written for these tests (not dev.jsonl's), of the kinds the bot is judged
on: short factual ones, Vietnamese ones, near misses whose country or agency no article
mentions, and general-knowledge ones that have nothing to do with the corpus.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.search.retrieval import RetrievalConfig
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder

ANSWERABLE = [
    ("Where did Luong Tam Quang meet Surachate Hakparn?", "001", "Bangkok"),
    ("How much money did the Quang Ninh police give to Sainyabuli?", "000", "$5,000"),
    ("When does the anti-drug training workshop in Ho Chi Minh City run?", "003",
     "October 29 to November 3"),
    ("Who is Voranut Khongmuang?", "001", "National Security Council"),
    ("When was the memorandum between the Vietnamese and Thai police agencies signed?", "001",
     "2016"),
    ("Ai dẫn đầu đoàn công tác Công an tỉnh Sainyabuli?", "000", "Kham Pheng Phet"),
    ("Thứ trưởng Lương Tam Quang làm việc với ai tại Bangkok?", "001", "Surachate Hakparn"),
    ("Hội thảo tập huấn phòng chống ma túy cho Campuchia diễn ra ở đâu?", "003",
     "Ho Chi Minh City"),
]
NEAR_MISSES = [
    ("What did Vietnam and the Philippines agree on coast guard cooperation?", "Philippines"),
    ("What did the Japanese police promise Laos?", "Japanese"),
    ("What did the Indonesian police donate to Cambodia?", "Indonesian"),
    ("When did Luong Tam Quang visit Kuala Lumpur?", "Kuala Lumpur"),
    ("Việt Nam và Nhật Bản đã ký kết thỏa thuận gì về phòng chống ma túy?", "Japan"),
]
OFF_TOPIC = [
    "who sang the song hotel california",
    "what is the tallest mountain in africa",
    "when did the first harry potter movie come out",
    "how many players are on a rugby union team",
    "Giá xăng hôm nay là bao nhiêu?",
]
# A known defect, kept visible: Vietnamese questions with no name or domain term have only e5's
# cross-lingual cosine as evidence, and 15% of XQuAD's Vietnamese questions asked against the
# seeds are answered (`benchmarks/abstention.py`, 2026-12-02). This one is among them since the
# Vietnamese answer sentences are scored with stored vectors.
ANSWERED_OFF_TOPIC = {"Giá xăng hôm nay là bao nhiêu?"}


@pytest.mark.slow
@pytest.mark.parametrize(("question", "doc", "expected"), ANSWERABLE)
def test_answerable_questions_are_answered(real_retriever, question: str, doc: str,  # type: ignore[no-untyped-def]
                                           expected: str) -> None:
    answer = real_retriever.search(question, 3)
    assert answer.answered, (question, answer.confidence)
    first = answer.results[0]
    assert first.article_id.startswith(doc) and expected in first.excerpt
    assert first.relevant and answer.answers[0] is first
    assert answer.missing == ()


@pytest.mark.slow
@pytest.mark.parametrize(("question", "absent"), NEAR_MISSES)
def test_near_misses_are_refused_and_say_what_no_article_mentions(  # type: ignore[no-untyped-def]
        real_retriever, question: str, absent: str) -> None:
    answer = real_retriever.search(question, 3)
    assert not answer.answered, (question, answer.confidence)
    assert absent in answer.missing
    assert answer.answers == () and not any(r.relevant for r in answer.results)


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    pytest.param(q, marks=pytest.mark.xfail(strict=True, reason="off-topic Vietnamese without "
                                            "names: 15% answered")) if q in ANSWERED_OFF_TOPIC
    else q for q in OFF_TOPIC])
def test_off_topic_questions_are_refused(real_retriever, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = real_retriever.search(question, 3)
    assert not answer.answered, (question, answer.confidence)


@pytest.mark.slow
def test_confidence_is_a_probability_that_decides(real_retriever) -> None:  # type: ignore[no-untyped-def]
    questions = [q for q, _, _ in ANSWERABLE] + [q for q, _ in NEAR_MISSES] + OFF_TOPIC
    answered, refused = [], []
    for question in questions:
        answer = real_retriever.search(question, 3)
        assert answer.confidence is not None and 0.0 <= answer.confidence <= 1.0
        assert answer.confidence == answer.results[0].confidence
        for result in answer.results:
            assert result.confidence is not None and 0.0 <= result.confidence <= 1.0
        (answered if answer.answered else refused).append(answer.confidence)
    assert answered and refused and min(answered) > max(refused)


@pytest.mark.slow
def test_other_articles_results_are_not_answers(real_retriever) -> None:  # type: ignore[no-untyped-def]
    for question, doc, _ in ANSWERABLE[:4]:
        answer = real_retriever.search(question, 3)
        assert len(answer.results) == 3
        for result in answer.results[1:]:
            assert not result.article_id.startswith(doc)
            assert not result.relevant, (question, result.article_id, result.confidence)
        assert [r.rank for r in answer.related] == [2, 3]


@pytest.mark.slow
def test_date_questions_score_within_0_and_1(real_retriever) -> None:  # type: ignore[no-untyped-def]
    for question in ("What happened in December 2023?", "Which meetings took place in 2023?",
                     "Công an Việt Nam đã làm gì vào tháng 10 năm 2023?"):
        answer = real_retriever.search(question, 3)
        scores = [r.score for r in answer.results]
        assert all(0.0 <= s <= 1.0 for s in scores), (question, scores)
        assert scores == sorted(scores, reverse=True)


def test_the_date_bonus_keeps_scores_within_0_and_1_and_the_ranking(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    body = "Police of the two provinces met to discuss border security and fugitives."
    for name, day in (("a", "2023-12-05"), ("b", "2021-03-10")):
        (seeds / f"{name}.md").write_text(
            f"---\ntitle: Border talks {name}\ndate: {day}\n---\n{body} Note {name}.\n",
            encoding="utf-8")
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    scores = {}
    for boost in (0.0, 1.0):
        retriever = open_retriever(cfg, HashingEncoder(), RetrievalConfig(date_boost=boost))
        retriever.today = lambda: dt.date(2026, 11, 22)
        found = retriever.retrieve("What did the police discuss in December 2023?")
        assert all(0.0 <= s <= 1.0 for s, _ in found.ranked)
        scores[boost] = {c.row: (s, c.article_id) for s, c in found.ranked}
    # The bonus (a third) goes to the article dated in December 2023, then all is scaled back.
    for row, (plain, article) in scores[0.0].items():
        expected = (plain + (1 / 3 if article == "a" else 0.0)) / (4 / 3)
        assert scores[1.0][row][0] == pytest.approx(expected)
