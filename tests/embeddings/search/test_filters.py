"""Filters written in a question, the countries an article is about, and search narrowed to
the articles filters admit (on the real seeds index)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from embeddings.answers import Filters
from embeddings.articles.countries import countries_in, country_named, mentions
from embeddings.search.filters import FilterError, filter_tokens, split_filters


def test_filters_are_read_from_anywhere_in_the_question_in_english_or_vietnamese() -> None:
    filters, rest = split_filters("country:Laos Who led the delegation? since:2023-06")
    assert rest == "Who led the delegation?"
    assert filters == Filters(frozenset({"Laos"}), date(2023, 6, 1), None, None)
    filters, rest = split_filters("Ai dẫn đầu đoàn? nước:Thái_Lan,campuchia từ:06/2023 "
                                  "đến:2023 nguồn:VNA")
    assert rest == "Ai dẫn đầu đoàn?"
    assert filters.countries == {"Thailand", "Cambodia"}
    assert (filters.since, filters.until, filters.source) == (date(2023, 6, 1),
                                                              date(2023, 12, 31), "VNA")
    assert split_filters("until:15/02/2024 x")[0].until == date(2024, 2, 15)
    assert split_filters("until:2024-02 x")[0].until == date(2024, 2, 29)  # a leap year
    assert not split_filters("What is the ratio 3:2 of Laos?")[0]  # no filter key
    again = split_filters(filter_tokens(filters) + " q")[0]
    assert again == filters  # written back, read back


@pytest.mark.parametrize("text, says, kind, value", [
    ("country:Atlantis q", "unknown country “Atlantis”", "country", "Atlantis"),
    ("since:13/2023 q", "cannot read the date", "date", "since:13/2023"),
    ("since:2023-02-30 q", "cannot read the date", "date", "since:2023-02-30"),
    ("since:2024 until:2023 q", "nothing is both", "range", "2024-01-01 – 2023-12-31"),
])
def test_a_filter_that_cannot_be_read_says_how_to_write_it(text: str, says: str, kind: str,
                                                            value: str) -> None:
    with pytest.raises(FilterError, match=says) as raised:
        split_filters(text)
    assert (raised.value.kind, raised.value.value) == (kind, value)  # for the bot's own words


def test_filters_admit_by_country_date_and_source() -> None:
    filters = Filters(frozenset({"Laos"}), date(2023, 1, 1), date(2023, 12, 31), "vna")
    assert filters.admits(("Vietnam", "Laos"), date(2023, 8, 25), "VNA")
    assert not filters.admits(("Thailand",), date(2023, 8, 25), "VNA")
    assert not filters.admits(("Laos",), None, "VNA")  # undated, with dates asked
    assert not filters.admits(("Laos",), date(2024, 1, 1), "VNA")
    assert not filters.admits(("Laos",), date(2023, 8, 25), "Nhan Dan")
    assert Filters().admits((), None, None) and not Filters()


def test_the_countries_of_an_article_come_from_its_names_and_demonyms() -> None:
    body = ["Lao police met Vietnamese officers.", "The Lao side and the police of Lào Cai "
            "province agreed.", "Like Japan, both sides train officers."]
    found = countries_in("Police of Quang Ninh and Sainyabuli meet", "Hanoi", body)
    assert found[0] == "Laos" and "Japan" not in found  # one passing mention
    assert "Vietnam" not in found  # once, and not in the title
    assert countries_in("Vietnam, Thailand foster security cooperation", None, []) == (
        "Thailand", "Vietnam")  # the title counts at once
    assert mentions("Đoàn công tác Lào Cai; USAID; thus; the US side") == {"United States": 1}
    assert [country_named(n) for n in ("lao", "Lào", "THAI_LAN", "hoa kỳ", "Atlantis")] == [
        "Laos", "Laos", "Thailand", "United States", None]


def test_a_filtered_search_cites_only_the_articles_it_admits(real_retriever: Any) -> None:
    plain = real_retriever.search("What did the police of the two countries agree on?", 3)
    assert len({r.article_id for r in plain.results}) >= 2 and plain.filters is None
    laos = real_retriever.search(
        "What did the police of the two countries agree on? country:Laos", 3)
    assert laos.results and all("Laos" in r.countries for r in laos.results)
    assert laos.filters == Filters(frozenset({"Laos"}))
    assert laos.query == "What did the police of the two countries agree on?"
    none = real_retriever.search("drugs since:2030", 3)
    assert not none.answered and not none.results
    listed = real_retriever.search("country:Cambodia", 5)
    assert listed.answered and listed.asks == "period"
    assert [r.title for r in listed.results] == [
        "Vietnam helps Cambodia’s anti-drug crime force improve capacity"]
    assert listed.to_dict()["filters"]["countries"] == ["Cambodia"]
