"""Keyword search on PostgreSQL, scored exactly as the embedded engine's FTS5 scores it.

Postgres's own `ts_rank` has no IDF and ranks differently, so coopbot keeps BM25 itself:

* **Tokens** come from SQLite's FTS5 tokenizer (``porter unicode61 remove_diacritics 2``),
  run in memory here, so a passage and a question are cut, folded and stemmed exactly as the
  embedded engine cuts them; no second tokenizer to drift from the first.
* **Postings**: one row per (token, passage) with its column-weighted count (a title token
  0.4, a text token 1.0) and the passage's length in tokens; `tokens` holds each token's
  document frequency and `keyword_totals` the passage and token counts. All of it changes with
  the passages in the writer's transaction, and BM25 reads the current figures at query time,
  so adding articles never rewrites stored weights.
* **BM25** is FTS5's: k1 1.2, b 0.75, IDF ``log((N - n + 0.5) / (n + 0.5))`` floored at 1e-6,
  each query term scored on its own (FTS5 scores each quoted phrase apart, so two words with
  one stem count twice).

One difference is kept on purpose: a question term FTS5 would read as a phrase of several
tokens ("covid_19") is scored here as its tokens apart, without their adjacency.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

from embeddings.index.keyword import TEXT_WEIGHT, TITLE_WEIGHT

K1, B = 1.2, 0.75
_MIN_IDF = 1e-6

_FTS = """
CREATE VIRTUAL TABLE doc USING fts5(title, text, tokenize='porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE doc_tokens USING fts5vocab(doc, 'instance');
"""


class _Tokenizer:
    """FTS5's tokenizer over an in-memory SQLite table (one per process, under a lock)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(_FTS)
        self._lock = threading.Lock()

    def counts(self, docs: Sequence[tuple[int, str, str]]
               ) -> dict[int, tuple[dict[str, float], int]]:
        """Per doc id: {token: title count x 0.4 + text count x 1.0}, and its length in tokens
        (both columns, as FTS5's BM25 counts it)."""
        found: dict[int, tuple[dict[str, float], int]] = {}
        with self._lock:
            self._db.executemany("INSERT INTO doc(rowid, title, text) VALUES (?, ?, ?)", docs)
            weights: dict[int, dict[str, float]] = defaultdict(dict)
            lengths: Counter[int] = Counter()
            for row, token, column, n in self._db.execute(
                    "SELECT doc, term, col, count(*) FROM doc_tokens GROUP BY doc, term, col"):
                weight = TITLE_WEIGHT if column == "title" else TEXT_WEIGHT
                weights[row][token] = weights[row].get(token, 0.0) + weight * n
                lengths[row] += n
            self._db.execute("DELETE FROM doc")
        for row, _, _ in docs:
            found[row] = (weights.get(row, {}), lengths.get(row, 0))
        return found


_TOKENIZER = _Tokenizer()


def passage_postings(passages: Iterable[tuple[int, str, str]]
                     ) -> list[tuple[str, int, float, int]]:
    """(token, row, weighted count, passage length) for passages given as (row, title, text)."""
    docs = list(passages)
    postings: list[tuple[str, int, float, int]] = []
    for row, (weights, length) in _TOKENIZER.counts(docs).items():
        postings.extend((token, row, weight, length) for token, weight in weights.items())
    return postings


@lru_cache(maxsize=65_536)
def term_tokens(term: str) -> tuple[str, ...]:
    """The tokens FTS5 makes of one query term ("meetings" -> ("meet",))."""
    weights, _ = _TOKENIZER.counts([(1, "", term)])[1]
    return tuple(sorted(weights))


def query_tokens(terms: Sequence[str]) -> dict[str, int]:
    """Token -> how many of the terms score it (each quoted term is scored on its own)."""
    counts: Counter[str] = Counter()
    for term in terms:
        counts.update(term_tokens(term))
    return dict(counts)


TOP_SQL = f"""
WITH totals AS (SELECT passages::float8 AS n, tokens::float8 / greatest(passages, 1) AS avgdl
                FROM keyword_totals),
weighted AS (
    SELECT t.token, q.times * greatest(ln((totals.n - t.df + 0.5) / (t.df + 0.5)), {_MIN_IDF})
           AS idf
    FROM unnest(%(tokens)s::text[], %(times)s::int[]) AS q(token, times)
         CROSS JOIN LATERAL (SELECT token, df FROM tokens WHERE token = q.token COLLATE "C"
                             OFFSET 0) t,
         totals
)
SELECT p.row, sum(w.idf * (p.freq * {K1 + 1}) /
                  (p.freq + {K1} * (1 - {B} + {B} * p.length / totals.avgdl))) AS score
FROM weighted w
     CROSS JOIN LATERAL (SELECT row, freq, length FROM postings WHERE token = w.token
                         OFFSET 0) p,
     totals
GROUP BY p.row
ORDER BY score DESC, p.row
LIMIT %(n)s
"""
# Each term's df and postings are looked up by index, term by term (LATERAL, OFFSET 0 so the
# planner cannot flatten it into a join): planned as joins, the query scanned every posting
# and every token, 196 ms a question at 6k SQuAD passages (statistics or not).
"""BM25 top-n over the postings, FTS5's formula (`fts5Bm25Function`) term for term."""
