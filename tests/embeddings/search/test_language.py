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
