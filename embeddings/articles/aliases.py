"""An article's abbreviations and aliases: the short names a question may use for what the
article spells out ("MoU" for "memorandum of understanding", "RTP" for "Royal Thai Police").

Three sources, all read from the article's body:

* **definitions**: ``memorandum of understanding (MoU)`` and ``VNA (Vietnam News Agency)``,
  where the abbreviation's letters are the initials of the words beside it (a function word
  such as "of" may give its letter or not: MoU, MPS);
* **initials** of a name the article mentions at least twice, a run of capitalised words
  ("Royal Thai Police" -> rtp; "Ministry of Public Security" -> mps and mops), and of every
  lowercase "X of Y" term ("memorandum of understanding" -> mou and mu), which an article
  rarely writes twice: how often the corpus does is judged when a question is asked;
* a small **seed** list of the domain's demonyms and countries ("Thai" <-> "Thailand").

Whether an alias may expand a question (not when its short form is an English word such as
"us", nor when another long form claims it as often) is decided at question time by
`embeddings.search.aliases`, which sees every article's aliases and knows English words.
Everything here is pure and per article, so an article's aliases come and go with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from embeddings.text import STOPWORDS, words

DEFINED, SEED, INITIALS = "defined", "seed", "initials"
"""How an alias was found, strongest first: the article says so; the seed list; a guess from
a name's initials."""
KINDS = (DEFINED, SEED, INITIALS)

# Words a definition's long form may hold without giving their initial ("Ministry of Public
# Security (MPS)", "Department of Justice (DOJ)"); a name's runs are joined by fewer of them
# (`_JOINERS`), since "in", "at" and "to" would glue a name to the place or time after it.
_FUNCTION = frozenset({"of", "and", "for", "the", "on", "to", "in", "at", "de"})
_JOINERS = ("of", "and", "for", "the", "on")
_MIN_LETTERS, _MAX_LETTERS = 2, 8
_MAX_NAME_WORDS = 6
"""Capitalised words of a name whose initials are kept; longer names are not abbreviated."""
_MIN_MENTIONS = 2
"""Mentions in one article that make a run of capitalised words a name."""

# Demonym -> country. Pairs the keyword index's porter stemmer already joins are left out
# (Lao/Laos, Philippine/Philippines stem alike), since searching both would count one word
# twice.
_DEMONYMS = {
    "thai": "thailand", "vietnamese": "vietnam", "cambodian": "cambodia", "khmer": "cambodia",
    "burmese": "myanmar", "malaysian": "malaysia", "indonesian": "indonesia",
    "filipino": "philippines", "singaporean": "singapore", "bruneian": "brunei",
    "timorese": "timor", "chinese": "china", "japanese": "japan", "korean": "korea",
}

_PARENTHESES = re.compile(r"\(([^()]{1,120})\)")
# Where the words before "(" stop belonging to it: a sentence end or other brackets.
_CLAUSE_END = re.compile(r".*(?:[()\[\];:!?]|\.\s)", re.DOTALL)
_ABBREVIATION = re.compile(r"[A-Za-z][A-Za-z.&]{1,12}")
# Capital letters of the Latin scripts (Vietnamese included), for the regular expressions
# below: Python's `re` has no \p{Lu}, and a loop over words in Python took 5 ms per White
# House briefing (1,460 words), against 1.5 ms for the whole of `find_aliases` now.
_UPPER = "".join(chr(c) for c in [*range(0x250), *range(0x1E00, 0x1F00)] if chr(c).isupper())
_NAME_WORD = rf"[{_UPPER}][^\W_]+"  # two letters or more: not "R" of "Joseph R. Biden"
_NAME_RUN = re.compile(
    rf"(?<![\w.'’]){_NAME_WORD}(?:(?:-| +(?:(?:{'|'.join(_JOINERS)}) +)*){_NAME_WORD})+"
    r"(?!\w)")
_OF_TERM = re.compile(r"(?<![\w-])(?=([a-z][^\W_]{2,}) of ([a-z][^\W_]{2,})(?![\w-]))")


@dataclass(frozen=True)
class Alias:
    """A short form and the long form it stands for, in one article."""

    short: str
    """Folded letters: "mou"."""
    long: str
    """The long form's folded words, one space apart: "memorandum of understanding"."""
    kind: str
    """`DEFINED`, `SEED` or `INITIALS`."""
    mentions: int
    """How often the article's body holds the long form."""


def find_aliases(paragraphs: Sequence[str]) -> tuple[Alias, ...]:
    """The aliases an article's body paragraphs define, name or seed, sorted.

    A pair found in several ways keeps its strongest kind (a definition beats initials).
    """
    body = words(" \n ".join(paragraphs))
    found: dict[tuple[str, str], str] = {}
    candidates = [
        *((pair, DEFINED) for text in paragraphs for pair in definitions(text)),
        *((pair, SEED) for pair in _seeded(body)),
        *((pair, INITIALS) for pair in name_initials(paragraphs)),
    ]
    for pair, kind in candidates:
        if pair not in found or KINDS.index(kind) < KINDS.index(found[pair]):
            found[pair] = kind
    text = f" {' '.join(body)} "
    return tuple(Alias(short, long, kind, text.count(f" {long} "))
                 for (short, long), kind in sorted(found.items()))


