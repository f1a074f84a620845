"""Chunking: passages fit the window, overlap by a sentence, cover all, stay in one article."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from embeddings.articles.parsing import Article, load_articles
from embeddings.chunking.chunker import ChunkConfig, chunk_article, passage_prefix
from tests.conftest import SEEDS
from tests.support.fake_encoders import HashingEncoder


def _article(paragraphs: list[str], title: str = "Title") -> Article:
    return Article(
        id="x", title=title, date=dt.date(2023, 12, 9), source=None, byline=None, place=None,
        url=None, language=None, paragraphs=tuple(paragraphs), path=Path("x.txt"),
    )


def _sentences(n: int, words: int = 9) -> str:
    return " ".join(f"Sentence {i} " + "word " * (words - 3) + "end." for i in range(n))


def test_chunks_fit_budget_cover_all_units_and_overlap_one_sentence() -> None:
    enc = HashingEncoder(max_tokens=64)
    article = _article([_sentences(12), _sentences(7)])
    units, chunks = chunk_article(article, ChunkConfig(target_tokens=30), enc.count_tokens, 64)
    assert len(units) == 19
    for chunk in chunks:
        assert enc.count_tokens([chunk.embed_text])[0] + 2 <= 64
        assert enc.count_tokens([chunk.text])[0] <= 30
        assert chunk.embed_text.startswith(passage_prefix(article))
        assert passage_prefix(article) not in chunk.text
    assert chunks[0].start == 0 and chunks[-1].end == len(units)
    for before, after in zip(chunks, chunks[1:], strict=False):
        if units[before.end].paragraph != units[before.end - 1].paragraph:
            assert after.start == before.end  # a paragraph break needs no overlap
        else:
            assert after.start == before.end - 1  # exactly one sentence of overlap
    assert any(c.end == 12 for c in chunks)  # ends at the paragraph break, not across it
    assert {c.article_id for c in chunks} == {"x"}


def test_short_paragraphs_merge_into_one_passage() -> None:
    enc = HashingEncoder()
    article = _article(["One short line.", "Another short line.", "A third one."])
    _, chunks = chunk_article(article, ChunkConfig(target_tokens=40), enc.count_tokens, 64)
    assert len(chunks) == 1 and chunks[0].text.count("\n") == 2


def test_paragraph_break_is_kept_inside_an_excerpt() -> None:
    enc = HashingEncoder()
    article = _article(["First one. Second one.", "Third one."])
    _, chunks = chunk_article(article, ChunkConfig(), enc.count_tokens, 64)
    assert chunks[0].text == "First one. Second one.\nThird one."


def test_overlong_sentence_is_cut_to_fit() -> None:
    enc = HashingEncoder(max_tokens=64)
    article = _article(["word " * 200 + "end."])
    units, chunks = chunk_article(article, ChunkConfig(target_tokens=40), enc.count_tokens, 64)
    assert len(units) >= 5
    assert all(enc.count_tokens([c.text])[0] <= 40 for c in chunks)
    assert " ".join(u.text for u in units).split() == article.paragraphs[0].split()


def test_overlap_zero_gives_disjoint_chunks() -> None:
    enc = HashingEncoder()
    article = _article([_sentences(10)])
    _, chunks = chunk_article(
        article, ChunkConfig(target_tokens=20, overlap_sentences=0), enc.count_tokens, 64
    )
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:], strict=False))


@pytest.mark.slow
def test_real_tokenizer_keeps_every_seed_passage_inside_the_window(real_encoder) -> None:  # type: ignore[no-untyped-def]
    report = load_articles(SEEDS)
    long_article = _article([_sentences(60, words=30)], title="A long title " * 10)
    cfg = ChunkConfig(target_tokens=240)  # bigger than the window leaves once the title is in
    for article in (*report.articles, long_article):
        _, chunks = chunk_article(article, cfg, real_encoder.count_tokens, real_encoder.max_tokens)
        for chunk in chunks:
            n = len(real_encoder._tokenizer.encode(chunk.embed_text).ids)  # with [CLS], [SEP]
            assert n <= real_encoder.max_tokens, chunk.chunk_id
