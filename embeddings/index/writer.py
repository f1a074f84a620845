"""Changing a build: the SQLite + FAISS engine's `storage.WritableIndex`.

Everything goes into one SQLite transaction; `commit` writes the new FAISS files under new
names first and then commits the transaction that points the manifest at them (see `layout`).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.corpus.duplicates import KnownArticles, band_keys, canonical_url, names_a_duplicate
from embeddings.index.database import SCHEMA, batches, manifest_of, marks
from embeddings.index.keyword import (
    add_aliases,
    add_keyword_rows,
    remove_aliases,
    remove_keyword_rows,
)
from embeddings.index.layout import (
    META,
    fsync,
    new_build_folder,
    publish,
    remove_unreferenced,
    require_build,
)
from embeddings.index.lookup import IndexedArticleLookup
from embeddings.index.manifest import PENDING_KEY, Manifest
from embeddings.index.reader import open_space
from embeddings.index.records import NewArticle, countries_column, half_vectors
from embeddings.index.vectors import VectorIndexConfig, read_index, updated_space, write_index

WRITE_WAIT_SECONDS = 30.0
"""How long an update waits for another program's write lock on the index database."""


class IndexWriter:
    """Changes one build inside a single SQLite transaction; `commit` publishes the change.

    Use `IndexWriter.create` for a full build in a new folder and `IndexWriter.update` to change
    the current build in place. Call it only while holding `layout.build_lock`.
    """

    def __init__(self, root: Path, folder: Path, db: sqlite3.Connection, *, new: bool) -> None:
        self.root = root
        self.folder = folder
        self.db = db
        self.new = new
        self.written: Manifest | None = None
        """The manifest `commit` stored (counts and files filled in)."""

    @classmethod
    def create(cls, root: Path, name: str) -> IndexWriter:
        """A writer for a new, empty build that becomes current on commit."""
        folder = new_build_folder(root, name)
        db = sqlite3.connect(folder / META, isolation_level=None)
        # WAL from the start: later in-place updates never block a serving process's reads.
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        db.execute("BEGIN")
        return cls(root, folder, db, new=True)

    @classmethod
    def update(cls, root: Path) -> IndexWriter:
        """A writer that changes the current build in place."""
        build = require_build(root)
        db = sqlite3.connect(build / META, isolation_level=None, timeout=WRITE_WAIT_SECONDS)
        # WAL: readers (a serving bot) keep reading the last commit while this one writes.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        return cls(root, build, db, new=False)

    def manifest(self) -> Manifest | None:
        """The manifest as last committed (None for a new build)."""
        return None if self.new else manifest_of(self.db, self.folder)

    def entries(self) -> dict[str, str]:
        """Entry name -> fingerprint, for everything the index has seen (skipped ones too)."""
        return dict(self.db.execute("SELECT name, fingerprint FROM entries"))

    def known_articles(self) -> KnownArticles:
        """The indexed articles' ids, bodies, URLs and signatures, to spot duplicates."""
        return KnownArticles(IndexedArticleLookup(self.db))

    def skipped_as_duplicates(self) -> list[str]:
        """Entries skipped because they duplicated an indexed article."""
        return [name for name, reason in self.db.execute(
            "SELECT name, skipped FROM entries WHERE skipped IS NOT NULL")
            if names_a_duplicate(reason)]

    def has_articles(self) -> bool:
        """True when the index holds at least one article."""
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None

    def remove_entries(self, names: Iterable[str]) -> list[str]:
        """Forget entries, deleting their articles and passages. Returns the article ids."""
        removed: list[str] = []
        for batch in batches(list(names)):
            where = f"IN ({marks(len(batch))})"
            ids = [r[0] for r in self.db.execute(
                f"SELECT id FROM articles WHERE entry {where}", batch)]
            self.remove_articles(ids)
            self.db.execute(f"DELETE FROM entries WHERE name {where}", batch)
            removed.extend(ids)
        return removed

    def remove_articles(self, ids: Sequence[str]) -> None:
        """Delete articles with their sentences, passages, keyword postings and aliases."""
        for batch in batches(list(ids)):
            where = f"IN ({marks(len(batch))})"
            rows = [r[0] for r in self.db.execute(
                f"SELECT row FROM chunks WHERE article_id {where}", batch)]
            remove_keyword_rows(self.db, rows)
            self.db.execute(f"DELETE FROM chunks WHERE article_id {where}", batch)
            self.db.execute(f"DELETE FROM units WHERE article_id {where}", batch)
            self.db.execute(f"DELETE FROM article_bands WHERE article_id {where}", batch)
            remove_aliases(self.db, batch)
            self.db.execute(f"DELETE FROM multilingual_pending WHERE article_id {where}", batch)
            self.db.execute(f"DELETE FROM articles WHERE id {where}", batch)

    def set_entries(self, entries: Mapping[str, tuple[str, str | None]]) -> None:
        """Record entries as seen: name -> (fingerprint, skip reason or None)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
            ((name, fp, reason) for name, (fp, reason) in entries.items()),
        )

    def add_articles(self, articles: Sequence[NewArticle], first_row: int) -> list[int]:
        """Store articles; passages get consecutive rows from `first_row`. Returns the rows."""
        rows: list[int] = []
        for article in articles:
            start = first_row + len(rows)
            self._insert(article, start)
            rows.extend(range(start, start + len(article.chunks)))
        if rows:
            add_keyword_rows(self.db, rows[0])
        return rows

    def _insert(self, article: NewArticle, first_row: int) -> None:
        r = article.record
        self.db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (r.id, r.title, r.date.isoformat() if r.date else None, r.source, r.byline,
             r.place, r.url, r.language, r.file, article.paragraphs, article.entry,
             article.body_key, canonical_url(r.url) if r.url else None,
             article.minhash.astype("<u4").tobytes(), countries_column(r)),
        )
        self.db.executemany("INSERT OR IGNORE INTO article_bands VALUES (?, ?)",
                            ((key, r.id) for key in band_keys(article.minhash)))
        add_aliases(self.db, r.id, article.aliases)
        if article.multilingual_pending:
            self.db.execute("INSERT OR IGNORE INTO multilingual_pending VALUES (?)", (r.id,))
        vectors = half_vectors(article.unit_vectors)
        multilingual = half_vectors(article.multilingual_unit_vectors)
        self.db.executemany(
            "INSERT INTO units VALUES (?,?,?,?,?,?)",
            ((r.id, i, p, text, vectors[i].tobytes() if vectors is not None else None,
              multilingual[i].tobytes() if multilingual is not None else None)
             for i, (p, text) in enumerate(article.units)),
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
            ((first_row + i, r.id, i, start, end, text)
             for i, (start, end, text) in enumerate(article.chunks)),
        )

    def commit(
        self,
        manifest: Manifest,
        new_vectors: dict[str, np.ndarray],
        new_rows: Sequence[int],
        vector_cfg: VectorIndexConfig,
    ) -> Path:
        """Write the vector files, store the manifest and publish the change atomically.

        Args:
            manifest: the build's manifest; counts, vector files and next row are filled in.
            new_vectors: per vector space, one row per new passage in `new_rows` order.
            new_rows: the row ids of the new passages.
            vector_cfg: which FAISS structure to use.

        Returns:
            The build folder.
        """
        old = self.manifest()
        generation = (old.extra.get("generation", 0) + 1) if old else 1
        live = int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        articles = int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])
        rows = np.asarray(new_rows, dtype=np.int64)
        files, deltas, totals = self._write_spaces(
            old, new_vectors, rows, live=live, generation=generation, cfg=vector_cfg)
        next_row = max([old.next_row if old else 0, int(rows.max()) + 1 if len(rows) else 0])
        extra = {**manifest.extra, "generation": generation}
        extra.pop(PENDING_KEY, None)
        if pending := self.pending_passages():
            extra[PENDING_KEY] = pending
        final = replace(
            manifest, vector_files=files, vector_deltas=deltas, vector_total=totals,
            next_row=next_row, chunk_count=live, article_count=articles,
            vector_index=vector_cfg.as_dict(), extra=extra,
        )
        self.db.execute(
            "INSERT OR REPLACE INTO state VALUES ('manifest', ?)",
            (final.to_json(with_skipped=False),),
        )
        self.db.execute("COMMIT")
        self.db.close()
        self.written = final
        if self.new:
            return publish(self.root, self.folder)
        remove_unreferenced(self.folder, {*files.values(), *deltas.values()})
        return self.folder

    def pending_passages(self) -> int:
        """Passages whose multilingual vectors are still to be filled in."""
        return int(self.db.execute(
            "SELECT count(*) FROM chunks WHERE article_id IN "
            "(SELECT article_id FROM multilingual_pending)").fetchone()[0])

    def fill_multilingual(self, unit_vectors: Mapping[str, np.ndarray]) -> None:
        """Store pending articles' multilingual sentence vectors (one row per unit, in
        order) and take them off the pending list; their passages' vectors go to `commit`."""
        for article_id, vectors in unit_vectors.items():
            halves = half_vectors(vectors)
            assert halves is not None
            self.db.executemany(
                "UPDATE units SET vector_multilingual = ? WHERE article_id = ? AND idx = ?",
                ((v.tobytes(), article_id, i) for i, v in enumerate(halves)))
        self.db.executemany("DELETE FROM multilingual_pending WHERE article_id = ?",
                            ((a,) for a in unit_vectors))

    def _write_spaces(
        self, old: Manifest | None, new_vectors: dict[str, np.ndarray], rows: np.ndarray, *,
        live: int, generation: int, cfg: VectorIndexConfig,
    ) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
        """Add each space's new vectors, writing the files that change under new names; a
        space given no vectors (the multilingual one while a fill is pending) stays as it is.

        Returns:
            Per space: the main file, the delta file (spaces with one), the vectors held.
        """
        files: dict[str, str] = {}
        deltas: dict[str, str] = {}
        totals: dict[str, int] = {}
        for space in (old.vector_files if old else {}):
            if old is not None and space not in new_vectors:
                files[space] = old.vector_files[space]
                totals[space] = old.vector_total[space]
                if space in old.vector_deltas:
                    deltas[space] = old.vector_deltas[space]
        for space, vectors in new_vectors.items():
            known = old is not None and space in old.vector_files
            current = open_space(self.folder, old, space, mmap=True) if old and known else None
            main_name = old.vector_files[space] if old and known else ""
            update = updated_space(
                current, partial(read_index, self.folder / main_name, mmap=False),
                vectors, rows, live, self._live_rows, cfg,
            )
            totals[space] = update.total
            files[space] = main_name
            if update.main is not None:
                files[space] = self._write(update.main, f"vectors-{space}-{generation}.faiss")
            if update.delta is not None and update.delta_changed:
                deltas[space] = self._write(update.delta,
                                            f"vectors-{space}-delta-{generation}.faiss")
            elif update.delta is not None and old is not None:
                deltas[space] = old.vector_deltas[space]
        return files, deltas, totals

    def _write(self, index: Any, name: str) -> str:
        write_index(index, self.folder / name)
        fsync(self.folder / name)
        return name

    def _live_rows(self) -> np.ndarray:
        return np.fromiter((r for (r,) in self.db.execute("SELECT row FROM chunks")),
                           dtype=np.int64)

    def abort(self) -> None:
        """Roll back; a new build's folder is removed."""
        with contextlib.suppress(sqlite3.Error):
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self.db.close()
        if self.new:
            shutil.rmtree(self.folder, ignore_errors=True)
