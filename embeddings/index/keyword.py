"""Keyword search: SQLite FTS5 with BM25, in the same file as the passages.

Why FTS5 rather than bm25s: it lives in the index's SQLite file beside the passages (one file,
one transaction), adds and removes rows incrementally (bm25s rebuilds its matrices), and its
``unicode61 remove_diacritics 2`` tokenizer folds "Lương" to "luong", so names match with or
without Vietnamese accents. Porter stemming makes "meets" find "meeting".
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from embeddings.text import STOPWORDS, fold

FTS_SCHEMA = """
CREATE VIEW fts_source AS
    SELECT c.row AS row, a.title AS title, c.text AS text
    FROM chunks c JOIN articles a ON a.id = c.article_id;
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    title, text, content='fts_source', content_rowid='row',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TABLE vocabulary (word TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
"""

# BM25 column weights: a title word counts less than the same word in the passage itself,
# because the title is repeated on every passage of the article.
_TITLE_WEIGHT, _TEXT_WEIGHT = 0.4, 1.0
_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_TERMS = 32  # a pasted paragraph must not become a 500-term OR query
_MIN_TERMS = 2
_SMALL_VOCABULARY = 50_000
_POSTINGS_BUDGET = 1_500  # passages BM25 may score for one question (see _affordable)


def words(text: str) -> list[str]:
    """Accent-folded, lower-cased word tokens, as the FTS tokenizer sees them (before stemming)."""
    return _WORD.findall(fold(text))


def add_keyword_rows(db: sqlite3.Connection, first_row: int) -> None:
    """Index passages from `first_row` on (just inserted) and count their words.

    Args:
        db: the index database, inside the writer's transaction.
        first_row: the first new passage row; every row from it on is new.
    """
    db.execute(
        "INSERT INTO chunks_fts(rowid, title, text) "
        "SELECT row, title, text FROM fts_source WHERE row >= ?", (first_row,),
    )
    rows = db.execute("SELECT title, text FROM fts_source WHERE row >= ?", (first_row,))
    _count_words(db, (f"{title} {text}" for title, text in rows), +1)


def remove_keyword_rows(db: sqlite3.Connection, rows: Sequence[int]) -> None:
    """Drop passages from the keyword index; call before deleting them, since an
    external-content FTS table needs the old text to remove its postings."""
    if not rows:
        return
    marks = ",".join("?" * len(rows))
    old = db.execute(
        f"SELECT row, title, text FROM fts_source WHERE row IN ({marks})", list(rows)
    ).fetchall()
    db.executemany(
        "INSERT INTO chunks_fts(chunks_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)", old
    )
    _count_words(db, (f"{title} {text}" for _, title, text in old), -1)


def _count_words(db: sqlite3.Connection, texts: Iterable[str], sign: int) -> None:
    """Add (sign +1) or subtract (-1) each passage's distinct words to the vocabulary counts.

    A passage is searched with its article's title, so a title word counts once per passage:
    `df` is then the number of rows the FTS index matches for the word, which is what the
    keyword search's cost budget needs.
    """
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(words(text)))
    db.executemany(
        "INSERT INTO vocabulary VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET df = df + ?",
        ((word, sign * n, sign * n) for word, n in df.items()),
    )
    if sign < 0:
        db.execute("DELETE FROM vocabulary WHERE df <= 0")


@dataclass(frozen=True)
class KeywordQuery:
    """The terms searched for, after stopwords were dropped and typos corrected."""

    terms: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...] = ()
    known: tuple[str, ...] = ()
    """Terms the corpus contains (after correction): evidence the question is about it."""
    expansions: tuple[str, ...] = ()
    """English terms added for a Vietnamese question from the glossary."""

    def match_expression(self) -> str:
        """An FTS5 MATCH string: every term quoted, so user text is never FTS syntax."""
        return " OR ".join(f'"{t}"' for t in self.terms)


def query_terms(question: str) -> list[str]:
    """Content words of a question, in order, without duplicates or one-letter tokens."""
    seen = dict.fromkeys(w for w in words(question) if w not in STOPWORDS and len(w) > 1)
    return list(seen)[:_MAX_TERMS]


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
    return previous[-1]


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


class KeywordSearcher:
    """BM25 search over one build's FTS index."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        # In a large corpus most distinct words are one-offs (names, typos of its own), which
        # make poor corrections and most of the scan: corrections then need df >= 2.
        words = db.execute("SELECT count(*) FROM vocabulary").fetchone()[0]
        self._min_df = 2 if words > _SMALL_VOCABULARY else 1

    def prepare(
        self, question: str, expansions: Sequence[str] = (), *, correct: bool = True
    ) -> KeywordQuery:
        """Terms to search; a word the corpus lacks is replaced by its closest known spelling.

        Args:
            question: the user's text.
            expansions: extra terms to search (glossary translations), never corrected.
            correct: fix typos; off for Vietnamese, whose syllables would be "corrected" to
                unrelated English words.
        """
        terms, fixes, known = [], [], []
        for term in query_terms(question):
            if term.isdigit() or self._known(term):
                terms.append(term)
                known.append(term)
                continue
            fixed = self._closest(term) if correct else None
            terms.append(fixed or term)
            if fixed:
                fixes.append((term, fixed))
                known.append(fixed)
        extra = [t for t in dict.fromkeys(expansions) if t not in terms]
        return KeywordQuery(tuple(dict.fromkeys(terms + extra)), tuple(fixes), tuple(known),
                            tuple(extra))

    def search(self, query: KeywordQuery, n: int) -> list[tuple[int, float]]:
        """Top-n (row, bm25) pairs; higher is better."""
        terms = self._affordable(query.terms)
        if not terms:
            return []
        rows = self._db.execute(
            f"SELECT rowid, -bm25(chunks_fts, {_TITLE_WEIGHT}, {_TEXT_WEIGHT}) AS score "
            "FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY score DESC LIMIT ?",
            (KeywordQuery(terms).match_expression(), n),
        ).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    def _affordable(self, terms: Sequence[str]) -> tuple[str, ...]:
        """The terms to match, rarest first, within a budget of passages to score.

        BM25 scores every passage that holds any term, so one word found in a third of a large
        corpus ("president", "security") costs more than the rest of the question, while its IDF
        adds almost nothing to the ranking. Common words are dropped once the rarer ones already
        reach `_POSTINGS_BUDGET` passages; the two rarest always stay. Small corpora never reach
        the budget, so their queries are unchanged.
        """
        if len(terms) <= _MIN_TERMS:
            return tuple(terms)
        marks = ",".join("?" * len(terms))
        df = dict(self._db.execute(
            f"SELECT word, df FROM vocabulary WHERE word IN ({marks})", list(terms)))
        kept: list[str] = []
        total = 0
        for term in sorted(terms, key=lambda t: df.get(t, 0)):
            total += df.get(term, 0)
            if len(kept) >= _MIN_TERMS and total > _POSTINGS_BUDGET:
                break
            kept.append(term)
        return tuple(t for t in terms if t in kept)

    def _known(self, word: str) -> bool:
        found = self._db.execute("SELECT 1 FROM vocabulary WHERE word = ?", (word,)).fetchone()
        return found is not None

    def _closest(self, word: str) -> str | None:
        """The most frequent known word within one edit (two for long words), same first letter.

        Typos rarely hit the first letter, and the prefix keeps the scan to a slice of the
        vocabulary even at a hundred thousand passages.
        """
        if len(word) < 4 or not word[0].isalpha():
            return None
        limit = 1 if len(word) < 8 else 2
        # Long words may have two typos but then share their first two letters: the prefix
        # keeps the scan to a small slice of a large vocabulary.
        prefix = word[:limit]
        candidates = self._db.execute(
            "SELECT word, df FROM vocabulary WHERE word >= ? AND word < ? "
            "AND length(word) BETWEEN ? AND ? AND df >= ?",
            (prefix, prefix + "\U0010ffff", len(word) - limit, len(word) + limit, self._min_df),
        ).fetchall()
        best: tuple[int, int, str] | None = None
        for candidate, df in candidates:
            distance = edit_distance(word, candidate, limit)
            if distance <= limit and (best is None or (distance, -df) < best[:2]):
                best = (distance, -df, candidate)
        return best[2] if best else None

