"""Progress of long work on stderr: a bar on a terminal, plain lines in pipes and logs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from embeddings.service import BuildObserver

if TYPE_CHECKING:
    from bot.settings import Settings
    from embeddings.service import Library


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(f"coopbot: {message}", file=sys.stderr, flush=True)


class TerminalObserver(BuildObserver):
    """Build progress on stderr: what is embedded, with a bar only when `show_bar`."""

    def __init__(self, show_bar: bool) -> None:
        self.show_bar = show_bar
        self.bar: Any = None

    def waiting_for_lock(self) -> None:
        """Another build holds the lock."""
        say("another build of this index is running; waiting for it to finish")

    def encoding_started(self, total: int, model: str) -> None:
        """A model starts embedding `total` passages."""
        if self.bar is not None:
            self.bar.close()
        say(f"embedding {total} new passage(s) with {model}")
        if self.show_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="passage", file=sys.stderr, leave=False)

    def encoded(self, count: int) -> None:
        """`count` more passages are embedded."""
        if self.bar is not None:
            self.bar.update(count)
            if self.bar.n >= self.bar.total:
                self.bar.close()


class FillObserver(TerminalObserver):
    """Progress of filling in the multilingual vectors, in the same bar."""

    def encoding_started(self, total: int, model: str) -> None:
        """The fill has `total` passages to go."""
        say(f"the index serves now; filling in the Vietnamese search vectors of {total} "
            f"passage(s) with {model} (Ctrl-C stops; `coopbot index` goes on later)")
        if self.show_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="passage", file=sys.stderr, leave=False)


def open_library(settings: Settings) -> Library:
    """The index opened for questions, built first (and saying so) when missing or stale."""
    from bot.runtime import core_config
    from embeddings.service import Library

    return Library.open(core_config(settings), observer=TerminalObserver(sys.stderr.isatty()),
                        notify=say)
