"""Embedding a build's new passages, cache first: only text the cache has not seen is encoded.

Each space whose encoder can (`SpanEncoder`: MiniLM, and e5 on ONNX Runtime) also yields
sentence vectors: each passage's encoding is pooled over its sentences' token spans, and a
sentence's vector is the mean over the passages that hold it. Answering then scores sentences
with a dot product instead of encoding them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embeddings.articles.parsing import Article
from embeddings.chunking.chunker import Chunk, Unit, unit_spans
from embeddings.config import IndexConfig
from embeddings.encoders.base import Encoder, Encoders, SpanEncoder
from embeddings.encoders.cache import EmbeddingCache, cache_key, vector_bytes, vector_from
from embeddings.index.report import BuildObserver

if TYPE_CHECKING:
    from embeddings.index.postgres.shared_cache import SharedEmbeddingCache

# Texts handed to the encoder at a time (progress is reported per call).
_ENCODE_EVERY = 64
# Seconds of encoding between two cache commits: a killed build loses at most this much work.
# (A commit per call cost 14 ms each in a 1 GB cache, 0.6 s of adding 10 articles.)
_COMMIT_SECONDS = 2.0
# A build waiting for workers looks at its jobs this often, and says so when none progress.
_WAIT_POLL_S = 0.5
_WAIT_NOTE_S = 30.0

log = logging.getLogger(__name__)

Spans = Sequence[tuple[int, int]]
"""A passage's sentences as character spans of its embedded text."""


@dataclass
class Embedded:
    """Every new passage's vectors, with what it took."""

    vectors: dict[str, np.ndarray]
    """Per vector space, one row per passage."""
    spans: dict[str, list[np.ndarray]]
    """Per vector space whose encoder pools spans, per passage, its sentences' vectors."""
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0


def embed_all(
    per_article: Sequence[tuple[Article, list[Unit], list[Chunk]]],
    chunks: Sequence[Chunk],
    *,
    cfg: IndexConfig,
    encoders: Encoders,
    observer: BuildObserver,
) -> Embedded:
    """Vectors of every new passage in every space, and sentence vectors where the space's
    encoder pools them.

    Args:
        per_article: each new article with its units and passages.
        chunks: all those passages, in order.
        cfg: where the embedding cache is.
        encoders: one encoder per vector space.
        observer: progress hooks.
    """
    texts = [c.embed_text for c in chunks]
    lengths = [c.tokens for c in chunks]
    spans = [
        unit_spans(units[c.start : c.end], len(c.embed_text) - len(c.text))
        for _, units, article_chunks in per_article for c in article_chunks
    ]
    out = Embedded({}, {})
    for space, encoder in encoders.spaces().items():
        vectors, pooled, count, seconds = embed_space(
            texts, lengths, spans=spans, encoder=encoder, cfg=cfg, observer=observer)
        out.vectors[space] = vectors
        if pooled is not None:
            out.spans[space] = pooled
        out.embedded += count
        out.reused += len(texts) - count
        out.seconds += seconds
    return out


def embed_space(
    texts: Sequence[str],
    lengths: Sequence[int],
    *,
    spans: Sequence[Spans] | None,
    encoder: Encoder,
    cfg: IndexConfig,
    observer: BuildObserver,
) -> tuple[np.ndarray, list[np.ndarray] | None, int, float]:
    """Vectors for texts (and their spans' vectors when asked and supported), cache first.

    `lengths` are the texts' token counts: batches of similar counts pad least. (Sorting by
    characters instead padded 11% more tokens, measured on 3,000 briefing passages.)

    Returns:
        (vectors, span vectors or None, texts embedded, encoding seconds).
    """
    job = _SpaceJob(texts, spans, encoder, cfg)
    try:
        todo = job.missing()
        seconds = job.encode(todo, lengths, observer) if todo else 0.0
        matrix, pooled = job.result()
        return matrix, pooled, len(todo), seconds
    finally:
        job.close()


