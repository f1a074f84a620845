"""The bot's background fill: it fills in what a large build left for later while searches
go on, survives a failure, lowers its own priority, and stops when asked."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bot.telegram_bot.filling import BackgroundFill
from embeddings.config import IndexConfig
from embeddings.encoders.base import Encoders
from embeddings.index.builder import build_index
from embeddings.service import FillReport, Library
from tests.support.fake_encoders import HashingEncoder


def _library(seeds: Path, tmp_path: Path) -> Library:
    encoders = Encoders(HashingEncoder(), HashingEncoder(dim=64, name="fake/multilingual"))
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index", multilingual_inline=0)
    build_index(cfg, encoders)
    return Library(cfg, encoders)


def _wait(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_bot_fills_in_while_it_answers(seeds: Path, tmp_path: Path) -> None:
    library = _library(seeds, tmp_path)
    assert library.info().multilingual_share == 0.0
    priorities: list[int] = []
    real = library.fill_multilingual

    def fill(stop: threading.Event | None = None) -> FillReport:
        priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(stop)

    library.fill_multilingual = fill  # type: ignore[method-assign]
    fill_thread = BackgroundFill(library, idle_seconds=0.05)
    fill_thread.start()
    try:
        while library.info().multilingual_share is not None:  # questions meanwhile
            assert library.search("Who led the delegation from Sainyabuli?", 3).results
        _wait(lambda: library.info().multilingual_share is None)
    finally:
        fill_thread.stop()
    assert not fill_thread.running
    assert priorities and priorities[0] > os.getpriority(os.PRIO_PROCESS, 0), "runs nicer"
    assert "multilingual" in library.retriever.index.spaces


def test_a_failed_fill_is_logged_and_tried_again(
    seeds: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = _library(seeds, tmp_path)
    real = library.fill_multilingual
    calls: list[int] = []

    def flaky(stop: threading.Event | None = None) -> FillReport:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk went away")
        return real(stop)

    library.fill_multilingual = flaky  # type: ignore[method-assign]
    fill_thread = BackgroundFill(library, idle_seconds=0.05)
    with caplog.at_level("INFO", logger="bot.telegram_bot.filling"):
        fill_thread.start()
        try:
            _wait(lambda: library.info().multilingual_share is None)
        finally:
            fill_thread.stop()
    assert len(calls) >= 2
    assert "failed; trying again" in caplog.text and "disk went away" in caplog.text
    assert "Vietnamese search covers every passage" in caplog.text


def test_stop_ends_a_fill_within_a_passage(seeds: Path, tmp_path: Path) -> None:
    library = _library(seeds, tmp_path)
    started = threading.Event()
    encoder = library.encoders.multilingual
    assert isinstance(encoder, HashingEncoder)
    original = encoder.encode_passages

    def slow(texts, *, on_batch=None):  # type: ignore[no-untyped-def]
        started.set()
        time.sleep(0.2)
        return original(texts, on_batch=on_batch)

    encoder.encode_passages = slow  # type: ignore[method-assign]
    fill_thread = BackgroundFill(library, idle_seconds=60)
    fill_thread.start()
    assert started.wait(10)
    began = time.monotonic()
    fill_thread.stop()
    assert not fill_thread.running and time.monotonic() - began < 3
    assert library.info().multilingual_share is not None, "stopped before the end"
