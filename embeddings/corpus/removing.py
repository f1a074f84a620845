"""`coopbot remove`: take articles out of the corpus and the index, in place.

Article files move to ``<seeds>/.removed/`` (recoverable); JSONL records are dropped from their
file. The update that follows deletes the articles' passages, sentences and keyword postings;
their vectors stop resolving at once and leave the FAISS file at the next compaction. As in
`adding`, the ids are checked, the files moved and the index updated under one hold of the
build lock, so a concurrent `coopbot add` or `remove` sees the corpus and the index agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from embeddings.config import IndexConfig
from embeddings.corpus.sources import remove_entry
from embeddings.encoders.base import Encoder, Encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.changes import index_lock
from embeddings.index.engine import article_summaries
from embeddings.index.report import BuildObserver, BuildReport


def remove_articles(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    ids: Sequence[str],
    *,
    observer: BuildObserver | None = None,
) -> tuple[list[Path], BuildReport]:
    """Remove articles from the corpus and the index, in place (no full rebuild).

    Args:
        cfg: the index settings.
        encoders: the index's models (nothing is embedded; they name the index's spaces).
        ids: article ids, as `coopbot list` gives them.
        observer: progress hooks.

    Returns:
        The files changed or moved, and the update's report.

    Raises:
        CoopbotError: an id is not in the index, or its file is gone.
    """
    with index_lock(cfg, observer):
        known = {a.id: a for a in article_summaries(cfg)}
        missing = [i for i in ids if i not in known]
        if missing:
            raise CoopbotError(f"no article with id {', '.join(map(repr, missing))} in the "
                               "index; `coopbot list` shows the ids")
        changed = []
        for article_id in dict.fromkeys(ids):
            try:
                changed.append(remove_entry(cfg.seeds_dir, known[article_id].entry))
            except FileNotFoundError as exc:
                raise CoopbotError(f"cannot remove {article_id!r}: {exc}; run `coopbot index` "
                                   "to bring the index up to date") from exc
        return changed, build_index(cfg, encoders, observer, locked=True)
