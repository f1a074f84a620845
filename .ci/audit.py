"""Dependency vulnerability audit of the installed environment, with its report shown.

Runs pip-audit against PyPI's advisory data, then OSV's if PyPI's cannot be read. Exit
status: 1 when a known vulnerability is found (or when no advisory service could be reached
and COOPBOT_AUDIT_REQUIRED=1), else 0. A machine that reaches only a package mirror cannot
audit: the report then says so, loudly, rather than printing a pass that checked nothing
(pip-audit alone prints "No known vulnerabilities found" when it skipped every package).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

TIMEOUT_S = 180


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


def main() -> int:
    """Audit, print the report, return the exit status."""
    failures = []
    for service in ("pypi", "osv"):
        report, why = run_pip_audit(service)
        if report is not None:
            return 1 if summarise(report, service) else 0
        failures.append(why)
    print("dependency audit: NOT RUN, no advisory service could be read from this machine:")
    for why in failures:
        print(f"  {why}")
    if os.environ.get("COOPBOT_AUDIT_REQUIRED") == "1":
        print("COOPBOT_AUDIT_REQUIRED=1: failing", file=sys.stderr)
        return 1
    print("  (set COOPBOT_AUDIT_REQUIRED=1 to fail instead; run `make audit` where PyPI's JSON "
          "API or api.osv.dev is reachable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
