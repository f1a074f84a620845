"""Two `coopbot add` runs of one article at once save it once (issue 16, item 6).

The duplicate check and the copy into the seeds folder happen under the index's build lock, so
the second run sees the article the first one indexed. Before, both checked an index that did
not have it yet, both saved a file, and `coopbot remove` then left the second copy searchable.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from embeddings.config import IndexConfig
from embeddings.corpus.adding import add_articles
from embeddings.index.builder import build_index
from embeddings.index.summaries import article_summaries
from embeddings.service import open_retriever, remove_articles
from tests.support.fake_encoders import HashingEncoder
from tests.support.web_server import DATA

RUNS = 3  # processes adding the same article at the same moment
DAY = "2024-05-14-"  # the saved file names start with the article's date
QUESTION = "How many Vietnamese citizens were rescued from scam compounds in Svay Rieng?"


def _add(cfg: IndexConfig, source: str, start: Barrier, results: dict[int, str]) -> None:
    """One `coopbot add SOURCE` (the library call it makes), started with the others."""
    start.wait(timeout=120)
    report = add_articles(cfg, HashingEncoder(), [source])
    [outcome] = report.outcomes
    results[multiprocessing.current_process().pid or 0] = outcome.problem or "added"


def test_racing_adds_of_one_article_save_one_file_and_remove_takes_it_out(
    seeds: Path, tmp_path: Path
) -> None:
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    build_index(cfg, HashingEncoder())
    before = {p.name for p in seeds.iterdir()}
    source = str(DATA / "news_page.html")
    # Spawned, not forked: the parent has run FAISS and OpenMP, which a fork can hang.
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(RUNS)
    with context.Manager() as manager:
        results = manager.dict()
        runs = [context.Process(target=_add, args=(cfg, source, start, results))
                for _ in range(RUNS)]
        for run in runs:
            run.start()
        for run in runs:
            run.join(timeout=300)
        outcomes = sorted(results.values())
    assert [run.exitcode for run in runs] == [0] * RUNS
    saved = sorted({p.name for p in seeds.iterdir() if p.is_file()} - before)
    assert len(saved) == 1, saved  # one file, not one per run
    assert outcomes.count("added") == 1, outcomes
    assert all(o.startswith("already indexed: ") for o in outcomes if o != "added"), outcomes
    [added] = [a for a in article_summaries(cfg.index_dir) if a.entry == saved[0]]
    remove_articles(cfg, HashingEncoder(), [added.id])
    assert {p.name for p in seeds.iterdir() if p.is_file()} == before
    # Neither the article nor a second copy of it is left to search.
    assert [a.id for a in article_summaries(cfg.index_dir) if a.id.startswith(DAY)] == []
    hits = open_retriever(cfg, HashingEncoder()).search(QUESTION, 5).results
    assert [r.article_id for r in hits if r.article_id.startswith(DAY)] == []
