"""Helpers shared by the benchmark scripts: data paths, corpora as seed folders, timing."""

from __future__ import annotations

import copy
import json
import statistics
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
SQUAD_DEV = DATA / "squad" / "squad-v1.1-dev.json"
RESULTS = REPO / "benchmarks" / "results"


def require(path: Path) -> bool:
    """True if the data file exists; otherwise say the benchmark part is skipped."""
    if path.exists():
        return True
    print(f"skipped: {path} not found (benchmarks read ../shared/data)", file=sys.stderr)
    return False


def write_squad_articles(squad: dict[str, Any], folder: Path) -> dict[str, tuple[str, int]]:
    """Each Wikipedia title becomes one article, its paragraphs in order.

    Returns:
        paragraph context -> (article id, paragraph number), to find a question's gold.
    """
    folder.mkdir(parents=True, exist_ok=True)
    gold: dict[str, tuple[str, int]] = {}
    for i, article in enumerate(squad["data"]):
        article_id = f"squad-{i:02d}"
        title = article["title"].replace("_", " ")
        contexts = [p["context"].strip() for p in article["paragraphs"]]
        body = "\n\n".join(c.replace("\n", " ") for c in contexts)
        text = f"---\ntitle: {json.dumps(title)}\nlanguage: en\n---\n{body}\n"
        path = folder / f"{article_id}.md"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        for number, context in enumerate(contexts):
            gold.setdefault(context, (article_id, number))
    return gold


def squad_questions(squad: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(question id, question, answer texts) for every question, in file order."""
    return [
        (qa["id"], qa["question"], [a["text"] for a in qa["answers"]])
        for article in squad["data"] for p in article["paragraphs"] for qa in p["qas"]
    ]


def strip_diacritics(text: str) -> str:
    """Vietnamese as typed without accents: NFD, combining marks dropped, đ -> d."""
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in text
                                                if not unicodedata.combining(c)))


def without_diacritics(squad: dict[str, Any]) -> dict[str, Any]:
    """A copy of a SQuAD-format data set whose questions are typed without accents."""
    plain = copy.deepcopy(squad)
    for article in plain["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                qa["question"] = strip_diacritics(qa["question"])
    return plain


def question_contexts(squad: dict[str, Any]) -> dict[str, str]:
    """Question id -> its paragraph's context."""
    return {
        qa["id"]: p["context"].strip()
        for article in squad["data"] for p in article["paragraphs"] for qa in p["qas"]
    }


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean, rounded."""
    if not values_ms:
        return {}
    arr = np.asarray(values_ms)
    return {
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "p99": round(float(np.percentile(arr, 99)), 1),
        "mean": round(statistics.fmean(values_ms), 1),
    }


class MemoEncoder:
    """Wraps an encoder and remembers its outputs by text, so several retrieval modes can be
    compared on the same questions without encoding them again. Not for production use."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._queries: dict[str, np.ndarray] = {}
        self._passages: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    @property
    def max_tokens(self) -> int:
        return int(self.inner.max_tokens)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return list(self.inner.count_tokens(texts))

    def prefill_queries(self, texts: Sequence[str]) -> None:
        """Encode many queries in one batched call."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._queries]
        if todo:
            self._queries.update(zip(todo, self.inner.encode_queries(todo), strict=True))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.prefill_queries(texts)
        return np.stack([self._queries[t] for t in texts])

    def encode_passages(self, texts: Sequence[str], *, on_batch: Any = None) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._passages]
        if todo:
            self._passages.update(zip(todo, self.inner.encode_passages(todo), strict=True))
        if on_batch is not None:
            on_batch(len(texts))
        return np.stack([self._passages[t] for t in texts])
