"""Tests for embeddings.chunking.sentences.split_sentences."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.chunking.sentences import split_sentences


@pytest.mark.parametrize("text", ["", " ", "\n\t \u00a0 "])
def test_empty_or_whitespace_gives_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_text_without_terminal_punctuation_is_one_sentence() -> None:
    assert split_sentences("  By Duy Tien  ") == ["By Duy Tien"]


def test_simple_split_on_period_question_and_exclamation() -> None:
    text = "It rained. Did it stop? Yes! 2023 was wet… Then it dried."
    assert split_sentences(text) == [
        "It rained.",
        "Did it stop?",
        "Yes!",
        "2023 was wet…",
        "Then it dried.",
    ]


def test_no_split_before_lowercase() -> None:
    assert split_sentences("He said no. but then agreed.") == ["He said no. but then agreed."]


@pytest.mark.parametrize(
    "text",
    [
        # Ranks exactly as the seed articles write them.
        "Deputy Minister Sen. Lieut. Gen. Luong Tam Quang met Thai police.",
        "For his part, Pol Gen. Surachate said he is delighted.",
        "Addressing the event, Col. Mom Kirisocheat spoke.",
        "Maj. Gen. Kham Pheng Phet and Lt.-Gen. Dinh met.",
        "Mr. Smith, Mrs. Lan, Dr. Hoa and Prof. Binh arrived.",
        "He lives on St. Mark Street near Mt. Everest Road.",
        "The meeting on Jan. 5 and Dec. 8 was held in Room No. 5 downtown.",
        "The U.S. Navy and the U.N. Office took part.",
        "Several agencies, e.g. Interpol and Aseanapol, i.e. Police forces, joined.",
        "Drugs, weapons, etc. are banned.",
        "The report by J. Smith and A. B. Nguyen was read.",
        "Growth was 3.5 percent and 0.75 points.",
        "The department presented $5,000, 2 laptops and souvenirs.",
    ],
)
def test_abbreviations_initials_and_numbers_do_not_split(text: str) -> None:
    assert split_sentences(text) == [text]


def test_seed_paragraph_with_ranks_splits_only_at_sentence_end() -> None:
    text = (
        "For his part, Pol Gen. Surachate said he is delighted at the effective collaboration "
        "between the two sides in many areas. He underlined that the Vietnamese Ministry of "
        "Public Security's delegation visit provides a chance for the two sides."
    )
    sentences = split_sentences(text)
    assert len(sentences) == 2
    assert sentences[0].endswith("in many areas.")
    assert sentences[1].startswith("He underlined")


def test_money_at_sentence_end_then_new_sentence() -> None:
    text = "They presented $5,000. Officers thanked them."
    assert split_sentences(text) == ["They presented $5,000.", "Officers thanked them."]


def test_split_before_digit_and_opening_quote() -> None:
    text = 'It ended in 2016. 2017 began. "We won," he said. (It was late.)'
    assert split_sentences(text) == [
        "It ended in 2016.",
        "2017 began.",
        '"We won," he said.',
        "(It was late.)",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "He said: “We will cooperate.” The crowd cheered. ‘Really?’ She asked."
    assert split_sentences(text) == [
        "He said: “We will cooperate.”",
        "The crowd cheered.",
        "‘Really?’",
        "She asked.",
    ]


def test_question_in_quotes_followed_by_lowercase_is_one_sentence() -> None:
    text = "“Why now?” he asked."
    assert split_sentences(text) == [text]


def test_vietnamese_uppercase_starts_a_sentence() -> None:
    text = "The delegation left Hanoi. Đà Nẵng hosted the talks. Ủy ban met. Ảnh is a word."
    assert split_sentences(text) == [
        "The delegation left Hanoi.",
        "Đà Nẵng hosted the talks.",
        "Ủy ban met.",
        "Ảnh is a word.",
    ]


def test_agency_end_mark() -> None:
    assert split_sentences("It is slated for July 2024./.") == ["It is slated for July 2024./."]
    assert split_sentences("It ended./. Next story.") == ["It ended./.", "Next story."]


def test_newlines_and_nbsp_count_as_whitespace() -> None:
    assert split_sentences("First one.\nSecond one.\u00a0Third one.") == [
        "First one.",
        "Second one.",
        "Third one.",
    ]


def test_abbreviation_no_only_before_numbers() -> None:
    assert split_sentences("They said No. Then left.") == ["They said No.", "Then left."]


def test_lowercase_am_pm_can_end_a_sentence() -> None:
    assert split_sentences("It began at 9 a.m. The talks ran late.") == [
        "It began at 9 a.m.",
        "The talks ran late.",
    ]


def test_pathological_punctuation_runs_are_fast() -> None:
    # Guards against catastrophic regex backtracking: this must be linear.
    text = "." * 50_000 + "x " + "." * 50_000 + " A" + " word." * 20_000
    start = time.perf_counter()
    split_sentences(text)
    assert time.perf_counter() - start < 2.0


_ALPHABET = st.sampled_from(
    list("aAbBzZĐđẢ019 .!?…,;:'\"“”‘’()[]$/\n\t\u00a0-") + ["Mr.", "U.S.", "./.", "Gen. ", "3.5"]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(_ALPHABET, max_size=80).map("".join)))
def test_sentences_are_ordered_non_overlapping_substrings(text: str) -> None:
    position = 0
    for sentence in split_sentences(text):
        assert sentence
        assert sentence == sentence.strip()
        found = text.find(sentence, position)
        assert found >= 0, (sentence, text)
        position = found + len(sentence)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_sentences_cover_all_non_space_text(text: str) -> None:
    # Nothing is lost: the sentences hold every non-whitespace character, in order.
    joined = "".join("".join(s.split()) for s in split_sentences(text))
    assert joined == "".join(text.split())
