"""Vietnamese typed without accents ("canh sat Thai Lan gap ai o Bangkok?") gets its accents
back before the multilingual encoder reads it.

e5 reads bare Vietnamese poorly: XQuAD's Vietnamese questions with their diacritics stripped
find their paragraph in the top 5 far less often than accented ones (0.893 with e5 alone).

pyvi ships a character CRF that tags each letter with its mark. Taken letter by letter (its
own `add_accents`), it restores 76% of the words of those questions, and it writes case too,
which it guesses ("Ai" becomes "ăi", "Super Bowl" "super BOWL"). Here its per-letter
probabilities are read instead, and each word is given the spelling, among the Vietnamese
syllables of pyvi's word list that fold to it, that they make likeliest; runs of syllables
that spell a word of that list ("bao nhieu" -> "bao nhiêu", not "bao nhiều") win by a bonus
per syllable joined. Words that are no Vietnamese syllable (names: "Panthers", "Bangkok") and
the question's case stay as typed. The one setting (`_JOIN_BONUS`) was chosen on the
even-numbered XQuAD questions: 86% of words right there, 87% on the odd ones (76% with
`add_accents`); e5 alone then finds the paragraph in the top 5 for 0.794 of the stripped
questions (0.660 with `add_accents`), the hybrid list for 0.810 (0.691), in one run of both;
for about 6 CPU ms a question (2 ms before).

Only the multilingual query vector is made from the restored text: keyword search folds
accents anyway, and the answer quotes the question as typed.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # one CRF tagger, shared by the bot's worker threads

_LONGEST_WORD = 4  # syllables of the longest word looked up in the word list
_JOIN_BONUS = 12.0
"""Log-probability bonus per syllable joined into a word of the list: the list has no word
frequencies, so a word it holds is simply preferred to syllables picked one by one (word
accuracy on the even-numbered XQuAD questions 0.80 at 2, 0.85 at 8, 0.86 from 12 on)."""
_FLOOR = 1e-4  # probability of a mark the tagger never proposes for a letter
_LETTERS = re.compile(r"[a-z]+")
_PUNCTUATION = ".,;:!?()[]\"'«»“”‘’…-–—/"


def has_accents(text: str) -> bool:
    """Whether the text carries any diacritic (or "đ"), as Vietnamese typed properly does."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "đ" in decomposed or any(unicodedata.combining(c) for c in decomposed)


