"""Vietnamese typed without accents: the accents restored for the multilingual encoder."""

from __future__ import annotations

import pytest

from embeddings.search.accents import has_accents, restore_accents


def test_accents_are_restored_only_where_there_are_none() -> None:
    assert restore_accents("Cảnh sát Thái Lan gặp ai?") == "Cảnh sát Thái Lan gặp ai?"
    restored = restore_accents("canh sat Thai Lan gap ai o Bangkok")
    assert has_accents(restored) and len(restored.split()) == 8
    assert "Bangkok" in restored and "ở" in restored
    assert not has_accents("canh sat") and has_accents("đi") and has_accents("cảnh")


def test_words_of_several_syllables_names_and_case_come_back_right() -> None:
    # "bao nhieu" is one word of pyvi's list: "bao nhiêu", not syllable by syllable "nhiều".
    assert restore_accents("Gia xang hom nay la bao nhieu?") == "Giá xăng hôm nay là bao nhiêu?"
    restored = restore_accents("Ai dan dau doan cong tac tu Sainyabuli?")
    assert restored.endswith("dẫn đầu đoàn công tác từ Sainyabuli?")  # the name as typed
    assert restored[0].isupper() and restored[1] == "i", "the question's case, not the tagger's"


@pytest.mark.slow
def test_a_question_typed_without_accents_finds_what_the_accented_one_finds(
        real_retriever) -> None:  # type: ignore[no-untyped-def]
    accented = real_retriever.search("Đoàn Sainyabuli được tặng những gì?", 3)
    bare = real_retriever.search("Doan Sainyabuli duoc tang nhung gi?", 3)
    assert bare.language == "vi" and bare.query == "Doan Sainyabuli duoc tang nhung gi?"
    assert [r.article_id for r in bare.results][:1] == [r.article_id for r in accented.results][:1]
