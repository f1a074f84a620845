"""When two articles are one: the same page (canonical URL), or near-identical text (MinHash).

The same page comes back with another scheme, a "www.", tracking parameters or an anchor;
`canonical_url` strips those.

An exact body fingerprint (`articles.body_fingerprint`) catches the same text under another
name; wire stories republished elsewhere differ by a changed headline, a dropped paragraph, a
credit line. MinHash estimates the Jaccard similarity of two texts' word 5-grams from 64 small
numbers per article; banding them (locality-sensitive hashing) finds the candidates for a new
article without comparing it with every indexed one.
"""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Iterable, Sequence
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

from embeddings.text import words as word_tokens

PERMUTATIONS = 64
BANDS = 16  # locality-sensitive hashing: 16 bands of 4 values; texts at 0.8 similarity share
# a band with probability 1 - (1 - 0.8**4)**16 > 0.9998, unrelated ones almost never.
SHINGLE_WORDS = 5
MAX_WORDS = 2000  # a republished story is the same from its start: this bounds the cost (~3 ms)
NEAR_DAYS = 7
"""Near-identical texts dated further apart than this are different events told with the same
formula (a yearly meeting, a recurring notice), not one story republished."""
THRESHOLD = 0.8
"""Estimated Jaccard similarity of 5-word shingles from which two articles are one story.
In tests/test_duplicates.py a republished copy with another headline, a credit line and a
paragraph dropped scores above 0.8; different reports of one meeting score far below."""

_PRIME = (1 << 61) - 1
_RNG = np.random.default_rng(20261122)  # fixed: signatures must compare across runs
# a < 2^31 and x < 2^32 keep a*x + b below 2^64, so uint64 arithmetic never wraps.
_A = _RNG.integers(1, 1 << 31, PERMUTATIONS, dtype=np.uint64)
_B = _RNG.integers(0, 1 << 31, PERMUTATIONS, dtype=np.uint64)
_ROWS = PERMUTATIONS // BANDS


_TRACKING = ("utm_", "fbclid", "gclid", "mc_", "ref", "cmpid", "ocid")


def canonical_url(url: str) -> str:
    """The URL as a duplicate key: no scheme, no "www.", no fragment, no tracking parameters,
    no trailing slash, host in lower case (``https://www.Site.vn/a/?utm_source=x#top`` ->
    ``site.vn/a``)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    query = urlencode(sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    ))
    path = parts.path.rstrip("/")
    return f"{host}{port}{path}" + (f"?{query}" if query else "")


def signature(text: str) -> np.ndarray:
    """The MinHash signature (64 uint32) of a text's folded word 5-grams."""
    words = word_tokens(text)[:MAX_WORDS]
    if not words:
        return np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)
    span = min(SHINGLE_WORDS, len(words))
    # crc32: stable across runs (unlike hash()) and fast; 32 bits is plenty for one article.
    hashes = np.fromiter(
        {zlib.crc32(" ".join(words[i : i + span]).encode()) for i in range(len(words) - span + 1)},
        dtype=np.uint64,
    )
    permuted = ((hashes[:, None] * _A + _B) % _PRIME) & 0xFFFFFFFF
    return permuted.min(axis=0).astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two texts' shingles (0..1)."""
    return float(np.mean(a == b))


Candidate = tuple[str, np.ndarray, "datetime.date | None"]
"""An article that may be a near-duplicate: (id, signature, date)."""


class NearDuplicates:
    """Signatures of articles, searchable for one at least `THRESHOLD` similar."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._signatures: list[np.ndarray] = []
        self._dates: list[datetime.date | None] = []
        self._bands: dict[bytes, list[int]] = {}

    def add(self, article_id: str, sig: np.ndarray, date: datetime.date | None = None) -> None:
        """Remember an article's signature (and date, when known)."""
        position = len(self._ids)
        self._ids.append(article_id)
        self._signatures.append(sig)
        self._dates.append(date)
        for key in band_keys(sig):
            self._bands.setdefault(key, []).append(position)

    def candidates(self, sig: np.ndarray) -> list[Candidate]:
        """The articles sharing at least one band with a signature."""
        positions = {p for key in band_keys(sig) for p in self._bands.get(key, ())}
        return [(self._ids[p], self._signatures[p], self._dates[p]) for p in positions]

    def find(self, sig: np.ndarray, date: datetime.date | None = None) -> tuple[str, float] | None:
        """(id, similarity) of the most similar known article at or over the threshold, among
        those dated within `NEAR_DAYS` of `date` (or either undated)."""
        return most_similar(sig, date, self.candidates(sig))


