"""The core's facade for front ends: `Library` over a real index (with the fake encoder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.index.builder import build_index
from embeddings.service import Library, list_articles
from tests.support.fake_encoders import HashingEncoder

OFFICE = "---\ntitle: Dien Bien office\ndate: 2024-03-02\n---\nThe police of Dien Bien opened a " \
         "liaison office.\n"


class CountingLibrary(Library):
    """Counts how often the index is (re)opened."""

    opened = 0

    def _open(self):  # type: ignore[no-untyped-def]
        type(self).opened += 1
        return super()._open()


@pytest.fixture
def cfg(seeds: Path, tmp_path: Path) -> IndexConfig:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    return cfg


def test_reopens_an_index_changed_by_another_process(cfg: IndexConfig, seeds: Path) -> None:
    CountingLibrary.opened = 0
    library = CountingLibrary(cfg, HashingEncoder())
    first, tag = library.retriever, library.build_id
    assert library.retriever is first and CountingLibrary.opened == 1  # unchanged: not reopened
    (seeds / "2024-03-02-office.md").write_text(OFFICE, encoding="utf-8")
    build_index(cfg, HashingEncoder())  # an in-place update, as `coopbot index` does
    second = library.retriever
    assert second is not first and CountingLibrary.opened == 2 and library.build_id == tag
    assert library.search("Dien Bien liaison office", 1).results[0].title == "Dien Bien office"
    build_index(cfg, HashingEncoder(), full=True)  # another build becomes current
    assert library.retriever is not second and CountingLibrary.opened == 3
    assert library.build_id != tag


def test_articles_are_listed_as_coopbot_list_lists_them(cfg: IndexConfig, seeds: Path) -> None:
    (seeds / "2024-03-02-office.md").write_text(OFFICE, encoding="utf-8")
    library = Library(cfg, HashingEncoder())
    library.rebuild()
    listed = [a.id for a in list_articles_of(cfg)]
    assert [a.id for a in library.articles()] == listed
    assert listed[0] == "2024-03-02-office"  # newest first
    assert [a.id for a in library.articles(1, 2)] == listed[1:3]
    assert library.article_count() == len(listed) == 4
    assert library.date_range() == (min(a.date for a in library.articles() if a.date),
                                    library.articles()[0].date)


def list_articles_of(cfg: IndexConfig) -> list:  # type: ignore[type-arg]
    from embeddings.service import CoreConfig

    return list_articles(CoreConfig(index=cfg))


def test_an_article_is_its_paragraphs_in_order(cfg: IndexConfig, seeds: Path) -> None:
    library = Library(cfg, HashingEncoder())
    article = library.article(library.articles()[0].id)
    assert article is not None and len(article.paragraphs) >= 3
    source = next(seeds.glob(f"{article.record.id}.*")).read_text(encoding="utf-8")
    assert article.paragraphs[0][:40] in " ".join(source.split())
    assert library.article("no-such-article") is None


def test_every_answer_cites_each_article_once(cfg: IndexConfig) -> None:
    library = Library(cfg, HashingEncoder())
    for question in ["police cooperation", "drug crimes Cambodia", "Thailand meeting", "x"]:
        ids = [r.article_id for r in library.search(question, 9).results]
        assert len(ids) == len(set(ids))


def test_info_reports_the_served_build(cfg: IndexConfig) -> None:
    info = Library(cfg, HashingEncoder()).info()
    assert info.articles == 3 and info.passages > 3 and info.model == HashingEncoder().name


def test_warm_up_asks_one_question_of_each_language_path(cfg: IndexConfig) -> None:
    """English, Vietnamese and Vietnamese without accents: each goes down its own path (the
    unaccented one through the accent restorer), so each is asked once before users are."""
    from embeddings.search.language import detect_language
    from embeddings.service.library import WARM_UP

    asked: list[str] = []

    class Asking(Library):
        def search(self, question, k=3, **kwargs):  # type: ignore[no-untyped-def]
            asked.append(question)
            return super().search(question, k, **kwargs)

    Asking(cfg, HashingEncoder()).warm_up()
    assert asked == list(WARM_UP)
    assert [detect_language(q) for q in WARM_UP] == ["en", "vi", "vi"]
    assert any(q.isascii() for q in WARM_UP[1:]) and not all(q.isascii() for q in WARM_UP[1:])
