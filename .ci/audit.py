"""Dependency vulnerability audit of the installed environment, with its report shown.

Runs pip-audit against PyPI's advisory data, then OSV's if PyPI's cannot be read. Where
neither can be read (a machine that reaches only a package mirror: PyPI's per-release JSON
API and api.osv.dev are out of reach there), it falls back to the advisories PyPI publishes
for each project's latest release (`/pypi/<name>/json`), which cover every installed package
that is at its latest release, and names the packages it could not check. Exit status: 1 when
a known vulnerability is found (or when nothing could be audited and
COOPBOT_AUDIT_REQUIRED=1), else 0. pip-audit alone prints "No known vulnerabilities found"
when it skipped every package; this report never calls that a pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from typing import Any

TIMEOUT_S = 180
PYPI = "https://pypi.org/pypi"


def run_pip_audit(service: str) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report for the local environment, or None and why there is none."""
    command = [sys.executable, "-m", "pip_audit", "--local", "--format", "json",
               "--progress-spinner", "off", "--vulnerability-service", service]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return None, f"{service}: no answer within {TIMEOUT_S} s"
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{service}: {last[:300]}"
    audited = [d for d in report.get("dependencies", []) if "skip_reason" not in d]
    if not audited:
        # "Dependency not found on PyPI and could not be audited: numpy (2.3.0)": the reason
        # without the package, once.
        reasons = {d["skip_reason"].split(":")[0] for d in report.get("dependencies", [])}
        return None, f"{service}: every package skipped ({'; '.join(sorted(reasons))[:300]})"
    return report, ""


def summarise(report: dict[str, Any], service: str) -> int:
    """Print the report; returns the number of vulnerabilities found."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    found = [(d, v) for d in dependencies for v in d.get("vulns", [])]
    print(f"dependency audit ({service}): {len(dependencies) - len(skipped)} packages audited, "
          f"{len(skipped)} skipped, {len(found)} known vulnerabilit"
          f"{'y' if len(found) == 1 else 'ies'}")
    for dep in skipped:
        print(f"  skipped {dep['name']} {dep.get('version', '')}: {dep['skip_reason']}")
    for dep, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
        aliases = ", ".join(vuln.get("aliases", []))
        print(f"  {dep['name']} {dep['version']}: {vuln['id']}"
              f"{f' ({aliases})' if aliases else ''}; fixed in {fixes}")
    return len(found)


def latest_release_report() -> tuple[dict[str, Any] | None, str]:
    """A pip-audit-shaped report from PyPI's advisories for each project's latest release:
    packages installed at another version are skipped, with the reason."""
    installed = sorted({(_name(d), d.version) for d in metadata.distributions()} - {
        ("coopbot", metadata.version("coopbot"))})  # this project: not from PyPI
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(_project, (name for name, _ in installed)))
    if all(a is None for a in answers):
        return None, f"{PYPI}/<name>/json: no answer for any package"
    dependencies = []
    for (name, version), project in zip(installed, answers, strict=True):
        if project is None:
            dependencies.append({"name": name, "version": version,
                                 "skip_reason": "no PyPI project page"})
            continue
        latest = project["info"]["version"]
        if _public(version) != _public(latest):
            dependencies.append({
                "name": name, "version": version,
                "skip_reason": f"advisories readable here for the latest release ({latest}) "
                               "only"})
            continue
        dependencies.append({"name": name, "version": version, "vulns": [
            {"id": v["id"], "aliases": v.get("aliases", []), "fix_versions": v.get("fixed_in", [])}
            for v in project.get("vulnerabilities", [])]})
    return {"dependencies": dependencies}, ""


def _name(dist: metadata.Distribution) -> str:
    return re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()


def _public(version: str) -> str:
    return version.split("+", 1)[0]  # torch 2.13.0+cpu is release 2.13.0


def _project(name: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=30) as response:
            project: dict[str, Any] = json.load(response)
            return project
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def main() -> int:
    """Audit, print the report, return the exit status."""
    failures = []
    for service in ("pypi", "osv"):
        report, why = run_pip_audit(service)
        if report is not None:
            return 1 if summarise(report, service) else 0
        failures.append(why)
    print("dependency audit: pip-audit could not read an advisory service from this machine:")
    for why in failures:
        print(f"  {why}")
    report, why = latest_release_report()
    if report is not None:
        print("falling back to PyPI's advisories for each project's latest release:")
        return 1 if summarise(report, "PyPI, latest releases") else 0
    print(f"dependency audit: NOT RUN ({why})")
    if os.environ.get("COOPBOT_AUDIT_REQUIRED") == "1":
        print("COOPBOT_AUDIT_REQUIRED=1: failing", file=sys.stderr)
        return 1
    print("  (set COOPBOT_AUDIT_REQUIRED=1 to fail instead; run `make audit` where PyPI's JSON "
          "API or api.osv.dev is reachable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
