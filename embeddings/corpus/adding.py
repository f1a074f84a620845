"""`coopbot add`: turn files, folders and web pages into article files, then update the index.

Every source becomes one Markdown file with YAML front matter (title, date, author, source,
url, language) named ``<date>-<slug>.md`` in the seeds folder, so the corpus stays a folder of
readable files that `coopbot index` alone could rebuild. Duplicates are refused before anything
is written: the same page (canonical URL), the same text, or nearly the same text (MinHash)
as an indexed article or as another source of the same call. The index is then updated in
place, which embeds only the new passages. Checks, writes and update happen under the index's
build lock, so two runs adding the same article at once save it once.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from embeddings.articles.parsing import Article, body_fingerprint, parse_article_with_warnings
from embeddings.articles.reading import (
    UnreadableFileError,
    decode_article_bytes,
    read_article_bytes,
)
from embeddings.articles.web_page import WebArticle, extract_article
from embeddings.config import IndexConfig
from embeddings.corpus.duplicates import KnownArticles, signature
from embeddings.corpus.fetch import FetchLimits, check_url, fetch_page
from embeddings.corpus.sources import is_jsonl
from embeddings.encoders.base import Encoder, Encoders
from embeddings.errors import CoopbotError
from embeddings.index.builder import build_index
from embeddings.index.changes import index_lock
from embeddings.index.engine import article_summaries, known_articles
from embeddings.index.report import BuildObserver, BuildReport

FILE_SUFFIXES = (".txt", ".md", ".html", ".htm")
_HTML = (".html", ".htm")
# What a bad source can raise: each becomes that source's reason, never a crash.
_SOURCE_ERRORS = (CoopbotError, OSError, ValueError, UnreadableFileError)


@dataclass(frozen=True)
class AddOutcome:
    """What became of one source (a file, or a URL)."""

    source: str
    article: Article | None = None
    """The article as saved and indexed (None when refused)."""
    path: Path | None = None
    """The file written into the seeds folder."""
    passages: int = 0
    problem: str | None = None
    """Why it was not added."""
    duplicate: bool = False
    """Not added because the index already has it (not an error)."""


@dataclass(frozen=True)
class AddReport:
    """Every source's outcome, and the index update (None when nothing was added)."""

    outcomes: tuple[AddOutcome, ...]
    build: BuildReport | None

    @property
    def added(self) -> tuple[AddOutcome, ...]:
        """The sources that are now indexed."""
        return tuple(o for o in self.outcomes if o.problem is None)


def add_articles(
    cfg: IndexConfig,
    encoders: Encoder | Encoders,
    sources: Sequence[str],
    *,
    observer: BuildObserver | None = None,
    limits: FetchLimits | None = None,
) -> AddReport:
    """Save each source as an article file in the seeds folder and update the index.

    Args:
        cfg: the index settings; articles are written to `cfg.seeds_dir`.
        encoders: the index's models.
        sources: paths of ``.txt``/``.md``/``.html`` files or of folders of them, and http(s)
            URLs.
        observer: build progress.
        limits: bounds on fetching URLs.

    Returns:
        Per source, the article added or why not; the index update's report.

    Raises:
        CoopbotError: the seeds folder cannot take files (it is a JSONL file), or the index
            update failed (the files written are removed again, the index is unchanged).
    """
    if is_jsonl(cfg.seeds_dir) or cfg.seeds_dir.is_file():
        raise CoopbotError(f"articles are added to a folder, and {cfg.seeds_dir} is a file; "
                           "set COOPBOT_SEEDS_DIR to a folder")
    # Pages are fetched before the lock is taken: a slow site must not hold up other builds.
    found = [pair for item in sources for pair in _expand(item, limits)]
    # The checks, the writes and the build share one hold of the build lock: another `add` of
    # the same article then waits, and its check finds the article indexed. Checked outside
    # it, both runs saw an index without it and both saved a file (issue 16, item 6).
    with index_lock(cfg, observer):
        with known_articles(cfg) as known:
            outcomes = [_prepare(source, web, cfg, known) for source, web in found]
        written = [o for o in outcomes if o.problem is None]
        if not written:
            return AddReport(tuple(outcomes), None)
        try:
            report = build_index(cfg, encoders, observer, locked=True)
        except BaseException:
            for outcome in written:  # leave the corpus as the index still describes it
                assert outcome.path is not None
                outcome.path.unlink(missing_ok=True)
            raise
    return AddReport(tuple(_indexed(o, cfg, report) for o in outcomes), report)


