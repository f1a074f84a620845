"""The webhook server's health report, with fakes in place of the index and the Bot API
(the real server, index and Bot API are in `test_e2e.py`'s webhook test)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from bot.telegram_bot.metrics import BotMetrics
from bot.telegram_bot.webhook import Health


class _Bot:
    def __init__(self) -> None:
        self.fail = False
        self.calls = 0

    async def get_me(self) -> None:
        self.calls += 1
        if self.fail:
            raise ConnectionError("no route")


def _application(passages: int, bot: _Bot) -> Any:
    info = SimpleNamespace(articles=3, passages=passages, built_at="2026-12-03T10:00:00")
    library = SimpleNamespace(info=lambda: info)
    return SimpleNamespace(bot=bot, bot_data={"services": SimpleNamespace(library=library)})


def test_health_needs_an_index_and_the_bot_api_and_does_not_call_telegram_each_time() -> None:
    bot = _Bot()
    health = Health(_application(120, bot))
    healthy, parts = asyncio.run(health.report())
    assert healthy and parts["status"] == "ok" and parts["index"]["passages"] == 120
    asyncio.run(health.report())
    assert bot.calls == 1  # the success is kept for a while
    bot.fail = True
    health._checked_at = -1e9  # that while is over
    healthy, parts = asyncio.run(health.report())
    assert not healthy and parts["bot_api"] == "unreachable: ConnectionError"
    bot.fail = False
    healthy, _ = asyncio.run(health.report())
    assert healthy  # a failure is checked again at once
    healthy, parts = asyncio.run(Health(_application(0, _Bot())).report())
    assert not healthy and parts["status"] == "unavailable"


def test_metrics_count_questions_and_answers_per_language() -> None:
    metrics = BotMetrics()
    metrics.watch_index(lambda: (3, 120))
    metrics.observe("vi", True, 0.04)
    metrics.observe("vi", False, 0.2)
    metrics.observe("en", True, 0.01)
    text = metrics.exposition().decode()
    assert 'coopbot_questions_total{language="vi"} 2.0' in text
    assert 'coopbot_answered_total{language="vi"} 1.0' in text
    assert 'coopbot_search_seconds_bucket{le="0.05"} 2.0' in text
    assert 'coopbot_index{what="passages"} 120.0' in text
    assert "coopbot_questions_total{" not in BotMetrics().exposition().decode()  # its own
