"""The one number formatter: every interval printed one way, ``estimate (low to high)``."""

from __future__ import annotations

import math

import pytest

from parallax.numbers import Interval, ci, fmt


@pytest.mark.parametrize(("value", "style", "want"), [
    (1234.5, "int", "1,234"), (-0.004, "num", "0.00"), (0.1234, "pct", "12%"),
    (0.1234, "pct1", "12.3%"), (0.0004, "q", "< 0.001"), (1.2345, "or", "1.23"),
    (-12.0, "money", "-€12"), (9.44, "count", "9.4"), (189.4, "count", "189"),
    (None, "num", "–"), (float("nan"), "pct", "–")])
def test_fmt(value, style, want) -> None:
    assert fmt(value, style, "€" if style == "money" else "") == want


def test_sign_and_empty() -> None:
    assert fmt(0.38, "num1", sign=True) == "+0.4"
    assert fmt(-0.38, "num1", sign=True) == "-0.4"
    assert fmt(0.0001, "num1", sign=True) == "0.0"  # nothing to sign
    assert fmt(None, "num1", empty="no data") == "no data"


def test_every_interval_reads_estimate_low_to_high() -> None:
    i = Interval(0.38, 0.262, 0.547)
    assert i.text("num1", scale=100.0, sign=True) == "+38.0 (+26.2 to +54.7)"
    assert ci(i.to_json(), "num1", scale=100.0, sign=True) == i.text("num1", scale=100.0,
                                                                      sign=True)
    assert ci(Interval(0.123, 0.1, 0.15), "pct1", bounds="pct") == "12.3% (10% to 15%)"
    assert ci(Interval.around(189.4, (123.2, 198.0)), "count") == "189 (123 to 198)"
    assert ci(Interval.around(5.5, (0.0, 28.3)), "count") == "5.5 (0.0 to 28)"


def test_missing_parts() -> None:
    assert ci(None) == "–" and ci(None, empty="") == ""
    assert ci({"estimate": None, "ci_low": 1, "ci_high": 2}) == "–"
    assert ci({"estimate": 2.0, "ci_low": None, "ci_high": None}, "or") == "2.00"
    assert ci(Interval.around(0.5, None), "pct") == "50%"
    assert Interval.around(None, (1.0, 2.0)) is None


def test_json_form_is_the_contracts_interval_object() -> None:
    i = Interval(1.5, 0.5, 2.5)
    assert list(i.to_json()) == ["estimate", "ci_low", "ci_high"]
    assert Interval.from_json(i.to_json()) == i
    assert Interval.from_json(None) is None
    half = Interval.from_json({"estimate": 1.0, "ci_low": None, "ci_high": 3.0})
    assert half is not None and math.isnan(half.low) and half.high == 3.0
    assert i.scaled(2.0) == Interval(3.0, 1.0, 5.0)
