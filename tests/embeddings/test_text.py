"""Accent and case folding, as the keyword index and duplicate checks use it."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from embeddings.text import fold


def _fold_by_characters(text: str) -> str:
    """The definition: case-fold, decompose, drop every combining mark, recompose."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def test_vietnamese_and_english_fold_like_fts5() -> None:
    assert fold("Lương Tam Quang") == "luong tam quang"
    assert fold("Bộ Công an ĐÀ NẴNG") == "bo cong an đa nang"  # đ is a letter of its own
    assert fold("The minister’s visit — “historic”") == "the minister’s visit — “historic”"
    assert fold("Café DÉJÀ VU") == "cafe deja vu"
    assert fold("plain ASCII Text") == "plain ascii text"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_fold_equals_its_definition_on_any_text(text: str) -> None:
    assert fold(text) == _fold_by_characters(text)
