"""Tests for embeddings.search.dates.find_date_range and DateRange."""

from __future__ import annotations

import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.search.dates import DateRange, find_date_range

TODAY = date(2026, 11, 22)  # a Sunday
DEC_2023 = (date(2023, 12, 1), date(2023, 12, 31))
DEC_8_2023 = (date(2023, 12, 8), date(2023, 12, 8))
YEAR_2023 = (date(2023, 1, 1), date(2023, 12, 31))
LAST_YEAR = (date(2025, 1, 1), date(2025, 12, 31))
THIS_YEAR = (date(2026, 1, 1), TODAY)
LAST_MONTH = (date(2026, 10, 1), date(2026, 10, 31))
THIS_MONTH = (date(2026, 11, 1), TODAY)
LAST_WEEK = (date(2026, 11, 9), date(2026, 11, 15))
THIS_WEEK = (date(2026, 11, 16), TODAY)
YESTERDAY = (date(2026, 11, 21), date(2026, 11, 21))
TODAY_ONLY = (TODAY, TODAY)
RECENT = (date(2026, 8, 24), TODAY)

ENGLISH = [
    ("What happened in 2023?", YEAR_2023, "2023"),
    ("2023 border talks", YEAR_2023, "2023"),
    ("Who visited Hanoi in December 2023?", DEC_2023, "December 2023"),
    ("news from DECEMBER 2023", DEC_2023, "DECEMBER 2023"),
    ("Dec 2023 drills", DEC_2023, "Dec 2023"),
    ("Dec. 2023 drills", DEC_2023, "Dec. 2023"),
    ("What happened in December, 2023?", DEC_2023, "December, 2023"),
    ("reports from 12/2023", DEC_2023, "12/2023"),
    ("reports from 2023-12", DEC_2023, "2023-12"),
    ("What was signed on December 8, 2023?", DEC_8_2023, "December 8, 2023"),
    ("What was signed on Dec 8th 2023?", DEC_8_2023, "Dec 8th 2023"),
    ("What was signed on 8 December 2023?", DEC_8_2023, "8 December 2023"),
    ("What was signed on 8th of December, 2023?", DEC_8_2023, "8th of December, 2023"),
    ("What was signed on 2023-12-08?", DEC_8_2023, "2023-12-08"),
    ("What was signed on 08/12/2023?", DEC_8_2023, "08/12/2023"),
    ("What was signed on 8.12.2023?", DEC_8_2023, "8.12.2023"),
    ("What happened in December?", (date(2025, 12, 1), date(2025, 12, 31)), "in December"),
    ("What happened in November?", (date(2026, 11, 1), date(2026, 11, 30)), "in November"),
    ("Any drills in May?", (date(2026, 5, 1), date(2026, 5, 31)), "in May"),
    ("What happened in May 2023?", (date(2023, 5, 1), date(2023, 5, 31)), "May 2023"),
    ("What happened last year?", LAST_YEAR, "last year"),
    ("What happened this year?", THIS_YEAR, "this year"),
    ("What happened last month?", LAST_MONTH, "last month"),
    ("What happened this month?", THIS_MONTH, "this month"),
    ("What happened last week?", LAST_WEEK, "last week"),
    ("What happened this week?", THIS_WEEK, "this week"),
    ("What happened yesterday?", YESTERDAY, "yesterday"),
    ("What is happening Today?", TODAY_ONLY, "Today"),
    ("What did the police do recently?", RECENT, "recently"),
    ("Any raids lately?", RECENT, "lately"),
    ("arrests in the past 3 days", (date(2026, 11, 19), TODAY), "in the past 3 days"),
    ("arrests in the past two weeks", (date(2026, 11, 8), TODAY), "in the past two weeks"),
    ("arrests over the last 6 months", (date(2026, 5, 22), TODAY), "over the last 6 months"),
    ("arrests in the past 2 years", (date(2024, 11, 22), TODAY), "in the past 2 years"),
    ("arrests in the past year", (date(2025, 11, 22), TODAY), "in the past year"),
    ("What happened 3 years ago?", YEAR_2023, "3 years ago"),
    ("What happened two months ago?", (date(2026, 9, 1), date(2026, 9, 30)), "two months ago"),
    ("What happened since 2022?", (date(2022, 1, 1), TODAY), "since 2022"),
    ("What happened since March 2023?", (date(2023, 3, 1), TODAY), "since March 2023"),
    ("What happened after 2024?", (date(2025, 1, 1), TODAY), "after 2024"),
    ("What happened before 2023?", (date(1900, 1, 1), date(2022, 12, 31)), "before 2023"),
    ("talks between 2021 and 2023", (date(2021, 1, 1), YEAR_2023[1]), "between 2021 and 2023"),
    ("the 2021-2023 plan", (date(2021, 1, 1), YEAR_2023[1]), "2021-2023"),
    ("from March to May 2023", (date(2023, 3, 1), date(2023, 5, 31)), "from March to May 2023"),
    ("from Nov to Feb 2023", (date(2022, 11, 1), date(2023, 2, 28)), "from Nov to Feb 2023"),
]

