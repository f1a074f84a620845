"""Telling Vietnamese questions from English ones, cheaply and without a model.

Vietnamese writes tones and vowel qualities as diacritics that English never uses, so a couple
of such letters settle it. Many users type without accents, as in chat ("canh sat Thai Lan gap
ai o Bangkok?"): such a question is caught by Vietnamese function words that are not English
words, or by most of its words being Vietnamese syllables, or else by lingua's statistical
models of English and Vietnamese. The last two see the question without its capitalised names
(names read the same in both languages, and "Who is Luong Tam Quang?" is English).

Syllables: a word is Vietnamese evidence when it is a syllable of pyvi's word list, either as
written with its marks ("nhiêu") or bare ("nhieu") and no frequent English word; a bare
syllable that is a frequent English word ("the", "to", "can", "long") says nothing, and any
other word counts against. Two Vietnamese words or more, and more than 60% of the words that
say something, make the question Vietnamese ("Ai dan dau Panthers ve so lan vat nga?",
"Jacksonville cách Miami bao xa?"). No English question of SQuAD dev's 10,570 or XQuAD's
1,190 goes past 40% (lower-cased, none either), and no Vietnamese one of XQuAD's 1,190 falls
below 57% with its accents or 67% without. Any share from 50% to 65% leaves none of XQuAD's
even-numbered questions, on which it was chosen, misread; 60% keeps "who is lương tam quang?"
(three syllables against two words) English, where 50% would not.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache
from typing import Any

from embeddings.search.accents import bare, vietnamese_syllables
from embeddings.search.terms import english_by_frequency
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


# English words this frequent (by symspellpy's Google Books counts) are no evidence of
# Vietnamese where they are Vietnamese syllables as well. The 300 to 3,000 most frequent words
# leave the same margins as 1,000 on the questions above; without them, English questions reach
# 0.67 ("Who can be in the Victorian cabinet?").
_COMMON_ENGLISH = 1000
_SYLLABLE_SHARE = 0.6  # of the words that say something, beyond which a question is Vietnamese


@cache
def _common_english() -> frozenset[str]:
    return frozenset(english_by_frequency()[:_COMMON_ENGLISH])


def _mostly_syllables(text: str) -> bool:
    """Whether two or more of the words outside names are Vietnamese syllables, and more than
    `_SYLLABLE_SHARE` of those that tell (see the module's notes). `text` is NFC."""
    written, bare_syllables = vietnamese_syllables()
    common = _common_english()
    vietnamese = other = 0
    for word in word_tokens(_without_names(text), fold_accents=False):
        if len(word) < 2 or not word.isalpha():  # "a", "o", "y", numbers: either language
            continue
        if bare(word) != word:  # the marks decide: "là" is Vietnamese, "café" is not
            vietnamese += word in written
            other += word not in written
        elif word in bare_syllables:
            vietnamese += word not in common
        else:
            other += 1
    return vietnamese >= 2 and vietnamese > _SYLLABLE_SHARE * (vietnamese + other)


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
    text = unicodedata.normalize("NFC", text)
    words = word_tokens(text, fold_accents=False)
    if not words:
        return "en"
    # A Vietnamese name inside an English question ("Who is Lương Tam Quang?") stays English.
    specific = sum(bool(_VI_ONLY.search(w)) for w in words)
    accented = sum(bool(_VI_ONLY.search(w) or _ACCENTED.search(w)) for w in words)
    if specific >= 1 and accented >= 2 and accented / len(words) >= 0.3:
        return "vi"
    if len(words) >= 3 and sum(w in _VI_BARE_WORDS for w in words) / len(words) >= _BARE_SHARE:
        return "vi"
    if _mostly_syllables(text):
        return "vi"
    if accented == 0 and len(words) >= 3 and _unaccented_vietnamese(text):
        return "vi"
    return "en"
