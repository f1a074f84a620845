"""Read news articles from ``.txt``/``.md`` files into clean, citable paragraphs.

Two kinds of input are understood:

* Scraped text as found in the seeds folder: a title line (possibly ``date 2023-12-09 Title``),
  an optional date line, then paragraphs separated by blank lines or one per line. Scrapes carry
  debris (photo captions, datelines glued to captions, duplicated leads, bylines, the agency end
  mark ``./.``) that is removed or turned into metadata so excerpts quote only article text.
* Markdown/text with a YAML front-matter block (``title``, ``date``, ``source``, ``url``,
  ``language``, optional ``byline``/``author``, ``place``), the format the project writes itself.

Nothing here prints or logs: problems come back as data (`FileProblem`, warning strings).

This module is the public face (result types, parsing, folder loading); the stages live in
``article_reading``, ``article_frontmatter``, ``article_header``, ``article_dates``,
``article_cleanup`` and ``article_text`` (shared helpers and `ArticleFormatError`).
"""

from __future__ import annotations

import datetime
import errno
import hashlib
from dataclasses import dataclass
from pathlib import Path

from embeddings.articles.cleanup import body_paragraphs, clean_paragraphs
from embeddings.articles.common import (
    ArticleFormatError,
    ArticleMeta,
    clean_line,
    comparison_key,
    error_summary,
    raw_lines,
)
from embeddings.articles.frontmatter import (
    meta_from_mapping,
    read_front_matter,
    split_front_matter,
)
from embeddings.articles.header import read_plain_header, take_heading_title
from embeddings.articles.reading import (
    UnreadableFileError,
    decode_article_bytes,
    read_article_bytes,
)

