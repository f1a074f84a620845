"""How sure an answer is: a logistic model over the search's own signals, one per language.

The coefficients are learned by `benchmarks/abstention.py` (scikit-learn there) from
answerable questions and near misses: SQuAD and XQuAD questions asked with and without their
article in the index, questions whose country, agency or person was swapped for one the corpus
lacks, NQ-open against the seeds. They are stored in `confidence.json` beside this module with
the encoders they were fitted for, and applied here with numpy alone. A question is answered
when its first result's probability reaches the language's threshold (chosen on the training
split for at most 3% of answerable questions refused); another result is an answer too only
when its own probability is close to the first one's.

Where the file does not match the encoders (another model, a missing language), or search ran
without one of the lists the features come from, `Confidence.for_encoders` gives None for that
case and the retriever falls back to the threshold rule of `embeddings.search.abstention`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoders.base import Encoders
from embeddings.search.accents import has_accents

MODEL_FILE = Path(__file__).with_name("confidence.json")
FORMAT = 1
UNACCENTED = "vi-plain"


def model_key(question: str, language: str) -> str:
    """Which model judges a question: its language's, and for Vietnamese typed without
    accents a model of its own (search finds far less for it, so its scores mean less)."""
    if language != "vi":
        return language
    return language if has_accents(question) else UNACCENTED


@dataclass(frozen=True)
class LanguageModel:
    """Standardised features -> logistic probability, and the threshold to answer."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LanguageModel:
        """Read one language's entry of the model file."""
        features = tuple(data["features"])
        mean, scale, coef = (np.asarray(data[k], dtype=np.float64)
                             for k in ("mean", "scale", "coef"))
        if any(a.shape != (len(features),) for a in (mean, scale, coef)):
            raise ValueError("feature, mean, scale and coef lengths differ")
        return cls(features, mean, scale, coef, float(data["intercept"]),
                   float(data["threshold"]))

    def probability(self, features: Mapping[str, float]) -> float | None:
        """The probability that the result answers, or None when a feature is missing."""
        x = np.array([features.get(name, math.nan) for name in self.features], dtype=np.float64)
        if not np.all(np.isfinite(x)):
            return None
        z = float((x - self.mean) / self.scale @ self.coef) + self.intercept
        # Both branches stay finite for any z.
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


@dataclass(frozen=True)
class Confidence:
    """The fitted models for one pair of encoders, and the rule for further answers."""

    by_language: Mapping[str, LanguageModel]
    """By `model_key`: ``en``, ``vi``, ``vi-plain``."""
    relevant_ratio: float
    """Another result is an answer when its probability is at least this share of the
    first one's (and itself reaches the threshold)."""

    @classmethod
    def for_encoders(cls, encoders: Encoders, path: Path = MODEL_FILE) -> Confidence | None:
        """The model file's models, or None when it is absent, unreadable or fitted for other
        encoders (their scores sit in other bands)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                return None
            fitted = data["encoders"]
            if fitted.get("primary") != encoders.primary.name or (
                    fitted.get("multilingual") != encoders.multilingual_name):
                return None
            models = {lang: LanguageModel.from_dict(m) for lang, m in data["models"].items()}
            return cls(models, float(data["relevant_ratio"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def probabilities(
        self, key: str, features: Sequence[Mapping[str, float]]
    ) -> list[float] | None:
        """Each result's probability, or None when there is no model for the key (see
        `model_key`) or a result lacks a feature (the caller then uses the threshold rule)."""
        model = self.by_language.get(key)
        if model is None:
            return None
        out = [model.probability(f) for f in features]
        return None if any(p is None for p in out) else [p for p in out if p is not None]

    def threshold(self, key: str) -> float:
        """The probability from which a question judged by this model is answered."""
        return self.by_language[key].threshold

    def relevant(self, key: str, probabilities: Sequence[float]) -> list[bool]:
        """Which results are answers, once the first one answers: the first, and those whose
        probability reaches the threshold and `relevant_ratio` of the first one's."""
        if not probabilities:
            return []
        first = probabilities[0]
        least = max(self.threshold(key), self.relevant_ratio * first)
        return [True] + [p >= least for p in probabilities[1:]]