class _SpaceJob:
    """One vector space's share of a build: the caches looked up, then the rest encoded."""

    def __init__(
        self, texts: Sequence[str], spans: Sequence[Spans] | None, encoder: Encoder,
        cfg: IndexConfig,
    ) -> None:
        self.texts = texts
        self.encoder = encoder
        self.spans = spans if spans is not None and isinstance(encoder, SpanEncoder) else None
        self.cfg = cfg
        self.cache = EmbeddingCache(cfg.cache_path, encoder.name)
        self._shared: SharedEmbeddingCache | None = None
        self.span_model = f"{encoder.name}#spans16"  # float16, like the index's sentence vectors
        self.keys: list[bytes] = []
        self.span_keys: list[bytes] = []
        self.found: dict[bytes, np.ndarray] = {}
        self.found_spans: dict[bytes, np.ndarray] = {}

    def missing(self) -> list[int]:
        """Look the texts up; the positions of those to encode, one per distinct text."""
        self.keys = keys = self.cache.keys(self.texts)
        self.found = self.cache.get_many(keys)
        if self.spans is not None:
            self.span_keys = [cache_key(self.span_model, f"{t}\0{s}")
                              for t, s in zip(self.texts, self.spans, strict=True)]
            # Spans are stored with their passage's vector, so a text whose vector is not cached
            # has no spans cached either: looking only the others up saves half the lookups of
            # an update (0.3 s of adding 10 articles to a 100k-passage index).
            self.found_spans = self.cache.get_many(
                [self.span_keys[i] for i, k in enumerate(keys) if k in self.found], spans=True)
        todo = self._todo()
        if todo and self.cfg.database_url:  # what this machine lacks, others may have
            self.found.update(self.shared.get_many([keys[i] for i in todo]))
            if self.span_keys:
                self.found_spans.update(self.shared.get_many(
                    [self.span_keys[i] for i in todo if keys[i] in self.found], spans=True))
            todo = self._todo()
        return list({keys[i]: i for i in reversed(todo)}.values())

    @property
    def shared(self) -> SharedEmbeddingCache:
        """Every machine's vectors, and where the workers' go: opened on first use, since a
        build whose vectors are all in the folder's cache never needs it."""
        if self._shared is None:
            from embeddings.index.postgres.shared_cache import SharedEmbeddingCache

            assert self.cfg.database_url
            self._shared = SharedEmbeddingCache(self.cfg.database_url, self.encoder.name)
        return self._shared

    def _todo(self) -> list[int]:
        return [i for i, k in enumerate(self.keys) if k not in self.found
                or (self.span_keys and self.span_keys[i] not in self.found_spans)]

    def encode(self, todo: list[int], lengths: Sequence[int], observer: BuildObserver) -> float:
        """Encode the texts at `todo` into the cache, committing every few seconds; returns
        the seconds spent encoding."""
        observer.encoding_started(len(todo), self.encoder.name)
        # Longest first across the whole build, so every batch pads little.
        todo.sort(key=lambda i: -lengths[i])
        if self.cfg.database_url:
            return self._encode_by_jobs(todo, observer)
        pending: list[tuple[bytes, np.ndarray]] = []
        pending_spans: list[tuple[bytes, np.ndarray]] = []
        seconds = 0.0
        last_commit = time.perf_counter()
        for start in range(0, len(todo), _ENCODE_EVERY):
            batch = todo[start : start + _ENCODE_EVERY]
            t0 = time.perf_counter()
            vectors, pooled = self._encode_batch(batch, observer)
            seconds += time.perf_counter() - t0
            pending += [(self.keys[i], v) for i, v in zip(batch, vectors, strict=True)]
            self.found.update((self.keys[i], v) for i, v in zip(batch, vectors, strict=True))
            if pooled is not None:
                pending_spans += [(self.span_keys[i], p)
                                  for i, p in zip(batch, pooled, strict=True)]
                # At the cache's precision, so that a build gives the same sentence vectors
                # whether it encoded them or read them back (here, or from a worker).
                self.found_spans.update((self.span_keys[i], vector_from(vector_bytes(
                    p.reshape(-1), spans=True), spans=True))
                                        for i, p in zip(batch, pooled, strict=True))
            last = start + _ENCODE_EVERY >= len(todo)
            if last or time.perf_counter() - last_commit >= _COMMIT_SECONDS:
                self.cache.put_many(pending, spans=pending_spans)
                pending, pending_spans = [], []
                last_commit = time.perf_counter()
        return seconds

    def _encode_by_jobs(self, todo: list[int], observer: BuildObserver) -> float:
        """Queue the texts at `todo` as jobs, encode them here too (unless the workers alone
        should), and wait until every job is done; the seconds spent encoding here."""
        from embeddings.index.postgres.jobs import JobQueue, Passage
        from embeddings.index.postgres.worker import WorkerStats, work_one, worker_name

        assert self.cfg.database_url
        passages = [Passage(self.texts[i], self.keys[i],
                            tuple(self.spans[i]) if self.spans is not None else None,
                            self.span_keys[i] if self.span_keys else None) for i in todo]
        queue = JobQueue(self.cfg.database_url, db=self.shared.db)
        stats, name = WorkerStats(), worker_name()
        try:
            batch = queue.enqueue(self.encoder.name, passages, per_job=_ENCODE_EVERY)
            reported, last_change = 0, time.monotonic()
            while True:
                worked = self.cfg.build_encodes and work_one(
                    queue, {self.encoder.name: self.encoder}, name, stats, batch=batch)
                done, total = queue.progress(batch)
                if done > reported:
                    observer.encoded(done - reported)
                    reported, last_change = done, time.monotonic()
                if done >= total:
                    break
                if not worked:
                    if time.monotonic() - last_change > _WAIT_NOTE_S:
                        log.warning("waiting for `coopbot worker` processes: %d of %d "
                                    "passages encoded", done, total)
                        last_change = time.monotonic()
                    time.sleep(_WAIT_POLL_S)
        finally:
            queue.close()
        self.found.update(self.shared.get_many([self.keys[i] for i in todo]))
        if self.span_keys:
            self.found_spans.update(self.shared.get_many(
                [self.span_keys[i] for i in todo], spans=True))
        return stats.seconds

    def _encode_batch(
        self, batch: list[int], observer: BuildObserver
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        texts = [self.texts[i] for i in batch]
        if self.spans is None:
            return self.encoder.encode_passages(texts, on_batch=observer.encoded), None
        assert isinstance(self.encoder, SpanEncoder)
        vectors, pooled = self.encoder.encode_passages_with_spans(
            texts, [self.spans[i] for i in batch], on_batch=observer.encoded)
        return vectors, pooled

    def result(self) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Every text's vector in order, and its span vectors when asked."""
        with_spans = self.spans is not None
        if not self.keys:
            return (np.zeros((0, self.encoder.dim), dtype=np.float32),
                    [] if with_spans else None)
        matrix = np.stack([self.found[k] for k in self.keys]).astype(np.float32, copy=False)
        pooled = ([self.found_spans[k].reshape(-1, matrix.shape[1]) for k in self.span_keys]
                  if with_spans else None)
        return matrix, pooled

    def close(self) -> None:
        """Close the caches."""
        self.cache.close()
        if self._shared is not None:
            self._shared.close()


def unit_vectors(
    units: Sequence[Unit], bounds: Sequence[tuple[int, int]], pooled: Sequence[np.ndarray]
) -> np.ndarray:
    """One vector per unit: the mean of its span vectors over the passages that hold it
    (`bounds`: each passage's units [start, end), as `Chunk.start` and `Chunk.end`)."""
    total = np.zeros((len(units), pooled[0].shape[1] if pooled else 1), dtype=np.float32)
    for (start, end), vectors in zip(bounds, pooled, strict=True):
        total[start:end] += vectors
    norms = np.linalg.norm(total, axis=1, keepdims=True)
    return total / np.maximum(norms, 1e-12)
