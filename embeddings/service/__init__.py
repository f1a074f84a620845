"""The core's one API for front ends (the CLI and the Telegram bot).

Front ends import this module, `embeddings.answers` (the results), `embeddings.errors` and
`embeddings.evaluation`, nothing deeper (a test enforces it). Here they find:

* `CoreConfig`: plain settings (`IndexConfig`, `EncoderConfig`, `RetrievalConfig`).
* Work on the index without serving it (`service.work`): `build`, `fill` (the multilingual
  vectors a large build left for later), `index_status`, `list_articles`, `add_articles`,
  `remove_articles`; and `run_encoding_worker`, which encodes passages that builds on other
  machines queued in the database.
* `Library` (`service.library`): an index opened for serving, which answers questions, lists
  and shows articles, says what it holds, and picks up changes made by other processes.

The result types the functions return (`BuildReport`, `AddReport`, `ArticleSummary`, …) are
re-exported, so a front end names them from here.
"""

from __future__ import annotations

from embeddings.answers import Filters
from embeddings.articles.countries import country_label, country_named
from embeddings.chunking.chunker import ChunkConfig
from embeddings.config import IndexConfig
from embeddings.corpus.adding import FILE_SUFFIXES, AddOutcome, AddReport
from embeddings.corpus.sources import is_jsonl
from embeddings.encoders.loading import EncoderConfig
from embeddings.index.filling import FillReport
from embeddings.index.manifest import describe_settings
from embeddings.index.postgres.connection import redact as redact_url
from embeddings.index.postgres.worker import WorkerStats
from embeddings.index.records import ArticleRecord
from embeddings.index.report import BuildObserver, BuildReport
from embeddings.index.summaries import ArticleSummary
from embeddings.index.vectors import VectorIndexConfig
from embeddings.search.filters import FilterError, filter_tokens, split_filters
from embeddings.search.followup import Conversation, names_its_subject, reads_as_follow_up
from embeddings.search.retrieval import RetrievalConfig
from embeddings.search.timeline import TimelineEntry
from embeddings.service.library import ArticleText, IndexInfo, Library
from embeddings.service.work import (
    CoreConfig,
    add_articles,
    build,
    ensure_index,
    fill,
    index_status,
    list_articles,
    open_retriever,
    remove_articles,
    run_encoding_worker,
)
from embeddings.text import clean_question

__all__ = [
    "FILE_SUFFIXES", "AddOutcome", "AddReport", "ArticleRecord", "ArticleSummary", "ArticleText",
    "BuildObserver", "BuildReport", "ChunkConfig", "Conversation", "CoreConfig", "EncoderConfig",
    "FillReport", "FilterError", "Filters", "country_label", "country_named", "filter_tokens",
    "split_filters", "TimelineEntry",
    "IndexConfig", "IndexInfo", "Library", "RetrievalConfig", "VectorIndexConfig", "add_articles",
    "build", "clean_question", "fill", "describe_settings", "ensure_index", "index_status",
    "is_jsonl", "list_articles", "names_its_subject", "open_retriever", "reads_as_follow_up",
    "redact_url", "remove_articles", "run_encoding_worker", "WorkerStats",
]