__all__ = [
    "ARTICLE_SUFFIXES",
    "DEFAULT_MAX_FILE_BYTES",
    "Article",
    "ArticleFormatError",
    "FileProblem",
    "LoadReport",
    "article_files",
    "body_fingerprint",
    "decode_article_bytes",
    "load_article_file",
    "load_articles",
    "parse_article",
    "parse_article_fields",
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
    raw = raw_lines(text)
    front = split_front_matter(raw)
    if front is None:
        markdown = path.suffix.lower() == ".md"
        meta = ArticleMeta()
        body = read_plain_header([clean_line(line) for line in raw], meta, warnings)
    else:
        markdown = True
        meta = read_front_matter(front[0], warnings)
        body = take_heading_title([clean_line(line) for line in front[1]], meta)
    paragraphs = clean_paragraphs(body_paragraphs(body, meta.title or "", markdown), meta)
    if not paragraphs:
        raise ArticleFormatError("no article text" + (" (only a title)" if meta.title else ""))
    if not meta.title:
        warnings.append("no title found; using the file name")
    return _build(meta, paragraphs, path), warnings


def parse_article_fields(
    fields: dict[object, object], text: str, article_id: str, path: Path
) -> tuple[Article, list[str]]:
    """Parse an article given as metadata plus a Markdown or plain-text body (a JSONL record).

    Args:
        fields: metadata such as ``title``, ``date``, ``url``, ``source``, ``author``.
        text: the body.
        article_id: the article's id.
        path: the file the record came from.

    Returns:
        The article and what had to be repaired.

    Raises:
        ArticleFormatError: The body has no article text.
    """
    warnings: list[str] = []
    meta = meta_from_mapping(fields, warnings)
    body = take_heading_title([clean_line(line) for line in raw_lines(text)], meta)
    paragraphs = clean_paragraphs(body_paragraphs(body, meta.title or "", True), meta)
    if not paragraphs:
        raise ArticleFormatError("no article text" + (" (only a title)" if meta.title else ""))
    if not meta.title:
        warnings.append("no title found; using the id")
    return _build(meta, paragraphs, path, article_id), warnings


def _build(
    meta: ArticleMeta, paragraphs: list[str], path: Path, article_id: str | None = None
) -> Article:
    article_id = article_id or path.stem
    return Article(
        id=article_id,
        title=meta.title or article_id,
        date=meta.date,
        source=meta.source,
        byline=meta.byline,
        place=meta.place,
        url=meta.url,
        language=meta.language,
        paragraphs=tuple(paragraphs),
        path=path,
    )


def article_files(folder: Path) -> list[Path]:
    """The article files directly inside `folder`, sorted by name.

    Only regular ``.txt``/``.md`` files (symlinks to them count); broken symlinks, directories
    and hidden files (names starting with ``.``) are left out. Not recursive.

    Args:
        folder: The folder to list.

    Returns:
        The paths, sorted by file name.
    """
    return [path for path in article_candidates(folder) if not_a_file(path) is None]


def article_candidates(folder: Path) -> list[Path]:
    """Visible entries of `folder` with an article suffix, sorted by name (some may not be
    regular files: see `not_a_file`)."""
    return sorted(
        (
            path
            for path in folder.iterdir()
            if not path.name.startswith(".") and path.suffix.lower() in ARTICLE_SUFFIXES
        ),
        key=lambda path: path.name,
    )


def not_a_file(path: Path) -> str | None:
    """Why an entry named like an article is not a readable regular file, or None if it is."""
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if path.is_symlink():
            return "broken symbolic link (target missing)"
        return f"cannot read file: {exc.strerror or type(exc).__name__}"
    if not path.is_file():
        return "not a regular file"
    return None


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
        data = read_article_bytes(path, max_bytes)
        text, decode_warning = decode_article_bytes(data)
        article, warnings = parse_article_with_warnings(text, path)
    except (ArticleFormatError, UnreadableFileError) as exc:
        return None, [FileProblem(path, str(exc), skipped=True)]
    except OSError as exc:
        reason = f"cannot read file: {exc.strerror or type(exc).__name__}"
        return None, [FileProblem(path, reason, skipped=True)]
    except Exception as exc:  # one odd file must not stop a folder load
        reason = f"could not parse file ({type(exc).__name__}: {error_summary(exc)})"
        return None, [FileProblem(path, reason, skipped=True)]
    if decode_warning:
        warnings.insert(0, decode_warning)
    return article, [FileProblem(path, w, skipped=False) for w in warnings]


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
    for path in article_candidates(folder):
        article, found = _load_candidate(path, max_bytes)
        problems.extend(found)
        if article is None:
            continue
        duplicate = _duplicate_reason(article, articles, by_body)
        if duplicate:
            problems.append(FileProblem(path, duplicate, skipped=True))
            continue
        articles[article.id] = article
        by_body[_body_key(article)] = article.id
    ordered = tuple(articles[i] for i in sorted(articles))
    return LoadReport(articles=ordered, problems=tuple(problems))


def _load_candidate(path: Path, max_bytes: int) -> tuple[Article | None, list[FileProblem]]:
    """Like load_article_file, but names symlink loops, broken links and non-files."""
    problem = not_a_file(path)
    if problem is not None:
        return None, [FileProblem(path, problem, skipped=True)]
    return load_article_file(path, max_bytes=max_bytes)


def _duplicate_reason(
    article: Article, articles: dict[str, Article], by_body: dict[str, str]
) -> str | None:
    if article.id in articles:
        return f"duplicate id {article.id!r} (same name as {articles[article.id].path.name})"
    first = by_body.get(_body_key(article))
    return f"duplicate of {first}" if first is not None else None


def _body_key(article: Article) -> str:
    """Key under which two files with the same body text (up to case and spacing) collide."""
    return comparison_key("\n".join(article.paragraphs))


def body_fingerprint(article: Article) -> str:
    """Short, stored form of the duplicate key: same body text (up to case and spacing)."""
    return hashlib.sha256(_body_key(article).encode()).hexdigest()[:32]
