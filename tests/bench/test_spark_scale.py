"""The Spark scale benchmark's comparison of two engines' findings: a verdict that differs, or a
subject only one engine reports, is a disagreement; numbers are compared path by path, and
rounding noise near zero is not a difference."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parents[2] / "bench"
_SPEC = importlib.util.spec_from_file_location("spark_scale", _BENCH / "spark_scale.py")
assert _SPEC and _SPEC.loader
scale = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = scale
_SPEC.loader.exec_module(scale)


def _finding(subject: str, verdict: str, **extra) -> dict:
    return {"subject_kind": "route", "subject": subject, "verdict": verdict, **extra}


def test_numbers_walks_dicts_and_lists_and_skips_booleans():
    doc = {"n": 3, "ok": True, "odds": {"estimate": 1.5, "ci": [1.0, 2.0]}, "text": "x"}
    assert scale.numbers(doc) == {"n": 3.0, "odds.estimate": 1.5, "odds.ci[0]": 1.0,
                                  "odds.ci[1]": 2.0}


def test_same_findings_agree():
    a = [_finding("/a", "delivery", p=0.01), _finding("/b", "design", p=0.2)]
    out = scale.agreement(a, list(reversed(a)))
    assert out["agree"] and out["subjects"] == 2 and out["max_rel_diff"] == 0.0


def test_a_different_verdict_or_a_missing_subject_disagrees():
    a = [_finding("/a", "delivery"), _finding("/b", "design")]
    b = [_finding("/a", "mixed"), _finding("/c", "design")]
    out = scale.agreement(a, b)
    assert not out["agree"] and out["subjects"] == 3
    assert out["differ"] == ["route /a: delivery vs mixed", "route /b: design vs -",
                             "route /c: - vs design"]


def test_largest_relative_difference_and_where():
    a = [_finding("/a", "delivery", odds={"estimate": 2.0}, tiny=1e-15)]
    b = [_finding("/a", "delivery", odds={"estimate": 2.002}, tiny=3e-15)]
    out = scale.agreement(a, b)
    assert out["agree"]
    assert abs(out["max_rel_diff"] - 0.002 / 2.002) < 1e-12
    assert out["max_rel_diff_at"] == "route /a: odds.estimate"  # not the noise at 1e-15
