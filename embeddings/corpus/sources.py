"""The corpus an index is built from: a folder of article files, or JSONL collections.

A corpus is a set of *entries*, each with a name and a content fingerprint: one per ``.txt`` /
``.md`` file, and one per line of a ``.jsonl`` / ``.jsonl.gz`` collection (fields ``id``,
``title``, ``date``, ``url``, ``text``, optionally ``source``, ``author``, ``language``). The
builder compares fingerprints with the index's and parses only new or changed entries, so an
unchanged corpus costs a scan, not a rebuild.

The source is either a folder (its article files and its JSONL files) or one JSONL file.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from embeddings.articles.common import ArticleFormatError, error_summary
from embeddings.articles.parsing import (
    DEFAULT_MAX_FILE_BYTES,
    Article,
    FileProblem,
    LoadReport,
    article_candidates,
    load_article_file,
    not_a_file,
    parse_article_fields,
)
from embeddings.index.manifest import fingerprint_bytes

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
_UNSAFE_ID = re.compile(r"[^\w.-]+")


def is_jsonl(path: Path) -> bool:
    """True for a ``.jsonl`` or ``.jsonl.gz`` file name."""
    return path.name.lower().endswith(JSONL_SUFFIXES)


@dataclass
class Corpus:
    """Entries found in a source: name -> fingerprint, and how to parse each one."""

    source: Path
    fingerprints: dict[str, str] = field(default_factory=dict)
    _files: dict[str, Path] = field(default_factory=dict)
    _records: dict[str, tuple[Path, int, bytes]] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)
    """Entries that cannot even be listed (a JSONL line that is not JSON, say)."""

    def load(self, names: Iterable[str], *, max_bytes: int) -> LoadReport:
        """Parse the named entries. Bad ones come back as skipped problems, never raise."""
        articles: list[Article] = []
        problems: list[FileProblem] = []
        for name in names:
            if name in self._files:
                article, found = load_article_file(self._files[name], max_bytes=max_bytes)
            else:
                article, found = parse_record(*self._records[name])
            problems.extend(found)
            if article is not None:
                articles.append(article)
        return LoadReport(tuple(articles), tuple(problems))


def scan_corpus(source: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Corpus:
    """List a source's entries with their fingerprints (reads every file once).

    A file over `max_bytes` is not read: its fingerprint is its size and modification time
    (loading it reports it as too large). Entries with an article suffix that are not regular
    files (a symlink loop, a broken link, a folder) are reported as problems.

    Raises:
        FileNotFoundError: the source does not exist.
        NotADirectoryError: the source is a file that is not JSONL.
    """
    corpus = Corpus(source)
    if not source.exists():
        raise FileNotFoundError(f"article source does not exist: {source}")
    if source.is_file():
        if not is_jsonl(source):
            raise NotADirectoryError(
                f"article source must be a folder or a .jsonl/.jsonl.gz file: {source}"
            )
        _scan_jsonl(corpus, source)
        return corpus
    for path in article_candidates(source):
        problem = not_a_file(path)
        if problem is not None:
            corpus.problems.append(FileProblem(path, problem, skipped=True))
            continue
        corpus.fingerprints[path.name] = _file_fingerprint(path, max_bytes)
        corpus._files[path.name] = path
    for path in sorted(source.iterdir(), key=lambda p: p.name):
        if is_jsonl(path) and not path.name.startswith(".") and path.is_file():
            _scan_jsonl(corpus, path)
    return corpus


def _file_fingerprint(path: Path, max_bytes: int) -> str:
    try:
        info = path.stat()
        if info.st_size > max_bytes:  # never read only to be refused (a 100 MB file, say)
            return f"oversized:{info.st_size}:{info.st_mtime_ns}"
        return fingerprint_bytes(path.read_bytes())
    except OSError:
        return "unreadable"  # load() reports why it cannot be read


def _scan_jsonl(corpus: Corpus, path: Path) -> None:
    try:
        lines = list(_read_lines(path))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        corpus.problems.append(FileProblem(path, f"cannot read ({error_summary(exc)})", True))
        return
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record_id = json.loads(line).get("id")
        except (ValueError, AttributeError):
            reason = f"line {number} is not a JSON object"
            corpus.problems.append(FileProblem(_entry_path(path, f"line-{number}"), reason, True))
            continue
        key = _record_key(record_id, number)
        name = f"{path.name}#{key}"
        if name in corpus.fingerprints:
            reason = f"line {number}: duplicate id {key!r} in {path.name}"
            corpus.problems.append(FileProblem(_entry_path(path, key), reason, True))
            continue
        corpus.fingerprints[name] = fingerprint_bytes(line)
        corpus._records[name] = (path, number, line)


def _read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        yield from enumerate(handle, start=1)


def safe_id(value: str) -> str:
    """An article id made of letters, digits, dots, dashes and underscores."""
    return _UNSAFE_ID.sub("-", value).strip("-")[:160] or "article"


def _entry_path(path: Path, key: str) -> Path:
    """A path whose name identifies one record, for problem reports."""
    return path.with_name(f"{path.name}#{key}")


def _record_key(record_id: object, number: int) -> str:
    """A record's article id: its own id made safe, or its line number."""
    return safe_id(str(record_id)) if record_id not in (None, "") else f"line-{number}"


