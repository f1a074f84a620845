"""Reading a build: the SQLite + FAISS engine's `storage.ReadableIndex`, and the manifest.

Vectors are memory-mapped FAISS files; texts are read from SQLite on demand, through one
read-only connection that worker threads share under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from embeddings.errors import IndexCorruptError
from embeddings.index.database import manifest_of, marks, open_readonly, sqlite_errors
from embeddings.index.keyword import KeywordSearcher
from embeddings.index.layout import META, current_build, on_current_build
from embeddings.index.manifest import Manifest
from embeddings.index.records import (
    ARTICLE_COLUMNS,
    AliasRecord,
    ArticleRecord,
    ChunkRecord,
    StoredUnit,
    article_record,
    stored_vector,
)
from embeddings.index.vectors import VectorSpace, read_index
from embeddings.search.terms import KeywordQuery

_SPANS_PER_READ = 300  # three parameters each, below SQLite's oldest limit of 999
_UPDATES_RACED = 3  # in-place updates an opening reader catches up with before it gives up


def read_manifest(root: Path) -> Manifest:
    """The manifest of the current build; IndexMissingError if none was built."""
    return on_current_build(root, _manifest_of)


def _manifest_of(build: Path) -> Manifest:
    db = open_readonly(build / META)
    try:
        return manifest_of(db, build)
    finally:
        db.close()


def index_entries(root: Path) -> dict[str, str]:
    """Entry name -> fingerprint of everything the current build has seen."""
    if current_build(root) is None:
        return {}
    return on_current_build(root, _entries_of)


def _entries_of(build: Path) -> dict[str, str]:
    db = open_readonly(build / META)
    try:
        with sqlite_errors(build / META):
            return dict(db.execute("SELECT name, fingerprint FROM entries"))
    finally:
        db.close()


def open_space(build: Path, manifest: Manifest, space: str, *, mmap: bool) -> VectorSpace:
    """A vector space's main and delta files, checked against the manifest's count.

    Raises:
        IndexCorruptError: a file is missing, unreadable, or holds another number of vectors.
    """
    ef = manifest.vector_index.get("ef_search")
    main = read_index(build / manifest.vector_files[space], mmap=mmap, ef_search=ef)
    delta_name = manifest.vector_deltas.get(space)
    delta = read_index(build / delta_name, mmap=mmap) if delta_name else None
    opened = VectorSpace(main, delta)
    if opened.ntotal != manifest.vector_total.get(space):
        raise IndexCorruptError(
            f"the {space} vectors in {build} number {opened.ntotal}, the manifest says "
            f"{manifest.vector_total.get(space)}; run `coopbot index --full` to rebuild"
        )
    return opened


def open_index(
    root: Path, *, model: str, chunker: dict[str, float], multilingual_model: str | None = None
) -> LoadedIndex:
    """Open the current build, refusing one built with another model or chunker.

    It is the old build or the new one, whole, when a full rebuild swaps builds meanwhile (see
    `layout.on_current_build`); IndexCorruptError means the current build is damaged.
    """
    return on_current_build(root, partial(
        _open_build, model=model, chunker=chunker, multilingual_model=multilingual_model))


def _open_build(
    build: Path, *, model: str, chunker: dict[str, float], multilingual_model: str | None
) -> LoadedIndex:
    db = open_readonly(build / META)
    try:
        with sqlite_errors(build / META):
            # Read before the manifest: a commit from here on then shows as `changed`.
            version = _data_version(db)
            manifest = manifest_of(db, build)
            manifest.check_compatible(
                model=model, chunker=chunker, where=build, multilingual_model=multilingual_model
            )
            return LoadedIndex(build, db, manifest, version=version)
    except BaseException:
        db.close()
        raise


def _data_version(db: sqlite3.Connection) -> int:
    """A number that changes when another connection commits to the database."""
    return int(db.execute("PRAGMA data_version").fetchone()[0])


def _open_spaces(
    build: Path, db: sqlite3.Connection, manifest: Manifest
) -> tuple[Manifest, dict[str, VectorSpace]]:
    """The manifest's vector spaces, memory-mapped, with the manifest that names them.

    An update in place deletes the vector files it replaced once its commit is in, so a
    manifest read just before may name files that are gone: the manifest committed now names
    their successors. A missing file that the current manifest still names is damage.
    """
    for attempt in range(1, _UPDATES_RACED + 1):
        try:
            return manifest, {space: open_space(build, manifest, space, mmap=True)
                              for space in manifest.vector_files}
        except IndexCorruptError:
            newer = manifest_of(db, build)
            if attempt == _UPDATES_RACED or _files(newer) == _files(manifest):
                raise
            manifest = newer
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _files(manifest: Manifest) -> tuple[dict[str, str], dict[str, str]]:
    return manifest.vector_files, manifest.vector_deltas


class LoadedIndex:
    """A build opened for searching: vectors memory-mapped, texts read from SQLite on demand."""

    def __init__(
        self, build: Path, db: sqlite3.Connection, manifest: Manifest, *, version: int
    ) -> None:
        """Args:
        build: the build folder.
        db: a read-only connection to its database (the index owns it from now on).
        manifest: the manifest read from `db`.
        version: `PRAGMA data_version` of `db` from before `manifest` was read.
        """
        self.path = build
        self.manifest, self.spaces = _open_spaces(build, db, manifest)
        self._db = db
        self._keyword = KeywordSearcher(self._db)
        self._version = version
        # One connection shared by worker threads; sqlite3 objects need the lock for that.
        self._lock = threading.Lock()

    def changed(self) -> bool:
        """True once the index changed on disk: this build was updated in place by another
        process, or another build became current. Reopen to see the change."""
        with self._lock:
            if _data_version(self._db) != self._version:
                return True
        return current_build(self.path.parent.parent) != self.path

    def search(
        self, query: np.ndarray, n: int, space: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (scores, rows) for one normalised query vector in one vector space.

        Rows of articles removed since the vectors were written may appear; `chunks` does not
        resolve them, so callers drop them.
        """
        import faiss

        vectors = self.spaces[space]
        n = min(n, vectors.ntotal)
        if n <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        # One question is too little work to share: OpenMP's thread start-up and spinning cost
        # more than they save, and slow the encoders that run next. The setting is per thread,
        # so an index build in another thread keeps every core.
        faiss.omp_set_num_threads(1)
        scores, rows = vectors.search(query.reshape(1, -1).astype(np.float32), n)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def keyword_search(
        self, question: str, n: int, expansions: Sequence[str] = (), *, correct: bool = True
    ) -> tuple[KeywordQuery, list[tuple[int, float]]]:
        """BM25 top-n (row, score) for a question, with the terms actually searched: the
        question side (`search.terms`) and `keyword_top` in one call."""
        with self._lock:
            query = self._keyword.prepare(question, expansions, correct=correct)
            return query, self._keyword.search(query, n)

    def keyword_top(self, terms: Sequence[str], n: int) -> list[tuple[int, float]]:
        """BM25 top-n (row, score) of passages holding any of the terms."""
        if not terms:
            return []
        with self._lock:
            return self._keyword.top(terms, n)

    def vocabulary_size(self) -> int:
        """Distinct words in the keyword vocabulary when the index was opened."""
        return self._keyword.vocabulary_size()

    def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        """Passages holding each word; words the corpus lacks are left out."""
        if not words:
            return {}
        with self._lock:
            return self._keyword.word_counts(words)

    def words_like(
        self, prefix: str, shortest: int, longest: int, min_count: int
    ) -> list[tuple[str, int]]:
        """(word, passages) of vocabulary words by prefix, length and count (see `Vocabulary`)."""
        with self._lock:
            return self._keyword.words_like(prefix, shortest, longest, min_count)

    def aliases(self, forms: Sequence[str]) -> list[AliasRecord]:
        """The aliases whose short or long form is one of `forms` (see `Vocabulary`)."""
        if not forms:
            return []
        with self._lock:
            return self._keyword.aliases(forms)

    def chunks(self, rows: Sequence[int]) -> dict[int, ChunkRecord]:
        """Chunk records by row (rows of removed articles are absent)."""
        if not rows:
            return {}
        with self._lock:
            found = self._db.execute(
                f"SELECT row, article_id, ordinal, start, end, text FROM chunks "
                f"WHERE row IN ({marks(len(rows))})", [int(r) for r in rows],
            ).fetchall()
        return {r[0]: ChunkRecord(*r) for r in found}

    def article_units(
        self, spans: Mapping[str, tuple[int, int]]
    ) -> dict[str, list[StoredUnit]]:
        """Units [start, end) of several articles, with their stored vectors, in one read."""
        wanted = [(article_id, start, end) for article_id, (start, end) in spans.items()]
        found: dict[str, list[StoredUnit]] = {}
        for at in range(0, len(wanted), _SPANS_PER_READ):
            part = wanted[at : at + _SPANS_PER_READ]
            with self._lock:
                rows = self._db.execute(
                    "WITH wanted(article_id, low, high) AS (VALUES "
                    + ",".join(["(?,?,?)"] * len(part)) + ") "
                    "SELECT u.article_id, u.idx, u.paragraph, u.text, u.vector, "
                    "u.vector_multilingual FROM wanted w "
                    "JOIN units u ON u.article_id = w.article_id AND u.idx >= w.low "
                    "AND u.idx < w.high ORDER BY u.article_id, u.idx",
                    [value for span in part for value in span],
                ).fetchall()
            for article_id, index, paragraph, text, blob, multilingual in rows:
                found.setdefault(article_id, []).append(StoredUnit(
                    index, paragraph, text, None if blob is None else stored_vector(blob),
                    None if multilingual is None else stored_vector(multilingual)))
        return found

    def units(self, article_id: str, start: int, end: int) -> list[tuple[int, str]]:
        """(paragraph, sentence) units [start, end) of an article."""
        return [(p, text) for _, p, text in self.unit_rows(article_id, start, end)]

    def unit_rows(self, article_id: str, start: int, end: int) -> list[tuple[int, int, str]]:
        """(index, paragraph, sentence) units [start, end) of an article."""
        with self._lock:
            return self._db.execute(
                "SELECT idx, paragraph, text FROM units WHERE article_id = ? AND idx >= ? "
                "AND idx < ? ORDER BY idx", (article_id, start, end),
            ).fetchall()

    def unit_vectors(self, article_id: str, start: int, end: int) -> dict[int, np.ndarray]:
        """Stored primary-space sentence vectors of units [start, end) (those that have one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, vector FROM units WHERE article_id = ? AND idx >= ? AND idx < ? "
                "AND vector IS NOT NULL", (article_id, start, end),
            ).fetchall()
        return {i: stored_vector(blob) for i, blob in rows}

    def articles(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """Article records by id (all of them when ids is None)."""
        sql = f"SELECT {ARTICLE_COLUMNS} FROM articles"
        params: list[str] = []
        if ids is not None:
            if not ids:
                return {}
            sql += f" WHERE id IN ({marks(len(ids))})"
            params = list(ids)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return {r[0]: article_record(r) for r in rows}

    def close(self) -> None:
        """Release the SQLite connection and the memory-mapped vector files; the index cannot
        be used afterwards. Closing twice is harmless.

        A build replaced by a full rebuild is deleted on disk, and its space is freed only
        once nothing holds its files: waiting for the garbage collector kept several open.
        """
        with self._lock:
            self._db.close()
            # Nothing else refers to the FAISS objects: dropping them unmaps their files.
            self.spaces = {}
