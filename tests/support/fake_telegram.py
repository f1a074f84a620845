"""A fake Telegram Bot API server for tests, on aiohttp, bound to 127.0.0.1.

A real python-telegram-bot ``Bot`` or ``Application`` talks to it over HTTP::

    async with FakeTelegram() as server:
        app = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(f"{server.url}/bot")
            .base_file_url(f"{server.url}/file/bot")
            .build()
        )
        server.push_message("/start", chat_id=1, user_id=1)
        ...
        calls = await server.wait_for("sendMessage")

The server decodes requests the way PTB encodes them (form-urlencoded or multipart, every
non-string value JSON-encoded), records every call in ``server.calls``, answers like Telegram
(``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...}``)
and enforces Telegram's rules on what a bot sends: HTML that Telegram would refuse, texts over
4096 UTF-16 code units, callback data over 64 bytes, too many inline results, unchanged edits.
Faults can be injected with :meth:`FakeTelegram.fail_next`, :meth:`FakeTelegram.block_chat`
and :meth:`FakeTelegram.drop_connection_next`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64


# --------------------------------------------------------------------------------------------
# Text rules: UTF-16 length and Telegram's HTML dialect
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts lengths and offsets in."""
    return len(text.encode("utf-16-le")) // 2


class HtmlParseError(ValueError):
    """Telegram would answer "Bad Request: can't parse entities: <message>"."""


