"""Split a paragraph into sentences that are verbatim substrings of it.

Answers quote sentences back to the user and other code checks ``highlight in excerpt``, so the
splitter never rewrites text: it only chooses cut points. It runs over the whole corpus, so the
work is done by one precompiled regex that finds candidate sentence ends; Python code only looks at
those candidates (a few per sentence), never at every character.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

_OPENER_CHARS = "\"'“‘«„‚([{"
_OPENERS = frozenset(_OPENER_CHARS)
_CLOSERS = "\"'”’»)]}"

# A whole whitespace-delimited token that ends in terminal punctuation (plus closing quotes or
# brackets), the whitespace after it, and a peek at the next character. Anchoring on the token
# start lets `_is_boundary` see the full word before the dot ("Lieut.", "U.S.", "2024./.").
# The greedy \S* only backtracks within one token, so the scan stays linear even on "....".
_CANDIDATE = re.compile(r"(?<!\S)(\S*[.!?…][\"'”’»)\]}]*)\s+(?=(\S))")

# Words that end with a dot but rarely end a sentence: titles, ranks, months and the like.
# "Pol Gen. Surachate" and "Sen. Lieut. Gen. Luong" are how the seed articles write ranks.
_TITLES = ("mr", "mrs", "ms", "mx", "dr", "prof", "sen", "rep", "gov", "pres", "hon", "rev", "fr")
_RANKS = ("gen", "lieut", "lt", "col", "maj", "capt", "cpt", "cmdr", "cdr", "adm", "brig", "sgt")
_MORE_RANKS = ("cpl", "pvt", "supt", "insp", "det", "pol")
_MONTHS = ("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")
_OTHER = ("st", "mt", "ft", "co", "corp", "dept", "univ", "assn", "bros", "vs", "approx", "cf")
_LATIN = ("viz", "al", "e.g", "i.e")
_ABBREVIATIONS = frozenset(_TITLES + _RANKS + _MORE_RANKS + _MONTHS + _OTHER + _LATIN)

# Only abbreviations when a number follows ("No. 5", "Art. 3"); otherwise ordinary words.
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "art", "vol", "p", "pp", "para"})

# Upper-case dotted acronyms such as "U.S" or "U.N" (the final dot is already removed).
_ACRONYM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, returning substrings of `text` verbatim (stripped).

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (optionally followed by closing quotes or
    brackets) when whitespace and then an upper-case letter, a digit or an opening quote/bracket
    follow, unless the word before the dot is an abbreviation, an initial or a dotted acronym.

    Args:
        text: One paragraph (newlines are treated as ordinary whitespace).

    Returns:
        The sentences in order, each stripped and an exact substring of ``text``; an empty list
        for empty or whitespace-only text.
    """
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        if _is_boundary(match.group(1), match.group(2)):
            _append_stripped(sentences, text[start : match.end(1)])
            start = match.end()
    _append_stripped(sentences, text[start:])
    return sentences


def _append_stripped(sentences: list[str], piece: str) -> None:
    piece = piece.strip()
    if piece:
        sentences.append(piece)


def _is_boundary(token: str, following: str) -> bool:
    """Whether a sentence ends after `token`, given the first character of the next word."""
    if not (following.isupper() or following.isdigit() or following in _OPENERS):
        return False
    core = token.rstrip(_CLOSERS)
    # "!", "?", "…", an ellipsis "..." and the agency end mark "./." are unambiguous.
    if core[-1] != "." or core.endswith(("..", "/.")):
        return True
    word = core[:-1].lstrip(_OPENER_CHARS)
    return not _is_abbreviation(word, following)


def _is_abbreviation(word: str, following: str) -> bool:
    """Whether `word` (the text before a final dot) abbreviates rather than ends a sentence."""
    if not word:
        return False
    lower = word.lower()
    # "Lt.-Gen." and "Maj.-Gen." hyphenate two abbreviations; the last one decides.
    last = lower.rsplit("-", 1)[-1]
    if lower in _ABBREVIATIONS or last in _ABBREVIATIONS:
        return True
    if lower in _NUMBER_ABBREVIATIONS:
        return following.isdigit()
    if len(word) == 1:
        return word.isupper()  # an initial, as in "J. Smith"
    # "U.S." and "U.N." but not "a.m." or "p.m.", which usually do end a sentence.
    return word[0].isupper() and _ACRONYM.fullmatch(word) is not None
