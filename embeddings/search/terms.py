"""From a question to the keyword query: content words, typo correction, the words that matter.

None of it depends on the engine that scores BM25: the corpus's words are read through the
storage seam's `Vocabulary`, so FTS5 and any other engine (one that scores BM25 as FTS5 does)
search the same terms and rank alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rapidfuzz.distance import OSA

from embeddings.index.storage import Vocabulary
from embeddings.search.aliases import Expansion, choose_expansions, lookup_forms, settle
from embeddings.text import STOPWORDS, words

_MAX_TERMS = 32  # a pasted paragraph must not become a 500-term OR query
_MIN_TERMS = 2
_SMALL_VOCABULARY = 50_000
# A word held by more than this share of the passages is left out of the keyword query (see
# `terms_that_matter`): its BM25 IDF is below ln(1 + 1/0.03) = 3.5, against 7 to 11 for the
# names and rare words that decide the ranking, and it makes BM25 score a large part of the
# corpus for almost nothing.
_COMMON_SHARE = 0.03
# ... but only when it is also held by more than this many passages: below that a word is cheap
# to score, and in a small corpus a word in a few passages still tells them apart.
_COMMON_FLOOR = 1_000


@dataclass(frozen=True)
class KeywordQuery:
    """The terms searched for, after stopwords were dropped and typos corrected."""

    terms: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...] = ()
    known: tuple[str, ...] = ()
    """Terms the corpus contains (after correction): evidence the question is about it."""
    expansions: tuple[str, ...] = ()
    """Terms added to the question's own: English renderings of a Vietnamese question's
    glossary phrases, and its abbreviations' long forms or its long forms' abbreviations."""
    counts: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Passages holding each term, as `prepare_query` read them (absent: none)."""
    aliases: tuple[tuple[str, str], ...] = ()
    """(the question's form, the form searched with it), folded: ("mou", "memorandum of
    understanding"), ("thailand", "thai"); see `search.aliases`."""


def query_terms(question: str) -> list[str]:
    """Content words of a question, in order, without duplicates or one-letter tokens."""
    seen = dict.fromkeys(w for w in words(question) if w not in STOPWORDS and len(w) > 1)
    return list(seen)[:_MAX_TERMS]


@cache
def english_words() -> frozenset[str]:
    """Correctly spelt English words: the 82,765 of symspellpy's frequency dictionary (from
    Google Books n-grams; common misspellings such as "recieve" are not in it). Empty where
    the package is missing, so that typo correction then falls back to the corpus alone."""
    return frozenset(english_by_frequency())


@cache
def english_by_frequency() -> tuple[str, ...]:
    """The words of `english_words`, the most frequent first; empty where symspellpy is
    missing."""
    try:
        import symspellpy
    except ImportError:
        return ()
    path = Path(symspellpy.__file__).with_name("frequency_dictionary_en_82_765.txt")
    with path.open(encoding="utf-8") as lines:
        return tuple(line.split(" ", 1)[0] for line in lines)


def prepare_query(
    question: str, vocabulary: Vocabulary, expansions: Sequence[str] = (), *, correct: bool = True
) -> KeywordQuery:
    """Terms to search; a misspelt word is replaced by its closest spelling in the corpus.

    Only a word the corpus lacks that is no English word either is corrected: "leader" stays
    "leader" where the corpus has only "leaders" (the keyword index stems both alike).

    An abbreviation the articles define or name adds its long form's words, and a long form
    its abbreviation where the corpus writes it (`search.aliases`): "MoU" also searches
    "memorandum" and "understanding". An abbreviation the corpus never writes is searched as
    those words alone, as a corrected typo is.

    Args:
        question: the user's text.
        vocabulary: the corpus's words with their passage counts.
        expansions: extra terms to search (glossary translations), never corrected.
        correct: fix typos; off for Vietnamese, whose syllables would be "corrected" to
            unrelated English words.
    """
    asked = query_terms(question)
    aliased = _aliases(question, vocabulary, correct=correct) if asked else []
    wanted = list(dict.fromkeys([*asked, *expansions, *(t for a in aliased for t in a.terms)]))
    # One look-up for every word, whose counts search reads again to leave out common words.
    counts = vocabulary.word_counts(wanted) if wanted else {}
    aliased = settle(aliased, counts)
    replaced = {a.form: a.terms for a in aliased if a.form not in counts}
    terms, fixes, known = [], [], []
    for term in asked:
        if term.isdigit() or term in counts:
            terms.append(term)
            known.append(term)
            continue
        if term in replaced:  # it matches nothing; its long form's words stand in for it
            known.extend(replaced[term])
            continue
        fixed = _closest(term, vocabulary) if correct and term not in english_words() else None
        terms.append(fixed[0] if fixed else term)
        if fixed:
            fixes.append((term, fixed[0]))
            known.append(fixed[0])
            counts[fixed[0]] = fixed[1]
    added = [*expansions, *(t for a in aliased for t in a.terms)]
    extra = [t for t in dict.fromkeys(added) if t not in terms]
    return KeywordQuery(tuple(dict.fromkeys(terms + extra)), tuple(fixes),
                        tuple(known), tuple(extra), counts,
                        tuple((a.form, a.meaning) for a in aliased))


