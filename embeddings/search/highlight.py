"""Choosing the sentence that answers: meaning from the encoder, plus shared keywords."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embeddings.encoders.base import Encoder
from embeddings.text import words


def keyword_share(terms: set[str], sentence: str) -> float:
    """Share of the question's search terms that the sentence contains (0..1)."""
    if not terms:
        return 0.0
    return len(terms & set(words(sentence))) / len(terms)


def sentence_scores(
    sentences: Sequence[str],
    passage_scores: Sequence[float],
    query_vector: np.ndarray,
    encoder: Encoder,
    terms: set[str],
    *,
    keyword_weight: float = 0.2,
    passage_weight: float = 0.3,
    sentence_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """How well each sentence answers: cosine to the question, shared keywords, and the
    fused score of the best passage it lies in (a sentence read alone loses its context).

    Args:
        sentences: candidate sentences.
        passage_scores: for each sentence, the best fused score (0..1) of a passage holding it.
        query_vector: the question encoded by `encoder`.
        encoder: the encoder whose space fits the question's language.
        terms: the question's search terms (folded, typos corrected).
        keyword_weight: weight of the keyword share.
        passage_weight: weight of the passage score.
        sentence_vectors: the sentences' vectors in `encoder`'s space when already known;
            otherwise the sentences are encoded here.
    """
    if not sentences:
        return np.zeros(0, dtype=np.float32)
    if sentence_vectors is None:
        sentence_vectors = encoder.encode_passages(list(sentences))
    similarity = sentence_vectors @ query_vector
    share = np.array([keyword_share(terms, s) for s in sentences])
    combined = similarity + keyword_weight * share + passage_weight * np.asarray(passage_scores)
    return np.asarray(combined, dtype=np.float32)
