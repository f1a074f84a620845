"""The confidence model: numpy arithmetic, the model file, and which results are answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from embeddings.encoders.base import DEFAULT_MODEL, Encoders
from embeddings.search.confidence import MODEL_FILE, Confidence, LanguageModel
from tests.support.fake_encoders import HashingEncoder


def _entry(**over: object) -> dict[str, object]:
    entry: dict[str, object] = {"features": ["a", "b"], "mean": [1.0, 0.0], "scale": [2.0, 1.0],
                                "coef": [1.5, -0.5], "intercept": 0.25, "threshold": 0.6}
    entry.update(over)
    return entry


def test_probability_is_the_logistic_of_the_standardised_features() -> None:
    model = LanguageModel.from_dict(_entry())
    z = (3.0 - 1.0) / 2.0 * 1.5 + (0.4 - 0.0) / 1.0 * -0.5 + 0.25
    assert model.probability({"a": 3.0, "b": 0.4}) == pytest.approx(1 / (1 + math.exp(-z)))
    assert model.probability({"a": 3.0}) is None
    assert model.probability({"a": math.nan, "b": 0.0}) is None
    # Extreme inputs stay finite and inside 0..1.
    assert model.probability({"a": 1e6, "b": 0.0}) == pytest.approx(1.0)
    assert model.probability({"a": -1e6, "b": 0.0}) == pytest.approx(0.0)


def test_a_malformed_entry_is_refused() -> None:
    with pytest.raises(ValueError):
        LanguageModel.from_dict(_entry(coef=[1.0]))


def _file(tmp_path: Path, primary: str, multilingual: str | None) -> Path:
    path = tmp_path / "confidence.json"
    path.write_text(json.dumps({
        "format": 1, "encoders": {"primary": primary, "multilingual": multilingual},
        "models": {"en": _entry()}, "relevant_ratio": 0.8}), encoding="utf-8")
    return path


def test_the_model_file_applies_only_to_the_encoders_it_was_fitted_for(tmp_path: Path) -> None:
    encoders = Encoders(HashingEncoder())
    mine = _file(tmp_path, encoders.primary.name, None)
    assert Confidence.for_encoders(encoders, mine) is not None
    assert Confidence.for_encoders(encoders, _file(tmp_path, "other/model", None)) is None
    assert Confidence.for_encoders(encoders, tmp_path / "absent.json") is None
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert Confidence.for_encoders(encoders, tmp_path / "broken.json") is None


def test_further_results_are_answers_only_near_the_first_one(tmp_path: Path) -> None:
    encoders = Encoders(HashingEncoder())
    confidence = Confidence.for_encoders(encoders, _file(tmp_path, encoders.primary.name, None))
    assert confidence is not None
    assert confidence.relevant("en", [0.9, 0.75, 0.7]) == [True, True, False]
    # Near the first but below the threshold (0.6): not an answer.
    assert confidence.relevant("en", [0.65, 0.58]) == [True, False]
    assert confidence.probabilities("vi", [{"a": 1.0, "b": 1.0}]) is None


def test_the_committed_model_is_fitted_for_the_default_encoders() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert data["encoders"]["primary"] == DEFAULT_MODEL
    assert "e5" in data["encoders"]["multilingual"]
    assert set(data["models"]) == {"en", "vi", "vi-plain"}
    for entry in data["models"].values():
        model = LanguageModel.from_dict(entry)
        assert 0 < model.threshold < 1
