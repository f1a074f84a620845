"""When two articles are one: canonical URLs, MinHash similarity, and the builder refusing a
near-identical copy dropped into the seeds folder."""

from __future__ import annotations

import datetime
import random
from pathlib import Path

import pytest

from embeddings.articles.web_page import extract_article
from embeddings.config import IndexConfig
from embeddings.corpus.duplicates import (
    THRESHOLD,
    KnownArticles,
    NearDuplicates,
    canonical_url,
    signature,
    similarity,
)
from embeddings.index.builder import build_index
from embeddings.index.summaries import article_summaries
from tests.conftest import SEEDS
from tests.support.fake_encoders import HashingEncoder
from tests.support.web_server import DATA

WORDS = ("police", "border", "patrol", "province", "officers", "meeting", "agreement", "drug",
         "seizure", "customs", "port", "training", "cooperation", "delegation", "ministry",
         "security", "suspects", "arrest", "court")


def _text(seed: int, words: int = 400) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 50)) for _ in range(words))


@pytest.mark.parametrize(("a", "b"), [
    ("https://www.Example.org/news/a/?utm_source=tg&utm_medium=x#top", "http://example.org/news/a"),
    ("https://example.org/a?id=3&fbclid=zz", "https://example.org/a?id=3"),
    ("https://example.org:443/a", "https://example.org/a"),
])
def test_the_same_page_has_one_canonical_url(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


def test_different_pages_keep_different_urls() -> None:
    assert canonical_url("https://example.org/a?id=3") != canonical_url("https://example.org/a?id=4")
    assert canonical_url("https://example.org/a") != canonical_url("https://example.org/b")
    assert canonical_url("https://example.org:8080/a") != canonical_url("https://example.org/a")


def test_similarity_tracks_shared_text() -> None:
    base = _text(1)
    assert similarity(signature(base), signature(base)) == 1.0
    assert similarity(signature(base), signature(base.upper())) == 1.0  # folded
    edited = base.split()
    edited[200:210] = ["changed"] * 10  # 10 of 400 words: most 5-grams survive
    assert similarity(signature(base), signature(" ".join(edited))) >= THRESHOLD
    assert similarity(signature(base), signature(_text(2))) < 0.1
    assert signature("").shape == signature(base).shape  # an empty text still has a signature


def test_the_republished_page_is_a_near_duplicate_and_unrelated_pages_are_not() -> None:
    original = extract_article((DATA / "news_page.html").read_bytes())
    copy = extract_article((DATA / "news_page_republished.html").read_bytes())
    seeds = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    assert seeds
    near = NearDuplicates()
    near.add("original", signature("\n".join(original.paragraphs)))
    for i, text in enumerate(seeds):
        near.add(f"seed-{i}", signature(text))
    found = near.find(signature("\n".join(copy.paragraphs)))
    assert found is not None and found[0] == "original" and found[1] >= THRESHOLD
    assert near.find(signature(_text(3))) is None


def test_the_same_formula_years_apart_is_not_a_duplicate() -> None:
    known = KnownArticles()
    sig = signature(_text(1))
    known.add("talks-2021", "a.md", "body-a", None, sig, datetime.date(2021, 3, 10))
    assert known.duplicate_of("talks-2023", "body-b", None, sig, datetime.date(2023, 12, 5)) is None
    assert known.duplicate_of("copy", "body-c", None, sig, datetime.date(2021, 3, 12))
    assert known.duplicate_of("undated", "body-d", None, sig, None)  # no date: text decides


def test_known_articles_name_the_reason() -> None:
    known = KnownArticles()
    sig = signature(_text(1))
    known.add("a", "a.md", "body-a", "https://example.org/a", sig)
    assert known.duplicate_of("a", "x", None, signature(_text(9))) == (
        "duplicate id 'a' (already indexed from a.md)")
    assert known.duplicate_of("b", "body-a", None, signature(_text(9))) == "duplicate of a"
    assert known.duplicate_of("b", "x", "http://www.example.org/a/#c", signature(_text(9))) == (
        "same page as a (http://www.example.org/a/#c)")
    assert (known.duplicate_of("b", "x", None, sig) or "").startswith("near-duplicate of a (")
    assert known.duplicate_of("b", "x", "https://example.org/b", signature(_text(9))) is None


def test_a_near_copy_dropped_into_the_folder_is_skipped_and_named(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    body = "\n\n".join(_text(i, 60) for i in range(5))
    (seeds / "2024-01-01-original.md").write_text(
        f"---\ntitle: Original\ndate: 2024-01-01\n---\n{body}\n", encoding="utf-8")
    build_index(cfg, HashingEncoder())
    copy = body.replace(_text(4, 60), "Republished with permission.")  # one paragraph less
    (seeds / "2024-01-02-copy.md").write_text(
        f"---\ntitle: A copy elsewhere\ndate: 2024-01-02\n---\n{copy}\n", encoding="utf-8")
    report = build_index(cfg, HashingEncoder())
    [problem] = report.skipped
    assert problem.path.name == "2024-01-02-copy.md"
    assert problem.reason.startswith("near-duplicate of 2024-01-01-original (")
    assert "2024-01-02-copy" not in {a.id for a in article_summaries(cfg.index_dir)}


def test_a_skipped_copy_is_indexed_once_its_original_is_removed(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    body = "\n\n".join(_text(i, 60) for i in range(5))
    original = seeds / "2024-01-01-original.md"
    original.write_text(f"---\ntitle: Original\ndate: 2024-01-01\n---\n{body}\n",
                        encoding="utf-8")
    (seeds / "2024-01-02-copy.md").write_text(
        f"---\ntitle: A copy elsewhere\ndate: 2024-01-02\n---\n{body}\nCredit: wire.\n",
        encoding="utf-8")
    first = build_index(cfg, HashingEncoder())
    assert [p.path.name for p in first.skipped] == ["2024-01-02-copy.md"]
    original.unlink()
    second = build_index(cfg, HashingEncoder())
    assert second.removed == 1 and second.added == 1 and not second.skipped
    ids = {a.id for a in article_summaries(cfg.index_dir)}
    assert "2024-01-02-copy" in ids and "2024-01-01-original" not in ids
