"""What the confidence model reads: a few numbers per result, all of them by-products of search.

For a result (one article) of a question:

* ``dense``, ``dense_margin``: the best cosine of the article's passages in the space that
  fits the question's language (MiniLM for English, e5 for Vietnamese), and how far it is
  ahead of the best passage of any other article (negative for all but the leader);
  ``e5``, ``e5_margin``: the same in the multilingual space, when it was searched;
  ``dense_gap``, ``e5_gap``: the cosine's lead over the median of the space's 50 best
  passages (a passage that stands out of the crowd, rather than a crowd of equals);
* ``fused``, ``fused_margin``: the fused score (0..1), likewise;
* ``keyword``, ``keyword_margin``: the article's best BM25 score divided by the question's
  total IDF, so that it reads as the share of the question's weight matched, likewise;
* ``highlight``: the cosine of the answer sentence to the question;
* ``terms_excerpt``, ``terms_article``, ``terms_corpus``: the IDF-weighted share of the
  question's keyword terms found in the excerpt (with the title), anywhere in the article,
  anywhere in the corpus; ``names_*``: the share of the words of its names (capitalised words,
  numbers) found there, 1 when it has none, and ``has_names``;
* ``date_asked``, ``date_match``: the question names a period; the article is dated in it;
* ``corrected``: the share of its terms that typo correction changed; ``n_terms``:
  log(1 + number of terms).

A question whose subject the corpus lacks ("What did the Japanese police promise Laos?")
still finds passages with a high cosine, on the same topic; what gives it away is that its
rare words and names are nowhere in them, or nowhere at all.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from embeddings.index.storage import ReadableIndex
from embeddings.search.dates import DateRange
from embeddings.search.names import Name, absent_words, question_names, stem, stems
from embeddings.text import words

_MAX_UNITS = 1 << 31


@dataclass(frozen=True)
class ResultView:
    """What the features need to know of one result."""

    article_id: str
    title: str
    excerpt: str
    highlight_similarity: float
    date: dt.date | None


@dataclass(frozen=True)
class QuestionSignals:
    """The question's side of the features, shared by all its results."""

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    """IDF of each term in the corpus (an absent term weighs most)."""
    names: tuple[Name, ...]
    absent: frozenset[str]
    """Folded words of the terms and names that no passage holds."""
    date_range: DateRange | None
    corrected: float

    @classmethod
    def of(
        cls,
        question: str,
        language: str,
        terms: Sequence[str],
        counts: Mapping[str, int],
        index: ReadableIndex,
        *,
        date_range: DateRange | None,
        corrections: int,
    ) -> QuestionSignals:
        """The question's terms weighted by IDF, its names, and which of them are absent."""
        total = max(1, index.manifest.chunk_count)
        weights = tuple(_idf(counts.get(t, 0), total) for t in terms)
        names = tuple(question_names(question, language))
        wanted = [*terms, *(w for n in names for w in n.words)]
        absent = frozenset(absent_words(index, wanted)) if wanted else frozenset()
        return cls(tuple(terms), weights, names, absent, date_range,
                   corrections / len(terms) if terms else 0.0)


def _idf(count: int, total: int) -> float:
    """Lucene's always-positive BM25 IDF."""
    return math.log(1 + (total - count + 0.5) / (count + 0.5))