_ALLOWED_TAGS: dict[str, str] = {  # tag -> entity type
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
_UNQUOTED_VALUE_RE = re.compile(r"[^\s>]+")
_PLAIN_RUN_RE = re.compile(r"[^<&]+")
_SPACE_RE = re.compile(r"\s*")


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the visible text
    language: str | None = None  # for <pre>, from a nested <code class="language-...">


class _HtmlParser:
    """A small strict parser for Telegram's HTML parse mode.

    ``html.parser`` forgives bare ``&`` and ``<``; Telegram does not, so this one does not either.
    """

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # UTF-16 units emitted so far
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def parse(self) -> tuple[str, list[JSON]]:
        src = self.src
        while self.pos < len(src):
            char = src[self.pos]
            if char == "<":
                self._tag()
            elif char == "&":
                char, self.pos = self._entity(self.pos)
                self._emit(char)
            else:
                run = _PLAIN_RUN_RE.match(src, self.pos)
                assert run is not None
                self._emit(run.group())
                self.pos = run.end()
        if self.stack:
            name = self.stack[-1].name
            raise HtmlParseError(f'can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    # -- helpers ----------------------------------------------------------------------------

    def _byte_offset(self, pos: int) -> int:
        return len(self.src[:pos].encode("utf-8"))

    def _fail(self, message: str, pos: int) -> HtmlParseError:
        return HtmlParseError(f"{message} at byte offset {self._byte_offset(pos)}")

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.out_len += utf16_len(text)

    def _skip_space(self, pos: int) -> int:
        match = _SPACE_RE.match(self.src, pos)
        assert match is not None
        return match.end()

    def _entity(self, pos: int) -> tuple[str, int]:
        """Decode the character entity at ``pos`` (which holds "&"): (character, end)."""
        match = _ENTITY_RE.match(self.src, pos)
        if match is None:
            raise self._fail(
                'character "&" does not begin an HTML entity (escape it as "&amp;")', pos
            )
        named, decimal, hexadecimal = match.groups()
        if named:
            return _NAMED_ENTITIES[named], match.end()
        code = int(decimal) if decimal else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self._fail(f"invalid numeric HTML entity {match.group()!r}", pos)
        return chr(code), match.end()

    def _attribute_value(self, start: int, end: int) -> str:
        """Decode the attribute value in ``src[start:end]``, entities included."""
        parts: list[str] = []
        pos = start
        while pos < end:
            amp = self.src.find("&", pos, end)
            if amp < 0:
                parts.append(self.src[pos:end])
                break
            parts.append(self.src[pos:amp])
            char, pos = self._entity(amp)
            parts.append(char)
        return "".join(parts)

    # -- tags -------------------------------------------------------------------------------

    def _tag(self) -> None:
        start = self.pos
        if self.src.startswith("</", start):
            self._end_tag(start)
        else:
            self._start_tag(start)

    def _start_tag(self, start: int) -> None:
        src = self.src
        name_match = _TAG_NAME_RE.match(src, start + 1)
        if name_match is None:
            raise self._fail('unescaped "<" (escape it as "&lt;")', start)
        name = name_match.group().lower()
        attrs: dict[str, str] = {}
        pos = name_match.end()
        while True:
            pos = self._skip_space(pos)
            if pos >= len(src):
                raise self._fail(f'unclosed start tag "{name}"', start)
            if src[pos] == ">":
                pos += 1
                break
            attr_match = _ATTR_NAME_RE.match(src, pos)
            if attr_match is None or pos == name_match.end():  # attributes follow a space
                raise self._fail(f'unexpected character {src[pos]!r} in start tag "{name}"', pos)
            attr = attr_match.group().lower()
            pos = self._skip_space(attr_match.end())
            value = ""
            if pos < len(src) and src[pos] == "=":
                pos = self._skip_space(pos + 1)
                if pos < len(src) and src[pos] in "\"'":
                    close = src.find(src[pos], pos + 1)
                    if close < 0:
                        raise self._fail(f'unclosed attribute value in start tag "{name}"', pos)
                    value = self._attribute_value(pos + 1, close)
                    pos = close + 1
                else:
                    value_match = _UNQUOTED_VALUE_RE.match(src, pos)
                    if value_match is None:
                        raise self._fail(f'missing attribute value in start tag "{name}"', pos)
                    value = self._attribute_value(pos, value_match.end())
                    pos = value_match.end()
            attrs[attr] = value
        self._check_start_tag(name, attrs, start)
        self.stack.append(_OpenTag(name, attrs, self.out_len))
        self.pos = pos

    def _check_start_tag(self, name: str, attrs: dict[str, str], start: int) -> None:
        if name not in _ALLOWED_TAGS:
            raise self._fail(f'unsupported start tag "{name}"', start)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self._fail('unsupported start tag "span" (only class="tg-spoiler")', start)
        if name == "a" and "href" not in attrs:
            raise self._fail('start tag "a" has no "href" attribute', start)
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise self._fail('start tag "tg-emoji" has no "emoji-id" attribute', start)

    def _end_tag(self, start: int) -> None:
        src = self.src
        name_match = _TAG_NAME_RE.match(src, start + 2)
        name = name_match.group().lower() if name_match else ""
        pos = self._skip_space(name_match.end() if name_match else start + 2)
        if pos >= len(src) or src[pos] != ">":
            raise self._fail("unclosed end tag", start)
        if not self.stack:
            raise self._fail(f'unexpected end tag "</{name}>"', start)
        top = self.stack[-1]
        if name != top.name:
            raise self._fail(
                f'unmatched end tag, expected "</{top.name}>", found "</{name}>"', start
            )
        self.stack.pop()
        self.pos = pos + 1
        self._close(top)

    def _close(self, tag: _OpenTag) -> None:
        length = self.out_len - tag.start
        language = tag.attrs.get("class", "")
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent is not None and parent.name == "pre":
            if language.startswith("language-"):
                parent.language = language.removeprefix("language-")
            return  # Telegram folds <pre><code> into one pre entity
        if length == 0:
            return
        entity: JSON = {"type": _ALLOWED_TAGS[tag.name], "offset": tag.start, "length": length}
        if tag.name == "a":
            entity["url"] = tag.attrs["href"]
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into (visible text, entities with UTF-16 offsets).

    Raises :class:`HtmlParseError` wherever Telegram would refuse the text.
    """
    return _HtmlParser(text).parse()


def _strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace like Telegram does, clipping entities to what remains."""
    left = text.lstrip()
    shift = utf16_len(text) - utf16_len(left)
    stripped = left.rstrip()
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------------
# Errors, records, validation of bot-sent content
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP ``status`` and Telegram's ``description``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made: method name and decoded parameters, plus how it was answered.

    ``status`` is the HTTP status answered (0 when the connection was dropped); ``result`` the
    ``result`` of a successful answer; ``description`` the error description otherwise.
    """

    method: str
    params: JSON
    status: int = 200
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


class _Dropped(Exception):
    """The connection was aborted on purpose (see FakeTelegram.drop_connection_next)."""


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    description: str | None
    drop: bool = False
    delay: float = 0.0
    """Seconds to wait before answering normally (a server slower than the client's timeout)."""


# Markup in a text sent without a parse mode: Telegram would show "&amp;" or "<b>" to the user
# as typed. Telegram accepts such a text; this server refuses it, so that a reply escaped for
# HTML but sent as plain text (or the reverse) fails the test that sends it.
_MARKUP_IN_PLAIN_TEXT = re.compile(
    r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);|</?(?:b|i|u|s|a|code|pre|blockquote|tg-spoiler)\b[^>]*>"
)


def check_text(
    text: Any,
    parse_mode: Any = None,
    entities: Any = None,
    *,
    limit: int = MAX_MESSAGE_LENGTH,
    caption: bool = False,
) -> tuple[str, list[JSON]]:
    """Validate a message text or caption; return (visible text, entities) as Telegram stores it.

    Stricter than Telegram in one way: HTML markup (an entity such as ``&amp;`` or a tag such
    as ``<b>``) in a text sent without a parse mode is refused, since the user would see it.
    """
    if text is None or not isinstance(text, str):
        text = "" if text is None else str(text)
    mode = parse_mode.lower() if isinstance(parse_mode, str) else None
    if mode is None and not entities and (markup := _MARKUP_IN_PLAIN_TEXT.search(text)):
        raise bad_request(f"the fake server's check: {markup.group(0)!r} in a text sent without "
                          "parse_mode would be shown to the user as typed")
    if mode == "html":
        try:
            visible, found = parse_html(text)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    else:
        visible = text
        found = list(entities) if isinstance(entities, list) else []
    visible, found = _strip_text(visible, found)
    if not visible and not caption:
        raise bad_request("message text is empty")
    if utf16_len(visible) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return visible, found


def check_reply_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup; return it when it is an inline keyboard (what Telegram echoes)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards, ForceReply, ReplyKeyboardRemove: accepted, not echoed
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must '
            "be an Array of Arrays"
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("BUTTON_TEXT_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if len(button) < 2:
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton "
                    "must have exactly one optional field"
                )
    return markup


# Parameters that are strings even when they look like JSON; every other form field is
# JSON-decoded when it parses (PTB JSON-encodes every non-string value).
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_query_id", "url",
        "next_offset", "switch_pm_text", "switch_pm_parameter", "action", "secret_token",
        "language_code", "file_id", "inline_message_id", "business_connection_id",
        "message_effect_id", "title", "description", "short_description", "name", "emoji",
        "ip_address", "question", "explanation", "address",
    }
)  # fmt: skip

