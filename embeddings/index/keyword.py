"""Keyword search's storage: SQLite FTS5 with BM25, in the same file as the passages.

Why FTS5 rather than bm25s: it lives in the index's SQLite file beside the passages (one file,
one transaction), adds and removes rows incrementally (bm25s rebuilds its matrices), and its
``unicode61 remove_diacritics 2`` tokenizer folds "Lương" to "luong", so names match with or
without Vietnamese accents. Porter stemming makes "meets" find "meeting".

This is the engine's half: the FTS table with the word counts and the articles' aliases kept
beside it, passages and aliases added and removed, BM25 top-k for given terms. Turning a
question into terms (stopwords, typo correction, aliases, the cost budget) does not depend on
the engine and lives in `embeddings.search.terms`: another engine that scores BM25 as FTS5
does then ranks alike.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence

from embeddings.articles.aliases import Alias
from embeddings.index.records import AliasRecord
from embeddings.search.terms import KeywordQuery, affordable_terms, prepare_query
from embeddings.text import words

FTS_SCHEMA = """
CREATE VIEW fts_source AS
    SELECT c.row AS row, a.title AS title, c.text AS text
    FROM chunks c JOIN articles a ON a.id = c.article_id;
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    title, text, content='fts_source', content_rowid='row',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TABLE vocabulary (word TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE aliases (           -- short forms of what an article spells out (articles.aliases)
    short TEXT NOT NULL,         -- folded letters: "mou"
    long TEXT NOT NULL,          -- folded words, one space apart: "memorandum of understanding"
    article_id TEXT NOT NULL,
    kind TEXT NOT NULL,          -- defined, seed or initials
    mentions INTEGER NOT NULL,   -- times the article's body holds the long form
    PRIMARY KEY (short, long, article_id)
) WITHOUT ROWID;
CREATE INDEX aliases_long ON aliases(long);
CREATE INDEX aliases_article ON aliases(article_id);
"""

# BM25 column weights: a title word counts less than the same word in the passage itself,
# because the title is repeated on every passage of the article.
TITLE_WEIGHT, TEXT_WEIGHT = 0.4, 1.0


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
    df = passage_word_counts(texts)
    db.executemany(
        "INSERT INTO vocabulary VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET df = df + ?",
        ((word, sign * n, sign * n) for word, n in df.items()),
    )
    if sign < 0:
        db.execute("DELETE FROM vocabulary WHERE df <= 0")


def passage_word_counts(texts: Iterable[str]) -> Counter[str]:
    """Word -> passages holding it, for passages given as their title and text joined."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(words(text)))
    return df


def add_aliases(db: sqlite3.Connection, article_id: str, aliases: Iterable[Alias]) -> None:
    """Store an article's aliases (inside the writer's transaction)."""
    db.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?, ?)",
                   ((a.short, a.long, article_id, a.kind, a.mentions) for a in aliases))


def remove_aliases(db: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Forget the aliases of some articles (inside the writer's transaction)."""
    if article_ids:
        marks = ",".join("?" * len(article_ids))
        db.execute(f"DELETE FROM aliases WHERE article_id IN ({marks})", list(article_ids))


class KeywordSearcher:
    """BM25 search over one build's FTS index, and the word counts and aliases kept beside
    it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._size = int(db.execute("SELECT count(*) FROM vocabulary").fetchone()[0])

    def vocabulary_size(self) -> int:
        """Distinct words in the vocabulary when this searcher was made."""
        return self._size

    def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        """Passages holding each word; words the corpus lacks are left out."""
        if not words:
            return {}
        marks = ",".join("?" * len(words))
        return dict(self._db.execute(
            f"SELECT word, df FROM vocabulary WHERE word IN ({marks})", list(words)))

    def words_like(
        self, prefix: str, shortest: int, longest: int, min_count: int
    ) -> list[tuple[str, int]]:
        """(word, passages) of the words that start with `prefix`, are `shortest` to `longest`
        characters long and occur in at least `min_count` passages, in word order."""
        return self._db.execute(
            "SELECT word, df FROM vocabulary WHERE word >= ? AND word < ? "
            "AND length(word) BETWEEN ? AND ? AND df >= ?",
            (prefix, prefix + "\U0010ffff", shortest, longest, min_count),
        ).fetchall()

    def aliases(self, forms: Sequence[str]) -> list[AliasRecord]:
        """The stored aliases whose short or long form is one of `forms`, summed over the
        articles per (short, long, kind)."""
        if not forms:
            return []
        marks = ",".join("?" * len(forms))
        rows = self._db.execute(
            "SELECT short, long, kind, count(*), sum(mentions) FROM aliases "
            f"WHERE short IN ({marks}) OR long IN ({marks}) GROUP BY short, long, kind",
            [*forms, *forms]).fetchall()
        return [AliasRecord(*row) for row in rows]

    def top(self, terms: Sequence[str], n: int) -> list[tuple[int, float]]:
        """Top-n (row, bm25) pairs for passages holding any of the terms; higher is better."""
        if not terms:
            return []
        # Every term quoted, so user text is never FTS syntax.
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self._db.execute(
            f"SELECT rowid, -bm25(chunks_fts, {TITLE_WEIGHT}, {TEXT_WEIGHT}) AS score "
            "FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY score DESC LIMIT ?", (match, n),
        ).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    def prepare(
        self, question: str, expansions: Sequence[str] = (), *, correct: bool = True
    ) -> KeywordQuery:
        """A question's terms, as `embeddings.search.terms.prepare_query` makes them here (the
        retriever calls that itself, through the storage seam)."""
        return prepare_query(question, self, expansions, correct=correct)

    def search(self, query: KeywordQuery, n: int) -> list[tuple[int, float]]:
        """Top-n (row, bm25) pairs for a prepared query, within the cost budget."""
        counts = query.counts or self.word_counts(query.terms)
        return self.top(affordable_terms(query.terms, counts), n)
