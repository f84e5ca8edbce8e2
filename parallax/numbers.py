"""Numbers for people, one set of rules for the terminal and the pages: thousands
separators, units, percentages, no ``-0``, tiny q-values as ``< 0.001``, the sign before the
currency (``-€12``), and every interval spelled one way, ``18 (14 to 22)``, like the evidence
sentences. ``Interval`` is the one value type of an estimate with its 95 % interval."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Interval", "cell", "ci", "fmt", "header"]

_DIGITS = {"int": 0, "num1": 1, "pct": 0, "pct1": 1, "ms": 0, "s": 1, "or": 2, "money": 0,
           "num": 2, "q": 3}


def fmt(value: Any, style: str = "num", currency: str = "", *, sign: bool = False,
        empty: str = "–") -> str:
    """int (thousands), num1, num, pct, pct1, ms, s (from ms), or (odds ratio), money, q,
    count (whole from 10 on, else one decimal: what a small count's interval carries).
    ``sign``: ``+`` before a positive number too (changes in points); ``empty``: what a
    missing value reads as."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return empty
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if style == "q" and value < 0.001:
        return "< 0.001"
    x = value * 100 if style in ("pct", "pct1") else value / 1000 if style == "s" else value
    digits = (0 if abs(x) >= 10 else 1) if style == "count" else _DIGITS.get(style, 2)
    if round(x, digits) == 0:  # -0.0, -0.004: nothing to sign
        x = 0.0
    sep = "" if style in ("or", "q") else ","
    body = f"{abs(x):{sep}.{digits}f}"
    lead = "-" if x < 0 else "+" if sign and x > 0 else ""
    if style == "money":
        return f"{lead}{currency}{body}"
    unit = {"pct": "%", "pct1": "%", "ms": " ms", "s": " s"}.get(style, "")
    return f"{lead}{body}{unit}"


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95 % interval (``correlate.settings.LEVEL``). A bound that
    could not be computed is NaN; JSON spells the bounds ``ci_low``/``ci_high`` (the findings
    contract, docs/findings.md)."""

    estimate: float
    low: float
    high: float

    def scaled(self, k: float) -> Interval:
        return Interval(self.estimate * k, self.low * k, self.high * k)

    def text(self, style: str = "num", currency: str = "", **how: Any) -> str:
        """``estimate (low to high)``: the one printed form (see ``ci``)."""
        return ci(self, style, currency, **how)

    def to_json(self) -> dict[str, float]:
        return {"estimate": self.estimate, "ci_low": self.low, "ci_high": self.high}

    @staticmethod
    def from_json(d: Mapping | None) -> Interval | None:
        """An interval object of the JSON contract (None, or without an estimate: None)."""
        if not d or d.get("estimate") is None:
            return None
        nan = float("nan")
        return Interval(d["estimate"], nan if d.get("ci_low") is None else d["ci_low"],
                        nan if d.get("ci_high") is None else d["ci_high"])

    @staticmethod
    def around(estimate: float | None, bounds: tuple[float, float] | None) -> Interval | None:
        """From an estimate and a ``(low, high)`` pair (NaN bounds without one); None
        without an estimate."""
        if estimate is None:
            return None
        low, high = bounds if bounds is not None else (float("nan"), float("nan"))
        return Interval(estimate, low, high)


def ci(i: Interval | Mapping | None, style: str = "num", currency: str = "", *,
       bounds: str | None = None, sign: bool = False, scale: float = 1.0,
       empty: str = "–") -> str:
    """``estimate (low to high)``, every interval printed in Parallax; the estimate alone
    without bounds, ``empty`` without an estimate. ``bounds``: another style for the bounds
    (a rate to one decimal, its interval to whole percent); ``scale``: e.g. 100 for points."""
    if not isinstance(i, Interval):
        i = Interval.from_json(i)
    if i is None or math.isnan(i.estimate):
        return empty
    i = i.scaled(scale) if scale != 1.0 else i
    est = fmt(i.estimate, style, currency, sign=sign)
    if math.isnan(i.low) or math.isnan(i.high):
        return est
    b = bounds or style
    return (f"{est} ({fmt(i.low, b, currency, sign=sign)} to "
            f"{fmt(i.high, b, currency, sign=sign)})")


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
