"""JSONL corpora: records become articles, bad lines are reported, changes are incremental."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from embeddings.config import IndexConfig
from embeddings.corpus.sources import safe_id, scan_corpus
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.freshness import check_freshness
from embeddings.service import open_retriever
from tests.support.fake_encoders import HashingEncoder


def _record(i: int, **extra: object) -> dict[str, object]:
    return {
        "id": f"wh/briefings/2024-0{i % 9 + 1}/statement-{i}",
        "title": f"Statement {i} on maritime security cooperation",
        "date": f"2024-0{i % 9 + 1}-1{i % 10}",
        "url": f"https://www.example.gov/briefings/statement-{i}/",
        "text": f"# Statement {i}\n\nThe coast guards of country {i} and its neighbour met "
                f"in port city {i}.\n\nThey agreed to patrol lane {i} together every month.",
        **extra,
    }


def _write_jsonl(path: Path, records: list[object], *, gz: bool = True) -> None:
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        path.write_text(lines, encoding="utf-8")


def test_records_become_articles_with_metadata(tmp_path: Path) -> None:
    source = tmp_path / "corpus.jsonl.gz"
    records: list[object] = [_record(i) for i in range(3)]
    records.append("{not json")
    records.append({"id": "empty", "title": "No text"})
    records.append(_record(1))  # same id again
    records.append({**_record(7), "title": "Emoji \ud83d\udcc8 title \ud83d"})  # lone surrogate
    _write_jsonl(source, records)
    cfg = IndexConfig(seeds_dir=source, index_dir=tmp_path / "index")
    report = build_index(cfg, HashingEncoder())
    assert report.articles == 4
    reasons = {p.path.name: p.reason for p in report.skipped}
    assert reasons["corpus.jsonl.gz#line-4"] == "line 4 is not a JSON object"
    assert "no text" in reasons["corpus.jsonl.gz#empty"]
    assert "duplicate id" in reasons[f"corpus.jsonl.gz#{safe_id(str(_record(1)['id']))}"]
    index = open_retriever(cfg, HashingEncoder()).index
    articles = index.articles()
    first = articles[safe_id(str(_record(0)["id"]))]
    assert first.title == "Statement 0 on maritime security cooperation"
    assert first.source == "example.gov" and first.url == _record(0)["url"]
    assert str(first.date) == "2024-01-10"
    assert articles[safe_id(str(_record(7)["id"]))].title == "Emoji 📈 title \ufffd"


def test_one_changed_record_is_the_only_work(tmp_path: Path) -> None:
    source = tmp_path / "corpus.jsonl"
    records = [_record(i) for i in range(5)]
    _write_jsonl(source, list(records), gz=False)
    cfg = IndexConfig(seeds_dir=source, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    records[2] = {**records[2], "text": "The navies of two countries held a joint drill."}
    _write_jsonl(source, list(records), gz=False)
    freshness = check_freshness(cfg, "fake/hashing")
    assert not freshness.fresh and "1 changed" in freshness.reasons[0]
    enc = HashingEncoder()
    report = build_index(cfg, enc)
    assert (report.added, report.removed, report.articles) == (1, 1, 5)
    assert enc.encoded_texts and all("joint drill" in t for t in enc.encoded_texts)
    answer = open_retriever(cfg, enc).search("navies joint drill", 1)
    assert answer.results[0].article_id == safe_id(str(records[2]["id"]))


def test_folder_mixes_files_and_collections(seeds: Path, tmp_path: Path) -> None:
    _write_jsonl(seeds / "extra.jsonl.gz", [_record(i) for i in range(2)])
    corpus = scan_corpus(seeds)
    assert sum(name.startswith("extra.jsonl.gz#") for name in corpus.fingerprints) == 2
    report = build_index(IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "i"), HashingEncoder())
    assert report.articles == 5


def test_a_file_that_is_not_jsonl_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "corpus.csv"
    source.write_text("id,text\n", encoding="utf-8")
    with pytest.raises(CoopbotError, match="folder or a .jsonl"):
        build_index(IndexConfig(seeds_dir=source, index_dir=tmp_path / "i"), HashingEncoder())
