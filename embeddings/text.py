"""Small text helpers shared by the stages: the one word tokenizer, folding, stop words.

Everything that compares words calls `words`: keyword search and its vocabulary, duplicate
detection, highlighting, abstention, language detection, title comparison. They differ only in
what they fold, and say so by argument; `content_words` drops the stop words too. Two splits
serve other ends and stay apart: `names_and_numbers` keeps case and whole tokens (what survives
translation), and the corpus's file-name slugs keep only ASCII.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

_WORD = re.compile(r"\w+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")

# Question words and glue: they match every sentence, so they must not count as overlap.
_STOPWORDS = """
    a an and are as at be been by can did do does for from had has have he her his how i if in
    into is it its mentioned news of on or our said say says she should so than that the their them
    they this those to was we were what when where which who whom whose why will with would you
    about after against all also any both each more most other over such there these through
    under until up very"""
STOPWORDS = frozenset(_STOPWORDS.split())


def clean_question(text: str, *, max_chars: int = 1000) -> str:
    """Normalise a question: Unicode NFC, no control characters, single spaces, bounded length."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()[:max_chars]


def fold(text: str) -> str:
    """Lower case without accents, as FTS5's ``remove_diacritics 2`` folds ("Lương" -> "luong").

    Like FTS5, it keeps "đ": it is a letter of its own, not a "d" with a mark.
    """
    if text.isascii():  # most English text: nothing to fold but case (4x faster)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():  # the accents were all there was
        return decomposed
    # translate() drops the marks in C: a Python loop over characters took 9 s of a
    # 100k-passage build (curly quotes make nearly every English article non-ASCII).
    return unicodedata.normalize("NFC", decomposed.translate(_combining_marks()))


@cache
def _combining_marks() -> dict[int, None]:
    """Every combining character (912 of them), mapped to deletion. Built once, in 0.08 s."""
    return dict.fromkeys(cp for cp in range(sys.maxunicode + 1)
                         if unicodedata.combining(chr(cp)))


def words(text: str, *, fold_accents: bool = True) -> list[str]:
    """The word tokens of a text (runs of letters, digits and "_"), in order, case-folded.

    Args:
        text: any text.
        fold_accents: also drop accents as FTS5's tokenizer does ("Lương" -> "luong"), so the
            words are those keyword search indexes (before stemming). False keeps them, for
            telling languages apart by their letters or comparing lines of one article.
    """
    return _WORD.findall(fold(text) if fold_accents else text.casefold())


def content_words(text: str) -> set[str]:
    """Lower-cased, accent-folded words of a text, without stopwords."""
    return {w for w in words(text) if w not in STOPWORDS}


def keyword_overlap(question_words: set[str], sentence: str) -> float:
    """Share of the question's content words found in the sentence (0..1)."""
    if not question_words:
        return 0.0
    return len(question_words & content_words(sentence)) / len(question_words)


_TOKEN = re.compile(r"\S+")


def names_and_numbers(text: str) -> list[str]:
    """Capitalised words after the first, and words with digits: the parts of a question in
    any language that survive translation ("Super Bowl 50", "Sainyabuli", "2023")."""
    tokens = [t.strip(".,;:!?()[]\"'«»“”") for t in _TOKEN.findall(text)]
    return [
        t for i, t in enumerate(tokens)
        if t and (any(c.isdigit() for c in t) or (i > 0 and t[0].isupper()) or t.isupper())
    ]