def _aliases(question: str, vocabulary: Vocabulary, *, correct: bool) -> list[Expansion]:
    """The question's aliases that may apply, before the word counts settle them. Only an
    English question (one whose words may be corrected) expands lowercase short forms."""
    forms = lookup_forms(question)
    records = vocabulary.aliases(forms) if forms else []
    if not records:
        return []
    return choose_expansions(question, records, english_words(), english=correct)


def _closest(word: str, vocabulary: Vocabulary) -> tuple[str, int] | None:
    """The most frequent corpus word within one edit (two for long words), with its count.

    An edit is an insertion, a deletion, a substitution or two neighbours swapped (optimal
    string alignment, rapidfuzz's `OSA`: "Sainyabluli" is one edit from "sainyabuli").
    Candidates share the word's first letter, or its second when the first two were swapped:
    typos rarely hit the first letter otherwise, and the prefix keeps the scan to a slice of
    the vocabulary even at a hundred thousand passages.
    """
    if len(word) < 4 or not word[0].isalpha():
        return None
    limit = 1 if len(word) < 8 else 2
    # In a large corpus most distinct words are one-offs (names, typos of its own), which make
    # poor corrections and most of the scan: corrections then need a count of 2 or more.
    least = 2 if vocabulary.vocabulary_size() > _SMALL_VOCABULARY else 1
    shortest, longest = len(word) - limit, len(word) + limit
    prefixes = dict.fromkeys([word[0], word[1] + word[0]])
    best: tuple[int, int, str] | None = None
    for prefix in prefixes:
        for candidate, count in vocabulary.words_like(prefix, shortest, longest, least):
            distance = OSA.distance(word, candidate, score_cutoff=limit)
            if distance <= limit and (best is None or (distance, -count) < best[:2]):
                best = (distance, -count, candidate)
    return (best[2], -best[1]) if best else None


def terms_that_matter(
    terms: Sequence[str], counts: Mapping[str, int], passages: int
) -> tuple[str, ...]:
    """The terms to match: every term but those common in the corpus, in order.

    A term is common when more than `_COMMON_SHARE` of the passages hold it, and more than
    `_COMMON_FLOOR` of them. Rare words are never dropped to save time, however many the
    question has: FTS5 finds a term's passages through its index, so the cost of a rare term is
    its few postings. (The rule it replaces kept the rarest terms only until they reached 1,500
    postings. Among 104k passages, on 500 SQuAD questions, keyword search alone found the
    right article first for 0.900 with it and 0.924 with this rule, the fused list the right
    paragraph for 0.766 and 0.782, for 4 ms more per question; searching every term as well
    costs 6 ms more for no gain: `benchmarks/scale_quality.py`.) The two rarest terms always
    stay, so that a question made of common words still searches something.

    Args:
        terms: the query's terms, in order.
        counts: passages holding each term (absent: none).
        passages: passages in the corpus.
    """
    if len(terms) <= _MIN_TERMS:
        return tuple(terms)
    most = max(_COMMON_SHARE * passages, _COMMON_FLOOR)
    rarest = set(sorted(terms, key=lambda t: counts.get(t, 0))[:_MIN_TERMS])
    return tuple(t for t in terms if t in rarest or counts.get(t, 0) <= most)


def affordable_terms(
    terms: Sequence[str], counts: Mapping[str, int], passages: int | None = None
) -> tuple[str, ...]:
    """`terms_that_matter`, for callers that may not know the corpus's size (the engine's
    `KeywordSearcher.search`): without it no term counts as common, and all are searched."""
    return tuple(terms) if passages is None else terms_that_matter(terms, counts, passages)
