"""A question's names and rare terms, and which of them the corpus never mentions.

Two uses share these rules: the confidence model reads how many of a question's names the top
result, its article and the corpus hold ("What did the Japanese police promise Laos?" against
articles that never say "Japanese"), and an unanswered question says which names or terms no
article mentions (`Answer.missing`).

Presence is judged as keyword search sees words: folded by `text.words` (case and accents),
and matched by a crude stem, since FTS5's porter stemmer lets "guards" find "guard".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from embeddings.index.storage import Vocabulary
from embeddings.search.glossary import glossary_phrases
from embeddings.text import STOPWORDS, fold, words

_TOKEN = re.compile(r"\w+(?:[-'’.&]\w+)*", re.UNICODE)
# Dates are the date rule's business; a month is not a name the corpus must mention.
_CALENDAR_WORDS = """january february march april may june july august september october
    november december monday tuesday wednesday thursday friday saturday sunday"""
_CALENDAR = frozenset(_CALENDAR_WORDS.split())
# A single Vietnamese syllable, accents folded and "đ" read as "d": Vietnamese capitalises
# every syllable of a name ("Hỗ trợ Dinh dưỡng"), and those never occur in English articles,
# while foreign names kept in a Vietnamese question ("Philippines", "Luther") do not fit.
_VI_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)
_SUFFIXES = ("ing", "ed", "es", "s")


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A crude stem, enough to compare a question's word with a text's: "signed", "signing"
    and "signs" all give "sign", "agree" and "agreed" "agre", "policies" and "policy"
    "polic"; long words are cut to six letters."""
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)][:6]
    if token.endswith(("e", "y")) and len(token) > 3:
        token = token[:-1]
    return token[:6]


def stems(tokens: Iterable[str]) -> set[str]:
    """The crude stems of some tokens."""
    return {stem(t) for t in set(tokens)}


def is_vietnamese_syllable(token: str) -> bool:
    """True for one Vietnamese syllable, with or without accents ("Dinh", "Hỗ", "Quảng")."""
    return bool(_VI_SYLLABLE.fullmatch(fold(token).replace("đ", "d")))


@dataclass(frozen=True)
class Name:
    """A name as the question writes it, and its words as keyword search folds them."""

    surface: str
    words: tuple[str, ...]


def question_names(question: str, language: str) -> list[Name]:
    """The question's names: runs of capitalised words after the first word, and numbers.

    Months and weekdays are left out (dates have their own rule). In a Vietnamese question,
    Vietnamese syllables are left out too: its names that survive translation into an English
    article are the foreign ones; a proper name of the glossary ("Nhật Bản", "Campuchia") is
    a name by its English rendering ("Japan", "Cambodia"), however the question writes it.
    """
    names = _written_names(question, language)
    if language == "en":
        return names
    glossed = [(written, shown) for written, shown, _ in glossary_phrases(question)
               if shown[:1].isupper()]
    covered = {w for written, _ in glossed for w in words(written)}
    kept = [n for n in names if not set(n.words) <= covered]
    return kept + [Name(shown.title(), tuple(words(shown))) for _, shown in glossed]


def _written_names(question: str, language: str) -> list[Name]:
    """Runs of capitalised words after the first word, and numbers, as written."""
    tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(question)]
    names: list[Name] = []
    run: list[str] = []

    def close() -> None:
        if run:
            names.append(Name(" ".join(run), tuple(w for t in run for w in words(t))))
            run.clear()

    for i, (token, _) in enumerate(tokens):
        if _is_name(token, first=i == 0, language=language):
            run.append(token)
        else:
            close()
    close()
    return [n for n in names if n.words]


def _is_name(token: str, *, first: bool, language: str) -> bool:
    if any(c.isdigit() for c in token):
        return True
    if first or len(token) < 2 or not token[0].isupper():
        return False
    folded = fold(token)
    if folded in _CALENDAR or folded in STOPWORDS:
        return False
    return not (language == "vi" and is_vietnamese_syllable(token))


def absent_words(vocabulary: Vocabulary, tokens: Sequence[str]) -> set[str]:
    """The folded tokens that no indexed passage holds, in any form keyword search matches.

    A token the vocabulary lacks still counts as present when a vocabulary word shares its
    crude stem ("guard" and "guards"), or, for "đ", its "d" spelling ("Đà Nẵng", "Da Nang").
    """
    wanted = list(dict.fromkeys(tokens))
    known = vocabulary.word_counts(wanted) if wanted else {}
    absent = set()
    for token in wanted:
        if token in known:
            continue
        if "đ" in token and vocabulary.word_counts([token.replace("đ", "d")]):
            continue
        if token.isdigit() or len(token) < 4 or not _shares_stem(vocabulary, token):
            absent.add(token)
    return absent


def _shares_stem(vocabulary: Vocabulary, token: str) -> bool:
    root = stem(token)
    like = vocabulary.words_like(root, len(root), len(root) + 6, 1)
    return any(stem(word) == root for word, _ in like)


def missing_terms(
    question: str, language: str, vocabulary: Vocabulary, corrected: Collection[str] = ()
) -> tuple[str, ...]:
    """The question's names and rare terms that no indexed passage mentions, most specific
    first: names (as the question writes them), then runs of two or more absent words ("coast
    guard"), then single absent words, these only when nothing more specific is absent.

    A Vietnamese question's domain phrases are named by their English glossary rendering
    ("Nhật Bản" -> "Japan"), since the articles are English.

    Args:
        question: the cleaned question.
        language: its language (``en``, ``vi``).
        vocabulary: the corpus's words.
        corrected: folded words keyword search corrected to a corpus word (typos, not
            missing).
    """
    names = question_names(question, language)
    runs = _content_runs(question) if language == "en" else []
    gloss = glossary_phrases(question) if language != "en" else []
    tokens = [w for n in names for w in n.words] + [w for _, ws in runs for w in ws]
    tokens += [w for _, _, rendering in gloss for w in rendering]
    absent = absent_words(vocabulary, tokens) - set(corrected) if tokens else set()
    found = [n.surface for n in names if any(w in absent for w in n.words)]
    for _, shown, rendering in gloss:  # the glossary's terms (its names are names above)
        if not shown[:1].isupper() and all(w in absent for w in rendering):
            found.append(shown)
    named = {w for n in names for w in n.words}
    phrases: list[str] = []
    singles: list[str] = []
    for surface_tokens, folded in runs:
        stretch: list[str] = []
        for token, word in [*zip(surface_tokens, folded, strict=True), ("", "")]:
            if word in absent and word not in named:
                stretch.append(token)
                continue
            if stretch:
                (phrases if len(stretch) > 1 else singles).append(" ".join(stretch))
            stretch = []
    return tuple(dict.fromkeys((found + phrases) or singles))


def _content_runs(question: str) -> list[tuple[list[str], list[str]]]:
    """Runs of content words between stop words: (surface tokens, folded words)."""
    runs: list[tuple[list[str], list[str]]] = [([], [])]
    for m in _TOKEN.finditer(question):
        token = m.group(0)
        folded = words(token)
        if len(folded) != 1 or folded[0] in STOPWORDS or len(folded[0]) < 2:
            runs.append(([], []))
            continue
        runs[-1][0].append(token)
        runs[-1][1].append(folded[0])
    return [r for r in runs if r[0]]
