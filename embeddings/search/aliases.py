"""A question's abbreviations and aliases: the long forms its short ones stand for, and back.

"When did the two sides sign the MoU?" also searches "memorandum" and "understanding", because
the corpus calls it so (it defines "memorandum of understanding (MoU)", or writes the term
often); a question that spells out "memorandum of understanding" also searches "mou" where
articles write that. The pairs come from the articles (`articles.aliases`, stored per article
in the index and read through `Vocabulary.aliases`); this module decides which of them may
touch a question, since a wrong expansion adds words the user never meant:

* a seed pair ("Thai" <-> "Thailand") only where the corpus lacks the question's form: both
  are the same word to a reader and to the dense vectors, and searching both where both
  occur only shifts the answer sentence's keyword share (on the dev questions it moved "What
  crimes will Vietnam and Thailand work together against?" off its answer);
* a short form that is an English word ("us", "it") only when an article defines it and the
  question writes it in capitals ("US", in a question not typed all in capitals);
* a defined short form may, in any case in an English question ("ncaa");
* one guessed from a name's initials only when the question writes it as an abbreviation
  (two capitals: "MoU", "MPS"), the corpus mentions the name twice or more, and the name has
  more than half of the corpus's mentions of those initials. Typed in lowercase, such
  initials are as often something else: over 1,500 NQ questions against 4,000 White House
  briefings, "mib", "nhl" and "doo" would have become "maritime industrial base", "national
  historic landmark" and "director of omb".

In another language's question (a Vietnamese one reaches keyword search with its names only)
a short form must be written as an abbreviation. The reverse, a long form adding its short
one, needs a pair an article states (or a seed) and a short form that is no English word.
Only keyword terms change; a question without any known alias searches what it did before.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from embeddings.articles.aliases import DEFINED, KINDS, SEED
from embeddings.index.records import AliasRecord
from embeddings.text import STOPWORDS, fold, words

_TOKEN = re.compile(r"[^\W\d_]+")
_MIN_SHORT, _MAX_SHORT = 2, 9
_MAX_LONG_WORDS = 8
_MAX_FORMS = 400  # the seam's limit: 800 parameters in one IN (...) pair
_MIN_MENTIONS = 2


@dataclass(frozen=True)
class Expansion:
    """One alias applied to a question."""

    form: str
    """The question's form, folded: "mou", or "memorandum of understanding"."""
    meaning: str
    """The form it stands for: "memorandum of understanding", or "mou"."""
    terms: tuple[str, ...]
    """The keyword terms it adds: the long form's content words, or the short form."""
    unless_word: bool = False
    """Applies only if the corpus never uses `form` as a word (a seed pair)."""


def lookup_forms(question: str) -> list[str]:
    """What to look up for a question: its words, and its runs of two to eight words that
    start and end with a content word (a long form's shape), folded."""
    folded = words(question)
    forms = dict.fromkeys(w for w in folded if w not in STOPWORDS and len(w) >= _MIN_SHORT)
    for start, first in enumerate(folded):
        if first in STOPWORDS:
            continue
        for end in range(start + 2, min(len(folded), start + _MAX_LONG_WORDS) + 1):
            if folded[end - 1] not in STOPWORDS:
                forms[" ".join(folded[start:end])] = None
    return list(forms)[:_MAX_FORMS]


