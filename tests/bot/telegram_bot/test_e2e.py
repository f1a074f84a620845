"""`coopbot serve` end to end: the real Application over real HTTP to a fake Bot API server.

One bot process (the same command users run) serves the whole module; each test talks to it
from its own chat and user, so the tests do not disturb each other.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEEDS
from tests.support.fake_telegram import Call
from tests.support.telegram_harness import Harness, serving

pytestmark = pytest.mark.slow

ADMIN = 999
SPECIAL_ARTICLE = """---
title: Police & customs <joint> task_force *alpha* launched
date: 2024-02-01
source: Test & Wire
---
The <joint> task_force of police & customs, code-named *alpha*, seized 3 kg of heroin at the
Lao Bao border gate.
"""
NEW_ARTICLE = """---
title: Vietnam and Singapore sign cybercrime pact
date: 2024-05-20
source: Example News
---
The police of Vietnam and Singapore signed a pact against cybercrime and online fraud rings.
"""


def _filler_articles(seeds: Path) -> None:
    """Enough articles for /articles to page, and one long enough to need several messages."""
    for i in range(6):
        (seeds / f"2022-0{i + 1}-01-filler-{i}.md").write_text(
            f"---\ntitle: Border liaison meeting number {i + 1}\ndate: 2022-0{i + 1}-01\n---\n"
            f"Officers of border post {i + 1} met their counterparts to review patrol plans.\n",
            encoding="utf-8")
    paragraphs = "\n\n".join(
        f"Paragraph {n}: the port security course in Hai Phong covered container inspection "
        f"method {n}, risk profiling step {n} and the joint drill number {n} with customs."
        for n in range(80))
    (seeds / "2021-06-01-port-course.md").write_text(
        f"---\ntitle: Long port security course report\ndate: 2021-06-01\n---\n{paragraphs}\n",
        encoding="utf-8")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A running `coopbot serve` against the fake server."""

    def add_articles(seeds: Path) -> None:
        (seeds / "2024-02-01-special.md").write_text(SPECIAL_ARTICLE, encoding="utf-8")
        _filler_articles(seeds)

    with serving(tmp_path_factory.mktemp("serve"), prepare_seeds=add_articles,
                 COOPBOT_ADMIN_IDS=str(ADMIN), COOPBOT_RATE_LIMIT="6") as harness:
        harness.wait_for("setMyCommands", count=2, timeout=30)
        yield harness


def _ask(bot: Harness, text: str, chat_id: int, user_id: int, **kw: Any) -> Call:
    before = len(bot.replies(chat_id))
    bot.call(bot.server.push_message, text, chat_id=chat_id, user_id=user_id, **kw)
    return bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == chat_id,
                        count=before + 1)[-1]


def test_private_question_gets_a_cited_answer(bot: Harness) -> None:
    reply = _ask(bot, "Who led the delegation from Sainyabuli?", chat_id=101, user_id=101)
    text = reply.params["text"]
    assert "<b>" in text and "Kham Pheng Phet" in text
    assert "Police of Quang Ninh and Sainyabuli agree to boost cooperation" in text
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b["callback_data"].startswith("fb:") for b in buttons)


def test_group_chatter_is_ignored_but_mentions_and_ask_are_answered(bot: Harness) -> None:
    group = -500
    bot.call(bot.server.push_message, "Lunch at noon?", chat_id=group, user_id=201,
             chat_type="supergroup")
    mention = _ask(bot, f"@{bot.server.bot_user['username']} who is Surachate Hakparn?",
                   chat_id=group, user_id=201, chat_type="supergroup")
    assert "Surachate" in mention.params["text"]
    asked = _ask(bot, f"/ask@{bot.server.bot_user['username']} what did Quang Ninh police donate?",
                 chat_id=group, user_id=202, chat_type="supergroup")
    assert "laptops" in asked.params["text"]
    assert len(bot.replies(group)) == 2  # the chatter got nothing


def test_special_characters_are_escaped(bot: Harness) -> None:
    reply = _ask(bot, "<b>task_force</b> & *alpha* heroin?", chat_id=103, user_id=103)
    text = reply.params["text"]
    assert "&lt;joint&gt;" in text and "police &amp; customs" in text and "*alpha*" in text


def test_bad_questions_get_valid_replies(bot: Harness) -> None:
    """Each reply passed the fake server's Telegram HTML and length checks (c.ok), so none is
    a message Telegram would reject; and the bot still answers afterwards."""
    from tests.bot.cli.test_bad_questions import BAD_QUESTIONS

    for n, question in enumerate([*BAD_QUESTIONS, "   ", "\x00\x01"]):
        chat = 900 + n
        reply = _ask(bot, question, chat_id=chat, user_id=chat)
        assert reply.ok and str(reply.params["text"]).strip()
        assert not [c for c in bot.server.calls_to("sendMessage")
                    if not c.ok and int(c.params["chat_id"]) == chat]
    assert "Kham Pheng Phet" in _ask(bot, "Who led the delegation from Sainyabuli?",
                                     chat_id=950, user_id=950).params["text"]


