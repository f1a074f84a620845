"""Import boundaries: a fast --help, and a core that never pulls in front-end libraries."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_help_does_not_import_torch() -> None:
    proc = _run(
        "import sys\n"
        "from bot.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers', 'numpy') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "ask" in proc.stdout and "HEAVY []" in proc.stdout


def test_core_does_not_import_front_end_libraries() -> None:
    proc = _run(
        "import sys, pkgutil, importlib, embeddings\n"
        "for m in pkgutil.iter_modules(embeddings.__path__):\n"
        "    importlib.import_module('embeddings.' + m.name)\n"
        "bad = [m for m in ('telegram', 'bot', 'argparse', 'dotenv', 'tqdm') if m in sys.modules]\n"
        "print('BAD', bad)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "BAD []" in proc.stdout
