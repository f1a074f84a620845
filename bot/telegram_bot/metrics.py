"""What the bot counts for Prometheus (`GET /metrics` in webhook mode): questions, answers,
search latency, and which build of coopbot serves which index.

Each application has its own registry, so two bots in one process (the tests) never share
counts. Nothing here holds a question's text or who asked.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from bot.runtime import coopbot_version

# From a cached answer (milliseconds) to a Vietnamese question on a loaded machine (seconds).
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of `BotMetrics.exposition`."""


class BotMetrics:
    """The bot's counters, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter("coopbot_questions", "Questions searched.", ["language"],
                                 registry=self.registry)
        self.answered = Counter("coopbot_answered", "Questions answered from the articles "
                                "(the others got \"not in my articles\").", ["language"],
                                registry=self.registry)
        self.search_seconds = Histogram("coopbot_search_seconds", "Time to search a question "
                                        "and choose its answer.", buckets=SEARCH_BUCKETS,
                                        registry=self.registry)
        self.build = Info("coopbot_build", "The coopbot version serving.",
                          registry=self.registry)
        self.build.info({"version": coopbot_version()})
        self.index = Gauge("coopbot_index", "What the index served holds.", ["what"],
                           registry=self.registry)

    def observe(self, language: str, answered: bool, seconds: float) -> None:
        """Count one searched question."""
        self.questions.labels(language=language).inc()
        if answered:
            self.answered.labels(language=language).inc()
        self.search_seconds.observe(seconds)

    def watch_index(self, counts: Callable[[], tuple[int, int]]) -> None:
        """Report the index's (articles, passages), read from `counts` at each scrape, so a
        rebuild shows without anyone updating the gauges."""
        self.index.labels(what="articles").set_function(lambda: counts()[0])
        self.index.labels(what="passages").set_function(lambda: counts()[1])

    def exposition(self) -> bytes:
        """Every metric in Prometheus's text format."""
        return generate_latest(self.registry)