_SEND_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendChatAction", "sendDocument"}
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def decode_params(form: Mapping[str, Any]) -> JSON:
    """Decode PTB's form fields: JSON-encoded values become objects, file parts UploadedFile."""
    params: JSON = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
        elif isinstance(value, bytes | bytearray):
            params[key] = UploadedFile(None, "application/octet-stream", bytes(value))
        elif key in _STRING_PARAMS or not isinstance(value, str):
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

Handler = Callable[[JSON], Awaitable[Any]]


class FakeTelegram:
    """A Telegram Bot API look-alike on ``127.0.0.1`` and an ephemeral port.

    Use ``async with FakeTelegram() as server`` (or ``await start()`` / ``await stop()``).
    Tests enqueue updates with the ``push_*`` helpers and inspect ``calls``, ``calls_to``,
    ``sent_messages`` and ``wait_for``.
    """

    def __init__(self, token: str = "7000000001:TEST-fake-telegram-token") -> None:
        self.token = token
        self.valid_token: str | None = None  # when set, any other token answers 401
        self.bot_user: JSON = {
            "id": 7000000001,
            "is_bot": True,
            "first_name": "CoopBot Test",
            "username": "coopbot_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[Call] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status or 0) per POST
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope JSON, lang) -> commands
        self.blocked_chats: set[int] = set()
        self.url = ""
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._closing = asyncio.Event()
        self._poll_generation = 0
        self._chats: dict[int, JSON] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._bot_sent: list[tuple[int, int]] = []  # sendMessage results, in order
        self._queries: dict[str, bool] = {}  # callback/inline query id -> answered
        self._query_ids = itertools.count(4_000_000_001)
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._file_ids = itertools.count(1)
        self._faults: dict[str, list[_Fault]] = {}
        self._delivery: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "sendDocument": self._send_document,
                "getFile": self._get_file,
                "sendChatAction": self._send_chat_action,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
            }.items()
        }

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeTelegram:
        """Listen on 127.0.0.1 on ``port`` (0: a free one); ``url`` is set afterwards."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart on the same port
        sock.bind(("127.0.0.1", port))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{self._port}"
        self._closing.clear()
        return self

    async def stop(self) -> None:
        """Wake pending long polls and shut the server down."""
        self._closing.set()
        self._update_event.set()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- inspection -------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of ``method`` (case-insensitive), oldest first."""
        wanted = self._canonical(method)
        return [call for call in self.calls if call.method == wanted]

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent with sendMessage, in order, as last edited (copies)."""
        return [
            copy.deepcopy(self._messages[key])
            for key in self._bot_sent
            if chat_id is None or key[0] == chat_id
        ]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """The current state of any stored message (a copy); KeyError if unknown."""
        return copy.deepcopy(self._messages[(chat_id, message_id)])

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` match ``predicate``; return them.

        Raises AssertionError listing the most recent calls when ``timeout`` seconds pass.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [c for c in self.calls_to(method) if predicate is None or predicate(c)]
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(
                    f"  {c.method} [{c.status}] {c.params}" for c in self.calls[-15:]
                )
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} matching call(s) of "
                    f"{method}; got {len(found)}. Recent calls:\n{recent or '  (none)'}"
                )
            self._call_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._call_event.wait(), remaining)

    # -- fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``."""
        fault = _Fault(status, retry_after if status == 429 else None, description)
        self._faults.setdefault(self._canonical(method), []).extend([fault] * times)

    def drop_connection_next(self, method: str, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` calls of ``method``."""
        fault = _Fault(0, None, None, drop=True)
        self._faults.setdefault(self._canonical(method), []).extend([fault] * times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` only after ``seconds``."""
        fault = _Fault(0, None, None, delay=seconds)
        self._faults.setdefault(self._canonical(method), []).extend([fault] * times)

    def block_chat(self, chat_id: int) -> None:
        """Every send to ``chat_id`` answers 403 "Forbidden: bot was blocked by the user"."""
        self.blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self.blocked_chats.discard(chat_id)

    # -- updates ----------------------------------------------------------------------------

    def push_raw(self, update: JSON) -> JSON:
        """Queue an update as given, adding an ``update_id`` when it has none."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        else:
            self._update_ids = itertools.count(max(update["update_id"] + 1, next(self._update_ids)))
        for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
            if isinstance(update.get(kind), dict):
                self._remember_message(update[kind])
        self._updates.append(update)
        self._update_event.set()
        return update

    def push_message(
        self,
        text: str,
        *,
        chat_id: int,
        user_id: int,
        chat_type: str = "private",
        language_code: str = "en",
        username: str | None = None,
        first_name: str = "Test",
        reply_to_message: JSON | int | None = None,
        entities: list[JSON] | None = None,
        update_id: int | None = None,
    ) -> JSON:
        """Queue a text message from a user; return the message dict.

        Without ``entities``, a leading "/command" gets a bot_command entity and each
        "@<bot username>" a mention entity. ``reply_to_message`` is a message dict or the
        message_id of a stored message in this chat.
        """
        user = self._user(user_id, first_name, username, language_code)
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type, first_name=first_name, username=username),
            "from": user,
            "text": text,
        }
        found = self._auto_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to_message is not None:
            if isinstance(reply_to_message, int):
                reply_to_message = self._messages[(chat_id, reply_to_message)]
            message["reply_to_message"] = _without_reply(reply_to_message)
        self.push_raw({"message": message} if update_id is None
                      else {"update_id": update_id, "message": message})
        return copy.deepcopy(message)

    def push_document(
        self,
        file_name: str,
        content: bytes,
        *,
        chat_id: int,
        user_id: int,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
        chat_type: str = "private",
        language_code: str = "en",
    ) -> JSON:
        """Queue a document message; its file can be fetched through getFile. Returns it."""
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type),
            "from": self._user(user_id, "Test", None, language_code),
            "document": self._store_file(file_name, content, mime_type),
        }
        if caption is not None:
            message["caption"] = caption
        self.push_raw({"message": message})
        return copy.deepcopy(message)

    def push_callback(
        self,
        data: str,
        *,
        message: JSON,
        user_id: int,
        chat_id: int | None = None,
        language_code: str = "en",
        update_id: int | None = None,
    ) -> str:
        """Queue a button press on the bot ``message``; return the callback query id."""
        chat_id = message["chat"]["id"] if chat_id is None else chat_id
        current = self._messages.get((chat_id, message["message_id"]), message)
        query_id = str(next(self._query_ids))
        self._queries[query_id] = False
        press: JSON = {
            "callback_query": {
                "id": query_id,
                "from": self._user(user_id, "Test", None, language_code),
                "message": copy.deepcopy(current),
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
        }
        self.push_raw(press if update_id is None else {"update_id": update_id, **press})
        return query_id

    def push_inline(self, query: str, *, user_id: int, language_code: str = "en") -> str:
        """Queue an inline query; return its id."""
        query_id = str(next(self._query_ids))
        self._queries[query_id] = False
        self.push_raw(
            {
                "inline_query": {
                    "id": query_id,
                    "from": self._user(user_id, "Test", None, language_code),
                    "query": query,
                    "offset": "",
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed through a getUpdates offset (copies)."""
        return copy.deepcopy(self._updates)

    # -- HTTP plumbing ----------------------------------------------------------------------

    def _canonical(self, method: str) -> str:
        known = self._handlers.get(method.lower())
        return known[0] if known else method

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = decode_params(request.query)
        if request.method != "POST" or not request.body_exists:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(decode_params(await request.post()))
        return params

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except ConnectionResetError:  # the client died mid-request (a killed bot): no call
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        call = Call(self._canonical(method), params)
        try:
            result = await self._dispatch(request, call)
        except ApiError as error:
            call.status, call.description = error.status, error.description
            self._record(call)
            body: JSON = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.json_response(body, status=error.status)
        except _Dropped:
            call.status, call.description = 0, "connection dropped"
            self._record(call)
            return web.Response()  # the transport is gone: nothing reaches the client
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, request: web.Request, call: Call) -> Any:
        if self.valid_token is not None and request.match_info["token"] != self.valid_token:
            raise ApiError(401, "Unauthorized")
        known = self._handlers.get(call.method.lower())
        if known is None:
            raise ApiError(404, "Not Found")
        faults = self._faults.get(call.method)
        if faults:
            fault = faults.pop(0)
            if fault.delay:
                await asyncio.sleep(fault.delay)
                return await known[1](call.params)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()
                raise _Dropped
            raise _fault_error(fault)
        chat_id = call.params.get("chat_id")
        if (
            call.method in _SEND_METHODS
            and isinstance(chat_id, int)
            and chat_id in self.blocked_chats
        ):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return await known[1](call.params)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._call_event.set()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        for file_path, content in self._files.values():
            if file_path == path:
                return web.Response(body=content)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # -- model helpers ----------------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        first_name: str = "Test",
        username: str | None = None,
    ) -> JSON:
        known = self._chats.get(chat_id)
        if known is not None and (chat_type is None or known["type"] == chat_type):
            return dict(known)
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = f"Test {chat_type} {chat_id}"
        self._chats[chat_id] = chat
        return dict(chat)

    @staticmethod
    def _user(user_id: int, first_name: str, username: str | None, language: str) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language:
            user["language_code"] = language
        return user

    def _auto_entities(self, text: str) -> list[JSON]:
        entities: list[JSON] = []
        command_end = 0
        if text.startswith("/"):
            command_end = len(text.split(maxsplit=1)[0]) if text.strip() else 1
            entities.append(
                {"type": "bot_command", "offset": 0, "length": utf16_len(text[:command_end])}
            )
        mention = re.compile(
            r"(?<![\w@])@" + re.escape(self.bot_user["username"]) + r"(?!\w)", re.IGNORECASE
        )
        for match in mention.finditer(text):
            if match.start() >= command_end:
                entities.append(
                    {
                        "type": "mention",
                        "offset": utf16_len(text[: match.start()]),
                        "length": utf16_len(match.group()),
                    }
                )
        return entities

    def _remember_message(self, message: JSON) -> None:
        chat = message.get("chat") or {}
        if "id" in chat and "message_id" in message:
            self._chats.setdefault(chat["id"], dict(chat))
            self._messages[(chat["id"], message["message_id"])] = copy.deepcopy(message)

    def _store_file(self, file_name: str | None, content: bytes, mime_type: str) -> JSON:
        number = next(self._file_ids)
        file_id = f"FILE{number:06d}"
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        self._files[file_id] = (f"documents/file_{number}{suffix}", content)
        document: JSON = {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "mime_type": mime_type,
            "file_size": len(content),
        }
        if file_name:
            document["file_name"] = file_name
        return document

    def _chat_id(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        return chat_id

    def _bot_message(self, chat_id: int, params: JSON, **content: Any) -> JSON:
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": dict(self.bot_user),
            **content,
        }
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {"message_id": params["reply_to_message_id"]}
        if isinstance(reply, dict) and "message_id" in reply:
            target_chat = reply.get("chat_id", chat_id)
            target = self._messages.get((target_chat, reply["message_id"]))
            if target is not None:
                message["reply_to_message"] = _without_reply(target)
            elif not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
        return message

    def _editable(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        message = self._messages.get((chat_id, params.get("message_id")))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    # -- API methods ------------------------------------------------------------------------

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), 50.0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure "
                    "that only one bot instance is running",
                )
            if self._updates or self._closing.is_set():
                return copy.deepcopy(self._updates[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self._update_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    async def _set_webhook(self, params: JSON) -> bool:
        self.webhook_url = str(params.get("url") or "") or None
        self.webhook_secret = str(params.get("secret_token") or "") or None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._poll_generation += 1
        self._update_event.set()
        if self.webhook_url and (self._delivery is None or self._delivery.done()):
            self._delivery = asyncio.get_running_loop().create_task(self._deliver())
        return True

    async def _deliver(self, at_once: int = 8, retry_s: float = 0.2) -> None:
        """Telegram's side of a webhook: POST each queued update to the URL until it answers
        200, trying again every `retry_s` (Telegram backs off longer), `at_once` at a time."""
        import aiohttp

        slots = asyncio.Semaphore(at_once)

        async def post(session: aiohttp.ClientSession, update: JSON) -> None:
            status = 0
            try:
                async with slots:
                    headers = {"Content-Type": "application/json"}
                    if self.webhook_secret:
                        headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
                    with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                        async with session.post(str(self.webhook_url), data=json.dumps(update),
                                                headers=headers) as response:
                            status = response.status
                self.webhook_posts.append((update["update_id"], status))
                if status == 200:
                    self._updates = [u for u in self._updates if u is not update]
                else:
                    await asyncio.sleep(retry_s)
            finally:
                self._in_flight.discard(id(update))
                self._update_event.set()

        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            tasks: set[asyncio.Task[None]] = set()
            while self.webhook_url and not self._closing.is_set():
                for update in list(self._updates):
                    if id(update) not in self._in_flight:
                        self._in_flight.add(id(update))
                        task = asyncio.get_running_loop().create_task(post(session, update))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                self._update_event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._update_event.wait(), 0.5)
            for task in list(tasks):
                task.cancel()

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        text, entities = check_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._bot_message(chat_id, params, text=text)
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self._remember_message(message)
        self._bot_sent.append((chat_id, message["message_id"]))
        return message

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        text, entities = check_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = check_reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        old = (message.get("text"), message.get("entities", []), message.get("reply_markup"))
        if old == (text, entities, markup):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        _set_or_drop(message, "entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        markup = check_reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._editable(params)
        if message.get("reply_markup") == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    async def _send_document(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        document = params.get("document")
        if isinstance(document, UploadedFile):
            stored = self._store_file(document.filename, document.data, document.content_type)
        elif isinstance(document, str) and document in self._files:
            stored = {"file_id": document, "file_unique_id": f"U{document}"}
        elif isinstance(document, str) and document:
            stored = self._store_file(document.rsplit("/", 1)[-1], b"", "application/octet-stream")
        else:
            raise bad_request("there is no document in the request")
        caption, entities = check_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            caption=True,
        )
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._bot_message(chat_id, params, document=stored)
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self._remember_message(message)
        return message

    async def _get_file(self, params: JSON) -> JSON:
        file_id = params.get("file_id")
        if file_id not in self._files:
            raise bad_request("invalid file_id")
        path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    async def _send_chat_action(self, params: JSON) -> bool:
        self._chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _take_query(self, query_id: Any) -> None:
        if self._queries.get(str(query_id)) is not False:
            raise bad_request(_QUERY_INVALID)
        self._queries[str(query_id)] = True

    async def _answer_callback_query(self, params: JSON) -> bool:
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._take_query(params.get("callback_query_id"))
        return True

    async def _answer_inline_query(self, params: JSON) -> bool:
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", "")) if isinstance(result, dict) else ""
            if not 1 <= len(result_id.encode("utf-8")) <= MAX_INLINE_RESULT_ID_BYTES:
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                check_text(
                    content["message_text"], content.get("parse_mode"), content.get("entities")
                )
            check_reply_markup(result.get("reply_markup"))
        self._take_query(params.get("inline_query_id"))
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = copy.deepcopy(commands)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True


def _fault_error(fault: _Fault) -> ApiError:
    if fault.description is not None:
        description = fault.description
    elif fault.status == 429:
        description = f"Too Many Requests: retry after {fault.retry_after}"
    elif fault.status == 400:
        description = "Bad Request: injected failure"
    elif fault.status == 403:
        description = "Forbidden: injected failure"
    else:
        try:
            description = HTTPStatus(fault.status).phrase
        except ValueError:
            description = f"Error {fault.status}"
    return ApiError(fault.status, description, fault.retry_after)


def _without_reply(message: JSON) -> JSON:
    """A copy of ``message`` fit to be a reply_to_message (Telegram does not nest them)."""
    quoted = copy.deepcopy(message)
    quoted.pop("reply_to_message", None)
    return quoted


def _set_or_drop(target: JSON, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
