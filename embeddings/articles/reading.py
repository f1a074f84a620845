"""Read the bytes of an article file within a size limit and decode them to text.

Reading is bounded because a stray huge or special file in the seeds folder must not hang or
exhaust a build; decoding refuses empty and binary files and falls back from UTF-8 with a warning.
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

from embeddings.articles.common import ArticleFormatError

__all__ = ["UnreadableFileError", "decode_article_bytes", "read_article_bytes"]

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


class UnreadableFileError(Exception):
    """The file cannot be read whole: over the size limit or not a regular file (message)."""


def read_article_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a file's bytes, refusing files over `max_bytes` before reading them.

    Args:
        path: The file.
        max_bytes: The largest size accepted.

    Returns:
        The file contents.

    Raises:
        UnreadableFileError: The file is too large or not a regular file.
        OSError: The file cannot be opened or read.
    """
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        # Opening a FIFO or device named like an article would block or never end.
        raise UnreadableFileError("not a regular file")
    size = status.st_size
    if size > max_bytes:
        limit = _format_size(max_bytes)
        raise UnreadableFileError(f"file is {_format_size(size)}, over the {limit} limit")
    with path.open("rb") as handle:
        # Read one byte past the limit: the file may have grown since stat.
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnreadableFileError(f"file is over the {_format_size(max_bytes)} limit")
    return data


def _format_size(size: int) -> str:
    """'950 bytes', '1.5 kB', '5 MB'."""
    if size < 1000:
        return f"{size} bytes"
    value, unit = (size / 1000, "kB") if size < 1_000_000 else (size / 1_000_000, "MB")
    return f"{value:.1f} {unit}".replace(".0 ", " ")
