"""Changing the index safely: the build lock every change holds, and what a failed write
tells the operator to do."""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

from embeddings.config import IndexConfig
from embeddings.errors import CoopbotError, IndexWriteError
from embeddings.index.layout import build_lock
from embeddings.index.report import BuildObserver


@contextlib.contextmanager
def index_lock(cfg: IndexConfig, observer: BuildObserver | None = None) -> Iterator[None]:
    """Hold the index's build lock: builds, and whatever else reads the index to decide what
    to change, run one at a time. Failing to take it (a read-only folder) is an
    IndexWriteError; errors inside pass through as they are."""
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(build_lock(cfg.index_dir,
                                       observer.waiting_for_lock if observer else None))
    except OSError as exc:
        raise write_error(cfg.index_dir, exc) from exc
    with stack:
        yield


# Below this much free space, a failed write is put down to a full disk.
_NEARLY_FULL_BYTES = 4_000_000


def disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether an OS or SQLite failure came from a full disk.

    A full disk fails first inside SQLite more often than in Python: "database or disk is
    full", or a bare "disk I/O error" when the journal cannot grow. Then the free space says
    whether the disk is why.
    """
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    if "database or disk is full" in text:
        return True
    if "disk i/o error" in text:
        try:
            return shutil.disk_usage(folder if folder.exists() else folder.parent).free \
                < _NEARLY_FULL_BYTES
        except OSError:
            return False
    return False


def write_error(index_dir: Path, exc: Exception) -> CoopbotError:
    """An OS or SQLite failure while changing the index, as a message saying what to do."""
    detail = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
    where = getattr(exc, "filename", None) or index_dir
    if disk_full(exc, index_dir):
        hint = "free some disk space and run `coopbot index` again"
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = ("make the folder writable by this user, or set COOPBOT_INDEX_DIR to a "
                "writable folder")
    elif "locked" in detail:
        hint = "another program holds the index database open for writing; close it and retry"
    else:
        hint = "run `coopbot index` again; if it keeps failing, `coopbot index --full`"
    return IndexWriteError(f"cannot update the index ({detail}: {where}); {hint}. "
                           "The index in use is unchanged")
