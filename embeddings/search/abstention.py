"""When to say "nothing relevant" without the confidence model: a threshold rule per encoder.

The fitted model of `embeddings.search.confidence` decides where it applies; this rule decides
elsewhere (a model file fitted for other encoders, keyword- or dense-only search) and whenever
`min_score` (``COOPBOT_MIN_SCORE``) is set, and benchmarks/abstention.py scores it beside the
model. Each encoder's cosine similarities sit in their own band (MiniLM spreads from about 0
to 0.8; e5 packs everything into 0.7 to 0.9), so thresholds are per model. A strong dense
match answers on its own; a middling one needs the question's keywords to be in the excerpt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from embeddings.encoders.base import DEFAULT_MODEL, MULTILINGUAL, Encoders
from embeddings.search.glossary import glossary_matches
from embeddings.text import words


@dataclass(frozen=True)
class Thresholds:
    """Dense similarity needed to answer alone (`strong`), or with keyword support (`weak`)."""

    strong: float
    weak: float
    coverage: float = 0.5
    floor: float | None = None
    """With every keyword found, this lower cosine suffices (a bare name the model does not
    know, "Who is Surachate?"); None disables it."""


# Calibrated (before the confidence model) on shared/eval/dev.jsonl (answerable and not),
# NQ-open and XQuAD's Vietnamese questions against the seed index (unanswerable). MiniLM:
# answerable questions score 0.31 to 0.79, NQ-open 99% below 0.27. e5: answerable Vietnamese
# questions 0.79 to 0.87, out-of-corpus ones 99% below 0.80, so the band between needs the
# question's domain phrases to be found in the excerpt.
CALIBRATED: dict[str, Thresholds] = {
    DEFAULT_MODEL: Thresholds(strong=0.45, weak=0.25, floor=0.12),
}
E5_THRESHOLDS = Thresholds(strong=0.83, weak=0.77)
FALLBACK = Thresholds(strong=0.45, weak=0.30)


_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(token: str) -> str:
    # A crude stemmer is enough to compare a question's words with an excerpt's:
    # "signed", "signing" and "signs" all meet "sign".
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            token = token[: -len(suffix)]
            break
    return token[:6]


def _stems(tokens: Iterable[str]) -> set[str]:
    return {_stem(t) for t in tokens}


def keyword_coverage(terms: Iterable[str], text: str) -> float:
    """Share of the search terms found (by crude stem) in the text."""
    wanted = _stems(terms)
    if not wanted:
        return 0.0
    return len(wanted & _stems(words(text))) / len(wanted)


def glossary_coverage(question: str, text: str) -> float:
    """Share of a Vietnamese question's glossary phrases rendered somewhere in the text."""
    groups = glossary_matches(question)
    if not groups:
        return 0.0
    present = _stems(words(text))
    return sum(bool(_stems(g) & present) for g in groups) / len(groups)


@dataclass(frozen=True)
class Evidence:
    """What the abstention rule looks at."""

    dense: float | None
    """Best cosine in the question's dense space (None in keyword-only mode)."""
    space: str | None
    coverage: float
    """Share of the question's search terms present in the top excerpt and its title."""

    @classmethod
    def of(
        cls,
        *,
        query: str,
        language: str,
        terms: Iterable[str],
        dense_scores: Iterable[float],
        space: str | None,
        top_text: str,
    ) -> Evidence:
        """Evidence from a retrieval and its top result.

        Args:
            query: the cleaned question.
            language: its language (``en``, ``vi``).
            terms: its keyword search terms.
            dense_scores: the cosines of the passages found in `space`.
            space: the dense space that fits the question's language (None: keyword only).
            top_text: the top result's title and excerpt.
        """
        dense = max(dense_scores, default=None)
        if language == "vi":
            # A Vietnamese question's own words never occur in English text, and its syllables
            # fold into English look-alikes ("thật" -> "that"): judge it by its domain phrases.
            coverage = glossary_coverage(query, top_text)
        else:
            coverage = keyword_coverage(terms, top_text)
        return cls(dense, space, coverage)


class Abstention:
    """Decides whether retrieved passages answer the question."""

    def __init__(self, by_space: dict[str, Thresholds], min_score: float | None = None) -> None:
        self.by_space = by_space
        self.min_score = min_score

    @classmethod
    def for_encoders(cls, encoders: Encoders, min_score: float | None = None) -> Abstention:
        """Thresholds for each vector space of an encoder set."""
        by_space = {
            space: E5_THRESHOLDS if space == MULTILINGUAL and "e5" in encoder.name
            else CALIBRATED.get(encoder.name, FALLBACK)
            for space, encoder in encoders.spaces().items()
        }
        return cls(by_space, min_score)

    def answers(self, evidence: Evidence) -> bool:
        """True when the evidence says the top result is relevant."""
        if evidence.dense is None or evidence.space is None:
            # Keyword-only mode: most of the question's words must be found.
            return evidence.coverage >= 0.75
        limits = self.by_space[evidence.space]
        if self.min_score is not None:
            return evidence.dense >= self.min_score
        if evidence.dense >= limits.strong:
            return True
        if limits.floor is not None and evidence.coverage >= 1.0 and evidence.dense >= limits.floor:
            return True
        return evidence.dense >= limits.weak and evidence.coverage >= limits.coverage