def test_articles_paging_and_full_article(bot: Harness) -> None:
    listing = _ask(bot, "/articles", chat_id=104, user_id=104)
    assert "Vietnam, Thailand foster security cooperation" in listing.params["text"]
    message = bot.call(bot.server.message, 104, listing.result["message_id"])
    article_button = listing.params["reply_markup"]["inline_keyboard"][0][0]
    bot.call(bot.server.push_callback, article_button["callback_data"], message=message,
             user_id=104)
    full = bot.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == 104
                        and c.ok and "<b>" in c.params["text"], count=1)[-1]
    assert len(full.params["text"]) > 200


def test_feedback_is_acknowledged(bot: Harness) -> None:
    reply = _ask(bot, "What crimes will Vietnam and Thailand fight together?", chat_id=105,
                 user_id=105)
    message = bot.call(bot.server.message, 105, reply.result["message_id"])
    up = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row
          if b["callback_data"].endswith(":1")][0]
    query_id = bot.call(bot.server.push_callback, up["callback_data"], message=message,
                        user_id=105)
    bot.wait_for("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id)
    forged = bot.call(bot.server.push_callback, "fb:nope:1", message=message, user_id=105)
    answered = bot.wait_for("answerCallbackQuery",
                            lambda c: c.params["callback_query_id"] == forged)[-1]
    assert "expired" in answered.params["text"]


def test_a_thumbs_down_asks_why_and_one_reason_is_stored(bot: Harness) -> None:
    import sqlite3

    question = "What crimes will Vietnam and Thailand fight together this year?"
    reply = _ask(bot, question, chat_id=160, user_id=160)
    message = bot.call(bot.server.message, 160, reply.result["message_id"])
    down = [b for b in _buttons_of(reply) if b["callback_data"].endswith(":-1")][0]
    edits = len(bot.server.calls_to("editMessageReplyMarkup"))
    query_id = bot.call(bot.server.push_callback, down["callback_data"], message=message,
                        user_id=160)
    toast = bot.wait_for("answerCallbackQuery",
                         lambda c: c.params["callback_query_id"] == query_id)[-1]
    assert "What was wrong?" in toast.params["text"]
    asking = bot.wait_for("editMessageReplyMarkup", count=edits + 1)[-1]
    reasons = [b for row in asking.params["reply_markup"]["inline_keyboard"] for b in row
               if b["callback_data"].startswith("fr:")]
    assert [b["text"] for b in reasons] == ["Wrong article", "Not answered", "Outdated"]
    assert not [b for row in asking.params["reply_markup"]["inline_keyboard"] for b in row
                if b["callback_data"].startswith("fb:")]
    message = bot.call(bot.server.message, 160, reply.result["message_id"])
    for reason in (reasons[1], reasons[0]):  # the second choice replaces the first
        query_id = bot.call(bot.server.push_callback, reason["callback_data"],
                            message=message, user_id=160)
        thanks = bot.wait_for("answerCallbackQuery",
                              lambda c, q=query_id: c.params["callback_query_id"] == q)[-1]
        assert thanks.params["text"] == "Thanks for the feedback!"
    back = bot.wait_for("editMessageReplyMarkup", count=edits + 2)[-1]
    assert [b["callback_data"] for row in back.params["reply_markup"]["inline_keyboard"]
            for b in row][-2:] == [f"{down['callback_data'][:-3]}:1", down["callback_data"]]
    # A reason pressed by someone who gave no 👎 is refused as stale.
    forged = bot.call(bot.server.push_callback, reasons[2]["callback_data"], message=message,
                      user_id=161)
    refused = bot.wait_for("answerCallbackQuery",
                           lambda c: c.params["callback_query_id"] == forged)[-1]
    assert "expired" in refused.params["text"]
    path = bot.seeds.parent / "index" / "feedback.sqlite"  # type: ignore[attr-defined]
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT vote, reason FROM votes WHERE question = ?",
                          (question,)).fetchall()
    assert rows == [(-1, "wrong_article")]


def test_stats_are_for_admins_and_list_what_was_not_answered(bot: Harness) -> None:
    _ask(bot, "What is the price of rice in Hanoi today?", chat_id=162, user_id=162)
    _ask(bot, "what is the price of  rice in Hanoi today", chat_id=163, user_id=163)
    _ask(bot, "Who led the delegation from Sainyabuli?", chat_id=162, user_id=162)
    refused = _ask(bot, "/stats", chat_id=162, user_id=162)
    assert refused.params["text"] == "Not allowed: only administrators can see the statistics."
    stats = _ask(bot, "/stats", chat_id=ADMIN, user_id=ADMIN).params["text"]
    assert "The last 14 days" in stats and "answered, median" in stats
    assert "“what is the price of rice in hanoi today” ×2" in stats
    assert "Sainyabuli" not in stats  # answered questions are counted, never kept
    assert "en " in stats.split("Languages:", 1)[1]