def bare(text: str) -> str:
    """Lower case without marks, "đ" as "d": Vietnamese as typed without accents."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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
        restored = restorer(question)
    # Each letter is replaced by one letter; anything else is not trusted.
    return restored if len(restored) == len(question) else question


class _Lexicon:
    """Vietnamese words and syllables by their bare spelling."""

    def __init__(self, words: Sequence[str]) -> None:
        self.spellings: dict[str, list[str]] = defaultdict(list)
        syllables: set[str] = set()
        for word in words:
            self.spellings[bare(word)].append(word)
            syllables.update(word.split())
        for syllable in syllables - set(words):
            self.spellings[bare(syllable)].append(syllable)
        self.syllables = frozenset(syllables)
        self.bare_syllables = frozenset(bare(s) for s in syllables)


class _Restorer:
    """Accents from pyvi's CRF letter probabilities, decoded against its word list."""

    def __init__(self, diac: Any, lexicon: _Lexicon) -> None:
        self.diac = diac
        self.lexicon = lexicon

    def __call__(self, question: str) -> str:
        lowered = question.lower()
        if len(lowered) != len(question):  # a letter whose lower case is longer: leave it
            return question
        letters = self._letter_probabilities(lowered)
        out = list(lowered)
        for run in self._syllable_runs(lowered):
            for (start, end), spelling in zip(run, self._decode(lowered, run, letters),
                                              strict=True):
                out[start:end] = spelling
        # The question's own case, letter by letter: the tagger's is a guess.
        return "".join(c.upper() if o.isupper() else c for o, c in zip(question, out, strict=True))

    def _letter_probabilities(self, lowered: str) -> list[dict[str, float]]:
        """For each letter, the probability of each accented form the tagger gives it."""
        chars = list(lowered)
        marginals = self.diac.model.predict_marginals_single(self.diac.sent2features(chars))
        out = []
        for char, labels in zip(chars, marginals, strict=True):
            forms: dict[str, float] = {}
            for label, p in labels.items():
                form = self._form(char, label)
                forms[form] = forms.get(form, 0.0) + p
            out.append(forms)
        return out

    def _form(self, char: str, label: str) -> str:
        """The letter a label makes of `char`: "m" doubles it (a -> â), "w" adds a breve or
        horn, "sfrxj" are the tones (telex); "U"/"L", the case, is ignored."""
        telex = char
        for mark in label:
            if mark not in "UL":
                telex += char if mark == "m" else mark
        return str(self.diac.reversed_mapping.get(telex, char)) if telex != char else char

    def _syllable_runs(self, lowered: str) -> list[list[tuple[int, int]]]:
        """Spans of the words that are bare Vietnamese syllables, in runs of words that only
        spaces separate (a word of several syllables never spans punctuation or a name)."""
        runs: list[list[tuple[int, int]]] = [[]]
        for token in re.finditer(r"\S+", lowered):
            core = token.group().strip(_PUNCTUATION)
            if not _LETTERS.fullmatch(core) or core not in self.lexicon.bare_syllables:
                runs.append([])
                continue
            start = token.start() + token.group().index(core)
            if start != token.start():  # punctuation before it opens a new run
                runs.append([])
            runs[-1].append((start, start + len(core)))
            if start + len(core) != token.end():  # punctuation after it closes the run
                runs.append([])
        return [run for run in runs if run]

    def _decode(self, lowered: str, run: list[tuple[int, int]],
                letters: list[dict[str, float]]) -> list[str]:
        """The likeliest spelling of each syllable of a run: a best path over splits of the
        run into words of the list, each scored by its letters' probabilities."""
        def log_p(start: int, spelling: str) -> float:
            return sum(math.log(max(letters[start + i].get(c, 0.0), _FLOOR))
                       for i, c in enumerate(spelling))

        best: list[tuple[float, list[str]]] = [(0.0, [])]
        for i in range(1, len(run) + 1):
            options = []
            for length in range(1, min(_LONGEST_WORD, i) + 1):
                span = run[i - length : i]
                spelt = " ".join(lowered[s:e] for s, e in span)
                score, path = best[i - length]
                for word in self.lexicon.spellings.get(spelt, ()):
                    syllables = word.split()
                    if len(syllables) != length or any(
                            len(y) != e - s for y, (s, e) in zip(syllables, span, strict=True)):
                        continue
                    total = score + _JOIN_BONUS * (length - 1) + sum(
                        log_p(s, y) for y, (s, _) in zip(syllables, span, strict=True))
                    options.append((total, path + syllables))
            if not options:  # no spelling of that length: keep the word as typed
                score, path = best[i - 1]
                s, e = run[i - 1]
                options.append((score + log_p(s, lowered[s:e]), [*path, lowered[s:e]]))
            best.append(max(options, key=lambda option: option[0]))
        return best[-1][1]


@cache
def _word_list() -> tuple[str, ...] | None:
    """pyvi's Vietnamese words (NFC, lower case), read without importing pyvi (its tagger takes
    a second and a half to load); None where pyvi or its list is missing."""
    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "words.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return tuple(w for w in (unicodedata.normalize("NFC", line.strip().lower()) for line in lines)
                 if w)


@cache
def _lexicon() -> _Lexicon | None:
    words = _word_list()
    return _Lexicon(words) if words else None


def vietnamese_syllables() -> tuple[frozenset[str], frozenset[str]]:
    """The syllables of pyvi's word list, as written (NFC, lower case: "nhiêu") and bare
    ("nhieu"); both empty where the list is missing."""
    lexicon = _lexicon()
    if lexicon is None:
        return frozenset(), frozenset()
    return lexicon.syllables, lexicon.bare_syllables


@cache
def _restorer() -> Callable[[str], str] | None:
    try:
        from pyvi import ViDiac
    except ImportError as exc:  # a broken install: bare Vietnamese still works, less well
        log.warning("pyvi is not usable (%s): Vietnamese typed without accents is searched "
                    "as typed", exc)
        return None
    lexicon = _lexicon()
    if lexicon is None:  # an older or trimmed pyvi: its letter-by-letter restorer
        log.warning("pyvi's word list is missing: accents are restored letter by letter")
        return lambda question: str(ViDiac.add_accents(question))
    return _Restorer(ViDiac.ViDiac, lexicon)
