"""The index a long-running process serves, lent to each search and closed once replaced.

A serving process reopens the index when it changes on disk, while searches in other threads
may still be reading the build it had. Closing that build at once would fail them; leaving it
to the garbage collector kept deleted builds (their disk space) open for a long time. So each
search holds a lease on what it uses, and a replaced value is closed when its last lease ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _Lent(Generic[T]):
    """One value and how many leases on it are out."""

    def __init__(self, value: T) -> None:
        self.value = value
        self.leases = 0
        self.replaced = False


class Leases(Generic[T]):
    """The value served now (a retriever over the current build); safe to share by threads.

    Args:
        value: the first value to serve.
        close: releases a value (its files, connections); called once per value, after it was
            replaced and its last lease ended.
    """

    def __init__(self, value: T, close: Callable[[T], None]) -> None:
        self._lock = threading.Lock()
        self._now = _Lent(value)
        self._close = close

    @property
    def current(self) -> T:
        """The value served now, without a lease: only to compare or inspect (it may be closed
        as soon as it is replaced)."""
        with self._lock:
            return self._now.value

    @contextlib.contextmanager
    def lease(self) -> Iterator[T]:
        """The value served now, kept open until the block ends even if it is replaced."""
        with self._lock:
            lent = self._now
            lent.leases += 1
        try:
            yield lent.value
        finally:
            with self._lock:
                lent.leases -= 1
                done = lent.replaced and lent.leases == 0
            if done:
                self._close(lent.value)

    def replace(self, value: T) -> None:
        """Serve `value` from now on; the old value is closed once no lease holds it."""
        with self._lock:
            old = self._now
            self._now = _Lent(value)
            old.replaced = True
            done = old.leases == 0
        if done:
            self._close(old.value)

    def close(self) -> None:
        """Stop serving: the value is closed once no lease holds it (a lease taken after this
        gets the closed value)."""
        with self._lock:
            lent = self._now
            if lent.replaced:
                return
            lent.replaced = True
            done = lent.leases == 0
        if done:
            self._close(lent.value)
