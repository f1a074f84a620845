"""The Vietnamese glossary and the name/number extraction used for Vietnamese keyword search."""

from __future__ import annotations

from embeddings.search.glossary import english_terms, glossary_matches
from embeddings.text import names_and_numbers


def test_phrases_translate_longest_first() -> None:
    terms = english_terms("Bộ Công an Việt Nam hợp tác với Cảnh sát Hoàng gia Thái Lan")
    assert terms[:3] == ["ministry", "public", "security"]
    assert {"vietnam", "cooperation", "police", "royal", "thailand"} <= set(terms)


def test_unaccented_questions_match_only_multi_syllable_phrases() -> None:
    assert "cooperation" in english_terms("Viet Nam va Thai Lan hop tac chong toi pham")
    # "tinh" could be tỉnh (province), tính (compute) or tình (feeling): no guess.
    assert english_terms("tinh bang do C") == []
    assert english_terms("Nhiệt độ tính bằng độ C") == []  # tính is not tỉnh


def test_questions_outside_the_domain_get_nothing() -> None:
    assert glossary_matches("Giá vàng hôm nay là bao nhiêu?") == []
    assert glossary_matches("What is a good recipe for pho?") == []


def test_names_and_numbers_survive_translation() -> None:
    assert names_and_numbers("Ai đã giành chiến thắng Super Bowl 50?") == ["Super", "Bowl", "50"]
    assert names_and_numbers("Chủ tịch của IPCC là ai?") == ["IPCC"]
    assert names_and_numbers("") == []
