"""Language detection: Vietnamese with or without its diacritics, English with Vietnamese names."""

from __future__ import annotations

import pytest

from embeddings.search.language import detect_language


@pytest.mark.parametrize("question", [
    "canh sat Thai Lan gap ai o Bangkok?",
    "ai dan dau doan cong tac tinh Sainyabuli",
    "Quang Ninh tang gi cho Sainyabuli",
    "hop tac phong chong ma tuy voi Campuchia the nao",
    "bo cong an ky ket gi voi Lao",
    "nguoi dung dau canh sat hoang gia thai lan la ai",
    "tang bao nhieu may tinh xach tay",
])
def test_vietnamese_typed_without_accents(question: str) -> None:
    assert detect_language(question) == "vi"


@pytest.mark.parametrize("question", [
    "Who is Luong Tam Quang?",
    "Who is Lương Tam Quang?",
    "Where did Luong Tam Quang meet Surachate Hakparn?",
    "What did Quang Ninh police give to Sainyabuli?",
    "Kham Pheng Phet",
    "Vuong Dinh Hue visit Thailand",
    "How many laptops were donated?",
    "What does zhèng mean?",
    "MoU",
])
def test_english_with_vietnamese_names_stays_english(question: str) -> None:
    assert detect_language(question) == "en"


def test_accented_vietnamese() -> None:
    assert detect_language("Ai là Phó Tổng Tư lệnh Cảnh sát Hoàng gia Thái Lan?") == "vi"


# XQuAD's Vietnamese questions that were read as English before most of their words (names
# aside) counted as Vietnamese syllables: without accents, and accented but short or with
# names and English words in them.
@pytest.mark.parametrize("question", [
    "Ai dan dau Panthers ve so lan vat nga?",
    "Nu dien vien nao da thuc hien ban dich ASL cho tran dau?",
    "Nha hat Mua he nam o dau?",
    "Jacksonville cach Miami bao xa?",
    "Bau cu Nghi vien dien ra bao lau mot lan?",
    "Montreal bi chiem giu khi nao?",
    "NASUWT là gì?",
    "Các nhánh là gì?",
    "Jacksonville cách Miami bao xa?",
    "Peyton Manning bao nhiêu tuổi khi anh chơi trong Super Bowl 50?",
])
def test_mostly_vietnamese_syllables(question: str) -> None:
    assert detect_language(question) == "vi"


# English questions whose words are often Vietnamese syllables too ("the", "in", "can", "be",
# "to"), that quote a Vietnamese dish, carry other languages' accents, or a Vietnamese name
# typed in lower case (three syllables against two English words).
@pytest.mark.parametrize("question", [
    "Who can be in the Victorian cabinet?",
    "Who lost to the Broncos in the AFC Championship?",
    "how much heavier is oxygen 18 than oxygen 16?",
    "who developed the lithium-ion battery?",
    "What is banh mi?",
    "what did josé martí say about café?",
    "who is lương tam quang?",
    "vuong dinh hue visit thailand",
])
def test_english_with_vietnamese_syllables_stays_english(question: str) -> None:
    assert detect_language(question) == "en"
