"""Vietnamese typed without accents ("canh sat Thai Lan gap ai o Bangkok?") gets its accents
back before the multilingual encoder reads it.

e5 reads bare Vietnamese poorly: XQuAD's Vietnamese questions with their diacritics stripped
find their paragraph in the top 5 for 0.455 of them, against 0.895 accented. pyvi's accent
restorer (a CRF model shipped inside the package, about 2 ms a question here) gives most words
their accents back, and the same questions then reach 0.697 (`benchmarks/quality.py`, XQuAD).
Only the multilingual query vector is made from the restored text: keyword search folds
accents anyway, and the answer quotes the question as typed.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from functools import cache, lru_cache
from typing import Any

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # one CRF tagger, shared by the bot's worker threads


def has_accents(text: str) -> bool:
    """Whether the text carries any diacritic (or "đ"), as Vietnamese typed properly does."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "đ" in decomposed or any(unicodedata.combining(c) for c in decomposed)


@lru_cache(maxsize=4096)
def restore_accents(question: str) -> str:
    """The question with Vietnamese accents restored where it has none; else, or where the
    restorer is not installed, the question unchanged."""
    if has_accents(question):
        return question
    restorer = _restorer()
    if restorer is None:
        return question
    with _LOCK:
        restored = str(restorer(question))
    # The restorer may change case or spacing; a result of another length is not trusted.
    return restored if len(restored.split()) == len(question.split()) else question


@cache
def _restorer() -> Any:
    try:
        from pyvi import ViUtils
    except ImportError as exc:  # a broken install: bare Vietnamese still works, less well
        log.warning("pyvi is not usable (%s): Vietnamese typed without accents is searched "
                    "as typed", exc)
        return None
    return ViUtils.add_accents
