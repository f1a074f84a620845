"""Turn body lines into clean paragraphs that quote only article text.

Scrapes carry debris: photo markers and captions, datelines glued to captions ("Hanoi (VNA) -"),
the lead repeated after a caption, bylines and the agency end mark ``./.``. Captions, end marks
and duplicates are removed; datelines and bylines are moved into the metadata.
"""

from __future__ import annotations

import re

from embeddings.articles.common import HEADING, RULE, ArticleMeta, comparison_key, strip_markdown

# "Police of Quang Ninh and Sainyabuli agree to boost cooperation -0": the title repeated with a
# number marks a photo; the line after it is the caption.
_PHOTO_MARKER = re.compile(r"(?P<text>.*?)\s*[-–—]\s*\d{1,3}")
# A photo credit ends a caption: "(Photo: VNA)", "(Photo: dangcongsan.vn)", "(Photo by X)".
# It must name a credit (colon, by, courtesy, from) so "(photo exhibition)" in prose is kept.
# An unclosed credit runs to the end of the paragraph: the whole thing is caption debris.
_PHOTO_CREDIT = re.compile(
    r"\((?:(?:File|Illustrative|Illustration|Archive)\s+)?(?:Photos?|PHOTOS?|Ảnh|ẢNH)\s*"
    r"(?::|-|–|\bby\b|\bcourtesy\b|\bfrom\b)[^()]*(?:\([^()]*\)[^()]*)*(?:\)|$)"
)
# "Bangkok (VNA) - ", "Hanoi (VNA) – ", "Ho Chi Minh City (VNA) – ".
_DATELINE = re.compile(
    r"(?P<place>[^\W\d_][\w'’.]*(?:[ -][^\W\d_][\w'’.]*){0,4}),?\s*"
    r"\((?P<source>[^\W\d_][\w+&/.]*(?: [^\W\d_][\w+&/.]*){0,2})\)\s*[-–—:]\s*"
)
# Datelines open one of the first paragraphs; later "X (Y) - " is more likely prose.
_DATELINE_PARAGRAPHS = 3
_BYLINE = re.compile(r"(?:By|BY)\s+(?P<name>[^\W\d_][\w'’.-]*(?:,?\s+[\w'’.&-]+){0,5})\.?")
_BYLINE_JOINERS = frozenset({"and", "&", "van", "de", "da", "von", "bin", "der"})


def body_paragraphs(lines: list[str], title: str, markdown: bool) -> list[str]:
    """Group clean body lines into paragraph strings, dropping rules and photo captions.

    Paragraphs are blank-line separated blocks when the body has inner blank lines, otherwise one
    per line (the one-line-per-paragraph scrapes).

    Args:
        lines: Clean body lines (blank lines are empty strings).
        title: The article title; lines repeating it are photo markers, not text.
        markdown: Whether to treat headings as paragraphs and strip Markdown markup.

    Returns:
        The paragraphs in order.
    """
    blank_layout = _has_inner_blank_line(lines)
    title_key = comparison_key(title)
    blocks: list[list[str]] = []
    current: list[str] = []
    skip_caption = False
    for line in lines:
        if skip_caption:
            skip_caption = False
            if line and not RULE.fullmatch(line):
                continue  # the caption under a photo marker
        kind = _title_repeat(line, title_key) if line else None
        if not line or RULE.fullmatch(line) or kind is not None:
            skip_caption = kind == "marker"
            _flush(blocks, current)
            continue
        if not blank_layout or (markdown and HEADING.match(line)):
            _flush(blocks, current)
            blocks.append([line])
        else:
            current.append(line)
    _flush(blocks, current)
    paragraphs = [" ".join(block) for block in blocks]
    return [strip_markdown(p) for p in paragraphs] if markdown else paragraphs


def _has_inner_blank_line(lines: list[str]) -> bool:
    """Whether a blank line separates two text lines (leading and trailing blanks don't count)."""
    filled = [i for i, line in enumerate(lines) if line]
    return bool(filled) and "" in lines[filled[0] : filled[-1]]


def _title_repeat(line: str, title_key: str) -> str | None:
    """'marker' for a photo marker line, 'repeat' for a bare repeated title, else None."""
    if not title_key:
        return None
    marker = _PHOTO_MARKER.fullmatch(line) if line[-1].isdigit() else None
    if marker and comparison_key(marker["text"]) == title_key:
        return "marker"
    return "repeat" if comparison_key(line) == title_key else None


def _flush(blocks: list[list[str]], current: list[str]) -> None:
    if current:
        blocks.append(current[:])
        current.clear()


def clean_paragraphs(paragraphs: list[str], meta: ArticleMeta) -> list[str]:
    """Remove captions, datelines, end marks and duplicates; move bylines into `meta`.

    Args:
        paragraphs: Paragraphs from `body_paragraphs`.
        meta: Receives the place, source and byline found in the text (existing values win).

    Returns:
        The paragraphs that are article text, in order.
    """
    kept: list[str] = []
    seen: set[str] = set()
    for index, paragraph in enumerate(paragraphs):
        text, was_caption = _drop_photo_caption(paragraph)
        if text and (was_caption or index < _DATELINE_PARAGRAPHS):
            text = _take_dateline(text, meta)
        text = _strip_end_mark(text)
        key = comparison_key(text)
        # A duplicate is usually the lead repeated after a caption's dateline.
        if key and key not in seen:
            seen.add(key)
            kept.append(text)
    _take_bylines(kept, meta)
    return kept


def _strip_end_mark(text: str) -> str:
    """Replace the agency end mark "./." (also "/.", ". /.") closing a paragraph by a full stop."""
    text = text.strip()
    if not text.endswith("/."):
        return text
    # rstrip, not a regex: a regex over a long run of dots would backtrack quadratically.
    return text[:-2].rstrip(" ./") + "."


def _drop_photo_caption(paragraph: str) -> tuple[str, bool]:
    """Text after the last photo credit (captions run up to it), and whether there was one."""
    ends = [match.end() for match in _PHOTO_CREDIT.finditer(paragraph)]
    if not ends:
        return paragraph, False
    return paragraph[ends[-1] :].strip(), True


def _take_dateline(text: str, meta: ArticleMeta) -> str:
    """Strip a leading 'Place (SOURCE) - ' into `meta`; return the rest of the paragraph."""
    match = _DATELINE.match(text)
    if match is None:
        return text
    rest = text[match.end() :]
    words = re.split(r"[ -]", match["place"])
    if not rest or not all(w[:1].isupper() for w in words) or not match["source"][0].isupper():
        return text
    if not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"“'‘"):
        return text
    meta.place = meta.place or match["place"]
    meta.source = meta.source or match["source"]
    return rest


def _take_bylines(paragraphs: list[str], meta: ArticleMeta) -> None:
    """Move a 'By Name' paragraph at the end (or the start) of the body into `meta`."""
    for index in (-1, 0):
        if not paragraphs:
            return
        name = byline_name(paragraphs[index])
        if name is not None:
            meta.byline = meta.byline or name
            del paragraphs[index]


def byline_name(paragraph: str) -> str | None:
    """Read the name from a byline paragraph such as "By Minh Anh".

    Args:
        paragraph: One clean paragraph or line.

    Returns:
        The name, or ``None`` when the paragraph is not a byline.
    """
    match = _BYLINE.fullmatch(paragraph)
    if match is None:
        return None
    words = re.split(r"[\s,]+", match["name"])
    # "By then, all was done" is prose: every word of a name is capitalised.
    if all(w[:1].isupper() or w in _BYLINE_JOINERS for w in words if w):
        return match["name"].rstrip(",.")
    return None
