"""The index on disk: a root folder holding builds and a pointer to the current one.

    index/
      CURRENT                  name of the build being served (replaced atomically)
      builds/<name>/           meta.sqlite (manifest, articles, sentences, passages, FTS5
                               keyword index), vectors-<space>-<generation>.faiss
      embedding-cache.sqlite   vectors by model + text, survives rebuilds
      build.lock               serialises concurrent builds and updates

Two ways to change an index, both crash-safe:

* A **full build** (first build, other model or chunker) is written under
  ``builds/.tmp-<name>``, renamed into place, and only then does CURRENT change.
* An **update** (articles added, changed or removed) changes the current build in place, in one
  SQLite transaction. New FAISS files are written under new names first; the transaction that
  commits the passages also switches the manifest to those files. A crash before the commit
  leaves the old state (and an orphan file that the next update deletes); after it, the new one.

A reader resolves CURRENT and then opens the build's files; a full rebuild may delete that build
in between. `on_current_build` then reads the build CURRENT names now, so a reader opens the old
build or the new one, whole, and a failure is put down to damage only on the build still current.

A process serving the build keeps its open FAISS files (on POSIX an unlinked file lives on until
closed) and reads passages through SQLite, which shows it the last committed state: passages of
removed articles simply stop resolving, and `LoadedIndex.changed` tells it to reopen.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from embeddings.errors import CoopbotError, IndexLockedError, IndexMissingError

T = TypeVar("T")

META = "meta.sqlite"
CURRENT = "CURRENT"
CACHE = "embedding-cache.sqlite"
LOCK = "build.lock"
FILL_LOCK = "fill.lock"
"""Held by the process filling in multilingual vectors, so that two never encode the same."""
TMP_PREFIX = ".tmp-"


def current_build(root: Path) -> Path | None:
    """The build folder CURRENT points to, or None when there is none."""
    tried = None
    for _ in range(5):  # bounded: rebuilds in a tight loop could keep renaming it
        try:
            name = (root / CURRENT).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        build = root / "builds" / name
        if name and build.is_dir():
            return build
        if name == tried:
            return None
        # A full rebuild points CURRENT at its build before deleting the old one: a folder
        # gone under the name just read means CURRENT names another by now.
        tried = name
    return None


def on_current_build(root: Path, read: Callable[[Path], T], attempts: int = 5) -> T:
    """`read(build)` on the current build, again on the next one if a full rebuild deleted
    it meanwhile.

    A reader resolves CURRENT, then opens the build's files; a rebuild can swap builds and
    delete the old one in between, and the half-deleted build then reads as damaged. Such a
    failure is retried on the build CURRENT names now; one on the build still current (truly
    damaged, or built differently) is raised.

    Raises:
        IndexMissingError: no build is current.
        CoopbotError: whatever `read` raised on a build that is still current (or on the last
            of `attempts` builds).
    """
    for attempt in range(1, attempts + 1):
        build = require_build(root)
        try:
            return read(build)
        except CoopbotError:
            if attempt == attempts or current_build(root) == build:
                raise
    raise AssertionError("unreachable")  # the last attempt returns or raises


def require_build(root: Path) -> Path:
    """The current build folder; IndexMissingError when none was built."""
    build = current_build(root)
    if build is None:
        raise IndexMissingError(f"no index in {root}: run `coopbot index` to build it")
    return build


@contextlib.contextmanager
def build_lock(
    root: Path, on_wait: Callable[[], None] | None = None, *, wait: bool = True,
    name: str = LOCK,
) -> Iterator[None]:
    """Hold the index's build lock (or another lock file of the index: `name`); call on_wait
    once if another build holds it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / name, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexLockedError(f"another build of {root} is running") from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fsync(path: Path) -> None:
    """Flush a file's (or a folder's) data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_build_folder(root: Path, name: str) -> Path:
    """An empty temporary folder for a full build, replacing any left by a crash."""
    builds = root / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    folder = builds / f"{TMP_PREFIX}{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def publish(root: Path, folder: Path) -> Path:
    """Rename a finished temporary build into place and point CURRENT at it, durably."""
    fsync(folder / META)
    final = root / "builds" / folder.name.removeprefix(TMP_PREFIX)
    os.replace(folder, final)
    pointer = root / f"{CURRENT}.tmp"
    pointer.write_text(final.name + "\n", encoding="utf-8")
    fsync(pointer)
    os.replace(pointer, root / CURRENT)
    fsync(root)
    return final


def remove_unreferenced(folder: Path, keep: set[str]) -> None:
    """Delete vector files no manifest points to (older generations, crashed updates)."""
    for path in folder.glob("vectors-*.faiss"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def prune_builds(root: Path) -> None:
    """Delete builds other than the current one, and temporaries left by crashed builds.

    Call it only while holding the build lock. A process still serving an old build keeps its
    open files: on POSIX an unlinked file lives on until closed.
    """
    keep = current_build(root)
    builds = root / "builds"
    if not builds.is_dir():
        return
    for path in builds.iterdir():
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)