def result_features(
    question: QuestionSignals,
    results: Sequence[ResultView],
    lists: Mapping[str, Sequence[tuple[int, float]]],
    article_of: Mapping[int, str],
    fused: Mapping[str, float],
    articles: ArticleStems,
    *,
    dense_list: str | None,
    multilingual_list: str | None,
    keyword_list: str,
) -> list[dict[str, float]]:
    """The features of each result, in order (see the module docstring).

    Args:
        question: the question's side.
        results: the results, best first.
        lists: the ranked lists before fusion: name -> (row, raw score), best first.
        article_of: the article of each row that still exists.
        fused: each candidate article's best fused score.
        articles: the words of the results' articles.
        dense_list: the name of the list in the question's dense space, if searched.
        multilingual_list: the name of the multilingual list, if searched.
        keyword_list: the name of the keyword list.
    """
    # Rows of removed articles (vectors the index keeps until it compacts) no longer exist.
    lists = {name: [(r, s) for r, s in pairs if r in article_of] for name, pairs in lists.items()}
    idf_total = sum(question.weights)
    keyword = {r: s / idf_total for r, s in lists.get(keyword_list, ())} if idf_total else {}
    spaces = {
        "dense": _best_by_article(lists.get(dense_list, ()) if dense_list else (), article_of),
        "e5": _best_by_article(
            lists.get(multilingual_list, ()) if multilingual_list else (), article_of),
        "keyword": _best_by_article(list(keyword.items()), article_of, floor=0.0),
    }
    medians = {name: _median(lists.get(list_name, ()) if list_name else ())
               for name, list_name in (("dense", dense_list), ("e5", multilingual_list))}
    out = []
    for result in results:
        features: dict[str, float] = {}
        for name, (best, floor) in spaces.items():
            features[name], features[f"{name}_margin"] = _lead(best, floor, result.article_id)
        for name, median in medians.items():
            features[f"{name}_gap"] = features[name] - median
        features["fused"], features["fused_margin"] = _lead(fused, 0.0, result.article_id)
        features["highlight"] = result.highlight_similarity
        features.update(_presence(question, result, articles))
        span = question.date_range
        features["date_asked"] = float(span is not None)
        features["date_match"] = float(span is not None and result.date is not None
                                       and span.contains(result.date))
        features["corrected"] = question.corrected
        features["n_terms"] = math.log1p(len(question.terms))
        out.append(features)
    return out


def _median(pairs: Sequence[tuple[int, float]]) -> float:
    """The median score of a ranked list (NaN for an empty one)."""
    scores = sorted(s for _, s in pairs)
    return scores[len(scores) // 2] if scores else math.nan


def _best_by_article(
    pairs: Sequence[tuple[int, float]], article_of: Mapping[int, str], *, floor: float | None = None
) -> tuple[dict[str, float], float]:
    """(article -> its best score in a ranked list, the score of an article not in it)."""
    best: dict[str, float] = {}
    for row, score in pairs:
        article = article_of.get(row)
        if article is not None and score > best.get(article, -math.inf):
            best[article] = score
    if floor is None:  # a dense list: an article missing from it scores below its last entry
        floor = min((s for _, s in pairs), default=math.nan)
    return best, floor


def _lead(best: Mapping[str, float], floor: float, article: str) -> tuple[float, float]:
    """An article's score, and its lead over the best other article (NaN: list not searched)."""
    if not best and math.isnan(floor):
        return math.nan, math.nan
    own = best.get(article, floor)
    other = max((s for a, s in best.items() if a != article), default=floor)
    return own, own - other


class ArticleStems:
    """The word stems of whole articles, read once per article: an index's articles do not
    change while it is open (an update is seen by reopening it, with a new cache)."""

    def __init__(self, index: ReadableIndex, most: int = 2_000) -> None:
        self.index = index
        self.most = most
        self._stems: dict[str, frozenset[str]] = {}

    def of(self, article_id: str, title: str) -> frozenset[str]:
        """The stems of an article's title and sentences."""
        found = self._stems.get(article_id)
        if found is None:
            units = self.index.unit_rows(article_id, 0, _MAX_UNITS)
            found = frozenset(stems(words(" ".join([title, *(t for _, _, t in units)]))))
            if len(self._stems) >= self.most:
                self._stems.clear()
            self._stems[article_id] = found
        return found


def _presence(
    question: QuestionSignals, result: ResultView, articles: ArticleStems
) -> dict[str, float]:
    """Shares of the question's terms and name words found in the excerpt, the article, the
    corpus."""
    excerpt = stems(words(f"{result.title} {result.excerpt}"))
    article = excerpt | articles.of(result.article_id, result.title)
    term_stems = [stem(t) for t in question.terms]
    corpus = [t not in question.absent for t in question.terms]
    total = sum(question.weights)

    def weighted(found: Sequence[bool]) -> float:
        return sum(w for w, hit in zip(question.weights, found, strict=True) if hit) / total \
            if total else 0.0

    name_words = [w for n in question.names for w in n.words]
    name_stems = [stem(w) for w in name_words]

    def share(found: Sequence[bool]) -> float:
        return sum(found) / len(found) if found else 1.0

    return {
        "terms_excerpt": weighted([s in excerpt for s in term_stems]),
        "terms_article": weighted([s in article for s in term_stems]),
        "terms_corpus": weighted(corpus),
        "names_excerpt": share([s in excerpt for s in name_stems]),
        "names_article": share([s in article for s in name_stems]),
        "names_corpus": share([w not in question.absent for w in name_words]),
        "has_names": float(bool(name_words)),
    }
