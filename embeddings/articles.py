"""Read news articles from ``.txt``/``.md`` files into clean, citable paragraphs.

Two kinds of input are understood:

* Scraped text as found in the seeds folder: a title line (possibly ``date 2023-12-09 Title``),
  an optional date line, then paragraphs separated by blank lines or one per line. Scrapes carry
  debris (photo captions, datelines glued to captions, duplicated leads, bylines, the agency end
  mark ``./.``) that is removed or turned into metadata so excerpts quote only article text.
* Markdown/text with a YAML front-matter block (``title``, ``date``, ``source``, ``url``,
  ``language``, optional ``byline``/``author``, ``place``), the format the project writes itself.

Nothing here prints or logs: problems come back as data (`FileProblem`, warning strings).
"""

from __future__ import annotations

import codecs
import datetime
import re
import stat
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import yaml

__all__ = [
    "ARTICLE_SUFFIXES",
    "DEFAULT_MAX_FILE_BYTES",
    "Article",
    "ArticleFormatError",
    "FileProblem",
    "LoadReport",
    "article_files",
    "decode_article_bytes",
    "load_article_file",
    "load_articles",
    "parse_article",
    "parse_article_with_warnings",
]

DEFAULT_MAX_FILE_BYTES = 5_000_000
ARTICLE_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Article:
    """One parsed article: metadata plus clean body paragraphs."""

    id: str
    title: str
    date: datetime.date | None
    source: str | None
    byline: str | None
    place: str | None
    url: str | None
    language: str | None
    paragraphs: tuple[str, ...]
    path: Path


@dataclass(frozen=True)
class FileProblem:
    """Something wrong with one file: skipped entirely, or repaired and indexed with a warning."""

    path: Path
    reason: str
    skipped: bool


@dataclass(frozen=True)
class LoadReport:
    """Result of loading a folder: the articles (sorted by id) and every problem met."""

    articles: tuple[Article, ...]
    problems: tuple[FileProblem, ...]

    @property
    def skipped(self) -> tuple[FileProblem, ...]:
        """Problems that kept a file out of the index."""
        return tuple(p for p in self.problems if p.skipped)

    @property
    def warnings(self) -> tuple[FileProblem, ...]:
        """Problems that were repaired; the file was still indexed."""
        return tuple(p for p in self.problems if not p.skipped)


class ArticleFormatError(ValueError):
    """Raised by parse_article when text cannot become an article (reason in message)."""


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

# Text with more than this share of control characters is not prose, whatever it decodes as.
_BINARY_CONTROL_SHARE = 0.1
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def decode_article_bytes(data: bytes) -> tuple[str, str | None]:
    """Decode the bytes of an article file.

    UTF-8 (with or without BOM) is tried first, then cp1252, then latin-1, which always succeeds;
    falling back is reported as a warning. UTF-16 with a byte-order mark is also accepted.

    Args:
        data: The raw file contents.

    Returns:
        The decoded text and a warning (``None`` when the file was clean UTF-8).

    Raises:
        ArticleFormatError: The file is empty or binary (NUL bytes, mostly control characters).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, warning = _decode_utf16(data)
    elif b"\x00" in data:
        raise ArticleFormatError("binary file (contains NUL bytes)")
    else:
        text, warning = _decode_8bit(data)
    if not text.replace("\ufeff", "").strip():
        raise ArticleFormatError("empty file")
    if len(_CONTROL_CHARS.findall(text)) > _BINARY_CONTROL_SHARE * len(text):
        raise ArticleFormatError("binary file (mostly control characters)")
    return text, warning


def _decode_utf16(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-16"), "not UTF-8; decoded as UTF-16 (byte order mark)"
    except UnicodeDecodeError:
        raise ArticleFormatError("binary file (contains NUL bytes)") from None


def _decode_8bit(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        # Windows editors are the usual source of non-UTF-8 text; cp1252 keeps their curly quotes.
        return data.decode("cp1252"), "not UTF-8; decoded as cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "not UTF-8; decoded as latin-1"


# --------------------------------------------------------------------------------------------
# Line clean-up
# --------------------------------------------------------------------------------------------

_ODD_SPACE = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")
_SPACE_RUN = re.compile(r" {2,}")
# Horizontal rules and setext underlines ("---", "===", "* * *") separate, they are not text.
_RULE = re.compile(r"(?:[-=_~*#]\s*){3,}")
_HEADING = re.compile(r"#{1,6}(?:\s+|$)")


def _raw_lines(text: str) -> list[str]:
    """Lines of `text` as written (indentation kept, for YAML), without a leading BOM."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").splitlines()


