"""What an index stores, as plain records: the same whichever engine holds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from embeddings.articles.aliases import Alias


@dataclass(frozen=True)
class ArticleRecord:
    """Article metadata as stored in the index."""

    id: str
    title: str
    date: date | None
    source: str | None
    byline: str | None
    place: str | None
    url: str | None
    language: str | None
    file: str
    countries: tuple[str, ...] = ()
    """The countries it is about, most mentioned first (`articles.countries`)."""


ARTICLE_COLUMNS = "id, title, date, source, byline, place, url, language, file, countries"
"""The columns `article_record` reads, in its order (the same on every engine)."""


def article_record(row: Sequence[Any]) -> ArticleRecord:
    """An article's record from a row of `ARTICLE_COLUMNS`."""
    return ArticleRecord(
        id=row[0], title=row[1], date=date.fromisoformat(row[2]) if row[2] else None,
        source=row[3], byline=row[4], place=row[5], url=row[6], language=row[7], file=row[8],
        countries=countries_from(row[9]))


def countries_column(record: ArticleRecord) -> str | None:
    """How `countries` is stored: the names joined by "|" (none contains one), or NULL."""
    return "|".join(record.countries) or None


def countries_from(column: str | None) -> tuple[str, ...]:
    """`countries_column` read back."""
    return tuple(column.split("|")) if column else ()


@dataclass(frozen=True)
class ChunkRecord:
    """A passage as stored in the index."""

    row: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class StoredUnit:
    """A sentence (unit) of an article as stored in the index."""

    index: int
    """Its position in the article; passages name units by these positions."""
    paragraph: int
    text: str
    vector: np.ndarray | None
    """Its primary-space vector (float32), or None when the build stored none."""
    multilingual: np.ndarray | None = None
    """Its multilingual-space vector (float32), or None when the build stored none."""


@dataclass(frozen=True)
class NewArticle:
    """Everything stored for one article added to the index."""

    record: ArticleRecord
    entry: str
    body_key: str
    minhash: np.ndarray
    """The body's MinHash signature (`duplicates.signature`)."""
    paragraphs: int
    units: Sequence[tuple[int, str]]
    """(paragraph number, sentence) in order."""
    unit_vectors: np.ndarray | None
    """One primary-space vector per unit, or None when the encoder gives none."""
    chunks: Sequence[tuple[int, int, str]]
    """(start unit, end unit, text) per passage, in order."""
    aliases: Sequence[Alias] = ()
    """The abbreviations and aliases its body defines or names (`articles.aliases`)."""
    multilingual_unit_vectors: np.ndarray | None = None
    """One multilingual-space vector per unit, or None (no such space, or no spans)."""
    multilingual_pending: bool = False
    """Its multilingual vectors are left to `index.filling` (a large build defers them)."""


@dataclass(frozen=True)
class AliasRecord:
    """A short form and a long form as the index holds them: summed over the articles that
    have the pair with the same kind."""

    short: str
    long: str
    kind: str
    """How the articles found it (`articles.aliases.DEFINED`, `SEED`, `INITIALS`)."""
    articles: int
    """Articles that have it."""
    mentions: int
    """Times those articles' bodies hold the long form."""


def half_vectors(vectors: np.ndarray | None) -> np.ndarray | None:
    """Sentence vectors as stored: little-endian float16 (a cosine moves by under 0.001)."""
    return vectors.astype("<f2") if vectors is not None else None


def stored_vector(blob: bytes) -> np.ndarray:
    """A stored sentence vector (`half_vectors`) back as float32."""
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)
