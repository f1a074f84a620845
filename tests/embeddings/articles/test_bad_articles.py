"""Bad article files at build level: every one is skipped or repaired with its name and the
reason, everything else is indexed, and the build never crashes."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.config import IndexConfig
from embeddings.corpus.sources import Corpus
from embeddings.index.builder import build_index
from embeddings.index.summaries import article_summaries
from tests.conftest import SEEDS
from tests.support.fake_encoders import HashingEncoder

SEED_IDS = {p.stem for p in SEEDS.glob("*.txt")}


def _folder(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    return seeds


def test_every_kind_of_bad_file_is_named_and_the_rest_is_indexed(tmp_path: Path) -> None:
    seeds = _folder(tmp_path)
    noise = random.Random(7).randbytes(4096)
    assert b"\x00" in noise
    (seeds / "random.txt").write_bytes(noise)
    (seeds / "empty.md").write_bytes(b"")
    with (seeds / "huge.txt").open("wb") as handle:  # 100 MB, refused without being read
        handle.truncate(100_000_000)
    (seeds / "long-line.txt").write_text("Long line title\n\n" + "word " * 200_000 + "\n",
                                         encoding="utf-8")
    (seeds / "long-word.txt").write_text(
        "Long word title\n\nPolice met in Hanoi. " + "x" * 100_000 + " ends here.\n",
        encoding="utf-8")
    (seeds / "wrong-types.md").write_text(
        "---\ntitle: [a, list]\ndate: {not: a date}\nsource: 42\nurl: [1, 2]\n---\n"
        "Border guards of both provinces met to review joint patrols.\n", encoding="utf-8")
    (seeds / "mixed.txt").write_bytes(
        "Mixed encodings\n\nCông an Việt Nam met police. ".encode()
        + "Caf\xe9 talks in Vientiane.".encode("cp1252") + b"\n")
    shutil.copy(next(SEEDS.glob("000_*.txt")), seeds / "same-article-again.txt")
    (seeds / "loop-a.md").symlink_to(seeds / "loop-b.md")
    (seeds / "loop-b.md").symlink_to(seeds / "loop-a.md")
    report = build_index(IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index",
                                     max_file_bytes=5_000_000), HashingEncoder())
    skipped = {p.path.name: p.reason for p in report.skipped}
    assert skipped == {
        "random.txt": "binary file (contains NUL bytes)",
        "empty.md": "empty file",
        "huge.txt": "file is 100 MB, over the 5 MB limit",
        "same-article-again.txt": "duplicate of 000_0d9ee5e30ea4e9d7",
        "loop-a.md": "symbolic link loop",
        "loop-b.md": "symbolic link loop",
    }
    repaired = {p.path.name: p.reason for p in report.problems if not p.skipped}
    assert "wrong-types.md" in repaired and "mixed.txt" in repaired
    indexed = {a.id for a in article_summaries(tmp_path / "index")}
    assert indexed == SEED_IDS | {"long-line", "long-word", "wrong-types", "mixed"}


def test_a_file_deleted_or_changed_while_the_build_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = _folder(tmp_path)
    (seeds / "going.md").write_text("---\ntitle: Going\n---\nThis file disappears.\n",
                                    encoding="utf-8")
    (seeds / "changing.md").write_text("---\ntitle: Old\n---\nThe old text.\n", encoding="utf-8")
    load = Corpus.load

    def racing_load(self: Corpus, names: object, *, max_bytes: int) -> object:
        (seeds / "going.md").unlink()  # after the scan listed it, before it is read
        (seeds / "changing.md").write_text("---\ntitle: New\n---\nThe new text.\n",
                                           encoding="utf-8")
        return load(self, names, max_bytes=max_bytes)  # type: ignore[arg-type]

    monkeypatch.setattr(Corpus, "load", racing_load)
    cfg = IndexConfig(seeds_dir=seeds, index_dir=tmp_path / "index")
    report = build_index(cfg, HashingEncoder())
    assert {p.path.name: p.reason for p in report.skipped} == {
        "going.md": "cannot read file: No such file or directory"}
    monkeypatch.setattr(Corpus, "load", load)
    titles = {a.id: a.title for a in article_summaries(cfg.index_dir)}
    assert titles["changing"] == "New"
    # The next build sees the scan's fingerprint was stale and settles both files.
    again = build_index(cfg, HashingEncoder())
    assert again.removed >= 1 and "going" not in {a.id for a in article_summaries(cfg.index_dir)}
    assert build_index(cfg, HashingEncoder()).unchanged


_CONTENT = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda title, body: f"---\ntitle: {title}\n---\n{body}\n".encode("utf-8",
                                                                           "surrogatepass"),
              st.text(max_size=80), st.text(max_size=500)),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(_CONTENT, min_size=1, max_size=6))
def test_a_build_over_any_files_never_crashes_and_accounts_for_each(
    tmp_path: Path, files: list[bytes]
) -> None:
    case = tmp_path / f"case-{os.urandom(4).hex()}"
    seeds = _folder(case)
    names = [f"fuzz-{i}.{'md' if i % 2 else 'txt'}" for i in range(len(files))]
    for name, data in zip(names, files, strict=True):
        (seeds / name).write_bytes(data)
    report = build_index(IndexConfig(seeds_dir=seeds, index_dir=case / "index"),
                         HashingEncoder())
    indexed = {a.id for a in article_summaries(case / "index")}
    skipped = {p.path.name for p in report.skipped}
    assert indexed >= SEED_IDS
    for name in names:  # each file is indexed or named with a reason, never silently lost
        assert (Path(name).stem in indexed) != (name in skipped), name
