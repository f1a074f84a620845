"""The ONNX Runtime encoder gives sentence-transformers' vectors, exports once, and its int8
variant is a different model as far as indexes and caches are concerned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders.base import DEFAULT_MODEL, SentenceTransformerEncoder
from embeddings.encoders.onnx_encoder import INT8_SUFFIX, OnnxEncoder, export_model, onnx_supported

pytestmark = pytest.mark.slow

TEXTS = [
    "Quang Ninh police presented $5,000 and laptops to Sainyabuli.",
    "Deputy Minister Lương Tam Quang met Police-General Surachate Hakparn in Bangkok.",
    "word " * 400,  # longer than the model's window: both must truncate the same way
    "Công an tỉnh Quảng Ninh hợp tác với Lào.",
]


@pytest.fixture(scope="module")
def torch_encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


def test_same_vectors_and_span_vectors_as_sentence_transformers(
    real_encoder: OnnxEncoder, torch_encoder: SentenceTransformerEncoder
) -> None:
    assert isinstance(real_encoder, OnnxEncoder) and real_encoder.name == DEFAULT_MODEL
    ours, theirs = real_encoder.encode_passages(TEXTS), torch_encoder.encode_passages(TEXTS)
    assert np.all(np.sum(ours * theirs, axis=1) > 0.9999)
    spans = [[(0, 18), (19, len(t) - 1)] for t in TEXTS]
    _, ours_spans = real_encoder.encode_passages_with_spans(TEXTS, spans)
    _, theirs_spans = torch_encoder.encode_passages_with_spans(TEXTS, spans)
    for a, b in zip(ours_spans, theirs_spans, strict=True):
        assert a.shape == (2, 384) and np.all(np.sum(a * b, axis=1) > 0.9999)
    assert real_encoder.count_tokens(TEXTS) == torch_encoder.count_tokens(TEXTS)
    assert real_encoder.max_tokens == torch_encoder.max_tokens == 256


def test_export_happens_once_and_int8_is_its_own_model(
    tmp_path: Path, real_encoder: OnnxEncoder
) -> None:
    location = real_encoder._location
    first = export_model(location, tmp_path, quantized=True)
    stamp = first.stat().st_mtime_ns
    assert export_model(location, tmp_path, quantized=True).stat().st_mtime_ns == stamp
    int8 = OnnxEncoder(DEFAULT_MODEL, quantized=True, cache_dir=tmp_path)
    assert int8.name == DEFAULT_MODEL + INT8_SUFFIX
    cosine = np.sum(int8.encode_passages(TEXTS) * real_encoder.encode_passages(TEXTS), axis=1)
    assert np.all(cosine > 0.97) and np.all(cosine < 0.99999)


def test_models_it_cannot_run_are_named(tmp_path: Path) -> None:
    assert onnx_supported(str(tmp_path)) is not None
    assert "not a local" in str(onnx_supported(str(tmp_path)))


def test_batches_on_two_threads_give_the_vectors_and_progress_of_one(
    real_encoder: OnnxEncoder
) -> None:
    """A call of several batches runs them side by side (`ort_threads.in_order`): each text
    keeps its own vector and span vectors, and progress still adds up to every text."""
    texts = [f"{TEXTS[i % 4][:200]} number {i}" for i in range(75)]  # 3 batches of up to 32
    spans = [[(0, 10), (11, len(t))] for t in texts]
    single = OnnxEncoder(DEFAULT_MODEL, num_threads=1, query_cache=0)
    single._session = real_encoder.session  # the same model, run one batch at a time
    two = OnnxEncoder(DEFAULT_MODEL, num_threads=2, query_cache=0)
    two._session = real_encoder.session
    seen: list[int] = []
    one_vectors, one_spans = single.encode_passages_with_spans(texts, spans)
    two_vectors, two_spans = two.encode_passages_with_spans(texts, spans, on_batch=seen.append)
    np.testing.assert_allclose(two_vectors, one_vectors, atol=1e-5)
    for a, b in zip(two_spans, one_spans, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert sorted(seen) == [11, 32, 32] and sum(seen) == len(texts)
    with pytest.raises(ValueError, match="at least 1"):
        OnnxEncoder(DEFAULT_MODEL, num_threads=0)
