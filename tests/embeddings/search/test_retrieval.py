"""The Retriever end to end with fake encoders: hybrid ranking, dates, languages, reranking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.encoders.base import Encoders
from embeddings.index.builder import build_index
from embeddings.search.retrieval import RetrievalConfig
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder

TODAY = dt.date(2026, 11, 22)


def _article(folder: Path, name: str, title: str, date: str, body: str) -> None:
    (folder / f"{name}.md").write_text(
        f"---\ntitle: {title}\ndate: {date}\nsource: Test Wire\n---\n{body}\n", encoding="utf-8"
    )


@pytest.fixture
def corpus(tmp_path: Path) -> IndexConfig:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    same = ("Police of the two provinces met to discuss border security. They agreed to share "
            "information about fugitives. A hotline will be set up.")
    # Near-identical texts (identical ones would be skipped as duplicates): only dates differ.
    _article(seeds, "a-2023", "Border talks", "2023-12-05", same + " It opens soon.")
    _article(seeds, "b-2021", "Border talks", "2021-03-10", same + " It opens later.")
    _article(seeds, "c-drugs", "Drug workshop", "2023-10-30",
             "A training workshop on drug crimes was held in Ho Chi Minh City. "
             "Officers from Cambodia attended.\n\nThe workshop runs for six days.")
    return IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")


def _retriever(cfg: IndexConfig, encoders: HashingEncoder | Encoders, **kw: object):  # type: ignore[no-untyped-def]
    build_index(cfg, encoders)
    retriever = open_retriever(cfg, encoders, RetrievalConfig(**kw))  # type: ignore[arg-type]
    retriever.today = lambda: TODAY
    return retriever


def test_one_entry_per_article_with_verbatim_highlight(corpus: IndexConfig) -> None:
    answer = _retriever(corpus, HashingEncoder()).search("workshop on drug crimes", 5)
    ids = [r.article_id for r in answer.results]
    assert ids[0] == "c-drugs" and len(ids) == len(set(ids)) == 3
    for result in answer.results:
        assert result.highlight in result.excerpt
    assert "workshop" in answer.results[0].highlight.lower()
    assert answer.to_dict()["results"][0]["date"] == "2023-10-30"


def test_a_date_in_the_question_boosts_articles_of_that_period(corpus: IndexConfig) -> None:
    retriever = _retriever(corpus, HashingEncoder())
    assert retriever.search("border security talks in March 2021", 1).results[0].article_id == (
        "b-2021")
    assert retriever.search("border security talks in December 2023", 1).results[0].article_id == (
        "a-2023")


def test_fts_syntax_and_junk_questions_do_not_raise(corpus: IndexConfig) -> None:
    retriever = _retriever(corpus, HashingEncoder())
    for question in ['"hotline', "hotline*", "NEAR(hotline fugitives)", "' OR 1=1 --", "\x00",
                     "   ", "🙂🙂", "<b>hotline</b>", "x" * 100_000]:
        answer = retriever.search(question, 3)
        assert all(r.highlight in r.excerpt for r in answer.results)
    assert retriever.search("", 3).results == ()


def test_vietnamese_questions_use_the_multilingual_space(corpus: IndexConfig) -> None:
    primary, multi = HashingEncoder(name="fake/en"), HashingEncoder(name="fake/multi")
    retriever = _retriever(corpus, Encoders(primary, multi))
    primary.encoded_texts.clear()
    found = retriever.retrieve("Hội thảo về tội phạm ma túy ở Thành phố Hồ Chí Minh")
    assert found.language == "vi" and found.dense_space == "multilingual"
    assert retriever.retrieve("workshop on drugs").dense_space == "primary"


def test_keyword_and_dense_modes(corpus: IndexConfig) -> None:
    keyword = _retriever(corpus, HashingEncoder(), mode="keyword")
    found = keyword.retrieve("hotline fugitives")
    assert found.dense_space is None and found.ranked
    assert keyword.search("hotline fugitives", 1).results[0].article_id in {"a-2023", "b-2021"}
    dense = _retriever(corpus, HashingEncoder(), mode="dense")
    assert dense.retrieve("hotline fugitives").dense_space == "primary"


class ReverseReranker:
    """A tiny fake cross-encoder: prefers the passage with the most 'Cambodia' mentions."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        self.calls += 1
        return [float(p.count("Cambodia")) for p in passages]


def test_reranker_reorders_candidates(corpus: IndexConfig) -> None:
    build_index(corpus, HashingEncoder())
    reranker = ReverseReranker()
    retriever = open_retriever(corpus, HashingEncoder(), reranker=reranker)
    answer = retriever.search("border security fugitives hotline", 1)
    assert reranker.calls == 1 and answer.results[0].article_id == "c-drugs"
