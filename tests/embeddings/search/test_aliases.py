"""A question's abbreviations at question time: which aliases may expand it, the keyword terms
they add, and on the real model and seeds, answers that quote the spelled-out form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from embeddings.articles.aliases import DEFINED, INITIALS, SEED
from embeddings.index.records import AliasRecord
from embeddings.search.aliases import choose_expansions, lookup_forms, settle
from embeddings.search.terms import english_words, prepare_query
from embeddings.text import words

MOU = "memorandum of understanding"


class FakeVocabulary:
    """The `Vocabulary` seam over a few words and alias records."""

    def __init__(self, text: str, aliases: Iterable[AliasRecord] = ()) -> None:
        self.counts: dict[str, int] = {}
        for word in words(text):
            self.counts[word] = self.counts.get(word, 0) + 1
        self.records = list(aliases)
        self.looked_up: list[list[str]] = []

    def vocabulary_size(self) -> int:
        return len(self.counts)

    def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        return {w: self.counts[w] for w in words if w in self.counts}

    def words_like(
        self, prefix: str, shortest: int, longest: int, min_count: int
    ) -> list[tuple[str, int]]:
        return sorted((w, n) for w, n in self.counts.items() if w.startswith(prefix)
                      and shortest <= len(w) <= longest and n >= min_count)

    def aliases(self, forms: Sequence[str]) -> list[AliasRecord]:
        self.looked_up.append(list(forms))
        return [r for r in self.records if r.short in forms or r.long in forms]


CORPUS = ("the two sides signed a memorandum of understanding in 2016 royal thai police "
          "ministry of public security national assembly north america thailand noi")


def _expanded(question: str, *records: AliasRecord, corpus: str = CORPUS,
              correct: bool = True) -> tuple[tuple[str, str], ...]:
    return prepare_query(question, FakeVocabulary(corpus, records), correct=correct).aliases


def test_an_abbreviation_searches_its_long_form_instead() -> None:
    vocabulary = FakeVocabulary(CORPUS, [AliasRecord("mou", MOU, DEFINED, 1, 1)])
    query = prepare_query("When did the two sides sign the MoU?", vocabulary)
    assert query.aliases == (("mou", MOU),)
    assert query.terms == ("two", "sides", "sign", "memorandum", "understanding")
    assert query.expansions == ("memorandum", "understanding")
    assert "mou" not in query.terms  # no passage holds it: it would only weigh as absent
    assert query.corrections == ()


def test_an_abbreviation_the_corpus_writes_is_searched_beside_its_long_form() -> None:
    query = prepare_query("When was the MoU signed?", FakeVocabulary(
        CORPUS + " mou", [AliasRecord("mou", MOU, DEFINED, 2, 2)]))
    assert query.terms == ("mou", "signed", "memorandum", "understanding")


def test_a_long_form_adds_its_abbreviation_where_the_corpus_writes_it() -> None:
    record = AliasRecord("mou", MOU, DEFINED, 1, 1)
    question = "Which memorandum of understanding was signed in 2016?"
    assert _expanded(question, record, corpus=CORPUS + " mou") == ((MOU, "mou"),)
    assert _expanded(question, record) == ()  # nothing would match "mou"
    # Initials are a guess: that the corpus has a word "mou" does not make it this one.
    guessed = AliasRecord("mou", MOU, INITIALS, 2, 4)
    assert _expanded(question, guessed, corpus=CORPUS + " mou") == ()


def test_questions_without_aliases_search_the_same_terms() -> None:
    for question in ["Who led the delegation from Sainyabuli?", "What is the?", "",
                     "Did the two sides sign anything in 2016?"]:
        plain = prepare_query(question, FakeVocabulary(CORPUS))
        aliased = prepare_query(question, FakeVocabulary(CORPUS, [
            AliasRecord("mou", MOU, DEFINED, 1, 1),
            AliasRecord("thai", "thailand", SEED, 1, 1)]))
        assert aliased == plain and aliased.aliases == ()


@pytest.mark.parametrize(("question", "kind", "expanded"), [
    ("Did the police tell us?", DEFINED, False),  # an English word
    ("What did the US police agree?", INITIALS, False),  # a guess may not hijack it
    ("What did the US police agree?", DEFINED, True),  # the corpus defines it, typed so
    ("WHAT DID THE US POLICE AGREE?", DEFINED, False),  # all in capitals: says nothing
])
def test_a_short_form_that_is_an_english_word(question: str, kind: str, expanded: bool) -> None:
    record = AliasRecord("us", "united states", kind, 5, 50)
    assert bool(_expanded(question, record, corpus=CORPUS + " united states")) is expanded


@pytest.mark.parametrize(("question", "mentions", "expanded"), [
    ("Who chairs the NA?", (5, 2), True),
    ("Who chairs the NA?", (3, 3), False),  # two names claim it as often
    ("Who chairs the NA?", (1, 0), False),  # the corpus mentions the name once
    ("Who chairs the na?", (5, 2), False),  # lowercase initials are as often something else
    ("WHO CHAIRS THE NA?", (5, 2), False),  # all in capitals: says nothing
])
def test_a_guess_from_initials_must_own_its_short_form(
    question: str, mentions: tuple[int, int], expanded: bool
) -> None:
    records = [AliasRecord("na", "national assembly", INITIALS, 1, mentions[0])]
    if mentions[1]:
        records.append(AliasRecord("na", "north america", INITIALS, 1, mentions[1]))
    found = _expanded(question, *records)
    assert found == ((("na", "national assembly"),) if expanded else ())


def test_a_short_form_stands_for_what_the_corpus_most_often_means() -> None:
    found = _expanded("Who chairs the NA?",
                      AliasRecord("na", "narcotics anonymous", DEFINED, 1, 1),
                      AliasRecord("na", "national assembly", INITIALS, 12, 50),
                      corpus=CORPUS + " narcotics anonymous")
    assert found == (("na", "national assembly"),)


def test_lowercase_expands_a_defined_short_form_only() -> None:
    corpus = CORPUS + " number issues national collegiate athletic association"
    guessed = AliasRecord("noi", "number of issues", INITIALS, 3, 6)
    assert _expanded("Who is Dinh Van Noi?", guessed, corpus=corpus) == ()
    assert _expanded("Who is Dinh Van noi?", guessed, corpus=corpus) == ()
    defined = AliasRecord("ncaa", "national collegiate athletic association", DEFINED, 1, 1)
    assert _expanded("who won the ncaa title", defined, corpus=corpus) == (
        ("ncaa", "national collegiate athletic association"),)


def test_a_seed_pair_stands_in_only_where_the_corpus_lacks_the_question_word() -> None:
    record = AliasRecord("thai", "thailand", SEED, 2, 3)
    assert _expanded("What did the Thai police promise?", record) == ()  # "thai" is there
    query = prepare_query("What did the Thai police promise?",
                          FakeVocabulary("police thailand promise", [record]))
    assert query.aliases == (("thai", "thailand"),)
    assert query.terms == ("police", "promise", "thailand")
    assert _expanded("Thailand police", record, corpus="police thai") == (("thailand", "thai"),)


def test_another_language_expands_only_what_is_written_as_an_abbreviation() -> None:
    record = AliasRecord("mou", MOU, INITIALS, 2, 4)
    assert _expanded("mou Quang Ninh", record, correct=False) == ()
    assert _expanded("MoU Quang Ninh", record, correct=False) == (("mou", MOU),)


def test_lookup_forms_are_words_and_long_form_shaped_runs() -> None:
    forms = lookup_forms("Who signed the memorandum of understanding?")
    assert forms[:3] == ["signed", "memorandum", "understanding"]
    assert MOU in forms and "signed the memorandum" in forms
    assert "the memorandum" not in forms and "memorandum of" not in forms
    assert len(lookup_forms(" ".join(f"w{i}" for i in range(500)))) == 400


def test_settle_drops_terms_the_corpus_lacks() -> None:
    found = choose_expansions("What did the MPS say?", [
        AliasRecord("mps", "ministry of public security", INITIALS, 2, 5)], english_words())
    assert [e.terms for e in found] == [("ministry", "public", "security")]
    kept = settle(found, {"ministry": 3, "security": 2})
    assert [e.terms for e in kept] == [("ministry", "security")]
    assert settle(found, {}) == []


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "MoU Quang Ninh Sainyabuli",
    "What was agreed in the MoU between Quang Ninh and Sainyabuli?",
    "Is there an MoU between the Vietnamese and Thai police?",
    "When did the two sides sign the MoU?",
])
def test_an_mou_question_quotes_the_memorandum_of_understanding(
    real_retriever, question: str  # type: ignore[no-untyped-def]
) -> None:
    found = real_retriever.retrieve(question)
    assert found.keyword.aliases == (("mou", MOU),)
    answer = real_retriever.search(question, 3)
    assert MOU in answer.results[0].excerpt, answer.results[0].excerpt


@pytest.mark.slow
def test_names_initials_find_their_article(real_retriever) -> None:  # type: ignore[no-untyped-def]
    found = real_retriever.retrieve("What did the MPS and the RTP agree to do?")
    assert dict(found.keyword.aliases) == {"mps": "ministry of public security",
                                           "rtp": "royal thai police"}
    answer = real_retriever.search("What did the MPS and the RTP agree to do?", 3)
    assert answer.results[0].article_id == "001_838a14d103250a53"
