"""The per-article work of a build before encoding: MinHash signature, sentences, chunks and
aliases.

It is pure CPU work in Python (tokenizing for token counts, regular expressions, hashing):
22 s of a 100k-passage build on one core while the other sat idle, 14 s on two. A large build
spreads it over worker processes; a small one (an update of a few articles) does it in place,
where starting workers would cost more than they save.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from embeddings.articles.aliases import Alias, find_aliases
from embeddings.articles.parsing import Article
from embeddings.chunking.chunker import Chunk, ChunkConfig, TokenCounter, Unit, chunk_article
from embeddings.corpus.duplicates import signature

# Below this much article text (about 250 passages) the work takes under a second in place.
PARALLEL_MIN_CHARS = 300_000


@dataclass(frozen=True)
class Prepared:
    """One article ready to be checked for duplicates and encoded."""

    signature: np.ndarray
    units: list[Unit]
    chunks: list[Chunk]
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True)
class _Job:
    chunk: ChunkConfig
    count_tokens: TokenCounter
    max_tokens: int


# What a forked worker inherits: the token counter is often a bound method of a loaded model,
# which could not be pickled to a spawned process.
_job: _Job | None = None


def prepare_articles(
    articles: Sequence[Article],
    chunk: ChunkConfig,
    count_tokens: TokenCounter,
    max_tokens: int,
    workers: int | None = None,
) -> list[Prepared]:
    """Signature, units, chunks and aliases of each article, in the articles' order.

    Args:
        workers: processes to use; None: one per CPU when there is enough text to be worth it.
    """
    job = _Job(chunk, count_tokens, max_tokens)
    count = _workers(articles) if workers is None else workers
    if count <= 1 or len(articles) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_prepare(job, article) for article in articles]
    global _job
    _job = job
    try:
        # fork: the workers start in milliseconds with the model's tokenizer already loaded.
        # They run only this module's pure functions, never the parent's threads or databases.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(count, mp_context=context) as pool:
            size = max(1, len(articles) // (count * 8))  # small pieces even out the load
            return list(pool.map(_prepare_inherited, articles, chunksize=size))
    finally:
        _job = None


def usable_cpus() -> int:
    """CPUs this process may run on (a container's limit, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _workers(articles: Sequence[Article]) -> int:
    text = sum(len(p) for article in articles for p in article.paragraphs)
    return min(usable_cpus(), 8) if text >= PARALLEL_MIN_CHARS else 1


def _prepare_inherited(article: Article) -> Prepared:
    assert _job is not None, "worker started without a job"
    return _prepare(_job, article)


def _prepare(job: _Job, article: Article) -> Prepared:
    units, chunks = chunk_article(article, job.chunk, job.count_tokens, job.max_tokens)
    return Prepared(signature("\n".join(article.paragraphs)), units, chunks,
                    find_aliases(article.paragraphs))
