"""A question's names, and the names and terms no article mentions (`Answer.missing`)."""

from __future__ import annotations

from collections.abc import Sequence

from embeddings.search.names import (
    absent_words,
    is_vietnamese_syllable,
    missing_terms,
    question_names,
)
from embeddings.text import words


class Words:
    """A vocabulary over a text, counted as the index counts it (one per word here)."""

    def __init__(self, text: str) -> None:
        self.counts = dict.fromkeys(words(text), 1)

    def vocabulary_size(self) -> int:
        return len(self.counts)

    def word_counts(self, wanted: Sequence[str]) -> dict[str, int]:
        return {w: self.counts[w] for w in wanted if w in self.counts}

    def words_like(self, prefix: str, shortest: int, longest: int, min_count: int
                   ) -> list[tuple[str, int]]:
        return sorted((w, c) for w, c in self.counts.items()
                      if w.startswith(prefix) and shortest <= len(w) <= longest
                      and c >= min_count)


CORPUS = Words("Police of Vietnam and Laos agreed to boost cooperation against drug trafficking "
               "on the border; the guards of both provinces met in Quang Ninh in December.")


def test_names_are_capitalised_runs_after_the_first_word_and_numbers() -> None:
    names = question_names("What did the Royal Thai Police promise Laos in December 2023?", "en")
    assert [n.surface for n in names] == ["Royal Thai Police", "Laos", "2023"]
    assert names[0].words == ("royal", "thai", "police")


def test_vietnamese_syllables_are_not_names_but_foreign_names_are() -> None:
    assert is_vietnamese_syllable("Dinh") and is_vietnamese_syllable("Quảng")
    assert not is_vietnamese_syllable("Philippines") and not is_vietnamese_syllable("Laos")
    names = question_names("Vì sao Tanaghrisson ủng hộ Chương trình Hỗ trợ của Anh?", "vi")
    assert [n.surface for n in names] == ["Tanaghrisson"]


def test_absent_words_see_inflections_as_keyword_search_does() -> None:
    # "guard" is absent as such, but FTS5's stemmer finds "guards": it is not missing.
    assert absent_words(CORPUS, ["guard", "coast", "laos", "philippines"]) == {
        "coast", "philippines"}


def test_missing_names_come_first_then_phrases_of_absent_words() -> None:
    missing = missing_terms(
        "What did Vietnam and the Philippines agree on coast guard cooperation?", "en",
        Words("Police of Vietnam agreed on cooperation."))
    assert missing == ("Philippines", "coast guard")


def test_single_absent_words_only_when_nothing_more_specific_is_missing() -> None:
    assert missing_terms("What did the Japanese police promise Laos?", "en", CORPUS) == (
        "Japanese",)
    assert missing_terms("What is the recipe for pho?", "en", CORPUS) == ("recipe", "pho")
    assert missing_terms("What did the police of Laos agree?", "en", CORPUS) == ()


def test_a_corrected_typo_is_not_missing() -> None:
    assert missing_terms("Who met in Quang Nihn?", "en", CORPUS, corrected=["nihn"]) == ()


def test_vietnamese_questions_name_what_is_missing_in_english() -> None:
    missing = missing_terms("Việt Nam và Nhật Bản đã hợp tác về ma túy thế nào?", "vi", CORPUS)
    assert missing == ("Japan",)
    assert missing_terms("Lào và Philippines đã thỏa thuận gì?", "vi", CORPUS) == (
        "Philippines", "agreement")
