"""`coopbot serve` tunes its process before polling: a short GIL switch interval, everything a
question loads on first use loaded (`Library.warm_up`), and that frozen out of the garbage
collector's full collections."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from bot.telegram_bot.serve import GIL_SWITCH_S, tune_for_serving
from embeddings.errors import IndexMissingError


@pytest.fixture(autouse=True)
def _restore_process() -> Iterator[None]:
    interval = sys.getswitchinterval()
    yield
    gc.unfreeze()
    sys.setswitchinterval(interval)


class Library:
    """Loads "models" (a pile of containers) on warm-up, or fails as a missing index does."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.loaded: list[dict[str, Any]] = []

    def warm_up(self) -> None:
        if self.error is not None:
            raise self.error
        self.loaded = [{"piece": i} for i in range(50_000)]


def test_the_warm_up_runs_first_and_what_it_loaded_is_frozen() -> None:
    library = Library()
    gc.unfreeze()
    sys.setswitchinterval(0.005)
    tune_for_serving(SimpleNamespace(library=library))  # type: ignore[arg-type]
    assert len(library.loaded) == 50_000
    assert gc.get_freeze_count() >= 50_000
    assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_S)
    assert GIL_SWITCH_S < 0.005


def test_a_failed_warm_up_is_logged_and_serving_goes_on(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    library = Library(IndexMissingError("no index in /srv/coopbot"))
    gc.unfreeze()
    with caplog.at_level(logging.WARNING, logger="coopbot.serve"):
        tune_for_serving(SimpleNamespace(library=library))  # type: ignore[arg-type]
    assert "warm-up question failed: no index in /srv/coopbot" in caplog.text
    assert gc.get_freeze_count() > 0