def test_a_filter_button_narrows_the_results_to_its_articles(bot: Harness) -> None:
    reply = _ask(bot, "What did the police of the two countries agree on?", chat_id=164,
                 user_id=164)
    only = [b for b in _buttons_of(reply) if b["callback_data"].startswith("fl:")
            and ":c:" in b["callback_data"]]
    assert only, _buttons_of(reply)
    country = only[0]["callback_data"].rsplit(":", 1)[1].replace("_", " ")
    assert only[0]["text"] == f"Only {country}"
    message = bot.call(bot.server.message, 164, reply.result["message_id"])
    before = len(bot.replies(164))
    bot.call(bot.server.push_callback, only[0]["callback_data"], message=message, user_id=164)
    narrowed = bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 164,
                            count=before + 1)[-1]
    text = narrowed.params["text"]
    assert f"Only articles about {country}." in text
    # Not offered again (that only its articles are cited is checked in test_filters.py).
    assert not [b for b in _buttons_of(narrowed)
                if b["callback_data"].endswith(f":c:{country.replace(' ', '_')}")]
    written = _ask(bot, "/ask country:Laos since:2023-06 who led the delegation?",
                   chat_id=164, user_id=164).params["text"]
    assert "Only articles about Laos, from 2023-06-01." in written
    assert "Kham Pheng Phet" in written
    bad = _ask(bot, "/ask country:Atlantis who led the delegation?", chat_id=164, user_id=164)
    assert bad.params["text"].startswith("I could not read a filter of your question: I know "
                                         "no country “Atlantis”.")
    vi = _ask(bot, "/ask từ:13/2023 ai dẫn đầu đoàn?", chat_id=164, user_id=164,
              language_code="vi")
    assert vi.params["text"].startswith("Tôi không đọc được bộ lọc trong câu hỏi của bạn: "
                                        "ngày trong từ:13/2023.")


def test_timeline_lists_a_countrys_events_and_pages_through_all(bot: Harness) -> None:
    laos = _ask(bot, "/timeline Laos", chat_id=165, user_id=165).params["text"]
    assert "Timeline: Laos</b>, newest first (1–1 of 1)" in laos
    assert "<b>2023-08-25</b> · Laos, Vietnam" in laos and "Kham Pheng Phet" in laos
    assert "Police of Quang Ninh and Sainyabuli agree to boost cooperation" in laos
    assert "Thailand" not in laos and "/article " in laos
    vi = _ask(bot, "/timeline Lào", chat_id=166, user_id=166, language_code="vi")
    assert "Dòng thời gian: Lào</b>" in vi.params["text"]
    assert "<b>25/08/2023</b> · Lào, Việt Nam" in vi.params["text"]
    everything = _ask(bot, "/timeline", chat_id=165, user_id=165)
    assert "newest first (1–8 of " in everything.params["text"]
    more = [b for b in _buttons_of(everything) if b["callback_data"].startswith("tl:")]
    assert [b["text"] for b in more] == ["More results"]
    message = bot.call(bot.server.message, 165, everything.result["message_id"])
    edits = len(bot.server.calls_to("editMessageText"))
    bot.call(bot.server.push_callback, more[0]["callback_data"], message=message, user_id=165)
    page = bot.wait_for("editMessageText", count=edits + 1)[-1]
    assert "newest first (9–" in page.params["text"]
    assert "Border liaison meeting number 1" in page.params["text"]  # the oldest, last
    nothing = _ask(bot, "/timeline Atlantis", chat_id=165, user_id=165).params["text"]
    assert nothing.startswith("No dated article is about “Atlantis”.")


def test_inline_query_offers_cited_excerpts(bot: Harness) -> None:
    query_id = bot.call(bot.server.push_inline, "Surachate Hakparn Bangkok", user_id=106)
    call = bot.wait_for("answerInlineQuery",
                        lambda c: c.params["inline_query_id"] == query_id)[-1]
    assert call.ok and 1 <= len(call.params["results"]) <= 10


def test_an_inline_query_with_no_answer_says_so(bot: Harness) -> None:
    query_id = bot.call(bot.server.push_inline, "What is the weather in Hanoi tomorrow?",
                        user_id=131)
    call = bot.wait_for("answerInlineQuery",
                        lambda c: c.params["inline_query_id"] == query_id)[-1]
    assert call.ok and call.params["results"] == []
    assert call.params["button"]["text"] == "No passage answers this"