def _clean_line(line: str) -> str:
    """Plain spaces only, no invisible characters, single spaces, stripped."""
    line = _INVISIBLE.sub("", _ODD_SPACE.sub(" ", line))
    return _SPACE_RUN.sub(" ", line).strip()


def _key(text: str) -> str:
    """Comparison key that ignores case, punctuation, spacing and markdown heading marks."""
    return " ".join(re.findall(r"\w+", text.casefold()))


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_MONTHS = {
    form: number
    for number, name in enumerate(_MONTH_NAMES, start=1)
    for form in (name, name[:3])
} | {"sept": 9}
_WEEKDAY = (
    r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|bẩy|[2-7])|chủ\s+nhật|"
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?)"
)
_DATE_CORE = (
    r"(?:(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<dd>\d{1,2})[/.-](?P<dm>\d{1,2})[/.-](?P<dy>\d{4})"
    r"|(?P<mname>[a-z]+)\.?\s+(?P<md>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<my>\d{4})"
    r"|(?P<nd>\d{1,2})(?:st|nd|rd|th)?\s+(?P<nname>[a-z]+)\.?,?\s+(?P<ny>\d{4}))"
)
_TIME = (
    r"(?:(?:\s*[,|-]\s*|\s+at\s+|\s+|T)\d{1,2}[:h]\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:\s*[ap]\.?m\.?)?"
    r"(?:\s*\(?(?:gmt|utc)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?\)?|z|[+-]\d{2}:?\d{2}|\s+[a-z]{2,4})?)?"
)
_DATE_LINE = re.compile(
    rf"(?:(?:posted|updated|published)(?:\s+on)?\s*:?\s*)?(?:{_WEEKDAY}\s*,?\s*)?"
    rf"{_DATE_CORE}{_TIME}\s*",
    re.IGNORECASE,
)


def _match_date_line(text: str) -> tuple[bool, datetime.date | None]:
    """Whether `text` is only a date (with optional weekday and time), and that date.

    Returns ``(True, None)`` for something shaped like a date that names no real day.
    """
    match = _DATE_LINE.fullmatch(text.strip())
    if match is None:
        return False, None
    groups = match.groupdict()
    try:
        if groups["iy"]:
            return True, datetime.date(int(groups["iy"]), int(groups["im"]), int(groups["id"]))
        if groups["dy"]:  # day first, as Vietnamese and British sites write it
            return True, datetime.date(int(groups["dy"]), int(groups["dm"]), int(groups["dd"]))
        name, day, year = (
            (groups["mname"], groups["md"], groups["my"])
            if groups["mname"]
            else (groups["nname"], groups["nd"], groups["ny"])
        )
        month = _MONTHS.get(name.lower())
        if month is None:
            return False, None
        return True, datetime.date(int(year), month, int(day))
    except ValueError:
        return True, None


def _parse_date_text(text: str) -> datetime.date | None:
    """A date from free text such as '2023-12-09', '25/08/2023 09:40' or 'December 9, 2023'."""
    return _match_date_line(text)[1]


# --------------------------------------------------------------------------------------------
# Front matter
# --------------------------------------------------------------------------------------------


