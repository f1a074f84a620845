"""Sentence-aware passages that fit the model's token window.

all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, so passages are packed by the
model's own token counts, never by characters or words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from embeddings.articles.parsing import Article
from embeddings.chunking.sentences import split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]


class Titled(Protocol):
    """What a passage's prefix is made of: a parsed article, or its stored record."""

    @property
    def title(self) -> str: ...

    @property
    def date(self) -> dt.date | None: ...

# [CLS] and [SEP]: counted by the model's window but not by count_tokens().
_SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class ChunkConfig:
    """How articles are cut into passages.

    Attributes:
        target_tokens: word pieces of article text aimed for in one passage. Shorter passages
            make sharper vectors; the model's window minus the title prefix is a hard cap.
        overlap_sentences: sentences repeated at the start of the next passage, so an answer
            that straddles a boundary is still whole in one of them.
        paragraph_fill: once a passage holds this share of its budget, it ends at the next
            paragraph break instead of running into the next paragraph (and then needs no
            overlap). Paragraphs are the writer's own topic units; short ones still merge.
    """

    target_tokens: int = 96
    overlap_sentences: int = 1
    paragraph_fill: float = 0.5

    def as_dict(self) -> dict[str, float]:
        """Plain form for the manifest."""
        return asdict(self)


@dataclass(frozen=True)
class Unit:
    """A sentence (or a piece of an over-long one): the atom of chunking and highlighting."""

    paragraph: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A passage of one article: units [start, end) of that article."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    embed_text: str
    tokens: int = 0  # word pieces of embed_text, from the chunker's counts (for batching)

    @property
    def chunk_id(self) -> str:
        """Stable id, e.g. ``000_0d9e#2``."""
        return f"{self.article_id}#{self.ordinal}"


def format_date(date: dt.date | None) -> str:
    """A date as people write it in English news, e.g. ``9 December 2023``."""
    return f"{date.day} {date:%B %Y}" if date else ""


def passage_prefix(article: Titled) -> str:
    """Title and date, embedded with every passage so 'when'/'which article' questions match."""
    when = format_date(article.date)
    return f"{article.title} ({when}). " if when else f"{article.title}. "


def join_units(units: Sequence[Unit]) -> str:
    """Excerpt text: sentences of a paragraph joined by spaces, paragraphs by a newline."""
    parts: list[str] = []
    for i, unit in enumerate(units):
        if i:
            parts.append("\n" if unit.paragraph != units[i - 1].paragraph else " ")
        parts.append(unit.text)
    return "".join(parts)


def unit_spans(units: Sequence[Unit], offset: int = 0) -> list[tuple[int, int]]:
    """Character range of each unit inside ``join_units(units)``, shifted by `offset`."""
    spans: list[tuple[int, int]] = []
    position = offset
    for i, unit in enumerate(units):
        if i:
            position += 1  # the space or newline join_units puts between two units
        spans.append((position, position + len(unit.text)))
        position += len(unit.text)
    return spans


def article_units(
    article: Article, count_tokens: TokenCounter, budget: int
) -> tuple[list[Unit], list[int]]:
    """Split an article into sentences; a sentence over `budget` tokens is cut at word bounds.

    Returns:
        The units and each one's word-piece count (the tokenizer is the costly part of
        chunking, so no text is counted twice).
    """
    sentences = [
        (p, s) for p, para in enumerate(article.paragraphs) for s in split_sentences(para)
    ]
    counts = count_tokens([s for _, s in sentences])
    units: list[Unit] = []
    sizes: list[int] = []
    for (p, sentence), n in zip(sentences, counts, strict=True):
        if n <= budget:
            units.append(Unit(p, sentence))
            sizes.append(n)
        else:
            pieces = _split_long(sentence, count_tokens, budget)
            units.extend(Unit(p, piece) for piece in pieces)
            sizes.extend(count_tokens(pieces))
    return units, sizes


def _split_long(sentence: str, count_tokens: TokenCounter, budget: int) -> list[str]:
    """Cut an over-long sentence into word runs of at most `budget` tokens each."""
    words = sentence.split(" ")
    counts = count_tokens(words)
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for word, n in zip(words, counts, strict=True):
        if current and used + n > budget:
            pieces.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += n
    if current:
        pieces.append(" ".join(current))
    # A single word longer than the budget stays whole; the model truncates only that word.
    return [p for p in (piece.strip() for piece in pieces) if p]


def chunk_budget(cfg: ChunkConfig, prefix_tokens: int, max_tokens: int) -> int:
    """Tokens of article text allowed in one passage."""
    hard_cap = max_tokens - _SPECIAL_TOKENS - prefix_tokens
    return max(16, min(cfg.target_tokens, hard_cap))


def chunk_article(
    article: Article, cfg: ChunkConfig, count_tokens: TokenCounter, max_tokens: int
) -> tuple[list[Unit], list[Chunk]]:
    """Cut one article into overlapping passages that fit the model.

    Args:
        article: the parsed article.
        cfg: target size and overlap.
        count_tokens: the model's word-piece counter (without special tokens).
        max_tokens: the model's window, special tokens included.

    Returns:
        The article's units (sentences) and its chunks, whose spans index into those units.
    """
    prefix = passage_prefix(article)
    prefix_tokens = count_tokens([prefix])[0]
    budget = chunk_budget(cfg, prefix_tokens, max_tokens)
    units, sizes = article_units(article, count_tokens, budget)
    chunks: list[Chunk] = []
    start = 0
    while start < len(units):
        end, used = start, 0
        while end < len(units) and (end == start or used + sizes[end] <= budget):
            if end > start and _new_paragraph(units, end) and used >= cfg.paragraph_fill * budget:
                break
            used += sizes[end]
            end += 1
        text = join_units(units[start:end])
        chunks.append(Chunk(article.id, len(chunks), start, end, text, prefix + text,
                            prefix_tokens + used))
        if end == len(units):
            break
        # Step back for the overlap (not over a paragraph break), but always move forward.
        overlap = 0 if _new_paragraph(units, end) else cfg.overlap_sentences
        start = max(end - overlap, start + 1)
    return units, chunks


def _new_paragraph(units: Sequence[Unit], index: int) -> bool:
    """True when units[index] starts a paragraph other than the previous unit's."""
    return 0 < index < len(units) and units[index].paragraph != units[index - 1].paragraph