def test_admin_commands_are_only_in_the_admins_menu(bot: Harness) -> None:
    import json

    commands = bot.server.commands
    default = [c["command"] for c in commands[json.dumps({"type": "default"}), ""]]
    admin_scope = json.dumps({"chat_id": ADMIN, "type": "chat"}, sort_keys=True)
    admin = [c["command"] for c in commands[admin_scope, "vi"]]
    assert "reindex" not in default and "add" not in default and "ask" in default
    assert {"reindex", "add", "ask"} <= set(admin)


def test_greetings_and_unknown_commands_get_a_helpful_reply(bot: Harness) -> None:
    hello = str(_ask(bot, "Hi!", chat_id=132, user_id=132).params["text"])
    assert "Hello" in hello and "No passage" not in hello
    chao = str(_ask(bot, "xin chào", chat_id=133, user_id=133, language_code="vi")
               .params["text"])
    assert "Xin chào" in chao
    unknown = str(_ask(bot, "/weather Hanoi", chat_id=132, user_id=132).params["text"])
    assert "/weather" in unknown and "/help" in unknown


def test_reindex_admin_only_then_new_article_is_answerable(bot: Harness) -> None:
    refused = _ask(bot, "/reindex", chat_id=107, user_id=107)
    assert "not allowed" in refused.params["text"].lower()
    (bot.seeds / "2024-05-20-singapore.md").write_text(NEW_ARTICLE,  # type: ignore[attr-defined]
                                                       encoding="utf-8")
    _ask(bot, "/reindex", chat_id=ADMIN, user_id=ADMIN)
    edits = bot.wait_for("editMessageText", lambda c: int(c.params["chat_id"]) == ADMIN
                         and "rebuilt" in c.params["text"], timeout=120)
    assert "12 articles" in edits[-1].params["text"]
    assert "(added: 1, removed: 0)" in edits[-1].params["text"]
    _ask(bot, "/reindex", chat_id=ADMIN, user_id=ADMIN)  # nothing changed since
    again = bot.wait_for("editMessageText", lambda c: int(c.params["chat_id"]) == ADMIN
                         and "Nothing to rebuild" in c.params["text"], timeout=120)
    assert "12 articles" in again[-1].params["text"]
    progress = [c for c in bot.server.calls_to("editMessageText") if "Rebuilding:" in
                c.params.get("text", "")]
    assert progress, "the progress message was edited while embedding"
    answer = _ask(bot, "Which country signed a cybercrime pact with Vietnam?", chat_id=107,
                  user_id=107)
    assert "Singapore" in answer.params["text"]


def test_rate_limit_is_polite(bot: Harness) -> None:
    replies = [_ask(bot, "Who is Surachate Hakparn?", chat_id=108, user_id=108) for _ in range(7)]
    assert "Surachate Hakparn" in replies[5].params["text"]  # six a minute are fine
    assert "wait" in replies[6].params["text"].lower()


def test_a_429_is_retried(bot: Harness) -> None:
    bot.call(bot.server.fail_next, "sendMessage", status=429, retry_after=1)
    reply = _ask(bot, "Who is Mom Kirisocheat?", chat_id=109, user_id=109)
    assert "Kirisocheat" in reply.params["text"]
    assert any(c.status == 429 for c in bot.server.calls_to("sendMessage"))


