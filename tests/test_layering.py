"""The layers of `tests/support/layers.py` hold, and the check catches a violating import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.layers import violations

ROOT = Path(__file__).resolve().parent.parent


def test_the_project_keeps_its_layers() -> None:
    assert violations(ROOT) == []


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in ("embeddings", "bot"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _append(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


@pytest.mark.parametrize(("module", "line", "says"), [
    ("bot.telegram_bot.questions", "from embeddings.search.retrieval import Retriever",
     "bot/ imports only the facade"),
    ("bot.cli.main", "import embeddings.search.retrieval", "bot/ imports only the facade"),
    ("embeddings.search.retrieval", "from bot.settings import Settings",
     "the core never imports the front ends"),
    ("embeddings.index.builder", "import telegram", "a front end's libraries"),
    ("embeddings.text", "from embeddings.search.glossary import english_terms",
     "the base modules"),
    ("embeddings.search.fusion", "from embeddings.service import Library",
     "only front ends import the facade"),
    ("bot.telegram_bot.app", "from bot.cli.main import main", "never imports the CLI"),
    ("embeddings.chunking.sentences", "from embeddings.chunking.chunker import Unit",
     "import cycle"),
])
def test_a_violating_import_is_caught(copy: Path, module: str, line: str, says: str) -> None:
    _append(copy, module, line)
    found = violations(copy)
    assert any(says in v for v in found), found


def test_type_checking_imports_count_too(copy: Path) -> None:
    _append(copy, "bot.telegram_bot.state", "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from embeddings.search.retrieval import Retriever")
    assert any("bot.telegram_bot.state imports embeddings.search.retrieval" in v
               for v in violations(copy))