VIETNAMESE = [
    ("Điều gì xảy ra năm 2023?", YEAR_2023, "2023"),
    ("Dieu gi xay ra nam 2023?", YEAR_2023, "2023"),
    ("Tin tháng 12 năm 2023", DEC_2023, "tháng 12 năm 2023"),
    ("Tin thang 12 nam 2023", DEC_2023, "thang 12 nam 2023"),
    ("Tin tháng 12/2023", DEC_2023, "tháng 12/2023"),
    ("Tin thang 12/2023", DEC_2023, "thang 12/2023"),
    ("Tin tháng mười hai năm 2023", DEC_2023, "tháng mười hai năm 2023"),
    ("Tin thang muoi hai nam 2023", DEC_2023, "thang muoi hai nam 2023"),
    ("Ký kết ngày 8/12/2023", DEC_8_2023, "ngày 8/12/2023"),
    ("Ky ket ngay 8/12/2023", DEC_8_2023, "ngay 8/12/2023"),
    ("Ký kết ngày 8 tháng 12 năm 2023", DEC_8_2023, "ngày 8 tháng 12 năm 2023"),
    ("Ky ket ngay 8 thang 12 nam 2023", DEC_8_2023, "ngay 8 thang 12 nam 2023"),
    ("Năm ngoái có gì?", LAST_YEAR, "Năm ngoái"),
    ("nam ngoai co gi?", LAST_YEAR, "nam ngoai"),
    ("năm trước có gì?", LAST_YEAR, "năm trước"),
    ("nam truoc co gi?", LAST_YEAR, "nam truoc"),
    ("năm nay có gì?", THIS_YEAR, "năm nay"),
    ("nam nay co gi?", THIS_YEAR, "nam nay"),
    ("tháng trước có gì?", LAST_MONTH, "tháng trước"),
    ("thang truoc co gi?", LAST_MONTH, "thang truoc"),
    ("tháng này có gì?", THIS_MONTH, "tháng này"),
    ("thang nay co gi?", THIS_MONTH, "thang nay"),
    ("tuần trước có gì?", LAST_WEEK, "tuần trước"),
    ("tuan truoc co gi?", LAST_WEEK, "tuan truoc"),
    ("hôm qua có gì?", YESTERDAY, "hôm qua"),
    ("hom qua co gi?", YESTERDAY, "hom qua"),
    ("Hôm nay có gì?", TODAY_ONLY, "Hôm nay"),
    ("hom nay co gi?", TODAY_ONLY, "hom nay"),
    ("gần đây có gì?", RECENT, "gần đây"),
    ("GAN DAY co gi?", RECENT, "GAN DAY"),
    ("trong 3 tháng qua", (date(2026, 8, 22), TODAY), "trong 3 tháng qua"),
    ("2 năm trước", (date(2024, 1, 1), date(2024, 12, 31)), "2 năm trước"),
    ("kể từ năm 2022", (date(2022, 1, 1), TODAY), "kể từ năm 2022"),
    ("trước năm 2023", (date(1900, 1, 1), date(2022, 12, 31)), "trước năm 2023"),
    ("từ năm 2021 đến năm 2023", (date(2021, 1, 1), YEAR_2023[1]), "từ năm 2021 đến năm 2023"),
    ("tu thang 3 den thang 5 nam 2023", (date(2023, 3, 1), date(2023, 5, 31)),
     "tu thang 3 den thang 5 nam 2023"),
    ("vào tháng 12", (date(2025, 12, 1), date(2025, 12, 31)), "tháng 12"),
    # Decomposed diacritics (NFD input) fold the same and stay verbatim in `text`.
    ("tha\u0301ng 12 na\u0306m 2023", DEC_2023, "tha\u0301ng 12 na\u0306m 2023"),
]