def _buttons(call: Call) -> list[dict[str, Any]]:
    return [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


def test_weaker_results_of_a_broad_question_are_titles_not_pages(bot: Harness) -> None:
    reply = _ask(bot, "border patrol meeting officers", chat_id=109, user_id=109)
    text = reply.params["text"]
    assert "Related articles (they may not answer this):" in text
    if text.count("<blockquote") <= 3:  # answers fit one page: no paging to offer
        assert not [b for b in _buttons(reply) if b["callback_data"].startswith("mr:")]


@pytest.fixture(scope="module")
def every_result_answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A bot searching keywords only (COOPBOT_RETRIEVAL=keyword): the threshold rule decides
    there, and every result of an answered question is an answer, so a broad question has
    pages of them. (With the calibrated model, results 2-3 are answers only when as likely
    as the first, and the rest are listed as titles.)"""
    with serving(tmp_path_factory.mktemp("pages"), prepare_seeds=_filler_articles,
                 COOPBOT_RATE_LIMIT="100", COOPBOT_RETRIEVAL="keyword") as harness:
        harness.wait_for("setMyCommands", count=2, timeout=30)
        yield harness


def test_more_results_edits_to_the_next_page(every_result_answers: Harness) -> None:
    bot = every_result_answers
    reply = _ask(bot, "border patrol meeting officers", chat_id=110, user_id=110)
    more = [b for b in _buttons(reply) if b["callback_data"].startswith("mr:")]
    assert more, "nine results make three pages"
    message = bot.call(bot.server.message, 110, reply.result["message_id"])
    bot.call(bot.server.push_callback, more[0]["callback_data"], message=message, user_id=110)
    edit = bot.wait_for("editMessageText", lambda c: int(c.params["chat_id"]) == 110)[-1]
    assert edit.ok and edit.params["text"] != reply.params["text"]
    assert "4." in edit.params["text"]  # numbering continues on page two
    back = [b for row in edit.params["reply_markup"]["inline_keyboard"] for b in row
            if b["text"] == "« Previous"]
    assert back and back[0]["callback_data"].endswith(":0")  # and there is a way back


def test_full_article_from_an_answer_is_split_under_the_limit(bot: Harness) -> None:
    reply = _ask(bot, "Hai Phong port security course container inspection", chat_id=111,
                 user_id=111)
    full = [b for b in _buttons(reply) if b["callback_data"].startswith("fa:")][0]
    message = bot.call(bot.server.message, 111, reply.result["message_id"])
    before = len(bot.replies(111))
    bot.call(bot.server.push_callback, full["callback_data"], message=message, user_id=111)
    bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 111
                 and "Paragraph 79" in c.params["text"])
    parts = bot.replies(111)[before:]
    assert len(parts) >= 3 and all(len(p.params["text"]) <= 4096 for p in parts)
    assert "Paragraph 0:" in parts[0].params["text"]


def test_articles_pages(bot: Harness) -> None:
    listing = _ask(bot, "/articles", chat_id=112, user_id=112)
    nav = [b for b in _buttons(listing) if b["callback_data"].startswith("al:")]
    assert nav, "twelve articles need two pages"
    message = bot.call(bot.server.message, 112, listing.result["message_id"])
    bot.call(bot.server.push_callback, nav[-1]["callback_data"], message=message, user_id=112)
    edit = bot.wait_for("editMessageText", lambda c: int(c.params["chat_id"]) == 112)[-1]
    assert edit.ok and "2/2" in edit.params["text"]


def test_vietnamese_users_get_vietnamese_interface(bot: Harness) -> None:
    reply = _ask(bot, "/help", chat_id=113, user_id=113, language_code="vi")
    assert "câu hỏi" in reply.params["text"].lower()
    answer = _ask(bot, "Ai là Phó Tổng Tư lệnh Cảnh sát Hoàng gia Thái Lan?", chat_id=113,
                  user_id=113, language_code="vi")
    assert "Surachate Hakparn" in answer.params["text"]


def test_start_and_about(bot: Harness) -> None:
    start = _ask(bot, "/start", chat_id=114, user_id=114)
    assert "12" in start.params["text"] and len(_buttons(start)) == 3
    labels = [b["text"] for b in _buttons(start)]
    assert labels[0].startswith("What happened in ") and all(q[-1] in "?…" for q in labels)
    assert all(f"<i>{q}</i>" in start.params["text"] for q in labels[:1])
    vi = _ask(bot, "/start", chat_id=114, user_id=114, language_code="vi")
    assert [b["text"] for b in _buttons(vi)][0].startswith("Có tin gì trong tháng ")
    about = _ask(bot, "/about", chat_id=114, user_id=114)
    assert "all-MiniLM-L6-v2" in about.params["text"]


def test_a_blocked_chat_does_not_stop_the_bot(bot: Harness) -> None:
    bot.call(bot.server.block_chat, 115)
    bot.call(bot.server.push_message, "Who is Surachate Hakparn?", chat_id=115, user_id=115)
    bot.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == 115 and c.status == 403)
    reply = _ask(bot, "Who is Surachate Hakparn?", chat_id=116, user_id=116)
    assert "Surachate" in reply.params["text"]


def test_article_command_and_its_usage(bot: Harness) -> None:
    usage = _ask(bot, "/article", chat_id=117, user_id=117)
    assert "/article" in usage.params["text"]
    first = _ask(bot, "/article 1", chat_id=117, user_id=117)
    assert "<b>" in first.params["text"]
    missing = _ask(bot, "/article 99", chat_id=117, user_id=117)
    assert "99" in missing.params["text"]


def test_an_error_gets_an_apology_and_the_bot_goes_on(bot: Harness) -> None:
    bot.call(bot.server.fail_next, "sendMessage", status=400, description="Bad Request: boom")
    bot.call(bot.server.push_message, "Who is Surachate Hakparn?", chat_id=118, user_id=118)
    apology = bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 118)[-1]
    assert "sorry" in apology.params["text"].lower()
    assert "Surachate" in _ask(bot, "Who is Surachate Hakparn?", chat_id=118,
                               user_id=118).params["text"]


def test_second_reindex_is_refused_while_one_runs(bot: Harness) -> None:
    (bot.seeds / "2024-06-01-another.md").write_text(  # type: ignore[attr-defined]
        "---\ntitle: Another article\ndate: 2024-06-01\n---\n"
        + "\n\n".join(f"Sentence block {i} about maritime patrols." for i in range(40)) + "\n",
        encoding="utf-8")
    bot.call(bot.server.push_message, "/reindex", chat_id=ADMIN, user_id=ADMIN)
    bot.call(bot.server.push_message, "/reindex", chat_id=ADMIN, user_id=ADMIN)
    bot.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == ADMIN
                 and "already" in c.params["text"])
    bot.wait_for("editMessageText", lambda c: int(c.params["chat_id"]) == ADMIN
                 and "13 articles" in c.params["text"], timeout=120)


def test_replies_to_the_bot_in_groups_and_example_buttons(bot: Harness) -> None:
    group = -600
    first = _ask(bot, "/ask who is Surachate Hakparn?", chat_id=group, user_id=401,
                 chat_type="group")
    reply = _ask(bot, "and what did Quang Ninh police donate?", chat_id=group, user_id=401,
                 chat_type="group", reply_to_message=first.result["message_id"])
    assert "laptops" in reply.params["text"]
    start = _ask(bot, "/start", chat_id=119, user_id=119)
    message = bot.call(bot.server.message, 119, start.result["message_id"])
    before = len(bot.replies(119))
    bot.call(bot.server.push_callback, _buttons(start)[0]["callback_data"], message=message,
             user_id=119)
    answer = bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == 119,
                          count=before + 1)[-1]
    assert "<b>" in answer.params["text"] and "newest first:" in answer.params["text"]
    assert (bot.seeds.parent / "index" / "feedback.sqlite").is_file()  # type: ignore[attr-defined]


def _buttons_of(call: Call) -> list[dict[str, Any]]:
    return [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


def test_superscript_digits_get_usage_or_expired_never_a_traceback(bot: Harness) -> None:
    # "²".isdigit() is True and int("²") raises: typed or forged, it must be answered calmly.
    usage = _ask(bot, "/article ²", chat_id=301, user_id=301)
    assert usage.params["text"].startswith("Send /article")
    listing = _ask(bot, "/articles ²", chat_id=302, user_id=302)
    assert "Indexed articles (page 1/" in listing.params["text"]
    answer = _ask(bot, "Who led the delegation from Sainyabuli?", chat_id=303, user_id=303)
    key = next(b["callback_data"] for b in _buttons_of(answer)
               if b["callback_data"].startswith("fa:")).split(":")[1]
    tag = _buttons_of(listing)[0]["callback_data"].split(":")[1]
    message = bot.call(bot.server.message, 303, answer.result["message_id"])
    for n, data in enumerate([f"fa:{key}:²", f"mr:{key}:²", f"fb:{key}:²", f"ar:{tag}:²",
                              f"al:{tag}:²", "ex:²", f"ar:{tag}:١"]):
        query_id = bot.call(bot.server.push_callback, data, message=message, user_id=310 + n)
        answered = bot.wait_for("answerCallbackQuery",
                                lambda c, q=query_id: c.params["callback_query_id"] == q)[-1]
        assert "expired" in answered.params["text"], data
    assert not [c for c in bot.server.calls_to("sendMessage")
                if int(c.params["chat_id"]) == 303 and "Sorry" in str(c.params["text"])]


def test_a_mention_after_a_dotted_capital_i_cuts_the_question_right(bot: Harness) -> None:
    # "İ".lower() is two characters: positions found in lowered text cut the wrong place.
    name = bot.server.bot_user["username"]
    reply = _ask(bot, f"İİ @{name} who is Surachate Hakparn?", chat_id=-320, user_id=320,
                 chat_type="supergroup")
    assert "❓ <i>İİ who is Surachate Hakparn?</i>" in reply.params["text"]


def test_an_edited_question_gets_no_second_answer(bot: Harness) -> None:
    chat = 330
    asked = bot.call(bot.server.push_message, "Who led the delegation from Sainyabuli?",
                     chat_id=chat, user_id=chat)
    bot.wait_for("sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == chat)
    bot.call(bot.server.push_raw, {"edited_message": {
        **asked, "text": "Who led the Lao delegation?", "edit_date": asked["date"] + 5}})
    _ask(bot, "What did Quang Ninh police donate?", chat_id=chat, user_id=chat)
    time.sleep(2)  # time enough for a reply to the edit, had there been one
    assert len(bot.replies(chat)) == 2


def test_only_relevant_results_are_answers_the_rest_are_titles(bot: Harness) -> None:
    reply = _ask(bot, "How much money did the Quang Ninh police give the Sainyabuli "
                      "delegation?", chat_id=340, user_id=340)
    text = reply.params["text"]
    assert text.count("\n\n1. <b>") == 1 and "$5,000" in text.split("\n\n2. ")[0]
    if "\n\n2. " not in text:  # the weaker articles, if shown, are titles under a heading
        assert "<blockquote" in text and text.count("<blockquote") == 1
    labels = [b["text"] for b in _buttons_of(reply) if b["callback_data"].startswith("fa:")]
    assert labels[0] in ("Full article", "📄 Article 1")
    assert len(labels) == text.count("<blockquote")
    query_id = bot.call(bot.server.push_inline, "How much money did the Quang Ninh police give "
                        "the Sainyabuli delegation?", user_id=341)
    inline = bot.wait_for("answerInlineQuery",
                          lambda c: c.params["inline_query_id"] == query_id)[-1]
    assert len(inline.params["results"]) == len(labels)


def test_a_near_miss_says_what_no_article_mentions(bot: Harness) -> None:
    reply = _ask(bot, "What did the Japanese police promise Laos?", chat_id=342, user_id=342)
    text = reply.params["text"]
    assert "No passage in the indexed articles answers this" in text
    assert "articles mentions “Japanese”" in text and "<blockquote" not in text
    assert "Closest articles (they do not answer this):" in text


def test_metadata_and_period_questions_are_answered_from_the_articles_records(
        bot: Harness) -> None:
    byline = _ask(bot, "Tác giả bài báo về Quảng Ninh là ai?", chat_id=344, user_id=344,
                  language_code="vi")
    first = next(b for b in byline.params["text"].split("\n\n") if b.startswith("1. "))
    assert first.startswith("1. <b>Bài do Duy Tien viết.</b>\n")
    assert "Police of Quang Ninh and Sainyabuli" in first
    period = _ask(bot, "What happened in December 2023?", chat_id=345, user_id=345)
    text = period.params["text"]
    assert "Articles dated 2023-12-01 to 2023-12-31, newest first:" in text
    assert "Vietnam, Thailand foster security cooperation" in text and "2. " not in text


def test_a_follow_up_is_answered_from_the_article_of_the_question_it_follows(
        bot: Harness) -> None:
    first = _ask(bot, "Who did Luong Tam Quang meet in Bangkok?", chat_id=346, user_id=346)
    assert "Surachate" in first.params["text"]
    follow = _ask(bot, "When do they meet next?", chat_id=346, user_id=346)
    text = follow.params["text"]
    assert "↪️ About: Vietnam, Thailand foster security cooperation" in text
    assert "July 2024" in text.split("\n\n2. ")[0]
    # A reply to an answer continues that answer, in Vietnamese too, whatever came between.
    other = _ask(bot, "Who is Mom Kirisocheat?", chat_id=346, user_id=346)
    assert "Kirisocheat" in other.params["text"]
    replied = _ask(bot, "Hai bên còn thống nhất những gì?", chat_id=346, user_id=346,
                   language_code="vi", reply_to_message=first.result["message_id"])
    assert "↪️ Về: Vietnam, Thailand foster security cooperation" in replied.params["text"]
    # Without a pronoun or a continuation, a new question is its own.
    fresh = _ask(bot, "What did Quang Ninh police donate to Sainyabuli?", chat_id=346,
                 user_id=346)
    assert "↪️" not in fresh.params["text"] and "laptops" in fresh.params["text"]


FOLLOWED_ARTICLE = """---
title: Vietnam and Indonesia sign maritime police pact
date: 2024-06-10
source: Example News
---
The police of Vietnam and Indonesia signed a pact on maritime crime. Indonesia will host the
first joint patrol.
"""


def test_a_follow_fires_once_for_a_matching_new_article_and_never_otherwise(
        bot: Harness) -> None:
    """Last but one: the article it adds changes the counts the tests above check."""
    followed = _ask(bot, "/follow Indonesia", chat_id=167, user_id=167).params["text"]
    assert followed.startswith("Following “Indonesia”")
    assert _ask(bot, "/follow Japan", chat_id=168, user_id=168).params["text"].startswith(
        "Following “Japan”")
    again = _ask(bot, "/follow indonesia", chat_id=167, user_id=167).params["text"]
    assert again == "You already follow “indonesia”."
    assert "• Indonesia" in _ask(bot, "/following", chat_id=167, user_id=167).params["text"]
    (bot.seeds / "2024-06-10-indonesia.md").write_text(  # type: ignore[attr-defined]
        FOLLOWED_ARTICLE, encoding="utf-8")
    for expected in ("rebuilt", "Nothing to rebuild"):  # a second look finds nothing new
        done = len([c for c in bot.server.calls_to("editMessageText")
                    if expected in c.params.get("text", "")])
        _ask(bot, "/reindex", chat_id=ADMIN, user_id=ADMIN)
        bot.wait_for("editMessageText", lambda c, e=expected: int(c.params["chat_id"]) == ADMIN
                     and e in c.params["text"], count=done + 1, timeout=120)
    alert = bot.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == 167
                         and "New article for" in c.params["text"])[-1]
    assert "🔔 <b>New article for “Indonesia”</b>" in alert.params["text"]
    assert "Vietnam and Indonesia sign maritime police pact" in alert.params["text"]
    assert "signed a pact on maritime crime" in alert.params["text"]
    time.sleep(2)  # room for a second alert, were one to come
    alerts = [c for c in bot.server.calls_to("sendMessage")
              if "New article for" in c.params.get("text", "")]
    assert [int(c.params["chat_id"]) for c in alerts] == [167]  # once, and not for Japan
    gone = _ask(bot, "/unfollow Indonesia", chat_id=167, user_id=167).params["text"]
    assert gone == "You no longer follow “Indonesia”."
    assert _ask(bot, "/following", chat_id=167, user_id=167).params["text"].startswith(
        "You follow nothing yet")


def test_zz_sigterm_stops_cleanly(bot: Harness) -> None:
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(timeout=30) == 0
    output = bot.log()
    assert bot.server.token not in output
    # A service's log: timestamps, and one line per question without its text or asker.
    questions = [line for line in output.splitlines() if "question: language=" in line]
    assert questions and all(line[:4].isdigit() and " INFO " in line for line in questions)
    assert "language=en answered=True" in output and "language=vi" in output
    assert "Sainyabuli" not in "\n".join(questions) and "question from user" not in output


def test_webhook_mode_requires_the_secret_and_serves_health_and_metrics(tmp_path: Path) -> None:
    """The webhook refuses requests without the secret, answers one with it, sets an
    unreadable update aside with a 200 (so Telegram stops resending it), and serves
    /healthz and /metrics on the same port."""
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    harness = Harness()
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": harness.server.token, "HF_HUB_OFFLINE": "1",
           "COOPBOT_SEEDS_DIR": str(seeds), "COOPBOT_INDEX_DIR": str(tmp_path / "index"),
           "COOPBOT_WEBHOOK_SECRET": "s3cret-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--api-base-url", f"{harness.server.url}/bot",
         "--webhook-url", f"http://127.0.0.1:{port}/telegram", "--webhook-port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        hook = harness.wait_for("setWebhook", timeout=180)[-1]
        assert hook.params["secret_token"] == "s3cret-token"
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 0, "text": "Who is Surachate Hakparn?",
            "chat": {"id": 301, "type": "private"},
            "from": {"id": 301, "is_bot": False, "first_name": "T", "language_code": "en"}}}
        url = f"http://127.0.0.1:{port}/telegram"
        body = __import__("json").dumps(update).encode()

        def post(headers: dict[str, str]) -> int:
            request = urllib.request.Request(url, body, {"Content-Type": "application/json",
                                                         **headers})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return int(exc.code)

        # PTB registers the webhook and starts its listener concurrently: wait for the port.
        deadline = time.monotonic() + 30
        while True:
            try:
                first = post({})
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "webhook listener never started"
                time.sleep(0.2)
        assert first == 403
        assert post({"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
        assert post({"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) == 200
        reply = harness.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == 301)[-1]
        assert "Surachate" in reply.params["text"]
        assert post({"X-Telegram-Bot-Api-Secret-Token": "s3cret-token",
                     "Content-Type": "text/plain"}) == 415
        poison = {"update_id": 2, "message": {
            "message_id": 2, "date": 0, "text": "Private words of Minh", "chat": {"id": 302},
            "from": {"id": 302, "is_bot": False, "first_name": "Minh"}}}
        body = __import__("json").dumps(poison).encode()
        assert post({"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) == 200

        def get(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                            timeout=10) as response:
                    return int(response.status), response.read().decode()
            except urllib.error.HTTPError as exc:
                return int(exc.code), exc.read().decode()

        status, health = get("/healthz")
        parts = __import__("json").loads(health)
        assert status == 200 and parts["status"] == "ok" and parts["bot_api"] == "ok"
        assert parts["index"]["articles"] == 3 and parts["index"]["passages"] > 0
        status, metrics = get("/metrics")
        assert status == 200
        assert 'coopbot_questions_total{language="en"} 1.0' in metrics
        assert 'coopbot_answered_total{language="en"} 1.0' in metrics
        assert 'coopbot_search_seconds_count 1.0' in metrics
        assert 'coopbot_index{what="articles"} 3.0' in metrics
        assert "coopbot_build_info{version=" in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
        harness.close()
    assert proc.returncode == 0, output
    assert output.count("skipped update 2 that cannot be read") == 1
    assert "Minh" not in output and "CRITICAL" not in output and "Traceback" not in output


def test_missing_or_rejected_token_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    missing = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "TELEGRAM_BOT_TOKEN" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    harness = Harness()
    harness.server.valid_token = "1:the-right-one"
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    env.update({"TELEGRAM_BOT_TOKEN": "1:a-wrong-one", "COOPBOT_SEEDS_DIR": str(seeds),
                "COOPBOT_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"})
    try:
        rejected = subprocess.run(
            [sys.executable, "-m", "bot.cli", "serve", "--api-base-url",
             f"{harness.server.url}/bot"], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=300)
    finally:
        harness.close()
    assert rejected.returncode == 1, rejected.stderr
    assert "rejected" in rejected.stderr and "Traceback" not in rejected.stderr
    assert "a-wrong-one" not in rejected.stderr + rejected.stdout

