"""Tests for the fake Telegram Bot API server, including end to end with python-telegram-bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import telegram
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from tests.support.fake_telegram import (
    ApiError,
    FakeTelegram,
    HtmlParseError,
    check_reply_markup,
    check_text,
    decode_params,
    parse_html,
    utf16_len,
)

pytestmark = pytest.mark.timeout(60)


def run(test: Callable[[], Awaitable[None]], limit: float = 20.0) -> None:
    """Run an async test body with a hard deadline."""
    asyncio.run(asyncio.wait_for(test(), limit))


@asynccontextmanager
async def bot_and_server() -> AsyncIterator[tuple[telegram.Bot, FakeTelegram]]:
    async with FakeTelegram() as server:
        bot = telegram.Bot(
            server.token, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot"
        )
        async with bot:
            yield bot, server


# -- text rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("plain text", "plain text"),
        ("<b>bold</b> <strong>s</strong> <i>i</i> <em>e</em>", "bold s i e"),
        ("<u>u</u><ins>i</ins><s>s</s><strike>k</strike><del>d</del>", "uiskd"),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy"),
        ('<a href="https://example.com/?a=1&amp;b=2">link</a>', "link"),
        ("<a href='https://example.com'>single quotes</a>", "single quotes"),
        ("<a href=https://example.com>unquoted</a>", "unquoted"),
        ("<code>x &lt; y &amp;&amp; y &gt; z</code>", "x < y && y > z"),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
        ("<blockquote>q</blockquote><blockquote expandable>e</blockquote>", "qe"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<b>bold <i>nested <u>deep</u></i></b>", "bold nested deep"),
        ("&quot;quoted&quot; &#65;&#x42;&#X43;", '"quoted" ABC'),
        ("<B>upper case tags</B>", "upper case tags"),
        ("a > b is fine", "a > b is fine"),
        ("<b >spaced</b >", "spaced"),
    ],
)
def test_html_accepts_what_telegram_accepts(source: str, visible: str) -> None:
    assert parse_html(source)[0] == visible


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b>bold</i>", 'unmatched end tag, expected "</b>", found "</i>"'),
        ("<b><i>mis-nested</b></i>", 'expected "</i>", found "</b>"'),
        ("<b>never closed", 'can\'t find end tag corresponding to start tag "b"'),
        ("closed</b>", "unexpected end tag"),
        ("<div>block</div>", 'unsupported start tag "div"'),
        ("line<br>break", 'unsupported start tag "br"'),
        ("<span>plain span</span>", 'unsupported start tag "span"'),
        ('<span class="other">x</span>', 'unsupported start tag "span"'),
        ("<a>no href</a>", 'no "href"'),
        ("<tg-emoji>👍</tg-emoji>", '"emoji-id"'),
        ("Q&A", 'character "&" does not begin an HTML entity'),
        ("fish &chips;", "HTML entity"),
        ("&nbsp;", "HTML entity"),
        ('<a href="https://x.y/?a=1&b=2">q</a>', "HTML entity"),
        ("1 < 2", 'unescaped "<"'),
        ("<", 'unescaped "<"'),
        ("<b", 'unclosed start tag "b"'),
        ("<b>x</b", "unclosed end tag"),
        ('<a href="x>y</a>', "unclosed attribute value"),
        ("&#0;", "invalid numeric HTML entity"),
        ("&#xD800;", "invalid numeric HTML entity"),
        ("<b/>", "unexpected character"),
    ],
)
def test_html_rejects_what_telegram_rejects(source: str, message: str) -> None:
    with pytest.raises(HtmlParseError, match="byte offset|end tag") as caught:
        parse_html(source)
    assert message in str(caught.value)


def test_html_error_reports_utf8_byte_offset() -> None:
    with pytest.raises(HtmlParseError, match="at byte offset 6"):
        parse_html("été <x>")  # "été " is 6 bytes in UTF-8


def test_html_entities_have_utf16_offsets() -> None:
    text, entities = parse_html('😀 <b>bold</b> <a href="https://e.x">l</a>')
    assert text == "😀 bold l"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 8, "length": 1, "url": "https://e.x"},
    ]
    _, pre = parse_html('<pre><code class="language-py">x</code></pre>')
    assert pre == [{"type": "pre", "offset": 0, "length": 1, "language": "py"}]
    _, quote = parse_html("<blockquote expandable>q</blockquote>")
    assert quote[0]["type"] == "expandable_blockquote"


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("👍🏽") == 4  # emoji + skin-tone modifier, both astral
    assert utf16_len("中文") == 2


def test_message_length_limit_uses_utf16_after_parsing() -> None:
    assert check_text("😀" * 2048)[0] == "😀" * 2048  # 4096 code units: fits
    with pytest.raises(ApiError, match="message is too long"):
        check_text("😀" * 2048 + "a")
    long_markup = "<b>" + "a" * 4096 + "</b>"  # the tags do not count
    assert check_text(long_markup, "HTML")[0] == "a" * 4096
    with pytest.raises(ApiError, match="message is too long"):
        check_text("<b>" + "a" * 4097 + "</b>", "HTML")
    with pytest.raises(ApiError, match="message is too long"):
        check_text("&amp;" * 4097, "HTML")


def test_empty_texts_are_refused() -> None:
    for text, mode in [("", None), ("   \n", None), ("<b></b>", "HTML"), ("<b> </b>", "html")]:
        with pytest.raises(ApiError, match="message text is empty"):
            check_text(text, mode)


def test_stripping_clips_entities() -> None:
    text, entities = check_text("  <b> bold </b>  ", "HTML")
    assert text == "bold"
    assert entities == [{"type": "bold", "offset": 0, "length": 4}]


def test_parse_errors_become_bad_requests() -> None:
    with pytest.raises(ApiError) as caught:
        check_text("<p>x</p>", "HTML")
    assert caught.value.status == 400
    assert caught.value.description.startswith("Bad Request: can't parse entities: ")
    assert check_text("<p>not html mode</p>")[0] == "<p>not html mode</p>"


@pytest.mark.parametrize("text", ["Not added (x.org/?a=1&amp;b=2)", "a &lt; b", "&#38;",
                                  "<b>bold</b> by mistake", "see <a href='x'>this</a>"])
def test_markup_sent_as_plain_text_is_refused(text: str) -> None:
    with pytest.raises(ApiError, match="without parse_mode would be shown"):
        check_text(text)
    check_text(text.replace("'", '"'), "HTML")  # the same text, sent as HTML, is fine


def test_plain_text_without_markup_is_accepted() -> None:
    for text in ["a & b < c", "Q&A: <not a tag", "AT&T; 5 > 3", "<p>not html mode</p>"]:
        assert check_text(text)[0] == text


def test_inline_keyboard_rules() -> None:
    def keyboard(**button: Any) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "Go", **button}]]}

    assert check_reply_markup(keyboard(callback_data="x" * 64)) is not None
    assert check_reply_markup(keyboard(callback_data="é" * 32)) is not None  # 64 bytes
    for bad in ["x" * 65, "é" * 33, ""]:
        with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
            check_reply_markup(keyboard(callback_data=bad))
    with pytest.raises(ApiError, match="BUTTON_TEXT_INVALID"):
        check_reply_markup({"inline_keyboard": [[{"text": "", "url": "https://e.x"}]]})
    with pytest.raises(ApiError, match="exactly one optional field"):
        check_reply_markup({"inline_keyboard": [[{"text": "lonely"}]]})
    assert check_reply_markup({"keyboard": [[{"text": "a"}]]}) is None  # accepted, not echoed


def test_decode_params_keeps_strings_and_decodes_json() -> None:
    params = decode_params(
        {
            "chat_id": "42",
            "text": "123",
            "reply_markup": '{"inline_keyboard": []}',
            "disable_notification": "true",
            "callback_query_id": "777",
        }
    )
    assert params == {
        "chat_id": 42,
        "text": "123",
        "reply_markup": {"inline_keyboard": []},
        "disable_notification": True,
        "callback_query_id": "777",
    }


# -- end to end with telegram.Bot ---------------------------------------------------------------


def test_get_me_and_send_message_with_html() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            me = await bot.get_me()
            assert me.username == "coopbot_test_bot"
            assert me.supports_inline_queries and me.can_join_groups

            first = await bot.send_message(5, "<b>Hello</b> &amp; welcome", parse_mode="HTML")
            second = await bot.send_message(5, "again")
            other = await bot.send_message(6, "elsewhere")
            assert first.text == "Hello & welcome"
            assert first.entities[0].type == "bold"
            assert first.from_user is not None and first.from_user.id == me.id
            assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)

            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await bot.send_message(5, "Q&A <unknown>", parse_mode="HTML")
            with pytest.raises(BadRequest, match="(?i)message text is empty"):
                await bot.send_message(5, " ")
            with pytest.raises(BadRequest, match="(?i)message is too long"):
                await bot.send_message(5, "x" * 4097)

            call = server.calls_to("sendMessage")[0]
            assert call.params["chat_id"] == 5 and call.params["parse_mode"] == "HTML"
            assert call.params["text"] == "<b>Hello</b> &amp; welcome"
            assert [c.ok for c in server.calls_to("sendmessage")] == [True] * 3 + [False] * 3
            assert [m["text"] for m in server.sent_messages(5)] == ["Hello & welcome", "again"]
            assert len(server.sent_messages()) == 3

    run(body)


def test_inline_keyboard_and_edits() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="m:1")]])
            sent = await bot.send_message(1, "pick", reply_markup=markup)
            assert sent.reply_markup == markup
            assert server.calls[-1].params["reply_markup"]["inline_keyboard"][0][0] == {
                "text": "More",
                "callback_data": "m:1",
            }

            too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
            with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
                await bot.send_message(1, "pick", reply_markup=too_long)

            with pytest.raises(BadRequest, match="(?i)message is not modified"):
                await bot.edit_message_text("pick", 1, sent.message_id, reply_markup=markup)
            edited = await bot.edit_message_text(
                "<i>picked</i>", 1, sent.message_id, parse_mode="HTML"
            )
            assert isinstance(edited, telegram.Message)
            assert edited.text == "picked" and edited.reply_markup is None
            assert server.sent_messages(1)[0]["text"] == "picked"
            again = await bot.edit_message_reply_markup(1, sent.message_id, reply_markup=markup)
            assert isinstance(again, telegram.Message) and again.reply_markup == markup
            with pytest.raises(BadRequest, match="(?i)message is not modified"):
                await bot.edit_message_reply_markup(1, sent.message_id, reply_markup=markup)
            with pytest.raises(BadRequest, match="(?i)message to edit not found"):
                await bot.edit_message_text("x", 1, 999)

    run(body)


@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
def test_faults_blocked_chats_and_tokens() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            server.fail_next("sendMessage", status=429, retry_after=7)
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(1, "hi")
            assert "Retry in 7 seconds" in str(caught.value)
            await bot.send_message(1, "hi")  # only the next call failed

            server.fail_next("sendMessage", status=502, times=2)
            for _ in range(2):
                with pytest.raises(NetworkError):
                    await bot.send_message(1, "hi")
            server.fail_next("sendChatAction", status=400, description="Bad Request: nope")
            with pytest.raises(BadRequest, match="(?i)nope"):
                await bot.send_chat_action(1, "typing")

            server.block_chat(9)
            with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
                await bot.send_message(9, "hi")
            await bot.send_message(8, "others still work")

            server.drop_connection_next("getMe")
            with pytest.raises(NetworkError):
                await bot.get_me()
            assert server.calls_to("getMe")[-1].status == 0

            with pytest.raises(EndPointNotFound):
                await bot.do_api_request("noSuchMethod")

            server.valid_token = "1:other"
            with pytest.raises(InvalidToken, match="(?i)Unauthorized"):
                await bot.get_me()

    run(body)


def test_get_updates_offset_limit_and_long_poll() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            started = time.monotonic()
            assert await bot.get_updates(timeout=1) == ()
            assert 0.8 < time.monotonic() - started < 3

            server.push_message(
                "/start@coopbot_test_bot hi @CoopBot_Test_Bot", chat_id=3, user_id=3, username="ann"
            )
            server.push_message("second", chat_id=3, user_id=3)
            updates = await bot.get_updates(limit=1)
            assert len(updates) == 1
            message = updates[0].message
            assert message is not None and message.chat.type == "private"
            assert message.from_user is not None and message.from_user.language_code == "en"
            assert [(e.type, e.offset, e.length) for e in message.entities] == [
                ("bot_command", 0, 23),
                ("mention", 27, 17),
            ]
            first_id = updates[0].update_id
            assert [u.update_id for u in await bot.get_updates()] == [first_id, first_id + 1]
            updates = await bot.get_updates(offset=first_id + 1)
            assert [u.message.text for u in updates if u.message] == ["second"]
            assert await bot.get_updates(offset=first_id + 2) == ()
            assert server.pending_updates() == []

            async def push_later() -> None:
                await asyncio.sleep(0.2)
                server.push_message("wake up", chat_id=3, user_id=3)

            task = asyncio.create_task(push_later())
            started = time.monotonic()
            woken = await bot.get_updates(offset=first_id + 2, timeout=5)
            await task
            assert time.monotonic() - started < 2
            assert [u.message.text for u in woken if u.message] == ["wake up"]

    run(body)


def test_callbacks_inline_queries_and_commands() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            sent = await bot.send_message(
                2, "q", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", "cb")]])
            )
            query_id = server.push_callback("cb", message=sent.to_dict(), user_id=2)
            (update,) = await bot.get_updates()
            assert update.callback_query is not None and update.callback_query.data == "cb"
            assert update.callback_query.message.message_id == sent.message_id  # type: ignore
            with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
                await bot.answer_callback_query(query_id, text="x" * 201)
            assert await bot.answer_callback_query(query_id, text="ok")
            with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
                await bot.answer_callback_query(query_id)

            inline_id = server.push_inline("nato", user_id=2)

            def article(n: int, text: str = "t") -> InlineQueryResultArticle:
                return InlineQueryResultArticle(str(n), f"r{n}", InputTextMessageContent(text))

            with pytest.raises(BadRequest, match="(?i)RESULTS_TOO_MUCH"):
                await bot.answer_inline_query(inline_id, [article(n) for n in range(51)])
            with pytest.raises(BadRequest, match="(?i)RESULT_ID_DUPLICATE"):
                await bot.answer_inline_query(inline_id, [article(1), article(1)])
            bad_html = InlineQueryResultArticle(
                "1", "t", InputTextMessageContent("<b>x", parse_mode="HTML")
            )
            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await bot.answer_inline_query(inline_id, [bad_html])
            assert await bot.answer_inline_query(inline_id, [article(n) for n in range(50)])
            results = server.calls_to("answerInlineQuery")[-1].params["results"]
            assert results[0]["input_message_content"]["message_text"] == "t"

            assert await bot.set_my_commands([("ask", "Ask a question")])
            assert [c.command for c in await bot.get_my_commands()] == ["ask"]
            assert await bot.get_my_commands(language_code="vi") == ()
            with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
                await bot.set_my_commands([("Bad-Command", "x")])
            assert await bot.delete_my_commands()
            assert await bot.get_my_commands() == ()

    run(body)


def test_replies_documents_and_files() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            asked = server.push_message("question", chat_id=4, user_id=4)
            answer = await bot.send_message(4, "answer", reply_to_message_id=asked["message_id"])
            assert answer.reply_to_message is not None
            assert answer.reply_to_message.text == "question"
            with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
                await bot.send_message(4, "x", reply_to_message_id=999)

            sent = await bot.send_document(
                4, b"hello file", filename="a.txt", caption="<b>c</b>", parse_mode="HTML"
            )
            assert sent.document is not None and sent.document.file_name == "a.txt"
            assert sent.caption == "c"
            upload = server.calls_to("sendDocument")[0].params["document"]
            assert upload.data == b"hello file"
            file = await bot.get_file(sent.document.file_id)
            assert bytes(await file.download_as_bytearray()) == b"hello file"
            assert server.sent_messages(4)[-1]["text"] == "answer"  # documents are not listed

            pushed = server.push_document("in.pdf", b"%PDF", chat_id=4, user_id=4)
            incoming = await bot.get_file(pushed["document"]["file_id"])
            assert bytes(await incoming.download_as_bytearray()) == b"%PDF"

    run(body)


def test_wait_for_times_out_with_recent_calls() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            await bot.send_message(1, "only one")
            calls = await server.wait_for("sendMessage", lambda c: c.params["chat_id"] == 1)
            assert len(calls) == 1
            with pytest.raises(AssertionError, match="(?s)sendMessage.*only one"):
                await server.wait_for("sendMessage", count=2, timeout=0.2)

    run(body)


def test_webhook_conflicts_with_polling() -> None:
    async def body() -> None:
        async with bot_and_server() as (bot, server):
            assert await bot.set_webhook("https://example.invalid/hook")
            assert server.webhook_url == "https://example.invalid/hook"
            with pytest.raises(telegram.error.Conflict):
                await bot.get_updates()
            assert await bot.delete_webhook()
            assert await bot.get_updates() == ()

    run(body)


# -- end to end with a real Application ---------------------------------------------------------


def test_application_echoes_a_pushed_message() -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    async def body() -> None:
        async with FakeTelegram() as server:
            app: Application[Any, Any, Any, Any, Any, Any] = (
                ApplicationBuilder()
                .token(server.token)
                .base_url(f"{server.url}/bot")
                .base_file_url(f"{server.url}/file/bot")
                .build()
            )
            app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
            async with app:
                await app.start()
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0.0, timeout=1)
                server.push_message("hello bot", chat_id=11, user_id=11)
                (call,) = await server.wait_for("sendMessage", timeout=5)
                await app.updater.stop()
                await app.stop()
            assert call.params["text"] == "echo: hello bot"
            assert call.params["chat_id"] == 11
            assert server.sent_messages(11)[0]["text"] == "echo: hello bot"
            assert server.calls_to("getMe") and server.calls_to("deleteWebhook")
            assert server.pending_updates() == []  # confirmed by the updater's last offset

    run(body)
