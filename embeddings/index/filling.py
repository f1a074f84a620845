"""Filling in the multilingual vectors a large build left for later, while the index serves.

e5 encodes about a tenth as fast as MiniLM, so a build that would encode more than
`IndexConfig.multilingual_inline` passages in the multilingual space publishes with the
primary vectors only and lists its articles as pending (`builder._plan_multilingual`).
`fill_multilingual` then takes them a round at a time: it encodes a round into the embedding
cache outside the build lock (adds and rebuilds wait for at most one commit, not for the whole
fill), then, under the lock, re-reads what is still pending, takes its vectors from the cache
and adds them to the build in place. Vietnamese questions search the passages filled so far.

A fill that is stopped or killed loses at most the round it was encoding: the cache keeps what
was encoded, nothing half-written is ever served, and the next fill goes on from there.
(Embedded engine only: a database build encodes every space itself, with its workers.)
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.chunking.chunker import Unit, passage_prefix, unit_spans
from embeddings.config import IndexConfig
from embeddings.encoders.base import MULTILINGUAL, Encoder, Encoders
from embeddings.errors import IndexLockedError
from embeddings.index.changes import index_lock, write_error
from embeddings.index.database import manifest_of, marks, open_readonly, sqlite_errors
from embeddings.index.embedding import embed_space, unit_vectors
from embeddings.index.layout import FILL_LOCK, META, build_lock, current_build
from embeddings.index.reader import read_manifest
from embeddings.index.report import BuildObserver

ROUND_PASSAGES = 512
"""Passages encoded between two commits: on 2 cores about half a minute of e5, so a stop
waits little and the bot reloads its index about twice a minute while filling."""


@dataclass
class FillReport:
    """What a fill did."""

    passages: int = 0
    """Passages whose multilingual vectors were added."""
    rounds: int = 0
    seconds: float = 0.0
    remaining: int = 0
    """Passages still pending afterwards."""
    stopped: bool = False
    """It was asked to stop before the end."""
    elsewhere: bool = False
    """Another process is filling this index in (nothing was done here)."""


class _Stopped(Exception):
    """Raised inside the encoder's progress callback to end a round early."""


class _RoundObserver(BuildObserver):
    """Forwards progress to the fill's observer (one bar for the whole fill, not a bar per
    round) and ends the round when the fill is asked to stop."""

    def __init__(self, outer: BuildObserver, stop: threading.Event | None) -> None:
        self.outer = outer
        self.stop = stop

    def encoded(self, count: int) -> None:
        self.outer.encoded(count)
        if self.stop is not None and self.stop.is_set():
            raise _Stopped


@dataclass(frozen=True)
class _Pending:
    """One pending article as its passages were embedded."""

    article_id: str
    units: list[Unit]
    chunks: list[tuple[int, int, int, str]]
    """(row, start unit, end unit, text) per passage, in order."""
    prefix: str

    def texts(self) -> list[str]:
        return [self.prefix + text for _, _, _, text in self.chunks]

    def spans(self) -> list[list[tuple[int, int]]]:
        return [unit_spans(self.units[start:end], len(self.prefix))
                for _, start, end, _ in self.chunks]


def fill_multilingual(
    cfg: IndexConfig,
    encoders: Encoders,
    observer: BuildObserver | None = None,
    *,
    stop: threading.Event | None = None,
    round_passages: int = ROUND_PASSAGES,
) -> FillReport:
    """Add the multilingual vectors a build left pending, a round at a time, until none is
    left or `stop` is set.

    Args:
        cfg: the index settings (an index with a database URL has nothing to fill).
        encoders: the configured encoders; their multilingual one must be the index's.
        observer: progress: `encoding_started` once with every pending passage, then
            `encoded` as they are.
        stop: set it to end the fill after the passage being encoded (the round is lost,
            its vectors stay in the cache).
        round_passages: passages per commit.

    Returns:
        What was filled, and what remains.
    """
    observer = observer or BuildObserver()
    encoder = encoders.multilingual
    report = FillReport()
    started = time.perf_counter()
    if cfg.database_url or encoder is None:
        return report
    try:
        with build_lock(cfg.index_dir, wait=False, name=FILL_LOCK):
            _fill(cfg, encoder, observer, stop, round_passages, report)
    except IndexLockedError:
        report.elsewhere = True
    except (OSError, sqlite3.OperationalError) as exc:
        raise write_error(cfg.index_dir, exc) from exc
    report.stopped = stop is not None and stop.is_set()
    report.seconds = time.perf_counter() - started
    report.remaining = _pending(cfg, encoder.name)
    return report


def _fill(
    cfg: IndexConfig, encoder: Encoder, observer: BuildObserver, stop: threading.Event | None,
    round_passages: int, report: FillReport,
) -> None:
    """The fill's rounds, holding the fill lock."""
    announced = False
    try:
        while not (stop is not None and stop.is_set()):
            planned = _read_pending(cfg, encoder.name, round_passages)
            if planned is None:
                break
            remaining, articles = planned
            if not announced:
                observer.encoding_started(remaining, encoder.name)
                announced = True
            _embed(articles, cfg, encoder, _RoundObserver(observer, stop))
            with index_lock(cfg):
                report.passages += _commit_round(cfg, encoder, [a.article_id for a in articles])
            report.rounds += 1
    except _Stopped:
        pass