class _NoTimestampLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings.

    ``date: 2023-02-30`` makes safe_load raise ValueError, losing every other key; reloading
    with this loader keeps the rest and lets the date be reported on its own.
    """


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_TEXT_KEYS = ("title", "source", "url", "language", "place", "byline", "author")


@dataclass
class _Meta:
    """Metadata gathered while parsing (mutable scratch space, not a result)."""

    title: str | None = None
    date: datetime.date | None = None
    source: str | None = None
    byline: str | None = None
    place: str | None = None
    url: str | None = None
    language: str | None = None


def _split_front_matter(lines: list[str]) -> tuple[str, list[str]] | None:
    """Split ``---`` front matter off the top: (yaml text, body lines), or None if there is none."""
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or lines[start].strip() != "---":
        return None
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            return "\n".join(lines[start + 1 : end]), lines[end + 1 :]
    return None


def _load_yaml(block: str) -> tuple[object, str | None]:
    """safe_load the block; on failure return (None, warning) so the body is still used."""
    try:
        return yaml.safe_load(block), None
    except yaml.YAMLError as exc:
        return None, f"front matter is not valid YAML ({_first_line(exc)}); metadata ignored"
    except ValueError:
        pass  # an impossible timestamp; retried below without timestamp resolution
    except Exception as exc:  # hostile input can hit e.g. RecursionError
        return None, f"front matter could not be read ({type(exc).__name__}); metadata ignored"
    try:
        return yaml.load(block, Loader=_NoTimestampLoader), None  # still a SafeLoader
    except Exception as exc:  # same reasons as above
        return None, f"front matter could not be read ({type(exc).__name__}); metadata ignored"


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")[:1]).strip() or type(exc).__name__
    return text[:120]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_front_matter(block: str, warnings: list[str]) -> _Meta:
    """Metadata from a front-matter block, repairing what can be repaired (with warnings)."""
    data, problem = _load_yaml(block)
    if problem:
        warnings.append(problem)
        return _Meta()
    if data is None:
        return _Meta()
    if not isinstance(data, dict):
        warnings.append(
            f"front matter is not a mapping (got {type(data).__name__}); metadata ignored"
        )
        return _Meta()
    fields = {str(k).strip().lower(): v for k, v in data.items()}
    meta = _Meta(date=_coerce_date(fields.get("date"), warnings))
    for key in _TEXT_KEYS:
        if key in fields:
            value = _coerce_text(key, fields[key], warnings)
            target = "byline" if key == "author" else key
            if value is not None and getattr(meta, target) is None:
                setattr(meta, target, value)
    if meta.language is not None:
        meta.language = meta.language.lower()  # language tags are case-insensitive
    return meta


def _coerce_date(value: object, warnings: list[str]) -> datetime.date | None:
    """A front-matter date from yaml's date/datetime/str, or None with a warning for garbage."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):  # before date: datetime is a date subclass
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        parsed = _parse_date_text(_clean_line(value))
        if parsed is not None:
            return parsed
    warnings.append(f"front matter date {_short(value)} is not a date; date left empty")
    return None


def _coerce_text(key: str, value: object, warnings: list[str]) -> str | None:
    """A front-matter text field; lists are joined and numbers converted, with a warning."""
    if value is None:
        return None
    if isinstance(value, str):
        return _clean_line(value) or None
    if isinstance(value, list | tuple):
        parts = [_clean_line(str(v)) for v in value if _is_scalar(v)]
        joined = (" " if key == "title" else ", ").join(p for p in parts if p)
        warnings.append(f"front matter {key} is a list; joined into {_short(joined)}")
        return joined or None
    if not _is_scalar(value):
        warnings.append(f"front matter {key} {_short(value)} is not text; ignored")
        return None
    text = _clean_line(str(value))
    warnings.append(f"front matter {key} {_short(value)} is not text; converted to {text!r}")
    return text or None


def _is_scalar(value: object) -> bool:
    """Text-like yaml scalars; booleans are not ('language: no' loads as False)."""
    return isinstance(value, str | int | float | datetime.date) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# Headers of scraped text
# --------------------------------------------------------------------------------------------

# " date 2023-12-09 Vietnam, Thailand foster security cooperation"
_DATE_TITLE_LINE = re.compile(r"date\s+(?P<date>\d{4}-\d{1,2}-\d{1,2})(?:\s+(?P<title>.*))?", re.I)
# How many non-empty lines at the top may hold the title and a date line.
_HEADER_LINES = 4


def _read_plain_header(lines: list[str], meta: _Meta, warnings: list[str]) -> list[str]:
    """Take the title, date and byline from the top of scraped text; return the other lines."""
    top = list(islice((i for i, line in enumerate(lines) if line), _HEADER_LINES))
    drop: set[int] = set()
    for position, i in enumerate(top):
        line = lines[i]
        if _RULE.fullmatch(line):
            drop.add(i)
            continue
        if position == 0 and (match := _DATE_TITLE_LINE.fullmatch(line)):
            drop.add(i)
            meta.date = _date_or_warn(match["date"], warnings)
            meta.title = _title_text(match["title"] or "") or None
            continue
        is_date, date = _match_date_line(line)
        if is_date:
            drop.add(i)
            if meta.date is None:  # a second date line (often "updated") adds nothing
                meta.date = date if date is not None else _date_or_warn(line, warnings)
            continue
        byline = _byline_name(line) if meta.title is not None else None
        if byline is not None and meta.byline is None:
            drop.add(i)
            meta.byline = byline
            continue
        if meta.title is not None:
            break  # the body starts here
        meta.title = _title_text(line)
        drop.add(i)
    return [line for i, line in enumerate(lines) if i not in drop]


