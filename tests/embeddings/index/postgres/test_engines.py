"""The PostgreSQL engine against the embedded one, on a real server: the same corpus built
into each must read the same through `storage.ReadableIndex`, before and after updates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError, IndexMissingError
from embeddings.index import engine
from embeddings.index.builder import build_index
from embeddings.index.postgres.bm25 import passage_postings, query_tokens
from embeddings.index.storage import ReadableIndex
from embeddings.service import ensure_index, open_retriever
from tests.embeddings.index.test_builder import NEW_ARTICLE
from tests.support.fake_encoders import HashingEncoder

QUESTIONS = [
    "Who led the delegation from Sainyabuli?",
    "What did Quang Ninh police donate?",
    "Thai police meeting in Bangkok about human trafficking",
    "memorandum of understanding cooperation",
    "Lương Tam Quang Surachate Hakparn",
    "drug crimes training workshop Cambodia",
]


def _pair(seeds: Path, tmp_path: Path, url: str) -> tuple[IndexConfig, IndexConfig]:
    embedded = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "embedded")
    return embedded, dataclasses.replace(embedded, index_dir=tmp_path / "pg", database_url=url)


def _open(cfg: IndexConfig, encoder: HashingEncoder) -> ReadableIndex:
    return engine.open_index(cfg, model=encoder.name, chunker=cfg.chunk.as_dict())


def _same_reads(a: ReadableIndex, b: ReadableIndex, encoder: HashingEncoder) -> None:
    """Everything search reads, read from both indexes, compared."""
    assert a.manifest.chunk_count == b.manifest.chunk_count > 0
    assert a.manifest.article_count == b.manifest.article_count
    assert a.articles() == b.articles()
    assert a.vocabulary_size() == b.vocabulary_size()
    rows = sorted(a.chunks(list(range(a.manifest.next_row))))
    assert a.chunks(rows) == b.chunks(rows)
    for question in QUESTIONS:
        vector = encoder.encode_queries([question])[0]
        scores_a, rows_a = a.search(vector, 8, "primary")
        scores_b, rows_b = b.search(vector, 8, "primary")
        assert _ranked(scores_a, rows_a, a) == _ranked(scores_b, rows_b, b), question
        terms = [w for w in question.lower().replace("?", "").split() if len(w) > 2]
        top_a, top_b = a.keyword_top(terms, 10), b.keyword_top(terms, 10)
        assert [r for r, _ in top_a] == [r for r, _ in top_b], question
        np.testing.assert_allclose([s for _, s in top_a], [s for _, s in top_b], rtol=1e-9)
        assert a.word_counts(terms) == b.word_counts(terms)
    assert a.words_like("tra", 4, 12, 1) == b.words_like("tra", 4, 12, 1)
    assert sorted(a.aliases(["mou"]), key=repr) == sorted(b.aliases(["mou"]), key=repr)
    spans = {article_id: (0, 6) for article_id in a.articles()}
    units_a, units_b = a.article_units(spans), b.article_units(spans)
    assert units_a.keys() == units_b.keys()
    for article_id, units in units_a.items():
        assert [(u.index, u.paragraph, u.text) for u in units] == [
            (u.index, u.paragraph, u.text) for u in units_b[article_id]]
        for mine, theirs in zip(units, units_b[article_id], strict=True):
            assert (mine.vector is None) == (theirs.vector is None)
            if mine.vector is not None:
                np.testing.assert_array_equal(mine.vector, theirs.vector)
    some = next(iter(spans))
    assert a.unit_rows(some, 1, 4) == b.unit_rows(some, 1, 4)


def _ranked(scores: np.ndarray, rows: np.ndarray, index: ReadableIndex) -> list[tuple[float, int]]:
    """A dense list as (score, row), best first, ties by row, without the last score's ties
    (which of several equal passages makes the cut is either engine's choice) and rows of
    removed articles (the embedded engine keeps their vectors until it compacts)."""
    live = index.chunks(rows.tolist())
    pairs = sorted((-round(float(s), 5), int(r)) for s, r in zip(scores, rows, strict=True)
                   if int(r) in live)
    return [(s, r) for s, r in pairs if s < pairs[-1][0]]


def test_both_engines_read_the_same_after_a_build_and_updates(
    seeds: Path, tmp_path: Path, database_url: str
) -> None:
    encoder = HashingEncoder()
    embedded, postgres = _pair(seeds, tmp_path, database_url)
    for cfg in (embedded, postgres):
        assert build_index(cfg, encoder).full
    with_db = _open(postgres, encoder)
    assert not with_db.changed()
    _same_reads(_open(embedded, encoder), with_db, encoder)

    (seeds / "liaison.md").write_text(NEW_ARTICLE, encoding="utf-8")
    removed = sorted(seeds.glob("*.txt"))[0]
    removed.unlink()
    for cfg in (embedded, postgres):
        report = build_index(cfg, encoder)
        assert not report.full and report.added == 1 and report.removed == 1
    assert with_db.changed()  # updated in place by another writer
    _same_reads(_open(embedded, encoder), _open(postgres, encoder), encoder)
    # The removed article's passages are gone from every list, the new one's are in.
    fresh = _open(postgres, encoder)
    hits = fresh.keyword_top(["phongsaly"], 5)
    assert hits and {fresh.chunks([r])[r].article_id for r, _ in hits} == {"liaison"}
    assert removed.stem not in fresh.articles()


def test_an_unchanged_corpus_writes_nothing_and_a_full_build_swaps(
    seeds: Path, tmp_path: Path, database_url: str
) -> None:
    encoder = HashingEncoder()
    _, postgres = _pair(seeds, tmp_path, database_url)
    first = build_index(postgres, encoder)
    before = _open(postgres, encoder)
    again = build_index(postgres, encoder)
    assert again.unchanged and not before.changed()
    full = build_index(postgres, encoder, full=True)
    assert full.full and full.embedded == 0  # every vector from the embedding cache
    assert before.changed()
    assert before.chunks([0])  # the replaced build still answers questions in flight
    after = _open(postgres, encoder)
    assert after.path != before.path and after.manifest.chunk_count == first.chunks


def test_a_failed_build_leaves_the_served_index_unchanged(
    seeds: Path, tmp_path: Path, database_url: str
) -> None:
    _, postgres = _pair(seeds, tmp_path, database_url)
    build_index(postgres, HashingEncoder())
    served = _open(postgres, HashingEncoder())
    (seeds / "liaison.md").write_text(NEW_ARTICLE, encoding="utf-8")
    failing = HashingEncoder()
    failing.fail_after = 0
    with pytest.raises(Exception):  # noqa: B017 - the encoder's own failure, whatever it is
        build_index(postgres, failing)
    with pytest.raises(Exception):  # noqa: B017
        build_index(postgres, failing, full=True)
    assert not served.changed()
    assert "liaison" not in _open(postgres, HashingEncoder()).articles()
    assert build_index(postgres, HashingEncoder()).added == 1


def test_the_hybrid_search_answers_alike_on_both_engines(
    seeds: Path, tmp_path: Path, database_url: str
) -> None:
    encoder = HashingEncoder()
    embedded, postgres = _pair(seeds, tmp_path, database_url)
    answers = []
    for cfg in (embedded, postgres):
        ensure_index(cfg, encoder)
        retriever = open_retriever(cfg, encoder)
        answers.append([retriever.search(q, 3) for q in QUESTIONS])
    for mine, theirs in zip(*answers, strict=True):
        assert [(e.title, e.highlight, round(e.score, 6)) for e in mine.results] == [
            (e.title, e.highlight, round(e.score, 6)) for e in theirs.results]
        assert mine.answered == theirs.answered


def test_no_build_and_an_unreachable_server_are_clear_errors(
    tmp_path: Path, database_url: str
) -> None:
    cfg = IndexConfig(seeds_dir=tmp_path, index_dir=tmp_path / "i", database_url=database_url)
    assert not engine.has_index(cfg)
    with pytest.raises(IndexMissingError, match="coopbot index"):
        _open(cfg, HashingEncoder())
    gone = dataclasses.replace(cfg, database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(CoopbotError, match="cannot use the database .*127.0.0.1:1"):
        _open(gone, HashingEncoder())


def test_tokens_are_fts5s_and_each_term_scores_apart() -> None:
    postings = {(t, r): f for t, r, f, _ in passage_postings(
        [(1, "Police meeting", "Lương met the police, meeting in Bangkok.")])}
    assert postings[("polic", 1)] == pytest.approx(0.4 + 1.0)  # title 0.4, text 1.0
    assert postings[("luong", 1)] == 1.0 and postings[("meet", 1)] == pytest.approx(1.4)
    assert query_tokens(["meeting", "meets", "Lương"]) == {"meet": 2, "luong": 1}



def test_an_hnsw_space_is_searched_through_its_halfvec_index_with_float32_scores(
    seeds: Path, tmp_path: Path, database_url: str
) -> None:
    from embeddings.index.vectors import VectorIndexConfig

    encoder = HashingEncoder()
    embedded, postgres = _pair(seeds, tmp_path, database_url)
    postgres = dataclasses.replace(postgres, vectors=VectorIndexConfig(kind="hnsw"))
    for cfg in (embedded, postgres):
        build_index(cfg, encoder)
    exact, approximate = _open(embedded, encoder), _open(postgres, encoder)
    with approximate._read() as conn:  # type: ignore[attr-defined]
        conn.execute("SET enable_seqscan = off")  # 25 rows: make the planner take the index
        definition = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                  "'vectors_primary_hnsw'").fetchone()[0]
        vector = encoder.encode_queries([QUESTIONS[0]])[0]
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT row FROM vectors_primary ORDER BY "
            f"{approximate._order['primary']} LIMIT 8", (vector,)))  # type: ignore[attr-defined]
        conn.execute("RESET enable_seqscan")
    assert "halfvec" in definition and "vectors_primary_hnsw" in plan
    for question in QUESTIONS:
        vector = encoder.encode_queries([question])[0]
        scores_a, rows_a = exact.search(vector, 8, "primary")
        scores_b, rows_b = approximate.search(vector, 8, "primary")
        assert _ranked(scores_a, rows_a, exact)[:3] == _ranked(scores_b, rows_b, approximate)[:3]
        np.testing.assert_allclose(scores_b, np.sort(scores_b)[::-1])
        np.testing.assert_allclose(scores_a[:3], scores_b[:3], atol=1e-6)  # float32 scores


def test_a_large_database_build_leaves_out_multilingual_vectors(
    seeds: Path, tmp_path: Path, database_url: str
) -> None:
    """The database engine has no fill: over COOPBOT_MULTILINGUAL_LIMIT passages a full build
    leaves the multilingual vectors out, and updates keep to the spaces it has."""
    from embeddings.encoders.base import Encoders
    from embeddings.index.freshness import check_freshness

    encoders = Encoders(HashingEncoder(), HashingEncoder(name="fake/multilingual"))
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index", multilingual_limit=10,
                      database_url=database_url)
    report = build_index(cfg, encoders)
    assert report.notes and "over COOPBOT_MULTILINGUAL_LIMIT=10" in report.notes[0]
    manifest = engine.read_manifest(cfg)
    assert manifest.multilingual_model is None and list(manifest.vector_files) == ["primary"]
    assert check_freshness(cfg, "fake/hashing", "fake/multilingual").fresh
    (seeds / "2024-03-02-liaison-office.md").write_text(NEW_ARTICLE, encoding="utf-8")
    multilingual = HashingEncoder(name="fake/multilingual")
    build_index(cfg, Encoders(HashingEncoder(), multilingual))
    assert multilingual.encoded_texts == []
    assert _open(cfg, HashingEncoder()).keyword_top(["liaison"], 1)