NEGATIVE = [
    "",
    "What may the police do?",
    "May the talks succeed?",
    "What was decided at the 12th meeting?",
    "Who paid $5,000?",
    "Who paid $2023?",
    "Who stole 2 laptops?",
    "What does Decree 144 say?",
    "What does Decree 144/2021/ND-CP say?",
    "What does Resolution No. 2023 say?",
    "Were 2023 people evacuated?",
    "Did 2000 soldiers take part?",
    "Is the rate 2023.5 or 2023%?",
    "Call 0912345678 now",
    "Who is the Việt Nam trước đây ambassador?",
    "Year 1850 or 2150?",
    "What does the police chief do?",
]


@pytest.mark.parametrize(("question", "span", "text"), ENGLISH + VIETNAMESE)
def test_finds_the_period(question: str, span: tuple[date, date], text: str) -> None:
    assert find_date_range(question, TODAY) == DateRange(span[0], span[1], text)


@pytest.mark.parametrize("question", NEGATIVE)
def test_questions_without_a_period_give_none(question: str) -> None:
    assert find_date_range(question, TODAY) is None


@pytest.mark.parametrize("question", ["on 2023-02-30", "on 29/02/2023", "in 13/2023"])
def test_an_impossible_day_or_month_falls_back_to_its_year(question: str) -> None:
    assert find_date_range(question, TODAY) == DateRange(*YEAR_2023, text="2023")


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("Compare 2022 with 2023", "2022"),  # leftmost wins
        ("What happened in December 8, 2023?", "December 8, 2023"),  # longer overlap wins
        ("Since 2022, and in 2024 too", "Since 2022"),
        ("last year and this year", "last year"),
        ("recently, in 2023", "recently"),
    ],
)
def test_the_earliest_match_wins_and_a_longer_overlap_replaces_it(
    question: str, text: str
) -> None:
    result = find_date_range(question, TODAY)
    assert result is not None and result.text == text


def test_month_alone_in_january_looks_back_a_year() -> None:
    result = find_date_range("in March", date(2027, 1, 5))
    assert result == DateRange(date(2026, 3, 1), date(2026, 3, 31), "in March")


def test_leap_day_and_month_ends() -> None:
    assert find_date_range("29/02/2024", TODAY) == DateRange(
        date(2024, 2, 29), date(2024, 2, 29), "29/02/2024"
    )
    # A month back from March 31 lands on the last day of February, not an error.
    result = find_date_range("in the past 1 month", date(2026, 3, 31))
    assert result is not None and result.start == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("day", "inside", "distance"),
    [
        (date(2023, 11, 30), False, 1),
        (date(2023, 12, 1), True, 0),
        (date(2023, 12, 15), True, 0),
        (date(2023, 12, 31), True, 0),
        (date(2024, 1, 10), False, 10),
        (date(2022, 12, 1), False, 365),
    ],
)
def test_contains_and_distance_days(day: date, inside: bool, distance: int) -> None:
    period = DateRange(*DEC_2023, text="December 2023")
    assert period.contains(day) is inside
    assert period.distance_days(day) == distance


def test_is_fast() -> None:
    question = "What did Vietnam and Laos agree on border security in December 2023? " * 3
    started = time.perf_counter()
    for _ in range(200):
        find_date_range(question, TODAY)
    assert (time.perf_counter() - started) / 200 < 0.005


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=200)
    | st.lists(
        st.sampled_from(
            ["in", "the", "past", "last", "since", "before", "between", "and", "from", "to",
             "ago", "years", "9999", "2023", "1900", "0", "12", "/", "-", "May", "Dec", ",",
             "tháng", "năm", "ngày", "trước", "qua", "nay", "từ", "đến", "8", "2100", "31"]
        ),
        max_size=12,
    ).map(" ".join),
    today=st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)),
)
def test_never_raises_and_ranges_are_ordered(text: str, today: date) -> None:
    result = find_date_range(text, today)
    assert result is None or (result.start <= result.end and result.text in text)
