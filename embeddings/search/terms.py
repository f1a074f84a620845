"""From a question to the keyword query: content words, typo correction, the cost budget.

None of it depends on the engine that scores BM25: the corpus's words are read through the
storage seam's `Vocabulary`, so FTS5 and any other engine (one that scores BM25 as FTS5 does)
search the same terms and rank alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from embeddings.index.storage import Vocabulary
from embeddings.text import STOPWORDS, words

_MAX_TERMS = 32  # a pasted paragraph must not become a 500-term OR query
_MIN_TERMS = 2
_SMALL_VOCABULARY = 50_000
_POSTINGS_BUDGET = 1_500  # passages BM25 may score for one question (see affordable_terms)


@dataclass(frozen=True)
class KeywordQuery:
    """The terms searched for, after stopwords were dropped and typos corrected."""

    terms: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...] = ()
    known: tuple[str, ...] = ()
    """Terms the corpus contains (after correction): evidence the question is about it."""
    expansions: tuple[str, ...] = ()
    """English terms added for a Vietnamese question from the glossary."""
    counts: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Passages holding each term, as `prepare_query` read them (absent: none)."""


def query_terms(question: str) -> list[str]:
    """Content words of a question, in order, without duplicates or one-letter tokens."""
    seen = dict.fromkeys(w for w in words(question) if w not in STOPWORDS and len(w) > 1)
    return list(seen)[:_MAX_TERMS]


def prepare_query(
    question: str, vocabulary: Vocabulary, expansions: Sequence[str] = (), *, correct: bool = True
) -> KeywordQuery:
    """Terms to search; a word the corpus lacks is replaced by its closest known spelling.

    Args:
        question: the user's text.
        vocabulary: the corpus's words with their passage counts.
        expansions: extra terms to search (glossary translations), never corrected.
        correct: fix typos; off for Vietnamese, whose syllables would be "corrected" to
            unrelated English words.
    """
    asked = query_terms(question)
    wanted = list(dict.fromkeys([*asked, *expansions]))
    # One look-up for every word, whose counts the cost budget reads again at search time.
    counts = vocabulary.word_counts(wanted) if wanted else {}
    terms, fixes, known = [], [], []
    for term in asked:
        if term.isdigit() or term in counts:
            terms.append(term)
            known.append(term)
            continue
        fixed = _closest(term, vocabulary) if correct else None
        terms.append(fixed[0] if fixed else term)
        if fixed:
            fixes.append((term, fixed[0]))
            known.append(fixed[0])
            counts[fixed[0]] = fixed[1]
    extra = [t for t in dict.fromkeys(expansions) if t not in terms]
    return KeywordQuery(tuple(dict.fromkeys(terms + extra)), tuple(fixes), tuple(known),
                        tuple(extra), counts)


def _closest(word: str, vocabulary: Vocabulary) -> tuple[str, int] | None:
    """The most frequent known word within one edit (two for long words), same first letter,
    with its count.

    Typos rarely hit the first letter, and the prefix keeps the scan to a slice of the
    vocabulary even at a hundred thousand passages.
    """
    if len(word) < 4 or not word[0].isalpha():
        return None
    limit = 1 if len(word) < 8 else 2
    # In a large corpus most distinct words are one-offs (names, typos of its own), which make
    # poor corrections and most of the scan: corrections then need a count of 2 or more.
    least = 2 if vocabulary.vocabulary_size() > _SMALL_VOCABULARY else 1
    # Long words may have two typos but then share their first two letters: the prefix
    # keeps the scan to a small slice of a large vocabulary.
    candidates = vocabulary.words_like(word[:limit], len(word) - limit, len(word) + limit, least)
    best: tuple[int, int, str] | None = None
    for candidate, count in candidates:
        distance = edit_distance(word, candidate, limit)
        if distance <= limit and (best is None or (distance, -count) < best[:2]):
            best = (distance, -count, candidate)
    return (best[2], -best[1]) if best else None


def affordable_terms(terms: Sequence[str], counts: Mapping[str, int]) -> tuple[str, ...]:
    """The terms to match, rarest first, within a budget of passages to score.

    BM25 scores every passage that holds any term, so one word found in a third of a large
    corpus ("president", "security") costs more than the rest of the question, while its IDF
    adds almost nothing to the ranking. Common words are dropped once the rarer ones already
    reach `_POSTINGS_BUDGET` passages; the two rarest always stay. Small corpora never reach
    the budget, so their queries are unchanged.

    Args:
        terms: the query's terms, in order.
        counts: passages holding each term (absent: none).
    """
    if len(terms) <= _MIN_TERMS:
        return tuple(terms)
    kept: list[str] = []
    total = 0
    for term in sorted(terms, key=lambda t: counts.get(t, 0)):
        total += counts.get(term, 0)
        if len(kept) >= _MIN_TERMS and total > _POSTINGS_BUDGET:
            break
        kept.append(term)
    return tuple(t for t in terms if t in kept)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if limit == 1:
        return _distance_up_to_one(a, b)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    # The row minimum can stay within the limit while the last cell is past it ("aaac",
    # "bbcba", 3 gave 5): cap it as promised.
    return min(previous[-1], limit + 1)


def _distance_up_to_one(a: str, b: str) -> int:
    """edit_distance(a, b, 1) without the table: one pass over the common prefix. Typo
    correction compares a word with thousands of vocabulary words, 10x faster this way."""
    if a == b:
        return 0
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):  # one substitution at i, the rest equal
        return 1 if a[i + 1 :] == b[i + 1 :] else 2
    return 1 if a[i:] == b[i + 1 :] else 2  # one insertion into a at i
