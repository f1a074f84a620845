"""Deciding on assembled results: each one's confidence, which are answers, and whether the
question is answered at all.

    results ─ features (signals.py) ─ calibrated model (confidence.py) ─┐
            └ evidence ─ threshold rule (abstention.py) ────────────────┴─▶ Answer
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from embeddings.answers import Answer, Result
from embeddings.encoders.base import MULTILINGUAL, PRIMARY
from embeddings.index.storage import ReadableIndex
from embeddings.search.abstention import Abstention, Evidence
from embeddings.search.assembly import Assembled
from embeddings.search.candidates import Retrieval
from embeddings.search.confidence import Confidence, model_key
from embeddings.search.config import DENSE, KEYWORD, RetrievalConfig
from embeddings.search.names import missing_terms
from embeddings.search.signals import ArticleStems, QuestionSignals, ResultView, result_features


@dataclass(frozen=True)
class Assessment:
    """An answer with what its decision was made from (for calibration)."""

    answer: Answer
    evidence: Evidence
    features: tuple[dict[str, float], ...]
    """The confidence model's features of each result, in order."""
    rule_answers: bool
    """What the threshold rule of `embeddings.search.abstention` decides."""


class AnswerDecision:
    """Applies the confidence model, or the threshold rule where it does not fit."""

    def __init__(
        self,
        index: ReadableIndex,
        cfg: RetrievalConfig,
        abstention: Abstention,
        confidence: Confidence | None,
    ) -> None:
        self.index = index
        self.cfg = cfg
        self.abstention = abstention
        self.confidence = confidence
        self._article_stems = ArticleStems(index)

    def assess(self, found: Retrieval, assembled: Assembled) -> Assessment:
        """The answer, with the evidence and features it was decided from."""
        results = assembled.results
        evidence = Evidence.of(
            query=found.query, language=found.language, terms=found.keyword.terms,
            dense_scores=found.dense_scores.values(), space=found.dense_space,
            top_text=f"{results[0].title} {assembled.judged[0]}",
        )
        views = [ResultView(r.article_id, r.title, judged, sim, r.date)
                 for r, sim, judged in zip(results, assembled.similarities, assembled.judged,
                                           strict=True)]
        features = self._features(found, views)
        rule = self.abstention.answers(evidence)
        answer = self._decide(found, results, features, rule)
        return Assessment(answer, evidence, tuple(features), rule)

    def _features(self, found: Retrieval, views: list[ResultView]) -> list[dict[str, float]]:
        """The confidence model's features of each result (see `embeddings.search.signals`)."""
        question = QuestionSignals.of(
            found.query, found.language, found.keyword.terms, found.keyword.counts, self.index,
            date_range=found.date_range, corrections=len(found.keyword.corrections))
        article_of = {chunk.row: chunk.article_id for _, chunk in found.ranked}
        fused: dict[str, float] = {}
        for score, chunk in found.ranked:
            fused[chunk.article_id] = max(score, fused.get(chunk.article_id, 0.0))
        dense_list = {PRIMARY: DENSE, MULTILINGUAL: MULTILINGUAL}.get(found.dense_space or "")
        return result_features(
            question, views, found.lists, article_of, fused, self._article_stems,
            dense_list=dense_list,
            multilingual_list=MULTILINGUAL if MULTILINGUAL in found.lists else None,
            keyword_list=KEYWORD)

    def _decide(
        self, found: Retrieval, results: list[Result], features: list[dict[str, float]],
        rule: bool,
    ) -> Answer:
        """Answered or not, each result's confidence and whether it is an answer, and, when
        nothing answers, the question's words that no article mentions.

        The confidence model decides where it fits the search that ran (hybrid, score fusion,
        the question's language searched in the space the model was fitted on); elsewhere,
        and whenever `min_score` is set, the threshold rule does.
        """
        language, key = found.language, model_key(found.query, found.language)
        fits = (self.confidence is not None and self.cfg.mode == "hybrid"
                and self.cfg.fusion == "score"
                and found.dense_space == (PRIMARY if language == "en" else MULTILINGUAL))
        probabilities = (self.confidence.probabilities(key, features)
                         if fits and self.confidence is not None else None)
        if probabilities is None or self.confidence is None:
            answered, relevant = rule, [rule] * len(results)
        else:
            threshold = self.confidence.threshold(key)
            answered = probabilities[0] >= threshold if self.cfg.min_score is None else rule
            relevant = (self.confidence.relevant(key, probabilities) if answered
                        else [False] * len(results))
        shown = tuple(
            replace(r, relevant=ok, confidence=None if probabilities is None else probabilities[i])
            for i, (r, ok) in enumerate(zip(results, relevant, strict=True)))
        missing = () if answered else missing_terms(
            found.query, language, self.index, [typed for typed, _ in found.keyword.corrections])
        return Answer(found.query, answered, shown, language=language,
                      corrections=found.keyword.corrections,
                      confidence=None if probabilities is None else probabilities[0],
                      missing=missing)