def _date_or_warn(text: str, warnings: list[str]) -> datetime.date | None:
    date = _parse_date_text(text)
    if date is None:
        warnings.append(f"date {_short(text)} is not a valid date; date left empty")
    return date


def _title_text(line: str) -> str:
    """A title line without markdown heading marks or emphasis."""
    return _strip_markdown(line).strip()


def _take_heading_title(lines: list[str], meta: _Meta) -> list[str]:
    """Drop a leading ``# Title`` heading equal to the title, or use it when there is none."""
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None or not _HEADING.match(lines[first]):
        return lines
    heading = _title_text(lines[first])
    if meta.title is None and heading:
        meta.title = heading
    elif meta.title is None or _key(heading) != _key(meta.title):
        return lines  # a section heading: kept as a paragraph
    return lines[:first] + lines[first + 1 :]


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]*?[^\s*])?\*(?![\w*])")
_MD_HEADING_MARKS = re.compile(r"^#{1,6}(?:\s+|$)|\s+#+$")


def _strip_markdown(text: str) -> str:
    """Light Markdown to plain text: links, emphasis markers and heading marks removed."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_AUTOLINK.sub(r"\1", text)
    text = _MD_STRONG.sub(r"\2", text)
    text = _MD_EMPHASIS.sub(lambda m: m.group(1) or "", text)
    return _SPACE_RUN.sub(" ", _MD_HEADING_MARKS.sub("", text)).strip()


# --------------------------------------------------------------------------------------------
# Body: grouping lines into paragraphs
# --------------------------------------------------------------------------------------------

# "Police of Quang Ninh and Sainyabuli agree to boost cooperation -0": the title repeated with a
# number marks a photo; the line after it is the caption.
_PHOTO_MARKER = re.compile(r"(?P<text>.*?)\s*[-–—]\s*\d{1,3}")


def _title_repeat(line: str, title_key: str) -> str | None:
    """'marker' for a photo marker line, 'repeat' for a bare repeated title, else None."""
    if not title_key:
        return None
    marker = _PHOTO_MARKER.fullmatch(line) if line[-1].isdigit() else None
    if marker and _key(marker["text"]) == title_key:
        return "marker"
    return "repeat" if _key(line) == title_key else None


def _body_paragraphs(lines: list[str], title: str, markdown: bool) -> list[str]:
    """Group clean body lines into paragraph strings, dropping rules and photo captions.

    Paragraphs are blank-line separated blocks when the body has inner blank lines, otherwise one
    per line (the one-line-per-paragraph scrapes).
    """
    blank_layout = "" in _trim_blank(lines)
    title_key = _key(title)
    blocks: list[list[str]] = []
    current: list[str] = []
    skip_caption = False
    for line in lines:
        if skip_caption:
            skip_caption = False
            if line and not _RULE.fullmatch(line):
                continue  # the caption under a photo marker
        kind = _title_repeat(line, title_key) if line else None
        if not line or _RULE.fullmatch(line) or kind is not None:
            skip_caption = kind == "marker"
            _flush(blocks, current)
            continue
        if not blank_layout or (markdown and _HEADING.match(line)):
            _flush(blocks, current)
            blocks.append([line])
        else:
            current.append(line)
    _flush(blocks, current)
    paragraphs = [" ".join(block) for block in blocks]
    return [_strip_markdown(p) for p in paragraphs] if markdown else paragraphs


def _trim_blank(lines: list[str]) -> list[str]:
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    end = next((i for i in range(len(lines), 0, -1) if lines[i - 1]), start)
    return lines[start:end]


def _flush(blocks: list[list[str]], current: list[str]) -> None:
    if current:
        blocks.append(current[:])
        current.clear()


# --------------------------------------------------------------------------------------------
# Body: captions, datelines, bylines, end marks, duplicates
# --------------------------------------------------------------------------------------------

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


def _clean_paragraphs(paragraphs: list[str], meta: _Meta) -> list[str]:
    """Remove captions, datelines, end marks and duplicates; move bylines into `meta`."""
    kept: list[str] = []
    seen: set[str] = set()
    for index, paragraph in enumerate(paragraphs):
        text, was_caption = _drop_photo_caption(paragraph)
        if text and (was_caption or index < _DATELINE_PARAGRAPHS):
            text = _take_dateline(text, meta)
        text = _strip_end_mark(text)
        key = _key(text)
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


def _take_dateline(text: str, meta: _Meta) -> str:
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


def _take_bylines(paragraphs: list[str], meta: _Meta) -> None:
    """Move a 'By Name' paragraph at the end (or the start) of the body into `meta`."""
    for index in (-1, 0):
        if not paragraphs:
            return
        name = _byline_name(paragraphs[index])
        if name is not None:
            meta.byline = meta.byline or name
            del paragraphs[index]


def _byline_name(paragraph: str) -> str | None:
    match = _BYLINE.fullmatch(paragraph)
    if match is None:
        return None
    words = re.split(r"[\s,]+", match["name"])
    # "By then, all was done" is prose: every word of a name is capitalised.
    if all(w[:1].isupper() or w in _BYLINE_JOINERS for w in words if w):
        return match["name"].rstrip(",.")
    return None


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_article(text: str, path: Path) -> Article:
    """Parse decoded text into an Article whose id is ``path.stem``.

    Repairable front-matter problems (a bad date, a list as title, invalid YAML) are repaired
    silently here; use `parse_article_with_warnings` to see them.

    Args:
        text: Decoded file contents.
        path: Where the text came from; gives the id and, for ``.md``, Markdown handling.

    Returns:
        The article.

    Raises:
        ArticleFormatError: The text has no article body.
    """
    return parse_article_with_warnings(text, path)[0]


def parse_article_with_warnings(text: str, path: Path) -> tuple[Article, list[str]]:
    """Parse decoded text into an Article, also returning what had to be repaired.

    Args:
        text: Decoded file contents.
        path: Where the text came from; gives the id and, for ``.md``, Markdown handling.

    Returns:
        The article and human-readable warnings (empty when nothing was repaired).

    Raises:
        ArticleFormatError: The text has no article body.
    """
    warnings: list[str] = []
    raw = _raw_lines(text)
    front = _split_front_matter(raw)
    if front is None:
        markdown = path.suffix.lower() == ".md"
        meta = _Meta()
        body = _read_plain_header([_clean_line(line) for line in raw], meta, warnings)
    else:
        markdown = True
        meta = _read_front_matter(front[0], warnings)
        body = _take_heading_title([_clean_line(line) for line in front[1]], meta)
    paragraphs = _clean_paragraphs(_body_paragraphs(body, meta.title or "", markdown), meta)
    if not paragraphs:
        raise ArticleFormatError("no article text" + (" (only a title)" if meta.title else ""))
    if not meta.title:
        warnings.append("no title found; using the file name")
    return _build(meta, paragraphs, path), warnings


def _build(meta: _Meta, paragraphs: list[str], path: Path) -> Article:
    return Article(
        id=path.stem,
        title=meta.title or path.stem,
        date=meta.date,
        source=meta.source,
        byline=meta.byline,
        place=meta.place,
        url=meta.url,
        language=meta.language,
        paragraphs=tuple(paragraphs),
        path=path,
    )


# --------------------------------------------------------------------------------------------
# Files and folders
# --------------------------------------------------------------------------------------------


def article_files(folder: Path) -> list[Path]:
    """The article files directly inside `folder`, sorted by name.

    Only regular ``.txt``/``.md`` files (symlinks to them count); broken symlinks, directories
    and hidden files (names starting with ``.``) are left out. Not recursive.

    Args:
        folder: The folder to list.

    Returns:
        The paths, sorted by file name.
    """
    return [path for path in _candidates(folder) if _is_regular_file(path)]


def _candidates(folder: Path) -> list[Path]:
    """Visible entries of `folder` with an article suffix, sorted by name."""
    return sorted(
        (
            path
            for path in folder.iterdir()
            if not path.name.startswith(".") and path.suffix.lower() in ARTICLE_SUFFIXES
        ),
        key=lambda path: path.name,
    )


def _is_regular_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a symlink loop, or permission denied on the target
        return False


def load_article_file(
    path: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[Article | None, list[FileProblem]]:
    """Read, decode and parse one article file; never raises for bad content or I/O errors.

    Args:
        path: The file.
        max_bytes: Larger files are skipped (checked with stat before reading).

    Returns:
        ``(article, warnings)`` when the file was indexed (warnings are problems with
        ``skipped=False``), or ``(None, [problem])`` with one skipped problem.
    """
    try:
        data = _read_limited(path, max_bytes)
        text, decode_warning = decode_article_bytes(data)
        article, warnings = parse_article_with_warnings(text, path)
    except (ArticleFormatError, _Unreadable) as exc:
        return None, [FileProblem(path, str(exc), skipped=True)]
    except OSError as exc:
        return None, [FileProblem(path, f"cannot read file: {_os_reason(exc)}", skipped=True)]
    except Exception as exc:  # one odd file must not stop a folder load
        reason = f"could not parse file ({type(exc).__name__}: {_first_line(exc)})"
        return None, [FileProblem(path, reason, skipped=True)]
    if decode_warning:
        warnings.insert(0, decode_warning)
    return article, [FileProblem(path, w, skipped=False) for w in warnings]


class _Unreadable(Exception):
    """The file cannot be read whole: over the size limit or not a regular file (message)."""


def _read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing files over `max_bytes` before reading them."""
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        # Opening a FIFO or device named like an article would block or never end.
        raise _Unreadable("not a regular file")
    size = status.st_size
    if size > max_bytes:
        raise _Unreadable(f"file is {_format_size(size)}, over the {_format_size(max_bytes)} limit")
    with path.open("rb") as handle:
        # Read one byte past the limit: the file may have grown since stat.
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _Unreadable(f"file is over the {_format_size(max_bytes)} limit")
    return data


