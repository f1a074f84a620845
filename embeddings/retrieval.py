"""From a question to an Answer: dense search, de-duplicated passages, the answering sentence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embeddings.answers import Answer, Result
from embeddings.chunking import Unit, join_units
from embeddings.encoders import DEFAULT_MODEL, Encoder
from embeddings.store import ChunkRecord, LoadedIndex
from embeddings.text import clean_question, content_words, keyword_overlap

# Cosine below which the best passage is judged unrelated, per encoder: each model's scores
# sit in its own band. Calibrated on shared/eval/dev.jsonl and NQ-open (see README).
_MIN_SCORE = {DEFAULT_MODEL: 0.30}
_FALLBACK_MIN_SCORE = 0.30


@dataclass(frozen=True)
class RetrievalConfig:
    """Retrieval knobs.

    Attributes:
        min_score: best-passage cosine needed to answer; None uses the encoder's calibration.
        candidates: passages fetched before de-duplication.
        keyword_weight: weight of question-word overlap when choosing the highlight sentence.
    """

    min_score: float | None = None
    candidates: int = 20
    keyword_weight: float = 0.2


class Retriever:
    """Answers questions from one loaded index with one encoder."""

    def __init__(
        self, index: LoadedIndex, encoder: Encoder, cfg: RetrievalConfig | None = None
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.cfg = cfg or RetrievalConfig()
        self.min_score = (
            self.cfg.min_score
            if self.cfg.min_score is not None
            else _MIN_SCORE.get(encoder.name, _FALLBACK_MIN_SCORE)
        )

    def search(self, question: str, k: int = 3) -> Answer:
        """Find the best passages for a question.

        Args:
            question: free text; cleaned of control characters and extra spaces.
            k: number of results wanted.

        Returns:
            An Answer whose results are ranked, cited excerpts with a highlighted sentence.
        """
        query = clean_question(question)
        if not query or k <= 0:
            return Answer(query, False, ())
        qvec = self.encoder.encode_queries([query])[0]
        scores, rows = self.index.search(qvec, max(self.cfg.candidates, 4 * k))
        records = self.index.chunks([int(r) for r in rows])
        picked = _pick_distinct(
            [(float(s), records[int(r)]) for s, r in zip(scores, rows, strict=True)], k
        )
        results = self._results(query, qvec, picked)
        answered = bool(results) and results[0].score >= self.min_score
        return Answer(query, answered, tuple(results))

    def _results(
        self, query: str, qvec: np.ndarray, picked: list[tuple[float, ChunkRecord]]
    ) -> list[Result]:
        articles = self.index.articles(sorted({c.article_id for _, c in picked}))
        unit_lists = [
            [Unit(p, t) for p, t in self.index.units(c.article_id, c.start, c.end)]
            for _, c in picked
        ]
        highlights = self._highlights(query, qvec, unit_lists)
        results = []
        for rank, ((score, chunk), units, highlight) in enumerate(
            zip(picked, unit_lists, highlights, strict=True), start=1
        ):
            article = articles[chunk.article_id]
            results.append(
                Result(
                    rank=rank, article_id=chunk.article_id, title=article.title,
                    date=article.date, source=article.source, excerpt=join_units(units),
                    highlight=highlight, score=score,
                    chunk_id=f"{chunk.article_id}#{chunk.ordinal}",
                    place=article.place, url=article.url,
                )
            )
        return results

    def _highlights(
        self, query: str, qvec: np.ndarray, unit_lists: list[list[Unit]]
    ) -> list[str]:
        """The sentence of each passage that best answers: meaning plus shared keywords."""
        texts = [u.text for units in unit_lists for u in units]
        if not texts:
            return []
        sims = self.encoder.encode_passages(texts) @ qvec
        words = content_words(query)
        best: list[str] = []
        offset = 0
        for units in unit_lists:
            scored = [
                sims[offset + i] + self.cfg.keyword_weight * keyword_overlap(words, u.text)
                for i, u in enumerate(units)
            ]
            best.append(units[int(np.argmax(scored))].text)
            offset += len(units)
        return best


def _pick_distinct(
    candidates: list[tuple[float, ChunkRecord]], k: int
) -> list[tuple[float, ChunkRecord]]:
    """Best-first passages, skipping any that overlaps one already picked from the same article."""
    picked: list[tuple[float, ChunkRecord]] = []
    for score, chunk in candidates:
        if any(
            c.article_id == chunk.article_id and c.start < chunk.end and chunk.start < c.end
            for _, c in picked
        ):
            continue
        picked.append((score, chunk))
        if len(picked) == k:
            break
    return picked
