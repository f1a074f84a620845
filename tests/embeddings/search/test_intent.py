"""What a question asks for: metadata and period questions told apart from ordinary ones."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from embeddings.search.intent import read_intent
from tests.conftest import SHARED

TODAY = dt.date(2026, 12, 2)


@pytest.mark.parametrize(("question", "asks", "subject"), [
    ("Who wrote the article about Cambodia?", "byline", "Cambodia"),
    ("Who is the author of the Quang Ninh article?", "byline", "Quang Ninh"),
    ("Ai viết bài về Campuchia?", "byline", "Campuchia"),
    ("Tác giả bài báo về Quảng Ninh là ai?", "byline", "Quảng Ninh"),
    ("When was the article about Sainyabuli published?", "date", "Sainyabuli"),
    ("What date was the Thailand article published?", "date", "Thailand"),
    ("Bài báo về Sainyabuli được đăng khi nào?", "date", "Sainyabuli"),
    ("bai bao ve Thai Lan dang khi nao", "date", "Thai Lan"),
    ("Which agency reported the Thai police meeting?", "source", "Thai police meeting"),
    ("What is the source of the Cambodia article?", "source", "Cambodia"),
    ("Hãng tin nào đưa tin về cuộc gặp ở Bangkok?", "source", "cuộc gặp Bangkok"),
    ("Where was the Bangkok story filed?", "place", "Bangkok"),
    ("Bai ve Campuchia viet o dau?", "place", "Campuchia"),
])
def test_metadata_questions_ask_for_a_fact_of_the_article_they_describe(
        question: str, asks: str, subject: str) -> None:
    intent = read_intent(question, TODAY)
    assert (intent.asks, intent.subject) == (asks, subject)


@pytest.mark.parametrize("question", [
    "Who wrote the Constitution?", "When was the treaty signed?", "Who wrote it?",
    "When was the IPCC Fourth Assessment Report published?", "What was the source of the Rhine?",
    "Who led the delegation from Sainyabuli?", "Ai là tác giả của Liber servitoris?",
    "Cơn bão nào có tác động đáng kể nhất đến Jacksonville?",
    "Galor và Zeria chỉ ra thông tin mới về bất bình đẳng khi nào?",
    "What did Vietnam and Thailand agree in December 2023?",
])
def test_questions_about_the_text_are_searched_as_asked(question: str) -> None:
    intent = read_intent(question, TODAY)
    assert (intent.asks, intent.subject) == ("passage", question)


@pytest.mark.parametrize(("question", "start", "end"), [
    ("What happened in December 2023?", dt.date(2023, 12, 1), dt.date(2023, 12, 31)),
    ("What happened in 2023?", dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
    ("Tin tức tháng 10/2023", dt.date(2023, 10, 1), dt.date(2023, 10, 31)),
    ("Có gì mới trong tháng 12 năm 2023?", dt.date(2023, 12, 1), dt.date(2023, 12, 31)),
    ("any news last month?", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
])
def test_a_question_naming_only_a_period_asks_for_its_articles(
        question: str, start: dt.date, end: dt.date) -> None:
    intent = read_intent(question, TODAY)
    assert intent.asks == "period" and intent.period is not None
    assert (intent.period.start, intent.period.end) == (start, end)


@pytest.mark.parametrize("name", ["squad/squad-v1.1-dev.json", "xquad/xquad.vi.json"])
def test_almost_no_encyclopedia_question_reads_as_metadata(name: str) -> None:
    """SQuAD and XQuAD ask about their texts: a metadata reading would answer them with a
    byline or a date. At most 1 in 1,000 may (a few really are about an article)."""
    path = SHARED / "data" / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    data = json.loads(path.read_text(encoding="utf-8"))
    questions = [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]]
    metadata = [q for q in questions
                if read_intent(q, TODAY).asks in ("byline", "date", "source", "place")]
    assert len(metadata) <= len(questions) / 1000, metadata