def definitions(text: str) -> Iterator[tuple[str, str]]:
    """(short, long) for each ``Long Form (ABBR)`` and ``ABBR (Long Form)`` in one paragraph.

    "Hanoi (VNA)" and "(2016)" define nothing: the letters must be the initials of the words
    beside the parentheses.
    """
    for match in _PARENTHESES.finditer(text):
        inner = match.group(1).strip()
        if (letters := _letters(inner)) is not None:
            before = words(_CLAUSE_END.sub("", text[: match.start()]))
            found = _spelled_suffix(before, letters)
            if found is not None:
                yield found
            continue
        head = text[: match.start()].rstrip()
        token = head.rsplit(None, 1)[-1] if head else ""
        inside = words(inner)
        if (letters := _letters(token)) is not None and len(inside) >= 2 and (
            inside[0] not in _FUNCTION and _spells(inside, letters)
        ):
            yield letters, " ".join(inside)


def _letters(token: str) -> str | None:
    """The folded letters of a token written as an abbreviation ("MoU", "U.S.", "R&D"): two
    capitals at least, nothing but letters, dots and "&"."""
    if not _ABBREVIATION.fullmatch(token) or sum(c.isupper() for c in token) < 2:
        return None
    letters = re.sub(r"[.&]", "", token).lower()
    return letters if _MIN_LETTERS <= len(letters) <= _MAX_LETTERS + 1 else None


def _spelled_suffix(before: Sequence[str], letters: str) -> tuple[str, str] | None:
    """(short, long): the fewest last words of `before` whose initials spell the letters, or
    the letters without a plural "s" ("MoUs"), starting with a content word."""
    spellings = [letters]
    if letters.endswith("s") and len(letters) > _MIN_LETTERS:
        spellings.append(letters[:-1])
    for size in range(2, min(len(before), 2 * len(letters) + 2) + 1):
        tail = before[-size:]
        if tail[0] in _FUNCTION:
            continue
        for short in spellings:
            if _spells(tail, short):
                return short, " ".join(tail)
    return None


def _spells(long: Sequence[str], letters: str) -> bool:
    """True when the words' initials spell the letters exactly, each function word giving its
    initial or nothing."""
    if not long:
        return not letters
    head, rest = long[0], long[1:]
    if head in _FUNCTION and _spells(rest, letters):
        return True
    return bool(letters) and head[0] == letters[0] and _spells(rest, letters[1:])


def initials(long: Sequence[str]) -> set[str]:
    """A name's initialisms: without its function words, and with them ("mps", "mops")."""
    content = "".join(w[0] for w in long if w not in _FUNCTION)
    every = "".join(w[0] for w in long)
    return {i for i in (content, every) if _MIN_LETTERS <= len(i) <= _MAX_LETTERS}


def name_initials(paragraphs: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(initialism, long form) for the names the paragraphs mention at least twice and for
    their lowercase "X of Y" terms (only as "XoY": "mou", as such terms are written)."""
    names = Counter[tuple[str, ...]]()
    sides: dict[tuple[str, ...], tuple[set[str | None], set[str | None]]] = {}
    terms: set[tuple[str, ...]] = set()
    for text in paragraphs:
        for match in _NAME_RUN.finditer(text):
            for name, left, right in _sub_names(words(match.group(0))):
                names[name] += 1
                lefts, rights = sides.setdefault(name, (set(), set()))
                lefts.add(left)
                rights.add(right)
        terms.update((*words(first), "of", *words(last)) for first, last
                     in _OF_TERM.findall(text) if first not in STOPWORDS and last not in STOPWORDS)
    for term in sorted(terms):
        yield "".join(w[0] for w in term), " ".join(term)
    for name, count in sorted(names.items()):
        lefts, rights = sides[name]
        # A part of a longer name that never occurs without the same neighbour ("Thai Police"
        # in "Royal Thai Police") is not a name of its own.
        closed = (None in lefts or len(lefts) > 1) and (None in rights or len(rights) > 1)
        if count >= _MIN_MENTIONS and closed:
            for short in initials(name):
                yield short, " ".join(name)


def _sub_names(run: Sequence[str]) -> Iterator[tuple[tuple[str, ...], str | None, str | None]]:
    """Each stretch of a run of capitalised words that starts and ends with one and holds 2
    to `_MAX_NAME_WORDS` of them, with the capitalised words just outside it (None: the run's
    edge). A capitalised "The" opening a sentence counts as a function word."""
    content = [i for i, w in enumerate(run) if w not in _JOINERS]
    for a, start in enumerate(content):
        for b in range(a + 1, min(len(content), a + _MAX_NAME_WORDS)):
            left = run[content[a - 1]] if a > 0 else None
            right = run[content[b + 1]] if b + 1 < len(content) else None
            yield tuple(run[start : content[b] + 1]), left, right


def _seeded(body: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(demonym, country) for the seed pairs the body mentions either side of."""
    present = set(body)
    for demonym, country in _DEMONYMS.items():
        if demonym in present or country in present:
            yield demonym, country
