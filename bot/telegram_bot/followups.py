"""Which exchange a message follows up: the answer it replies to, or, in a private chat, the
last answer given there a short while ago when the message reads like a follow-up
("And when do they meet next?"). See `embeddings.search.followup` for how it is searched.

What is kept: per private chat, the last answered question and its first article's title, in
memory, for `COOPBOT_FOLLOWUP_SECONDS`; a restart forgets them (a reply to an answer still
finds its question through the answer store behind the message's buttons).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from telegram import Message, Update

from embeddings.service import Conversation, names_its_subject, reads_as_follow_up

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
        with self._lock:
            self._last[chat_id] = (time.monotonic(), Conversation(question,
                                                                   answer.answers[0].title))
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
