"""Follow-up questions: which ones read as such, and how they are searched."""

from __future__ import annotations

import pytest

from embeddings.search.followup import Conversation, reads_as_follow_up


@pytest.mark.parametrize("question", [
    "When do they meet next?", "And what did the other side ask for?", "What about drugs?",
    "Where is it held?", "Họ đến thăm khi nào?", "Hai bên còn thống nhất những gì?",
    "ho den tham khi nao", "Còn hội thảo đó kéo dài bao lâu?",
])
def test_questions_leaning_on_an_earlier_one_read_as_follow_ups(question: str) -> None:
    assert reads_as_follow_up(question)


@pytest.mark.parametrize("question", [
    "Who led the delegation from Sainyabuli?", "And what did Quang Ninh police donate?",
    "When did they visit Quang Ninh?", "Mom Kirisocheat là ai?", "What is extradition?",
])
def test_questions_with_a_subject_of_their_own_do_not(question: str) -> None:
    assert not reads_as_follow_up(question)


def test_the_follow_up_is_searched_with_what_it_continues() -> None:
    after = Conversation("Who did Luong Tam Quang meet in Bangkok?",
                         "Vietnam, Thailand foster security cooperation")
    assert after.search_text("When do they meet next?") == (
        "When do they meet next? Who did Luong Tam Quang meet in Bangkok? "
        "Vietnam, Thailand foster security cooperation")
    assert Conversation("Q?", "").search_text("F?") == "F? Q?"


@pytest.mark.slow
def test_a_follow_up_finds_the_article_it_continues_and_says_so(real_retriever) -> None:  # type: ignore[no-untyped-def]
    after = Conversation("Who did Luong Tam Quang meet in Bangkok?",
                         "Vietnam, Thailand foster security cooperation")
    answer = real_retriever.search("When do they meet next?", 3, after=after)
    assert answer.answered and answer.about == after.title
    assert answer.query == "When do they meet next?"
    first = answer.answers[0]
    assert first.article_id.startswith("001") and "July 2024" in first.highlight
