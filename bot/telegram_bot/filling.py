"""Filling in the multilingual vectors a large build left for later, while the bot answers.

A build over many passages serves English at once and leaves e5's vectors to a fill
(`embeddings.index.filling`). The bot runs that fill on a thread of its own, at low CPU
priority so that questions come first, whenever the index served has passages still pending:
at start, after /reindex and /add, and once a minute otherwise (another process may have
built). Each round is served from the next question on; /about says how far it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import TYPE_CHECKING

from embeddings.errors import CoopbotError

if TYPE_CHECKING:
    from embeddings.service import Library

log = logging.getLogger(__name__)

_NICE = 10
"""How much lower than the bot's own the fill's CPU priority is (Linux: per thread)."""


class BackgroundFill:
    """The fill's thread: `start` once, `wake` after changing the index, `stop` at the end."""

    def __init__(self, library: Library, *, idle_seconds: float = 60.0) -> None:
        self.library = library
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start looking for pending vectors (once; later calls do nothing)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="multilingual-fill",
                                            daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look now (the index was just rebuilt or added to)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """End the fill within a passage; the round under way is lost, the cache keeps its
        vectors, and the next start goes on from the last commit."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        # Threads inherit the nice value of the thread that creates them: the encoder's pool
        # threads, made per call from here, run at this priority too.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)
        while not self._stop.is_set():
            self._fill_once()
            self._wake.wait(self.idle_seconds)
            self._wake.clear()

    def _fill_once(self) -> None:
        try:
            filled = self.library.info().multilingual_share
            if filled is None:
                return
            log.info("filling in the multilingual vectors: %.0f%% of passages so far",
                     100 * filled)
            report = self.library.fill_multilingual(self._stop)
        except CoopbotError as exc:
            log.warning("filling in the multilingual vectors failed (%s); trying again in "
                        "%.0f s", exc, self.idle_seconds)
            return
        except Exception:  # never let the thread die: the bot keeps answering regardless
            log.exception("filling in the multilingual vectors failed; trying again in %.0f s",
                          self.idle_seconds)
            return
        if report.elsewhere:
            log.info("another process is filling in the multilingual vectors")
        elif report.remaining:
            log.info("multilingual vectors: %d passages filled in, %d remain",
                     report.passages, report.remaining)
        else:
            log.info("multilingual vectors filled in: %d passages in %.0f s; Vietnamese "
                     "search covers every passage", report.passages, report.seconds)
