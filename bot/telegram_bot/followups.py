"""Which exchange a message follows up: the answer it replies to, or, in a private chat, the
last answer given there a short while ago when the message reads like a follow-up
("And when do they meet next?"). See `embeddings.search.followup` for how it is searched.

What is kept: per private chat, the last answered question and its first article's title, in
memory, for `COOPBOT_FOLLOWUP_SECONDS`; a restart forgets them (a reply to an answer still
finds its question through the answer store behind the message's buttons). Replicas sharing a
database (`SharedConversations`) keep them there instead, for as long, so that a follow-up
reaching another replica still knows its subject; rows past the window are deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from telegram import Message, Update

from bot.telegram_bot.state_db import StateDB, Tables, state_errors
from embeddings.service import Conversation, names_its_subject, reads_as_follow_up

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.telegram_bot.state import ResultStore
    from embeddings.answers import Answer


class Conversations:
    """The last answered question of each private chat, for `window_s` seconds."""

    def __init__(self, window_s: float, capacity: int = 10_000) -> None:
        self.window_s = window_s
        self._last: OrderedDict[int, tuple[float, Conversation]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def remember(self, chat_id: int, answer: Answer, after: Conversation | None) -> None:
        """Keep an answered question as the chat's context; a follow-up keeps what it
        followed too, so that a second follow-up still knows the subject."""
        if not answer.answered or not answer.answers:
            return
        question = answer.query if after is None else f"{answer.query} {after.question}"
        self._keep(chat_id, Conversation(question, answer.answers[0].title))

    def _keep(self, chat_id: int, conversation: Conversation) -> None:
        with self._lock:
            self._last[chat_id] = (time.monotonic(), conversation)
            self._last.move_to_end(chat_id)
            while len(self._last) > self._capacity:
                self._last.popitem(last=False)

    def recent(self, chat_id: int) -> Conversation | None:
        """The chat's last exchange, if it is recent enough."""
        with self._lock:
            found = self._last.get(chat_id)
        if found is None or time.monotonic() - found[0] > self.window_s:
            return None
        return found[1]


class SharedConversations(Conversations):
    """The same memory in the database replicas share (wall-clock times)."""

    TABLES = Tables(
        sqlite="""CREATE TABLE IF NOT EXISTS conversations (chat_id INTEGER PRIMARY KEY,
            at REAL NOT NULL, question TEXT NOT NULL, title TEXT NOT NULL);""",
        postgres="""CREATE TABLE IF NOT EXISTS conversations (chat_id BIGINT PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL, question TEXT NOT NULL, title TEXT NOT NULL);""",
    )

    def __init__(self, db: StateDB, window_s: float) -> None:
        super().__init__(window_s)
        self.db = db
        db.create(self.TABLES)

    def _keep(self, chat_id: int, conversation: Conversation) -> None:
        now = time.time()
        try:
            with self.db.transaction() as tx:
                tx.execute("DELETE FROM conversations WHERE at < ?", (now - self.window_s,))
                tx.execute("INSERT INTO conversations (chat_id, at, question, title) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET at = "
                           "excluded.at, question = excluded.question, title = excluded.title",
                           (chat_id, now, conversation.question, conversation.title))
        except state_errors() as exc:  # the answer is sent; only a follow-up loses its subject
            log.warning("follow-up context not stored: %s", exc)

    def recent(self, chat_id: int) -> Conversation | None:
        """The chat's last exchange, if it is recent enough (on any replica)."""
        try:
            row = self.db.execute(
                "SELECT question, title FROM conversations WHERE chat_id = ? AND at >= ?",
                (chat_id, time.time() - self.window_s)).first()
        except state_errors() as exc:
            log.warning("follow-up context not read: %s", exc)
            return None
        return None if row is None else Conversation(str(row[0]), str(row[1]))


def follows(update: Update, question: str, bot_id: int, results: ResultStore,
            conversations: Conversations) -> Conversation | None:
    """The exchange `question` continues, or None for a question of its own."""
    message = update.effective_message
    if message is None or names_its_subject(question):
        return None
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return _answered_by(replied, results) or conversations.recent(message.chat_id)
    if (message.chat.type == "private" and conversations.window_s > 0
            and reads_as_follow_up(question)):
        return conversations.recent(message.chat_id)
    return None


def _answered_by(message: Message, results: ResultStore) -> Conversation | None:
    """The question behind one of the bot's answers, found through its buttons' answer id."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else ""
            kind, _, rest = data.partition(":")
            if kind not in ("fa", "mr", "fb"):
                continue
            stored = results.get(rest.split(":")[0])
            if stored is None:
                return None
            answer = stored.answer
            title = answer.answers[0].title if answer is not None and answer.answers else ""
            return Conversation(stored.query, title)
    return None