def _expand(item: str, limits: FetchLimits | None) -> list[tuple[str, WebArticle | str]]:
    """(source, its article or why it has none) for one argument; a folder gives many."""
    if "://" in item or item.lower().startswith(("http:", "https:")):
        try:
            page = fetch_page(check_url(item), limits)
            if page.is_html:
                return [(item, extract_article(page.body, page.url))]
            text = page.body.decode(page.charset or "utf-8", errors="replace")
            return [(item, replace(_from_text(text, Path("page.txt")), url=page.url))]
        except _SOURCE_ERRORS as exc:
            return [(item, str(exc))]
    path = Path(item).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.suffix.lower() in FILE_SUFFIXES and p.is_file())
        if not files:
            return [(item, f"no {', '.join(FILE_SUFFIXES)} files in the folder")]
        return [pair for f in files for pair in _expand(str(f), limits)]
    if not path.is_file():
        return [(item, "no such file or folder (URLs start with http:// or https://)")]
    if path.suffix.lower() not in FILE_SUFFIXES:
        return [(item, f"not an article file (expected {', '.join(FILE_SUFFIXES)})")]
    try:
        data = read_article_bytes(path, 5_000_000)
        if path.suffix.lower() in _HTML:
            return [(item, extract_article(data))]
        return [(item, _from_text(decode_article_bytes(data)[0], path))]
    except _SOURCE_ERRORS as exc:
        return [(item, str(exc))]


def _from_text(text: str, path: Path) -> WebArticle:
    article, _ = parse_article_with_warnings(text, path)
    return WebArticle(title=article.title, date=article.date, author=article.byline,
                      source=article.source, url=article.url, language=article.language,
                      paragraphs=article.paragraphs)


def _prepare(source: str, web: WebArticle | str, cfg: IndexConfig,
             known: KnownArticles) -> AddOutcome:
    """Write the article file unless it is a duplicate; `known` learns it."""
    if isinstance(web, str):
        return AddOutcome(source, problem=web)
    text = article_markdown(web)
    target = _free_name(cfg.seeds_dir, file_name(web))
    article, _ = parse_article_with_warnings(text, target)  # exactly what the build will read
    key = body_fingerprint(article)
    sig = signature("\n".join(article.paragraphs))
    reason = known.duplicate_of(article.id, key, article.url, sig, article.date)
    if reason is not None:
        return AddOutcome(source, article, problem=f"already indexed: {reason}", duplicate=True)
    try:
        cfg.seeds_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, text)
    except OSError as exc:  # a full or read-only seeds disk: this source is not added
        return AddOutcome(source, article, problem=_unsaved(cfg.seeds_dir, exc))
    known.add(article.id, target.name, key, article.url, sig, article.date)
    return AddOutcome(source, article, target)


def _indexed(outcome: AddOutcome, cfg: IndexConfig, report: BuildReport) -> AddOutcome:
    """The outcome after the build: its passage count, or the build's reason to skip it."""
    if outcome.problem is not None or outcome.path is None or outcome.article is None:
        return outcome
    skipped = {p.path.name: p.reason for p in report.skipped}
    if outcome.path.name in skipped:
        return replace(outcome, problem=skipped[outcome.path.name])
    found = article_summaries(cfg, [outcome.article.id])
    return replace(outcome, passages=found[0].passages if found else 0)


def article_markdown(article: WebArticle) -> str:
    """The article as Markdown with YAML front matter (the format DESIGN.md names)."""
    fields = {
        "title": article.title, "date": article.date,
        "author": article.author, "source": article.source, "url": article.url,
        "language": article.language,
    }
    front = yaml.safe_dump({k: v for k, v in fields.items() if v}, allow_unicode=True,
                           sort_keys=False, width=1000)
    return f"---\n{front}---\n\n" + "\n\n".join(article.paragraphs) + "\n"


def file_name(article: WebArticle) -> str:
    """``<date>-<slug>.md``, e.g. ``2024-03-02-police-of-vietnam-and-laos-meet.md``."""
    day = article.date.isoformat() if article.date else "undated"
    return f"{day}-{slug(article.title)}.md"


def slug(title: str, max_length: int = 60) -> str:
    """Lower-case ASCII words joined by hyphens ("Công an Việt Nam" -> "cong-an-viet-nam")."""
    plain = unicodedata.normalize("NFKD", title.replace("đ", "d").replace("Đ", "D"))
    ascii_only = plain.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_only)
    out = ""
    for word in words:
        if len(out) + len(word) + 1 > max_length:
            break
        out = f"{out}-{word}" if out else word
    return out or "article"


def _free_name(folder: Path, name: str) -> Path:
    """`name` in `folder`, or ``name-2``, ``name-3``... when taken."""
    target = folder / name
    number = 2
    while target.exists():
        target = folder / f"{Path(name).stem}-{number}.md"
        number += 1
    return target


def _unsaved(folder: Path, exc: OSError) -> str:
    """Why an article file could not be written, and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"cannot save it in {folder}: the disk is full; free some disk space and add "
                "it again")
    return (f"cannot save it in {folder} ({exc.strerror or exc}): make the folder writable, or "
            "set COOPBOT_SEEDS_DIR to a writable folder")


def _write_atomically(target: Path, text: str) -> None:
    """Write via a temporary file so a half-written article is never indexed."""
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=".adding-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

