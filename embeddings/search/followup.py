"""Follow-up questions: "And when do they meet next?" asked right after an answer about the
Quang Ninh – Sainyabuli meeting means that meeting.

A follow-up is searched with its context: the previous question and the title of the article
that answered it are added to the text that finds the passages, so the previous subject's
names and terms weigh in both the dense and the keyword lists, while the answer sentence and
the decision are still read against the follow-up question itself. The answer says what it
took the question to be about (`Answer.about`).

Which messages are follow-ups is the front end's call. A message that names its own subject
(a capitalised name or a number after its first word: "And what did Quang Ninh police
donate?") is a question of its own, even as a reply. Otherwise a reply to one of the bot's
answers is a follow-up, and so is a message in the same private chat shortly after an answer
that reads like one (`reads_as_follow_up`): it starts with "and", "what about", "còn", or
leans on a pronoun for its subject ("they", "it", "họ", "ông ấy", "hai bên").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.text import fold, names_and_numbers

_OPENERS = re.compile(
    r"^(?:and|also|so|then|what about|how about|and what about|con|the con|vay|vay con|"
    r"the thi|roi)\b")
_ANAPHORS = re.compile(
    r"\b(?:they|them|their|theirs|it|its|he|him|his|she|her|there|this|that|these|those|"
    r"both sides|the two sides|each other|ho|ong ay|ba ay|anh ay|chi ay|no|hai ben|do|nay|"
    r"ben kia|cac ben)\b")


@dataclass(frozen=True)
class Conversation:
    """The exchange a follow-up continues."""

    question: str
    """The previous question, as asked."""
    title: str
    """The title of the article that answered it first ("" when none did)."""

    def search_text(self, question: str) -> str:
        """The text that finds the follow-up's passages: it, then what it continues."""
        return " ".join(part for part in (question, self.question, self.title) if part)


def names_its_subject(question: str) -> bool:
    """Whether a question names what it is about: a name or a number of its own."""
    return bool(names_and_numbers(question))


def reads_as_follow_up(question: str) -> bool:
    """Whether a question leans on an earlier one: it names no subject of its own, and opens
    as a continuation or refers to its subject with a pronoun (English and Vietnamese, with or
    without accents)."""
    if names_its_subject(question):
        return False
    words = " ".join(re.findall(r"\w+", fold(question).replace("đ", "d")))
    return bool(_OPENERS.search(words) or _ANAPHORS.search(words))
