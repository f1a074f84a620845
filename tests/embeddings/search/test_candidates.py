"""Candidate gathering: every word that matters is searched, and k articles come back
wherever the corpus has them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.search.config import RetrievalConfig
from embeddings.search.retrieval import Retriever
from embeddings.search.terms import terms_that_matter
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder

TOPIC = "Border police of the two provinces discussed the security hotline"


def _write(folder: Path, name: str, title: str, paragraphs: Sequence[str]) -> None:
    body = "\n\n".join(paragraphs)
    (folder / f"{name}.md").write_text(f"---\ntitle: {title}\ndate: 2024-01-02\n---\n{body}\n",
                                       encoding="utf-8")


@pytest.fixture
def crowded(tmp_path: Path) -> IndexConfig:
    """One long article whose 200-odd passages all match the question, and 30 short ones that
    match it less: a list 50 passages deep holds only the long one."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    _write(seeds, "long", "Border police hotline", [
        f"{TOPIC} in meeting number {i}. {TOPIC} again, item {i}." for i in range(450)])
    for i in range(30):
        _write(seeds, f"short-{i:02d}", f"Provincial note {i}",
               [f"Officials of district {i} met about the border. Weather report {i}."])
    return IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")


def _open(cfg: IndexConfig, **knobs: object) -> Retriever:
    encoder = HashingEncoder()
    build_index(cfg, encoder)
    return open_retriever(cfg, encoder, RetrievalConfig(**knobs))  # type: ignore[arg-type]


def test_k_articles_come_back_when_one_article_fills_the_lists(crowded: IndexConfig) -> None:
    retriever = _open(crowded)
    assert retriever.index.manifest.chunk_count > 200  # deeper than k * 10 for k=20
    shallow = retriever.retrieve(TOPIC)  # 50 passages from each list
    assert len({c.article_id for _, c in shallow.ranked}) < 20
    answer = retriever.search(TOPIC, 20)
    ids = [r.article_id for r in answer.results]
    assert len(ids) == len(set(ids)) == 20 and ids[0] == "long"


def test_keyword_only_search_returns_every_matching_article(crowded: IndexConfig) -> None:
    retriever = _open(crowded, mode="keyword", candidates=5, depth_per_article=1)
    answer = retriever.search("border", 31)
    assert len(answer.results) == 31  # every article says "border"
    # Only 31 articles match at all: asking for more returns them, without looping forever.
    assert len(retriever.search("border", 50).results) == 31


def test_no_word_that_matters_is_dropped() -> None:
    terms = ["iii", "britain", "monarch", "succession", "king", "president", "said"]
    counts = {"iii": 400, "britain": 2_500, "monarch": 900, "succession": 1_200, "king": 2_900,
              "president": 31_000, "said": 60_000}
    # 104k passages: 3% is 3,120; the rare words hold 7,900 postings between them, more than
    # the old budget of 1,500, and all of them stay; only the two common ones go.
    assert terms_that_matter(terms, counts, 104_000) == tuple(terms[:5])
    # A small corpus drops nothing: a word in a few of its passages still tells them apart.
    small = {t: min(c, 20) for t, c in counts.items()}
    assert terms_that_matter(terms, small, 25) == tuple(terms)
    # A question made of common words still searches its two rarest.
    assert terms_that_matter(["president", "said", "today"], counts | {"today": 40_000},
                             104_000) == ("president", "today")


def test_the_keyword_list_searches_every_term_of_the_question(crowded: IndexConfig) -> None:
    retriever = _open(crowded)
    searched: list[tuple[str, ...]] = []
    index = retriever.index
    original = index.keyword_top

    def spy(terms: Sequence[str], n: int) -> list[tuple[int, float]]:
        searched.append(tuple(terms))
        return original(terms, n)

    index.keyword_top = spy  # type: ignore[method-assign]
    retriever.search("Which district officials met about the border weather report?", 3)
    assert set(searched[0]) == {"district", "officials", "met", "border", "weather", "report"}


def test_an_article_removed_in_place_weighs_in_no_list(crowded: IndexConfig) -> None:
    """Its vectors stay in the vector index until it compacts (one passage of 481 here); the
    lists, the fused scores and the dense scores abstention reads must be those of a corpus
    without it."""
    from embeddings.service import remove_articles

    question = "Officials of district 7 met about the border. Weather report 7."
    encoder = HashingEncoder()
    build_index(crowded, encoder)
    before = open_retriever(crowded, encoder, RetrievalConfig()).retrieve(question, 5)
    assert before.ranked[0][1].article_id == "short-07"
    remove_articles(crowded, encoder, ["short-07"])
    retriever = open_retriever(crowded, encoder, RetrievalConfig())
    found = retriever.retrieve(question, 5)
    live = {c.row for _, c in found.ranked}
    assert found.ranked and all(c.article_id != "short-07" for _, c in found.ranked)
    assert all(r in live for pairs in found.lists.values() for r, _ in pairs)
    assert set(found.dense_scores) <= live
    assert found.ranked[0][0] == pytest.approx(1.0)  # the best live passage tops the scale
