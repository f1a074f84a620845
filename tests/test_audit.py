"""How the CI audit script reads pip-audit's report (pip-audit itself is replaced by canned
reports: the real one needs an advisory service this machine may not reach)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "audit.py"


def _audit(monkeypatch: pytest.MonkeyPatch, reports: dict[str, Any]) -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        answer = reports[command[command.index("--vulnerability-service") + 1]]
        if isinstance(answer, Exception):
            return subprocess.CompletedProcess(command, 1, "", f"Traceback\n{answer}")
        return subprocess.CompletedProcess(command, 0, json.dumps(answer), "")

    monkeypatch.setattr(module.subprocess, "run", fake_run)
    return module


SKIPPED = {"dependencies": [
    {"name": "numpy", "version": "2.3.0",
     "skip_reason": "Dependency not found on PyPI and could not be audited: numpy (2.3.0)"}]}
CLEAN = {"dependencies": [{"name": "numpy", "version": "2.3.0", "vulns": []}]}
VULNERABLE = {"dependencies": [
    {"name": "numpy", "version": "2.3.0", "vulns": []},
    {"name": "oldlib", "version": "1.0", "vulns": [
        {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "fix_versions": ["1.1"]}]}]}


def test_a_known_vulnerability_fails_and_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(monkeypatch, {"pypi": VULNERABLE}).main() == 1
    out = capsys.readouterr().out
    assert "2 packages audited" in out and "1 known vulnerability" in out
    assert "oldlib 1.0: PYSEC-2099-1 (CVE-2099-0001); fixed in 1.1" in out


def test_a_clean_environment_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(monkeypatch, {"pypi": CLEAN}).main() == 0
    assert "1 packages audited, 0 skipped, 0 known vulnerabilities" in capsys.readouterr().out


def test_osv_is_asked_when_pypi_skipped_every_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _audit(monkeypatch, {"pypi": SKIPPED, "osv": VULNERABLE}).main() == 1
    assert "dependency audit (osv)" in capsys.readouterr().out


def test_unreadable_services_are_named_and_never_reported_as_a_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = {"pypi": SKIPPED, "osv": ConnectionError("Failed to resolve 'api.osv.dev'")}
    audit = _audit(monkeypatch, reports)
    monkeypatch.setattr(audit, "_project", lambda name: None)
    assert audit.main() == 0
    out = capsys.readouterr().out
    assert "NOT RUN" in out and "no known vulnerabilities" not in out.lower()
    assert "Dependency not found on PyPI and could not be audited" in out
    assert "numpy (2.3.0)" not in out  # the reason once, not once per package
    assert "Failed to resolve 'api.osv.dev'" in out


def test_without_pip_audit_services_the_latest_release_advisories_are_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib import metadata

    numpy_version = metadata.version("numpy")
    reports = {"pypi": SKIPPED, "osv": ConnectionError("Failed to resolve 'api.osv.dev'")}
    audit = _audit(monkeypatch, reports)

    def project(name: str) -> dict[str, Any] | None:
        if name == "numpy":  # installed at its latest release, with an advisory
            return {"info": {"version": numpy_version}, "vulnerabilities": [
                {"id": "PYSEC-2099-7", "aliases": [], "fixed_in": ["99.0"]}]}
        return {"info": {"version": "0.0.0.dev0"}, "vulnerabilities": []}

    monkeypatch.setattr(audit, "_project", project)
    assert audit.main() == 1
    out = capsys.readouterr().out
    assert "falling back to PyPI's advisories for each project's latest release" in out
    assert f"numpy {numpy_version}: PYSEC-2099-7; fixed in 99.0" in out
    assert "advisories readable here for the latest release (0.0.0.dev0) only" in out
    assert "coopbot" not in out.replace("COOPBOT_", "")  # this project is not looked up


def test_nothing_readable_at_all_is_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = _audit(monkeypatch, {"pypi": SKIPPED, "osv": ConnectionError("no DNS")})
    monkeypatch.setattr(audit, "_project", lambda name: None)
    assert audit.main() == 0
    assert "dependency audit: NOT RUN" in capsys.readouterr().out
    monkeypatch.setenv("COOPBOT_AUDIT_REQUIRED", "1")
    assert audit.main() == 1
