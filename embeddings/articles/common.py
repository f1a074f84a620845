"""Building blocks shared by the article-parsing modules.

The error raised for text that is no article, the metadata gathered while parsing, and the
line-level clean-up (odd spaces, invisible characters, light Markdown) every stage relies on.
Living here, below all parsing modules, keeps them free of circular imports.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from embeddings.text import words


class ArticleFormatError(ValueError):
    """Raised by parse_article when text cannot become an article (reason in message)."""


@dataclass
class ArticleMeta:
    """Metadata gathered while parsing (mutable scratch space, not a result)."""

    title: str | None = None
    date: datetime.date | None = None
    source: str | None = None
    byline: str | None = None
    place: str | None = None
    url: str | None = None
    language: str | None = None


_ODD_SPACE = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")
_SPACE_RUN = re.compile(r" {2,}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Horizontal rules and setext underlines ("---", "===", "* * *") separate, they are not text.
RULE = re.compile(r"(?:[-=_~*#]\s*){3,}")
HEADING = re.compile(r"#{1,6}(?:\s+|$)")

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]*?[^\s*])?\*(?![\w*])")
_MD_HEADING_MARKS = re.compile(r"^#{1,6}(?:\s+|$)|\s+#+$")


def raw_lines(text: str) -> list[str]:
    """Lines of `text` as written (indentation kept, for YAML), without a leading BOM."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").splitlines()


def scrub_surrogates(text: str) -> str:
    """Join surrogate pairs and replace lone surrogates, which JSON and YAML escapes such as
    ``\\ud83d`` can produce and which no encoder or tokenizer accepts."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_line(line: str) -> str:
    """Plain spaces only, no invisible characters, single spaces, stripped."""
    line = _INVISIBLE.sub("", _ODD_SPACE.sub(" ", scrub_surrogates(line)))
    return _SPACE_RUN.sub(" ", line).strip()


def comparison_key(text: str) -> str:
    """Comparison key that ignores case, punctuation, spacing and markdown heading marks."""
    return " ".join(words(text, fold_accents=False))


def strip_markdown(text: str) -> str:
    """Light Markdown to plain text: links, emphasis markers and heading marks removed."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_AUTOLINK.sub(r"\1", text)
    text = _MD_STRONG.sub(r"\2", text)
    text = _MD_EMPHASIS.sub(lambda m: m.group(1) or "", text)
    return _SPACE_RUN.sub(" ", _MD_HEADING_MARKS.sub("", text)).strip()


def shorten(value: object) -> str:
    """The repr of `value`, cut to 60 characters so one hostile field cannot flood a warning."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def error_summary(exc: BaseException) -> str:
    """The first line of an exception's message (at most 120 characters), or its type name."""
    text = str(exc).split("\n", 1)[0].strip() or type(exc).__name__
    return text[:120]