def parse_record(path: Path, number: int, line: bytes) -> tuple[Article | None, list[FileProblem]]:
    """Parse one JSONL line into an article; problems name the record, never raise.

    Args:
        path: the JSONL file.
        number: the line number (1-based), used when the record has no id.
        line: the raw line.
    """
    where = _entry_path(path, f"line-{number}")
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            raise ArticleFormatError("not a JSON object")
        key = _record_key(record.get("id"), number)
        where = _entry_path(path, key)
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ArticleFormatError("no text field")
        fields = {k: v for k, v in record.items() if k not in ("id", "text")}
        if not fields.get("source") and isinstance(fields.get("url"), str):
            fields["source"] = _site(fields["url"])
        article, warnings = parse_article_fields(fields, text, key, path)
    except ArticleFormatError as exc:
        return None, [FileProblem(where, f"line {number}: {exc}", skipped=True)]
    except Exception as exc:  # one odd record must not stop the load
        reason = f"line {number}: could not parse ({type(exc).__name__}: {error_summary(exc)})"
        return None, [FileProblem(where, reason, skipped=True)]
    return article, [FileProblem(where, w, skipped=False) for w in warnings]


def _site(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


REMOVED = ".removed"
"""Folder inside the seeds folder where removed article files are kept (never scanned)."""


def remove_entry(source: Path, entry: str) -> Path:
    """Take an entry out of the corpus; returns the file that changed or was moved.

    An article file moves to ``<seeds>/.removed/`` (recoverable; hidden folders are not
    read). A JSONL record is dropped from its file, which is rewritten atomically.

    Raises:
        FileNotFoundError: the entry's file is not in the source any more.
    """
    name, _, key = entry.partition("#")
    folder = source if source.is_dir() else source.parent
    path = source if source.is_file() else folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not in the article source any more")
    if not key:
        target = folder / REMOVED / name
        target.parent.mkdir(exist_ok=True)
        os.replace(path, _free_name(target))
        return path
    kept = [line for number, line in _read_lines(path)
            if not line.strip() or _line_key(line, number) != key]
    tmp = path.with_name(f".{path.name}.tmp")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(tmp, "wb") as handle:
        handle.writelines(kept)
    os.replace(tmp, path)
    return path


def _line_key(line: bytes, number: int) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return _record_key(record.get("id"), number) if isinstance(record, dict) else None


def _free_name(target: Path) -> Path:
    """`target`, or `target` with a number added if a file of that name was removed before."""
    candidate, n = target, 1
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1
    return candidate

