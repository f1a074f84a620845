"""Telling Vietnamese questions from English ones, cheaply and without a model.

Vietnamese writes tones and vowel qualities as diacritics that English never uses, so a couple
of such letters settle it. Users typing without accents ("thang 12 nam 2023") are caught by
Vietnamese function words that are not English words.
"""

from __future__ import annotations

import re
import unicodedata

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
    if len(words) >= 3 and sum(w in _VI_BARE_WORDS for w in words) / len(words) >= 0.5:
        return "vi"
    return "en"
