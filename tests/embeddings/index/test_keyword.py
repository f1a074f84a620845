"""Keyword search: accents, FTS syntax as text, typos, stopwords."""

from __future__ import annotations

import sqlite3

import pytest

from embeddings.index.keyword import (
    FTS_SCHEMA,
    KeywordSearcher,
    add_keyword_rows,
    remove_keyword_rows,
)
from embeddings.search.terms import query_terms

PASSAGES = [
    "Deputy Minister Lương Tam Quang met Police-General Surachate Hakparn in Bangkok.",
    "The two sides agreed to fight human trafficking and illegal immigration.",
    "Quang Ninh police presented $5,000 and 2 laptops to Sainyabuli.",
    "A training workshop on drug-related crimes was held in Ho Chi Minh City.",
]


@pytest.fixture
def searcher() -> KeywordSearcher:
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT);"
        "CREATE TABLE chunks (row INTEGER PRIMARY KEY, article_id TEXT, text TEXT);"
        + FTS_SCHEMA
    )
    db.execute("INSERT INTO articles VALUES ('a', 'Police cooperation')")
    db.executemany("INSERT INTO chunks VALUES (?, 'a', ?)", enumerate(PASSAGES))
    add_keyword_rows(db, 0)
    return KeywordSearcher(db)


def _top(searcher: KeywordSearcher, question: str) -> int | None:
    hits = searcher.search(searcher.prepare(question), 5)
    return hits[0][0] if hits else None


def test_accents_fold_both_ways(searcher: KeywordSearcher) -> None:
    assert _top(searcher, "Who is Luong Tam Quang?") == 0
    assert _top(searcher, "Bangkök Hákparn") == 0


def test_casing_punctuation_and_stemming(searcher: KeywordSearcher) -> None:
    assert _top(searcher, "TRAFFICKING!!! immigrations??") == 1
    assert _top(searcher, "laptop donation") == 2


@pytest.mark.parametrize(
    "question",
    ['"Surachate', "Surachate*", "NEAR(Surachate Bangkok)", "Surachate' --", "Surachate OR AND NOT",
     "col:Surachate", "^Surachate", "Surachate) OR (", "{title}: Surachate"],
)
def test_fts_syntax_is_treated_as_text(searcher: KeywordSearcher, question: str) -> None:
    assert _top(searcher, question) == 0


def test_typos_are_corrected_to_corpus_words(searcher: KeywordSearcher) -> None:
    query = searcher.prepare("Who is Surachat Hakparm?")
    assert ("surachat", "surachate") in query.corrections
    assert ("hakparm", "hakparn") in query.corrections
    assert searcher.search(query, 1)[0][0] == 0
    assert _top(searcher, "trafficing") == 1


def test_only_stopwords_searches_nothing(searcher: KeywordSearcher) -> None:
    assert searcher.search(searcher.prepare("What is the?"), 5) == []
    assert query_terms("Who did what, and why?") == []


def test_swapped_letters_are_one_typo(searcher: KeywordSearcher) -> None:
    for typed, meant in [("sainyabluli", "sainyabuli"), ("surachtae", "surachate"),
                         ("immigratoin", "immigration"), ("hakpran", "hakparn"),
                         ("tarfficking", "trafficking"), ("lpatops", "laptops")]:
        query = searcher.prepare(f"Who is {typed}?")
        assert (typed, meant) in query.corrections, (typed, query.corrections)


def test_a_correct_english_word_is_never_corrected(searcher: KeywordSearcher) -> None:
    # The corpus lacks them (it has "Minister", "agreed", "presented", "trafficking"), but
    # they are English words: corrected, they would change what the user asked.
    for word in ["ministers", "agree", "present", "traffickers", "leader", "scam", "receive"]:
        assert searcher.prepare(f"What did the {word} say?").corrections == ()


def test_misspelt_english_is_corrected_to_the_corpus(searcher: KeywordSearcher) -> None:
    assert ("presnted", "presented") in searcher.prepare("What was presnted?").corrections
    assert ("trafficing", "trafficking") in searcher.prepare("trafficing").corrections


def test_removed_rows_leave_search_and_vocabulary(searcher: KeywordSearcher) -> None:
    db = searcher._db
    assert _top(searcher, "laptops Sainyabuli") == 2
    remove_keyword_rows(db, [2])
    db.execute("DELETE FROM chunks WHERE row = 2")
    assert _top(searcher, "laptops Sainyabuli") is None
    assert searcher.prepare("Sainyabuli").known == ()  # its only passage is gone
    # Words still used elsewhere keep a count; title words count once per passage.
    assert db.execute("SELECT df FROM vocabulary WHERE word = 'quang'").fetchone() == (1,)
    assert db.execute("SELECT df FROM vocabulary WHERE word = 'cooperation'").fetchone() == (3,)
    assert _top(searcher, "Lương Tam Quang") == 0
