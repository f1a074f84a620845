"""Read the YAML front-matter block of an article and coerce it into metadata.

Front matter is written by hand, so it is repaired rather than rejected: an impossible date, a
list as title or invalid YAML becomes a warning string and the article body is still used.
"""

from __future__ import annotations

import datetime

import yaml

from embeddings.articles.common import ArticleMeta, clean_line, error_summary, shorten
from embeddings.articles.dates import parse_date_text


class _NoTimestampLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings.

    ``date: 2023-02-30`` makes safe_load raise ValueError, losing every other key; reloading
    with this loader keeps the rest and lets the date be reported on its own.
    """


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# "author" comes after "byline": it only fills the byline when that is missing.
_TEXT_KEYS = ("title", "source", "url", "language", "place", "byline", "author")


def split_front_matter(lines: list[str]) -> tuple[str, list[str]] | None:
    """Split a ``---`` front-matter block off the top of a file.

    Args:
        lines: The file's raw lines.

    Returns:
        The YAML text and the body lines, or ``None`` when there is no closed block at the top.
    """
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or lines[start].strip() != "---":
        return None
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            return "\n".join(lines[start + 1 : end]), lines[end + 1 :]
    return None


def read_front_matter(block: str, warnings: list[str]) -> ArticleMeta:
    """Read metadata from a front-matter block, repairing what can be repaired.

    Args:
        block: The YAML text between the ``---`` lines.
        warnings: Receives one message per repair.

    Returns:
        The metadata; empty when the block is unreadable or not a mapping.
    """
    data, problem = _load_yaml(block)
    if problem:
        warnings.append(problem)
        return ArticleMeta()
    if data is None:
        return ArticleMeta()
    if not isinstance(data, dict):
        warnings.append(
            f"front matter is not a mapping (got {type(data).__name__}); metadata ignored"
        )
        return ArticleMeta()
    return meta_from_mapping(data, warnings)


def meta_from_mapping(data: dict[object, object], warnings: list[str]) -> ArticleMeta:
    """Metadata from key/value pairs (front matter, a JSONL record), repairing wrong types.

    Args:
        data: keys such as ``title``, ``date``, ``source``, ``url``, ``author``; case-insensitive.
        warnings: Receives one message per repair.
    """
    fields = {str(k).strip().lower(): v for k, v in data.items()}
    meta = ArticleMeta(date=_coerce_date(fields.get("date"), warnings))
    for key in _TEXT_KEYS:
        if key in fields:
            value = _coerce_text(key, fields[key], warnings)
            target = "byline" if key == "author" else key
            if value is not None and getattr(meta, target) is None:
                setattr(meta, target, value)
    if meta.language is not None:
        meta.language = meta.language.lower()  # language tags are case-insensitive
    return meta


def _load_yaml(block: str) -> tuple[object, str | None]:
    """safe_load the block; on failure return (None, warning) so the body is still used."""
    try:
        return yaml.safe_load(block), None
    except yaml.YAMLError as exc:
        return None, f"front matter is not valid YAML ({error_summary(exc)}); metadata ignored"
    except ValueError:
        pass  # an impossible timestamp; retried below without timestamp resolution
    except Exception as exc:  # hostile input can hit e.g. RecursionError
        return None, _unreadable(exc)
    try:
        return yaml.load(block, Loader=_NoTimestampLoader), None  # still a SafeLoader
    except Exception as exc:  # same reasons as above
        return None, _unreadable(exc)


def _unreadable(exc: Exception) -> str:
    return f"front matter could not be read ({type(exc).__name__}); metadata ignored"


def _coerce_date(value: object, warnings: list[str]) -> datetime.date | None:
    """A front-matter date from yaml's date/datetime/str, or None with a warning for garbage."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):  # before date: datetime is a date subclass
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        parsed = parse_date_text(clean_line(value))
        if parsed is not None:
            return parsed
    warnings.append(f"front matter date {shorten(value)} is not a date; date left empty")
    return None


def _coerce_text(key: str, value: object, warnings: list[str]) -> str | None:
    """A front-matter text field; lists are joined and numbers converted, with a warning."""
    if value is None:
        return None
    if isinstance(value, str):
        return clean_line(value) or None
    if isinstance(value, list | tuple):
        parts = [clean_line(str(v)) for v in value if _is_scalar(v)]
        joined = (" " if key == "title" else ", ").join(p for p in parts if p)
        warnings.append(f"front matter {key} is a list; joined into {shorten(joined)}")
        return joined or None
    if not _is_scalar(value):
        warnings.append(f"front matter {key} {shorten(value)} is not text; ignored")
        return None
    text = clean_line(str(value))
    warnings.append(f"front matter {key} {shorten(value)} is not text; converted to {text!r}")
    return text or None


def _is_scalar(value: object) -> bool:
    """Text-like yaml scalars; booleans are not ('language: no' loads as False)."""
    return isinstance(value, str | int | float | datetime.date) and not isinstance(value, bool)
