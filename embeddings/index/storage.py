"""The storage seam: what search reads from an index and what a build writes to one.

SQLite + FAISS (`reader.LoadedIndex`, `writer.IndexWriter`) is the one engine today; a
PostgreSQL + pgvector engine is meant to sit behind the same two protocols. Everything above
them stays coopbot's and identical on both: turning a question into keyword terms
(`search.terms`), fusion, grouping, the answer sentence, abstention; and on the build side
parsing, chunking, duplicate rules and embedding.

Rows are the passages' ids: an engine gives each new passage the row it is handed and never
reuses one, so a dense hit and a keyword hit on the same passage name the same row. Reads see
the last committed state; a row whose article was removed since simply stops resolving.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from embeddings.corpus.duplicates import KnownArticles
from embeddings.index.manifest import Manifest
from embeddings.index.records import (
    AliasRecord,
    ArticleRecord,
    ChunkRecord,
    NewArticle,
    StoredUnit,
)
from embeddings.index.vectors import VectorIndexConfig


class Vocabulary(Protocol):
    """The corpus's words with the number of passages holding each (title words count once
    per passage of the article), as `text.words` splits them, and the abbreviations its
    articles define or name: what typo correction, alias expansion and the keyword cost
    budget read."""

    def vocabulary_size(self) -> int:
        """Distinct words in the vocabulary (as of opening the index: it may lag updates)."""
        ...

    def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        """Passages holding each of the words; words the corpus lacks are left out."""
        ...

    def words_like(
        self, prefix: str, shortest: int, longest: int, min_count: int
    ) -> list[tuple[str, int]]:
        """(word, passages) for the words that start with `prefix`, are `shortest` to `longest`
        characters long and are held by at least `min_count` passages, in code-point order."""
        ...

    def aliases(self, forms: Sequence[str]) -> list[AliasRecord]:
        """The articles' aliases whose short form or long form is one of `forms` (folded;
        a long form's words one space apart, as `articles.aliases` stores them), one record
        per (short, long, kind) with its articles and mentions summed, in no set order. At
        most 400 forms. Which alias may expand a question is `search.aliases`' business."""
        ...


class ReadableIndex(Vocabulary, Protocol):
    """An index opened for answering questions; safe to share between threads."""

    @property
    def path(self) -> Path:
        """Where the index lives (the build folder), for messages and labels."""
        ...

    @property
    def manifest(self) -> Manifest:
        """What the index was built from and with, as of opening."""
        ...

    @property
    def spaces(self) -> Collection[str]:
        """The vector spaces it holds (``primary``, maybe ``multilingual``)."""
        ...

    def changed(self) -> bool:
        """True once the index changed since it was opened; reopen to see the change."""
        ...

    def close(self) -> None:
        """Release what the index holds open."""
        ...

    def search(self, query: np.ndarray, n: int, space: str) -> tuple[np.ndarray, np.ndarray]:
        """Dense top-n: (scores, rows) by inner product with one normalised query vector,
        best first. Rows of removed articles may appear: `chunks` does not resolve them."""
        ...

    def keyword_top(self, terms: Sequence[str], n: int) -> list[tuple[int, float]]:
        """Keyword top-n: (row, score) of passages holding any of the terms, best first,
        scored as FTS5 scores BM25 (porter stemming, accents folded, title weight 0.4 against
        the text's 1.0). Terms are plain folded words (`search.terms` prepares them)."""
        ...

    def chunks(self, rows: Sequence[int]) -> dict[int, ChunkRecord]:
        """Passages by row; rows of removed articles are absent."""
        ...

    def article_units(
        self, spans: Mapping[str, tuple[int, int]]
    ) -> dict[str, list[StoredUnit]]:
        """Sentences of several articles in one read: for each article id, its units with an
        index in [start, end), in order, with their stored vectors. Articles with none (or
        removed) are absent."""
        ...

    def unit_rows(self, article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
        """(index, paragraph, sentence) of one article's units [start, end), in order."""
        ...

    def articles(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """Article records by id (all of them when ids is None); unknown ids are absent."""
        ...


class WritableIndex(Protocol):
    """One change to an index (a full build or an update in place), applied atomically by
    `commit`: until then readers see the index as it was, and `abort` leaves it so."""

    @property
    def new(self) -> bool:
        """True for a full build that replaces the index on commit."""
        ...

    @property
    def folder(self) -> Path:
        """Where the build lives, for reports and messages."""
        ...

    @property
    def written(self) -> Manifest | None:
        """The manifest `commit` stored (counts and vector files filled in); None before."""
        ...

    def manifest(self) -> Manifest | None:
        """The manifest as last committed (None for a full build)."""
        ...

    def entries(self) -> dict[str, str]:
        """Corpus entry -> fingerprint, for everything the index has seen (skipped ones too)."""
        ...

    def set_entries(self, entries: Mapping[str, tuple[str, str | None]]) -> None:
        """Record entries as seen: name -> (fingerprint, skip reason or None)."""
        ...

    def remove_entries(self, names: Iterable[str]) -> list[str]:
        """Forget entries with their articles (see `remove_articles`). Returns the article ids."""
        ...

    def remove_articles(self, ids: Sequence[str]) -> None:
        """Delete articles with their sentences, passages, keyword postings and aliases. Their
        vectors may stay stored but never resolve again."""
        ...

    def skipped_as_duplicates(self) -> list[str]:
        """Entries skipped because they duplicated an indexed article."""
        ...

    def has_articles(self) -> bool:
        """True when the index holds at least one article."""
        ...

    def known_articles(self) -> KnownArticles:
        """The indexed articles' ids, bodies, URLs and signatures, to spot duplicates."""
        ...

    def add_articles(self, articles: Sequence[NewArticle], first_row: int) -> list[int]:
        """Store articles with their sentences, passages and aliases (keyword-searchable from
        the commit on); passages get consecutive rows from `first_row`. Returns the rows."""
        ...

    def commit(
        self,
        manifest: Manifest,
        new_vectors: dict[str, np.ndarray],
        new_rows: Sequence[int],
        vector_cfg: VectorIndexConfig,
    ) -> Path:
        """Add the new passages' vectors and publish everything atomically.

        Args:
            manifest: the build's manifest; counts, vector files and next row are filled in.
            new_vectors: per vector space, one vector per row of `new_rows`, in that order.
            new_rows: the rows `add_articles` gave.
            vector_cfg: the vector index settings (exact or HNSW, and when to switch).

        Returns:
            Where the build lives.
        """
        ...

    def abort(self) -> None:
        """Drop the change; the index stays as it was."""
        ...
