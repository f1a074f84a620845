"""Telling Vietnamese questions from English ones, cheaply and without a model.

Vietnamese writes tones and vowel qualities as diacritics that English never uses, so a couple
of such letters settle it. Many users type without accents, as in chat ("canh sat Thai Lan gap
ai o Bangkok?"): such a question is caught by Vietnamese function words that are not English
words, or else by lingua's statistical models of English and Vietnamese, which see the
question without its capitalised names (names read the same in both languages, and "Who is
Luong Tam Quang?" is English).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache
from typing import Any

from embeddings.text import words as word_tokens

# Letters only Vietnamese uses, and accented vowels it shares with Romance languages.
_VI_ONLY = re.compile(
    "[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĩũ]"
)
_ACCENTED = re.compile("[áàãéèíìóòõúùý]")
# Frequent Vietnamese words as typed without accents, none of them an English word.
_VI_BARE = """cua khong nhung duoc nhu nao bao nhieu gi ai la voi trong cac nam thang ngay
    tai sao viet hop tac cong canh sat ve cho mot hai nguoi da dang se"""
_VI_BARE_WORDS = frozenset(_VI_BARE.split())
# Share of those words from which a question is Vietnamese (no English question of SQuAD dev's
# 10,570 reaches 0.2; 0.25 leaves a margin).
_BARE_SHARE = 0.25


# lingua's confidence for Vietnamese from which an unaccented question counts as Vietnamese.
# Chosen on SQuAD dev's 10,570 English questions (none reaches it) and XQuAD's Vietnamese ones
# with their diacritics stripped.
_LINGUA_VI = 0.4
_LINGUA_LOCK = threading.Lock()


@cache
def _lingua() -> Any:
    """lingua restricted to English and Vietnamese (its models load on first use), or None
    where the package is missing: the function words alone then decide."""
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        return None
    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.VIETNAMESE).build()


def _without_names(text: str) -> str:
    """The text without its capitalised words after the first (names)."""
    tokens = text.split()
    return " ".join(w for i, w in enumerate(tokens) if i == 0 or not w[:1].isupper())


def _unaccented_vietnamese(text: str) -> bool:
    detector = _lingua()
    rest = _without_names(text)
    if detector is None or len(rest.split()) < 2:  # names alone say nothing of the language
        return False
    with _LINGUA_LOCK:  # one detector shared by the bot's worker threads
        values = detector.compute_language_confidence_values(rest)
    return any(v.language.name == "VIETNAMESE" and v.value >= _LINGUA_VI for v in values)


def detect_language(text: str) -> str:
    """``"vi"`` for Vietnamese text, ``"en"`` otherwise."""
    # Accents kept: they are the evidence. NFC, so each accented letter is one character.
    words = word_tokens(unicodedata.normalize("NFC", text), fold_accents=False)
    if not words:
        return "en"
    # A Vietnamese name inside an English question ("Who is Lương Tam Quang?") stays English.
    specific = sum(bool(_VI_ONLY.search(w)) for w in words)
    accented = sum(bool(_VI_ONLY.search(w) or _ACCENTED.search(w)) for w in words)
    if specific >= 1 and accented >= 2 and accented / len(words) >= 0.3:
        return "vi"
    if len(words) >= 3 and sum(w in _VI_BARE_WORDS for w in words) / len(words) >= _BARE_SHARE:
        return "vi"
    if accented == 0 and len(words) >= 3 and _unaccented_vietnamese(text):
        return "vi"
    return "en"
