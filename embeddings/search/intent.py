"""What a question asks for: a passage (almost always), one of an article's facts, or the
articles of a period.

    "Who wrote the article about Sainyabuli?"   -> byline of the article found for "Sainyabuli"
    "When was the Cambodia story published?"    -> date
    "Which agency reported the Thai meeting?"   -> source
    "Where was the Bangkok story filed?"        -> place (the dateline)
    "What happened in December 2023?"           -> period: the articles dated in it, newest first
    anything else                               -> passage: the hybrid search answers it

The metadata patterns need a word for the article itself ("article", "story", "bài báo") or a
word that only means metadata ("author", "byline", "tác giả", "nguồn"): "Who wrote the
Constitution?" or "When was the treaty signed?" are questions about the text, not the article.
English and Vietnamese, with or without diacritics, are matched on folded words.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from embeddings.search.dates import DateRange, find_date_range
from embeddings.text import fold

Asks = Literal["passage", "byline", "date", "source", "place", "period"]
METADATA: tuple[Asks, ...] = ("byline", "date", "source", "place")

_WORD = re.compile(r"\w+", re.UNICODE)
# "report" alone is left out: "When was the Fourth Assessment Report published?" asks about a
# document the text describes, not about the article.
_ARTICLE = (r"(?:article|articles|story|stories|piece|news\s+item|news\s+report|news"
            r"|bai\s+bao|bai\s+viet|ban\s+tin|tin\s+tuc|bai)")
# Folded Vietnamese collides ("bão/bào/báo nào", "bình đẳng/đăng"): its rules apply only to a
# question that names the article ("bài", "bản tin", "tin tức"; not "thông tin").
_VIETNAMESE_ARTICLE = re.compile(r"\b(?:bai|ban\s+tin|tin\s+tuc|hang\s+tin|hang\s+thong\s+tan)\b")
_DET = r"(?:the|this|that|an?)"
# "the" and up to six words describing the article: "the Cambodia drug training story".
_DESCRIBED = rf"{_DET}\s+(?:\w+\s+){{0,6}}?{_ARTICLE}\b"
_RULES: tuple[tuple[Asks, str], ...] = (  # English
    # -- who wrote it
    ("byline", rf"\bwho\s+(?:wrote|authored|penned|filed)\s+{_DESCRIBED}"),
    ("byline", rf"\bwho\s+(?:is|was)\s+(?:the\s+)?(?:author|writer|reporter)(?:\s+of\s+"
               rf"{_DESCRIBED}|$)"),
    ("byline", rf"\b(?:author|writer|reporter|byline)s?\s+of\s+{_DESCRIBED}"),
    ("byline", r"\bwho\s+(?:wrote|authored)\s+(?:it|this|that)$"),
    # -- when it was published
    ("date", rf"\bwhen\s+(?:was|were|did)\s+{_DESCRIBED}"
             r"(?:\s+\w+){0,8}?\s+(?:published|posted|written|released|out|appear|come)\b"),
    ("date", rf"\b(?:publication|publishing|release)\s+date\s+of\s+{_DESCRIBED}"),
    ("date", rf"\bwhat\s+(?:date|day)\s+(?:was|were)\s+{_DESCRIBED}"),
    # -- who published it
    ("source", r"\b(?:which|what)\s+(?:news\s+)?(?:agency|agencies|outlet|newspaper|website"
               r"|media|wire)\s+(?:first\s+)?(?:reported|published|ran|carried|wrote|covered"
               r"|posted|broke)\b"),
    ("source", rf"\bwho\s+(?:published|reported|ran|carried)\s+{_DESCRIBED}"),
    ("source", rf"\bsource\s+of\s+{_DESCRIBED}"),
    ("source", r"\bwhat\s+(?:is|was)\s+(?:the|its)\s+source$"),
    # -- where it was filed
    ("place", rf"\bwhere\s+(?:was|were)\s+{_DESCRIBED}"
              r"(?:\s+\w+){0,8}?\s+(?:written|filed|published|datelined|reported\s+from"
              r"|sent\s+from)\b"),
    ("place", r"\bdateline\b"),
)
_VIETNAMESE_RULES: tuple[tuple[Asks, str], ...] = (
    ("byline", r"\b(?:ai\s+(?:la\s+)?(?:viet|tac\s+gia)|tac\s+gia|phong\s+vien\s+nao"
               r"|nguoi\s+viet|but\s+danh)\b"),
    ("date", r"\b(?:dang|xuat\s+ban|dang\s+tai|phat\s+hanh)\s+(?:vao\s+)?(?:khi\s+nao"
             r"|luc\s+nao|ngay\s+nao|bao\s+gio|hom\s+nao)\b"),
    ("date", r"\b(?:ngay|thoi\s+gian)\s+(?:dang|xuat\s+ban|dang\s+tai)\b"),
    ("source", r"\b(?:hang\s+tin|hang\s+thong\s+tan|co\s+quan\s+bao\s+chi|trang\s+bao"
               r"|to\s+bao)\s+nao\b|\bnguon\s+(?:tin|cua|bai)\b|\b(?:do\s+)?ai\s+dua\s+tin\b"),
    ("place", r"\b(?:viet|dua\s+tin|dang)\s+(?:o|tai|tu)\s+dau\b"),
)
_PATTERNS = tuple((asks, re.compile(pattern)) for asks, pattern in _RULES)
_VIETNAMESE_PATTERNS = tuple((asks, re.compile(pattern)) for asks, pattern in _VIETNAMESE_RULES)
# Words that only said what kind of fact is wanted, dropped from the search for its article.
_ARTICLE_WORDS = (
    "who wrote authored penned filed author authors writer reporter byline when was were did "
    "is its it this that the an a of about on regarding concerning what which date day "
    "published posted written released out appear come publication publishing release where "
    "datelined dateline sent from reported source agency outlet newspaper paper site website "
    "media wire carried ran covered broke first news article articles story stories report "
    "piece item ai la viet tac gia phong vien nao nguoi but danh dang xuat ban tai phat hanh "
    "vao khi luc ngay bao gio hom thoi gian hang tin thong tan co quan chi trang to nguon cua "
    "do dua bai ve duoc o dau tu")
_ABOUT_ARTICLES = frozenset(_ARTICLE_WORDS.split())
# Words of "What happened in December 2023?": what is left besides the period asks for a list.
_EVENT_WORDS = (
    "what which whats happened happen happens happening occurred took place there was were "
    "is are any anything did do does the in on at during from of for list show me tell give "
    "about all new latest news articles article stories story events event reports report "
    "published posted written items coverage cooperation month year week day co gi xay ra "
    "tin tuc su kien bai bao viet nhung nao trong vao thang nam ngay tuan da duoc dang cac "
    "hay liet ke cho toi biet ve moi nhat hop tac chuyen")
_ABOUT_EVENTS = frozenset(_EVENT_WORDS.split())


@dataclass(frozen=True)
class Intent:
    """What a question asks for, and what to search for to answer it."""

    asks: Asks
    subject: str
    """The words to search for: the question itself for a passage, the article's description
    for a metadata question ("about Sainyabuli"), "" for a period."""
    period: DateRange | None = None
    """The period of a ``period`` question."""


def read_intent(question: str, today: dt.date) -> Intent:
    """What `question` asks for (see the module docstring).

    Args:
        question: The cleaned question, English or Vietnamese, with or without diacritics.
        today: The day it is asked on, for relative periods ("last month").
    """
    tokens = [(m.start(), m.end(), _fold_word(m.group())) for m in _WORD.finditer(question)]
    folded = " ".join(word for _, _, word in tokens)
    rules = _PATTERNS + (_VIETNAMESE_PATTERNS if _VIETNAMESE_ARTICLE.search(folded) else ())
    for asks, pattern in rules:
        if pattern.search(folded) is None:
            continue
        kept = [question[start:end] for start, end, word in tokens
                if word not in _ABOUT_ARTICLES]
        # "Who wrote it?" names no article: nothing to search for, so it is a plain question.
        if kept:
            return Intent(asks, " ".join(kept))
    period = find_date_range(question, today)
    if period is not None:
        rest = _without(question, period.text)
        if not [w for w in (_fold_word(m) for m in _WORD.findall(rest)) if w not in _ABOUT_EVENTS
                and not w.isdigit()]:
            return Intent("period", "", period)
    return Intent("passage", question)


def _fold_word(word: str) -> str:
    """A word lower-cased without diacritics, "đ" read as "d" (as Vietnamese is typed bare)."""
    return fold(word).replace("đ", "d")


def _without(question: str, part: str) -> str:
    """The question without its first occurrence of `part`."""
    at = question.find(part)
    return question if at < 0 or not part else question[:at] + " " + question[at + len(part):]