def choose_expansions(
    question: str, records: Iterable[AliasRecord], english_words: Collection[str], *,
    english: bool = True,
) -> list[Expansion]:
    """The aliases that may apply to a question (see the module docstring), before the
    corpus's word counts are known (`settle`).

    Args:
        question: the cleaned question.
        records: what `Vocabulary.aliases` found for `lookup_forms(question)`.
        english_words: correctly spelt English words (`search.terms.english_words`).
        english: the question is in English; otherwise only short forms written as
            abbreviations expand.
    """
    merged = _merged(records)
    shouting = not any(c.islower() for c in question)
    found: list[Expansion] = []
    typed_shorts: dict[str, str] = {}
    for token in _TOKEN.findall(question):
        typed_shorts.setdefault(fold(token), token)
    for short, token in typed_shorts.items():
        candidates = merged.get(short)
        if not candidates or not _MIN_SHORT <= len(short) <= _MAX_SHORT:
            continue
        best = min(candidates, key=_strength)
        capitals = not shouting and sum(c.isupper() for c in token) >= 2
        if _expands(short, best, sum(r.mentions for r in candidates), capitals=capitals,
                    english=english, english_words=english_words):
            terms = tuple(w for w in dict.fromkeys(words(best.long)) if w not in STOPWORDS)
            found.append(Expansion(short, best.long, terms, unless_word=best.kind == SEED))
    forms = set(lookup_forms(question))
    for long, candidates in _by_long(merged).items():
        if long not in forms:
            continue
        for record in candidates:
            # Only a pair an article states: that the corpus has a word like a name's
            # initials ("ly" beside "last year") says nothing about what it stands for.
            if record.kind == SEED or (record.kind == DEFINED and record.short not in
                                       english_words and record.short not in STOPWORDS):
                found.append(Expansion(long, record.short, (record.short,),
                                       unless_word=record.kind == SEED))
    return found


def settle(expansions: Sequence[Expansion], counts: Mapping[str, int]) -> list[Expansion]:
    """The expansions that hold once the corpus's word counts are known: terms the corpus
    lacks are dropped (they would match nothing, and weigh as words no article has), and so
    is a seed pair whose question word the corpus has."""
    kept = []
    for expansion in expansions:
        terms = tuple(t for t in expansion.terms if t in counts)
        if terms and not (expansion.unless_word and expansion.form in counts):
            kept.append(Expansion(expansion.form, expansion.meaning, terms,
                                  expansion.unless_word))
    return kept


def _expands(
    short: str, best: AliasRecord, mentions: int, *, capitals: bool, english: bool,
    english_words: Collection[str],
) -> bool:
    """Whether a short form in the question may stand for its best long form, which has
    `best.mentions` of the `mentions` of all its long forms in the corpus."""
    if best.kind == SEED:
        return True
    if short in STOPWORDS or (short in english_words and not (capitals and best.kind == DEFINED)):
        return False
    if best.kind == DEFINED:
        return capitals or english
    # A guess from a name's initials: lowercase, "mib" or "doo" in a question is as often
    # something else, so it must be written as an abbreviation, and the name must own it.
    return capitals and best.mentions >= _MIN_MENTIONS and 2 * best.mentions > mentions


def _strength(record: AliasRecord) -> tuple[int, int, int, str]:
    """Sort key, best first: what the corpus most often means (one article defining "NA" as
    something else does not outweigh a hundred mentions of the National Assembly), then the
    strongest kind and the most articles."""
    return -record.mentions, KINDS.index(record.kind), -record.articles, record.long


def _merged(records: Iterable[AliasRecord]) -> dict[str, list[AliasRecord]]:
    """Records by short form, one per long form: a pair found in different ways in different
    articles keeps the strongest kind and the summed counts."""
    pairs: dict[tuple[str, str], AliasRecord] = {}
    for r in records:
        old = pairs.get((r.short, r.long))
        if old is not None:
            kind = min(old.kind, r.kind, key=KINDS.index)
            r = AliasRecord(r.short, r.long, kind, old.articles + r.articles,
                            old.mentions + r.mentions)
        pairs[(r.short, r.long)] = r
    by_short: dict[str, list[AliasRecord]] = {}
    for (short, _), r in sorted(pairs.items()):
        by_short.setdefault(short, []).append(r)
    return by_short


def _by_long(merged: Mapping[str, list[AliasRecord]]) -> dict[str, list[AliasRecord]]:
    by_long: dict[str, list[AliasRecord]] = {}
    for candidates in merged.values():
        for r in candidates:
            by_long.setdefault(r.long, []).append(r)
    return by_long

