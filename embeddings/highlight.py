"""Choosing the sentence that answers: meaning from the encoder, plus shared keywords."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embeddings.encoders import Encoder
from embeddings.grouping import Excerpt
from embeddings.keyword import words

# The best passage was chosen by the whole pipeline (keywords, fusion, dates); a sentence in it
# gets a small head start over its neighbours, which are only there for context.
CORE_BONUS = 0.05


def keyword_share(terms: set[str], sentence: str) -> float:
    """Share of the question's search terms that the sentence contains (0..1)."""
    if not terms:
        return 0.0
    return len(terms & set(words(sentence))) / len(terms)


def pick_highlights(
    excerpts: Sequence[Excerpt],
    query_vector: np.ndarray,
    encoder: Encoder,
    terms: set[str],
    *,
    keyword_weight: float = 0.2,
) -> list[str]:
    """The best sentence of each excerpt, verbatim.

    Args:
        excerpts: one per result.
        query_vector: the question encoded by `encoder`.
        encoder: the encoder whose space fits the question's language.
        terms: the question's search terms (folded, typos corrected).
        keyword_weight: weight of the keyword share against cosine similarity.
    """
    texts = [u.text for excerpt in excerpts for u in excerpt.units]
    if not texts:
        return ["" for _ in excerpts]
    similarity = encoder.encode_passages(texts) @ query_vector
    best: list[str] = []
    offset = 0
    for excerpt in excerpts:
        scores = [
            similarity[offset + i]
            + keyword_weight * keyword_share(terms, unit.text)
            + (CORE_BONUS if i in excerpt.core else 0.0)
            for i, unit in enumerate(excerpt.units)
        ]
        best.append(excerpt.units[int(np.argmax(scores))].text if scores else "")
        offset += len(excerpt.units)
    return best