def _format_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB".replace(".0 ", " ")
    return f"{size / 1_000_000:.1f} MB".replace(".0 ", " ")


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def load_articles(folder: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadReport:
    """Load every article file directly inside `folder`.

    Bad files never stop the load: they are reported in ``problems``. A second file whose body
    text matches an earlier one (or whose id is already taken) is skipped as a duplicate.

    Args:
        folder: The folder holding ``.txt``/``.md`` article files.
        max_bytes: Files larger than this are skipped.

    Returns:
        The articles sorted by id and the problems in file-name order.

    Raises:
        FileNotFoundError: `folder` does not exist.
        NotADirectoryError: `folder` is not a directory.
    """
    if not folder.exists():
        raise FileNotFoundError(f"article folder does not exist: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"article folder is not a directory: {folder}")
    articles: dict[str, Article] = {}
    by_body: dict[str, str] = {}
    problems: list[FileProblem] = []
    for path in _candidates(folder):
        article, found = _load_candidate(path, max_bytes)
        problems.extend(found)
        if article is None:
            continue
        duplicate = _duplicate_reason(article, articles, by_body)
        if duplicate:
            problems.append(FileProblem(path, duplicate, skipped=True))
            continue
        articles[article.id] = article
        by_body[_key("\n".join(article.paragraphs))] = article.id
    ordered = tuple(articles[i] for i in sorted(articles))
    return LoadReport(articles=ordered, problems=tuple(problems))


def _load_candidate(path: Path, max_bytes: int) -> tuple[Article | None, list[FileProblem]]:
    """Like load_article_file, but names broken symlinks and non-files instead of failing."""
    if path.is_symlink() and not path.exists():
        return None, [FileProblem(path, "broken symbolic link (target missing)", skipped=True)]
    if path.is_dir():
        return None, []  # a folder named like an article is not a file to report
    return load_article_file(path, max_bytes=max_bytes)


def _duplicate_reason(
    article: Article, articles: dict[str, Article], by_body: dict[str, str]
) -> str | None:
    if article.id in articles:
        return f"duplicate id {article.id!r} (same name as {articles[article.id].path.name})"
    first = by_body.get(_key("\n".join(article.paragraphs)))
    return f"duplicate of {first}" if first is not None else None
