"""Finding an article's abbreviations and aliases: definitions, names' initials, seed pairs."""

from __future__ import annotations

import pytest

from embeddings.articles.aliases import (
    DEFINED,
    INITIALS,
    SEED,
    Alias,
    definitions,
    find_aliases,
    initials,
    name_initials,
)


@pytest.mark.parametrize(("text", "pair"), [
    ("The two sides signed a memorandum of understanding (MoU) in 2023.",
     ("mou", "memorandum of understanding")),
    ("He met the Ministry of Public Security (MPS) delegation.",
     ("mps", "ministry of public security")),
    ("Officers of the Royal Thai Police (RTP) attended.", ("rtp", "royal thai police")),
    ("They signed two memoranda of understanding (MoUs).", ("mou", "memoranda of understanding")),
    ("Trade with the United States (U.S.) grew.", ("us", "united states")),
    ("VNA (Vietnam News Agency) reported it.", ("vna", "vietnam news agency")),
    ("A grant for research and development (R&D) was approved.",
     ("rd", "research and development")),
    ("The Anti-Money Laundering (AML) unit met.", ("aml", "anti money laundering")),
])
def test_a_parenthesised_abbreviation_is_defined_by_the_words_beside_it(
    text: str, pair: tuple[str, str]
) -> None:
    assert list(definitions(text)) == [pair]


@pytest.mark.parametrize("text", [
    "The memorandum signed between the two police agencies (2016) guided them.",  # a year
    "Hanoi (VNA) – A training workshop is being held.",  # letters not the initials before
    "Bangkok (VNA) - Deputy Minister Quang met the Thai police.",
    "Sen. Lieut. Gen. Quang (L) meets Police-General Surachate (R) in Bangkok.",  # one letter
    "Delegates at the event (Photo: VNA) listened.",  # not an abbreviation alone
    "They work through Interpol (Interpol) channels.",  # one capital: a word, not initials
    "Vietnam News Agency reported. (VNA)",  # a sentence ends between them
    "Signed by the Ministry of Public Security of Vietnam (MPS).",  # "Vietnam" gives no letter
    "VNA (the official news agency) reported.",  # the words do not spell it
])
def test_parentheses_that_define_nothing(text: str) -> None:
    assert list(definitions(text)) == []


def test_initials_with_and_without_function_words() -> None:
    assert initials(["ministry", "of", "public", "security"]) == {"mps", "mops"}
    assert initials(["royal", "thai", "police"]) == {"rtp"}
    assert initials(["a"] * 9) == set()  # too long to be written as an abbreviation


def test_a_name_mentioned_twice_gives_its_initials() -> None:
    paragraphs = [
        "Deputy Commissioner-General of the Royal Thai Police Surachate met him.",
        "The Royal Thai Police agreed. The National Assembly Chairman was there.",
    ]
    found = set(name_initials(paragraphs))
    assert ("rtp", "royal thai police") in found
    # Mentioned once: no name of its own; always inside the longer name: not a name either.
    assert not any(long == "national assembly" for _, long in found)
    assert not any(long == "thai police" for _, long in found)
    # A capitalised "The" opening a sentence is not part of the name.
    assert not any(short.startswith("trtp") for short, _ in found)


def test_a_name_joined_by_function_words_or_split_by_punctuation() -> None:
    paragraphs = ["the Ministry of Public Security of Vietnam and the Ministry of Public "
                  "Security of Laos agreed.", "Vietnam's Ministry of Public Security said."]
    found = set(name_initials(paragraphs))
    assert {("mps", "ministry of public security"),
            ("mops", "ministry of public security")} <= found
    assert not any(long.startswith("vietnam s") for _, long in found)


def test_a_lowercase_of_term_gives_only_its_written_form() -> None:
    found = set(name_initials(["Leaders signed a memorandum of understanding on cooperation.",
                               "Most of them agreed; none of these changed."]))
    assert ("mou", "memorandum of understanding") in found
    assert ("mu", "memorandum of understanding") not in found
    assert not any("them" in long or "these" in long for _, long in found)


def test_find_aliases_keeps_the_strongest_kind_and_counts_mentions() -> None:
    found = find_aliases([
        "The Royal Thai Police (RTP) met Vietnamese police.",
        "The Royal Thai Police and the police of Thailand agreed.",
        "A memorandum of understanding was signed.",
    ])
    assert Alias("rtp", "royal thai police", DEFINED, 2) in found
    assert Alias("mou", "memorandum of understanding", INITIALS, 1) in found
    assert Alias("thai", "thailand", SEED, 1) in found
    assert Alias("vietnamese", "vietnam", SEED, 0) in found  # the body says "Vietnamese" only
    assert [a for a in found if a.short == "rtp"] == [Alias("rtp", "royal thai police",
                                                            DEFINED, 2)]
    assert list(found) == sorted(found, key=lambda a: (a.short, a.long))


def test_seed_pairs_the_stemmer_joins_are_left_out() -> None:
    # "laos" and "lao" stem alike in the keyword index: searching both would count one word twice.
    assert not any(a.kind == SEED for a in find_aliases(["Lao officers returned to Laos."]))


def test_an_article_without_aliases() -> None:
    assert find_aliases(["Police met on Monday.", "They agreed (2016) to meet again."]) == ()
    assert find_aliases([]) == ()
