"""Bot services without Telegram: rate limit, stored results, feedback, retriever swap."""

from __future__ import annotations

from pathlib import Path

from bot.services import FeedbackStore, RateLimiter, ResultStore, RetrieverHolder
from embeddings.answers import Answer, Result

ANSWER = Answer("who?", True, (Result(1, "a", "T", None, "VNA", "Ex. Hi.", "Hi.", 0.9, "a#0"),))


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, window=60, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check(1) == 60.0
    assert limiter.check(2) == 0.0  # per user
    now[0] = 59.0
    assert 0.9 < limiter.check(1) <= 1.0
    now[0] = 60.0
    assert limiter.check(1) == 0.0


def test_result_store_ids_are_short_and_old_ones_expire() -> None:
    store = ResultStore(capacity=2)
    first = store.put(ANSWER, "en", 5)
    assert len(first.encode()) == 8 and store.get(first) is not None
    store.put(ANSWER, "en", 5)
    store.put(ANSWER, "en", 5)
    assert store.get(first) is None
    assert store.get("forged") is None


def test_feedback_keeps_what_evaluation_needs(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    stored = ResultStore().put(ANSWER, "en", 42)
    holder = ResultStore()
    key = holder.put(ANSWER, "vi", 42)
    store.record(holder.get(key), -1)  # type: ignore[arg-type]
    rows = store.rows()
    assert len(rows) == 1 and stored
    row = rows[0]
    assert row["vote"] == -1 and row["question"] == "who?" and row["chat_id"] == 42
    assert '"article_id": "a"' in row["results"] and '"highlight": "Hi."' in row["results"]


def test_holder_swaps_atomically() -> None:
    holder = RetrieverHolder("old")  # type: ignore[arg-type]
    before = holder.current
    holder.swap("new")  # type: ignore[arg-type]
    assert before == "old" and holder.current == "new"


def test_token_is_redacted_from_log_records() -> None:
    import logging

    from bot.serve import RedactToken

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url /bot%s/getMe", ("123:SECRET",),
                               None)
    assert RedactToken("123:SECRET").filter(record)
    assert "SECRET" not in record.getMessage() and "[token]" in record.getMessage()
