"""Audit the locked dependencies against known advisories (CI step, before the tests).

    uv export --format requirements-txt --no-hashes --no-emit-project > req.txt
    uvx pip-audit -r req.txt --no-deps --disable-pip -f json | python .ci/audit.py

A known vulnerability in a locked version fails (exit 1, one line each). Packages the
advisory service could not be asked about (no network, a registry mirror without the
vulnerability API) are a warning, not a failure: the audit is offline-tolerant, never silent.
"""

from __future__ import annotations

import json
import sys


def verdict(report: dict) -> tuple[int, list[str]]:
    """(exit code, lines to print) for pip-audit's JSON report."""
    deps = report.get("dependencies") or []
    lines, vulnerable = [], 0
    for dep in deps:
        for vuln in dep.get("vulns") or ():
            vulnerable += 1
            fixes = ", ".join(vuln.get("fix_versions") or ()) or "no fixed version"
            lines.append(f"audit: {dep['name']} {dep.get('version', '?')}: {vuln.get('id')} "
                         f"(fixed in {fixes})")
    skipped = [d for d in deps if d.get("skip_reason")]
    if skipped:
        lines.append(f"audit: warning: {len(skipped)} of {len(deps)} locked packages could not "
                     "be checked (advisory service unreachable?)")
    if not vulnerable:
        lines.append(f"audit: no known vulnerability in {len(deps) - len(skipped)} checked "
                     "packages")
    return (1 if vulnerable else 0), lines


def main() -> int:
    text = sys.stdin.read().strip()
    if not text:
        print("audit: warning: pip-audit produced no report (advisory service unreachable?)")
        return 0
    code, lines = verdict(json.loads(text))
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
