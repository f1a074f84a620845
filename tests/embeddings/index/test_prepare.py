"""Chunks and signatures before encoding: the same whether worked out in place or in workers."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.chunking.chunker import ChunkConfig
from embeddings.corpus.duplicates import signature
from embeddings.corpus.sources import scan_corpus
from embeddings.index.prepare import PARALLEL_MIN_CHARS, _workers, prepare_articles, usable_cpus
from tests.conftest import SEEDS
from tests.support.fake_encoders import HashingEncoder


@pytest.fixture(scope="module")
def articles():  # type: ignore[no-untyped-def]
    corpus = scan_corpus(SEEDS)
    return corpus.load(sorted(corpus.fingerprints), max_bytes=10**7).articles


def test_workers_give_what_the_parent_gives_in_the_same_order(articles) -> None:  # type: ignore[no-untyped-def]
    enc = HashingEncoder()
    cfg = ChunkConfig(target_tokens=60)
    many = list(articles) * 4  # enough pieces for both workers
    here = prepare_articles(many, cfg, enc.count_tokens, enc.max_tokens, workers=1)
    there = prepare_articles(many, cfg, enc.count_tokens, enc.max_tokens, workers=2)
    assert len(here) == len(there) == len(many)
    for article, a, b in zip(many, here, there, strict=True):
        assert [c.embed_text for c in a.chunks] == [c.embed_text for c in b.chunks]
        assert a.units == b.units
        np.testing.assert_array_equal(a.signature, b.signature)
        np.testing.assert_array_equal(b.signature, signature("\n".join(article.paragraphs)))
        assert all(c.article_id == article.id for c in b.chunks)
    assert sum(len(p.chunks) for p in there) > 3 * len(many)


def test_only_large_jobs_use_workers(articles) -> None:  # type: ignore[no-untyped-def]
    assert _workers(articles) == 1  # three seed articles: a few thousand characters
    text = sum(len(p) for a in articles for p in a.paragraphs)
    enough = list(articles) * (PARALLEL_MIN_CHARS // text + 1)
    assert _workers(enough) == min(usable_cpus(), 8)  # one per CPU
    assert prepare_articles([], ChunkConfig(), HashingEncoder().count_tokens, 256) == []