def _pending(cfg: IndexConfig, model: str) -> int:
    """Passages the served build still has pending in `model`'s space (its manifest only)."""
    if current_build(cfg.index_dir) is None:
        return 0
    manifest = read_manifest(cfg.index_dir)
    return manifest.multilingual_pending if manifest.multilingual_model == model else 0


def _read_pending(
    cfg: IndexConfig, model: str, passages: int
) -> tuple[int, list[_Pending]] | None:
    """(passages pending, the next round's articles) from the served build; None when it
    has nothing pending in `model`'s space."""
    build = current_build(cfg.index_dir)
    if build is None:
        return None
    db = open_readonly(build / META)
    try:
        with sqlite_errors(build / META):
            manifest = manifest_of(db, build)
            if manifest.multilingual_model != model or not manifest.multilingual_pending:
                return None
            ids = _next_round(db, passages)
            return manifest.multilingual_pending, _read_articles(db, ids)
    finally:
        db.close()


def _next_round(db: sqlite3.Connection, passages: int) -> list[str]:
    """Pending articles, in id order, until they hold `passages` passages (at least one)."""
    ids: list[str] = []
    held = 0
    for article_id, count in db.execute(
        "SELECT p.article_id, count(c.row) FROM multilingual_pending p "
        "JOIN chunks c ON c.article_id = p.article_id GROUP BY p.article_id "
        "ORDER BY p.article_id"
    ):
        if ids and held + count > passages:
            break
        ids.append(article_id)
        held += count
    return ids


def _read_articles(db: sqlite3.Connection, ids: Sequence[str]) -> list[_Pending]:
    """The pending articles among `ids`, with their sentences and passages as stored."""
    if not ids:
        return []
    where = f"IN ({marks(len(ids))})"
    titles = {
        article_id: (title, dt.date.fromisoformat(day) if day else None)
        for article_id, title, day in db.execute(
            f"SELECT id, title, date FROM articles WHERE id {where} AND id IN "
            "(SELECT article_id FROM multilingual_pending)", list(ids))
    }
    units: dict[str, list[Unit]] = {}
    for article_id, paragraph, text in db.execute(
        f"SELECT article_id, paragraph, text FROM units WHERE article_id {where} "
        "ORDER BY article_id, idx", list(ids)
    ):
        units.setdefault(article_id, []).append(Unit(paragraph, text))
    chunks: dict[str, list[tuple[int, int, int, str]]] = {}
    for row, article_id, start, end, text in db.execute(
        f"SELECT row, article_id, start, end, text FROM chunks WHERE article_id {where} "
        "ORDER BY article_id, ordinal", list(ids)
    ):
        chunks.setdefault(article_id, []).append((row, start, end, text))
    return [
        _Pending(article_id, units.get(article_id, []), chunks.get(article_id, []),
                 passage_prefix(_Titled(title, day)))
        for article_id, (title, day) in sorted(titles.items())
    ]


@dataclass(frozen=True)
class _Titled:
    title: str
    date: dt.date | None


def _embed(
    articles: Sequence[_Pending], cfg: IndexConfig, encoder: Encoder, observer: BuildObserver
) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """The articles' passage vectors and pooled sentence vectors, cache first (so the same
    call under the lock, after the round was encoded outside it, encodes nothing)."""
    texts = [t for a in articles for t in a.texts()]
    spans = [s for a in articles for s in a.spans()]
    lengths = encoder.count_tokens(texts) if texts else []
    vectors, pooled, _, _ = embed_space(texts, lengths, spans=spans, encoder=encoder, cfg=cfg,
                                        observer=observer)
    return vectors, pooled


def _commit_round(cfg: IndexConfig, encoder: Encoder, ids: Sequence[str]) -> int:
    """Under the build lock: add the vectors of those of `ids` still pending in the served
    build; returns the passages added."""
    from embeddings.index.writer import IndexWriter

    writer = IndexWriter.update(cfg.index_dir)
    try:
        manifest = writer.manifest()
        articles = (_read_articles(writer.db, ids) if manifest is not None
                    and manifest.multilingual_model == encoder.name else [])
        if manifest is None or not articles:
            writer.abort()
            return 0
        vectors, pooled = _embed(articles, cfg, encoder, BuildObserver())
        sentence_vectors: dict[str, np.ndarray] = {}
        at = 0
        for article in articles:
            count = len(article.chunks)
            if count and pooled is not None:
                sentence_vectors[article.article_id] = unit_vectors(
                    article.units, [(start, end) for _, start, end, _ in article.chunks],
                    pooled[at : at + count])
            at += count
        writer.fill_multilingual({a.article_id: sentence_vectors.get(
            a.article_id, np.zeros((0, encoder.dim), np.float32)) for a in articles})
        rows = [row for a in articles for row, _, _, _ in a.chunks]
        writer.commit(manifest, {MULTILINGUAL: vectors}, rows, cfg.vectors)
        return len(rows)
    except BaseException:
        writer.abort()
        raise

