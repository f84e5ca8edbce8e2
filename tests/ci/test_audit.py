"""The CI audit step: a known vulnerability fails, an unreachable advisory service warns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "ci_audit", Path(__file__).resolve().parents[2] / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(audit)


def test_a_known_vulnerability_fails_with_its_id():
    code, lines = audit.verdict({"dependencies": [
        {"name": "jinja2", "version": "3.1.4",
         "vulns": [{"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"]}]},
        {"name": "orjson", "version": "3.13.0", "vulns": []}]})
    assert code == 1
    assert lines[0] == "audit: jinja2 3.1.4: GHSA-q2x7-8rv6-6q7h (fixed in 3.1.5)"


def test_unreachable_advisories_warn_but_pass():
    code, lines = audit.verdict({"dependencies": [
        {"name": "altair", "skip_reason": "Dependency not found on PyPI"},
        {"name": "orjson", "version": "3.13.0", "vulns": []}]})
    assert code == 0
    assert any("1 of 2 locked packages could not be checked" in line for line in lines)


def test_a_clean_report_passes():
    code, lines = audit.verdict({"dependencies": [{"name": "orjson", "version": "3", "vulns": []}]})
    assert (code, lines) == (0, ["audit: no known vulnerability in 1 checked packages"])