def most_similar(sig: np.ndarray, date: datetime.date | None,
                 candidates: Iterable[Candidate]) -> tuple[str, float] | None:
    """(id, similarity) of the candidate most similar to `sig`, if at or over the threshold
    and dated within `NEAR_DAYS` of `date` (or either undated)."""
    scored = [(similarity(sig, other), article_id)
              for article_id, other, day in candidates if _close_in_time(date, day)]
    best = max(scored, default=None)
    if best is None or best[0] < THRESHOLD:
        return None
    return best[1], best[0]


def _close_in_time(a: datetime.date | None, b: datetime.date | None) -> bool:
    return a is None or b is None or abs((a - b).days) <= NEAR_DAYS


def band_keys(sig: np.ndarray) -> list[bytes]:
    """The signature's LSH band keys: two texts are compared only if they share one."""
    data = sig.astype("<u4")
    return [bytes([band]) + data[band * _ROWS : (band + 1) * _ROWS].tobytes()
            for band in range(BANDS)]


class IndexedArticles(Protocol):
    """Articles an index holds, found by key (`index.lookup.IndexedArticleLookup` reads them from
    the index database, so a check costs a few indexed queries whatever the index's size)."""

    def entry_of(self, article_id: str) -> str | None:
        """The file or record the article came from, if indexed."""

    def with_body(self, body_key: str) -> str | None:
        """The id of an article with this body fingerprint, if any."""

    def with_url(self, url_key: str) -> str | None:
        """The id of an article with this canonical URL, if any."""

    def sharing_a_band(self, keys: Sequence[bytes]) -> list[Candidate]:
        """The articles with at least one of these band keys."""


def names_a_duplicate(reason: str) -> bool:
    """True for a skip reason `KnownArticles.duplicate_of` gave: the article may be indexed
    once the one it duplicates is removed."""
    return reason.startswith(("duplicate id ", "duplicate of ", "same page as ",
                              "near-duplicate of "))


class KnownArticles:
    """What an index already holds, plus what this run added, to name the article a new one
    duplicates."""

    def __init__(self, indexed: IndexedArticles | None = None) -> None:
        """Args:
        indexed: the index's articles; None for an empty index.
        """
        self._indexed = indexed
        self._ids: dict[str, str] = {}
        self._bodies: dict[str, str] = {}
        self._urls: dict[str, str] = {}
        self._near = NearDuplicates()

    def add(self, article_id: str, where: str, body_key: str, url: str | None,
            sig: np.ndarray, date: datetime.date | None = None) -> None:
        """Remember an article (`where`: the file or record it came from)."""
        self._ids[article_id] = where
        self._bodies[body_key] = article_id
        if url:
            self._urls[canonical_url(url)] = article_id
        self._near.add(article_id, sig, date)

    def duplicate_of(self, article_id: str, body_key: str, url: str | None,
                     sig: np.ndarray, date: datetime.date | None = None) -> str | None:
        """Why an article is already known (same id, page, text or nearly), or None."""
        indexed = self._indexed
        where = self._ids.get(article_id) or (indexed.entry_of(article_id) if indexed else None)
        if where is not None:
            return f"duplicate id {article_id!r} (already indexed from {where})"
        same = self._bodies.get(body_key) or (indexed.with_body(body_key) if indexed else None)
        if same is not None:
            return f"duplicate of {same}"
        if url:
            key = canonical_url(url)
            same = self._urls.get(key) or (indexed.with_url(key) if indexed else None)
            if same is not None:
                return f"same page as {same} ({url})"
        candidates = self._near.candidates(sig)
        if indexed is not None:
            candidates += indexed.sharing_a_band(band_keys(sig))
        near = most_similar(sig, date, candidates)
        if near is not None:
            return f"near-duplicate of {near[0]} ({near[1]:.0%} of its text is the same)"
        return None
