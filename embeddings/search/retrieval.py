"""From a question to an Answer: hybrid search, one entry per article, the answering sentence,
and how sure each result is.

    question ─ intent.py ─ candidates.py ─▶ Retrieval ─ assembly.py ─▶ results ─ decision.py ─▶
                           ranked lists,                one entry per             confidence,
                           fusion, dates,               article: excerpt,         answered?
                           rerank                       highlight, citation       ─▶ Answer

`intent.py` reads what is asked first. A question that names only a period ("What happened in
December 2023?") is answered by `listing.py`: the period's articles, newest first. A metadata
question ("Who wrote the article about Sainyabuli?") searches its subject alone and says so in
`Answer.asks`; front ends state the fact from the cited article's record.

`Retriever` is the one entry point; the stages are its parts, in the modules above.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from embeddings.answers import Answer, Filters
from embeddings.encoders.base import Encoder, Encoders, as_encoders
from embeddings.index.storage import ReadableIndex
from embeddings.search.abstention import Abstention
from embeddings.search.assembly import AnswerAssembly
from embeddings.search.candidates import CandidateSearch, Retrieval
from embeddings.search.confidence import Confidence
from embeddings.search.config import DENSE, KEYWORD, MODES, RetrievalConfig
from embeddings.search.decision import AnswerDecision, Assessment
from embeddings.search.filters import split_filters
from embeddings.search.followup import Conversation
from embeddings.search.intent import METADATA, read_intent
from embeddings.search.language import detect_language
from embeddings.search.listing import filtered_answer, period_answer
from embeddings.search.rerank import Reranker
from embeddings.text import clean_question

__all__ = ["DENSE", "KEYWORD", "MODES", "Assessment", "Retrieval", "RetrievalConfig",
           "Retriever"]


class Retriever:
    """Answers questions from one loaded index."""

    def __init__(
        self,
        index: ReadableIndex,
        encoders: Encoder | Encoders,
        cfg: RetrievalConfig | None = None,
        *,
        reranker: Reranker | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.index = index
        self.encoders = as_encoders(encoders)
        self.cfg = cfg or RetrievalConfig()
        if self.cfg.mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, got {self.cfg.mode!r}")
        self.abstention = Abstention.for_encoders(self.encoders, self.cfg.min_score)
        self.confidence = Confidence.for_encoders(self.encoders)
        self.candidates = CandidateSearch(index, self.encoders, self.cfg, reranker=reranker,
                                          today=today)
        self.assembly = AnswerAssembly(index, self.encoders, self.cfg,
                                       self.candidates.dense_space)
        self.decision = AnswerDecision(index, self.cfg, self.abstention, self.confidence)

    @property
    def encoder(self) -> Encoder:
        """The primary encoder."""
        return self.encoders.primary

    @property
    def reranker(self) -> Reranker | None:
        """The optional reranker of the fused candidates."""
        return self.candidates.reranker

    @reranker.setter
    def reranker(self, reranker: Reranker | None) -> None:
        self.candidates.reranker = reranker

    @property
    def today(self) -> Callable[[], dt.date]:
        """Today's date, which relative dates in questions ("last month") count from."""
        return self.candidates.today

    @today.setter
    def today(self, today: Callable[[], dt.date]) -> None:
        self.candidates.today = today

    def retrieve(self, question: str, articles: int = 0, filters: Filters | None = None
                 ) -> Retrieval:
        """Fused, ranked passages for a question (before grouping by article), holding at
        least `articles` distinct articles (of those `filters` admit) where the corpus has
        them."""
        return self.candidates.retrieve(question, articles, filters=filters)

    def search(self, question: str, k: int = 3, *, after: Conversation | None = None,
               filters: Filters | None = None) -> Answer:
        """Answer a question with up to k cited excerpts, one per article.

        Args:
            question: free text in English or Vietnamese, possibly with filters written in
                it (``country:Laos since:2023``, `search.filters`).
            k: number of articles wanted.
            after: the exchange this question follows up (`search.followup`), if any.
            filters: filters besides those written in the question.

        Returns:
            An Answer; ``answered`` is False when nothing relevant was found. With filters,
            only their articles are searched, and ``filters`` says which.

        Raises:
            FilterError: a filter written in the question cannot be read.
        """
        written, query = split_filters(clean_question(question))
        asked = written.merged(filters) or None
        answer = self._search(query, k, after, asked)
        return replace(answer, filters=asked) if asked else answer

    def _search(self, query: str, k: int, after: Conversation | None,
                filters: Filters | None) -> Answer:
        if not query and filters:
            return filtered_answer(self.index, query, "en", filters, k)
        if after is not None and query:
            return self._follow_up(query, k, after, filters)
        intent = read_intent(query, self.today())
        if intent.period is not None:
            listed = period_answer(self.index, query, detect_language(query), intent.period, k,
                                   filters)
            if listed is not None:
                return listed
        if intent.asks in METADATA:
            # The article is found by its description alone ("about Sainyabuli"); what is
            # asked of it is stated from its record by the front ends.
            language = detect_language(query)
            found = self.candidates.retrieve(intent.subject, k, language=language,
                                             filters=filters)
            if k <= 0 or not found.ranked:
                return Answer(query, False, (), language=language, asks=intent.asks)
            return replace(self._assess(found, k).answer, query=query, asks=intent.asks)
        found = self.retrieve(query, k, filters)
        if not found.query or k <= 0 or not found.ranked:
            return Answer(found.query, False, ())
        return self._assess(found, k).answer

    def _follow_up(self, query: str, k: int, after: Conversation,
                   filters: Filters | None = None) -> Answer:
        """A follow-up: its passages found with the exchange it continues, its answer sentences
        chosen for it alone, and its answer saying what it was taken to be about."""
        language = detect_language(query)
        found = self.candidates.retrieve(after.search_text(query), k, language=language,
                                         filters=filters)
        if k <= 0 or not found.ranked:
            return Answer(query, False, (), language=language, about=after.title)
        # The answer sentence must answer the follow-up, not repeat what was asked before.
        own = replace(found, query=query, query_vectors={},
                      keyword=self.candidates.keyword_query(query, language))
        answer = self.decision.assess(found, self.assembly.assemble(own, k)).answer
        return replace(answer, query=query, about=after.title)

    def assess(self, question: str, k: int = 3) -> Assessment | None:
        """The answer with the features and evidence it was decided from (for calibration);
        None when nothing was found."""
        found = self.retrieve(question, k)
        return self._assess(found, k) if found.ranked and k > 0 else None

    def _assess(self, found: Retrieval, k: int) -> Assessment:
        """Assemble the results of ranked passages, then decide on them."""
        return self.decision.assess(found, self.assembly.assemble(found, k))
