"""Numbers for people, one set of rules for the terminal and the pages: thousands
separators, units, percentages, no ``-0``, tiny q-values as ``< 0.001``, the sign before the
currency (``-€12``), intervals as ``18 (14 to 22)`` like the evidence sentences."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["cell", "ci", "fmt", "header"]

_DIGITS = {"int": 0, "num1": 1, "pct": 0, "pct1": 1, "ms": 0, "s": 1, "or": 2, "money": 0,
           "num": 2, "q": 3}


def fmt(value: Any, style: str = "num", currency: str = "") -> str:
    """int (thousands), num1, num, pct, pct1, ms, s (from ms), or (odds ratio), money, q."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if style == "q" and value < 0.001:
        return "< 0.001"
    x = value * 100 if style in ("pct", "pct1") else value / 1000 if style == "s" else value
    digits = _DIGITS.get(style, 2)
    if round(x, digits) == 0:  # -0.0, -0.004: nothing to sign
        x = 0.0
    sep = "" if style in ("or", "q") else ","
    body = f"{abs(x):{sep}.{digits}f}"
    sign = "-" if x < 0 else ""
    if style == "money":
        return f"{sign}{currency}{body}"
    unit = {"pct": "%", "pct1": "%", "ms": " ms", "s": " s"}.get(style, "")
    return f"{sign}{body}{unit}"


def ci(d: dict | None, style: str = "num", currency: str = "") -> str:
    """``estimate (low to high)`` of an interval dict; the estimate alone without bounds."""
    if not d or d.get("estimate") is None:
        return "–"
    est = fmt(d["estimate"], style, currency)
    if d.get("ci_low") is None or d.get("ci_high") is None:
        return est
    return f"{est} ({fmt(d['ci_low'], style, currency)} to {fmt(d['ci_high'], style, currency)})"


def cell(column: str, value: Any) -> str:
    """A value of a query row for a terminal table: yes/no, times to the second (UTC),
    ``*_ms`` columns in ms, whole numbers without ``.0``, lists joined."""
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, list | tuple):
        return "; ".join(cell(column, v) for v in value)
    if isinstance(value, int | float):
        if column.endswith("_ms"):
            return fmt(value, "ms")
        return fmt(value, "int" if float(value).is_integer() else "num")
    return str(value)


def header(column: str) -> str:
    """A column name as a header: ``load_ms`` -> ``load`` (the cells carry the unit)."""
    return column.removesuffix("_ms").replace("_", " ")
