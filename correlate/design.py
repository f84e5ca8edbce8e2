"""Design matrices: subject dummies (one per level, no intercept), control dummies, delivery.

Subject levels with fewer than ``min_level`` rows are pooled as ``(other)``; control levels
that rare join the control's most common level (its reference). Delivery columns are
``log_load``, ``error``, one ``fail:<dependency>`` per dependency with any served failure and
one ``vital:<METRIC>`` per Core Web Vital measured above its "good" threshold on any row.
With ``slopes_at`` (a log-load), each subject level also gets its own deviation from the
common load slope, ``slope:<factor>=<level>`` = (level's row) × (log_load − slopes_at), on the
``slope_rows`` only (rows whose load is the customer's own: a route-and-time link's window
mean says little about one customer's page and would flatten a route's slope); a
counterfactual that replaces ``log_load`` moves these columns with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from parallax.correlate.frame import Frame
from parallax.correlate.settings import Settings

__all__ = ["OTHER", "Design", "build_design", "delivery_columns", "good_delivery", "pooled"]

OTHER = "(other)"


@dataclass(frozen=True)
class Design:
    X: np.ndarray
    names: tuple[str, ...]
    factor: str  # the subject factor's name (route, device, …)
    levels: tuple[str, ...]  # subject levels, in the order of their columns
    subject: np.ndarray  # each row's (pooled) level
    slopes_at: float | None = None  # per-level slope deviations centred here (None: none)
    slope_rows: np.ndarray | None = None  # rows the slope deviations apply to

    def column(self, name: str) -> int:
        return self.names.index(name)

    def has(self, name: str) -> bool:
        return name in self.names

    @property
    def slope_columns(self) -> list[int]:
        return [i for i, n in enumerate(self.names) if n.startswith("slope:")]

    def replace(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """A copy of X with some columns replaced — a counterfactual's design."""
        X = self.X.copy()
        for name, values in columns.items():
            if name in self.names:
                X[:, self.names.index(name)] = values
        if "log_load" in columns and self.slopes_at is not None:
            load = np.asarray(columns["log_load"], dtype=float) - self.slopes_at
            for i, rows in self._slope_rows_by_column:
                X[:, i] = np.where(rows, load, 0.0)
        return X

    @cached_property
    def _slope_rows_by_column(self) -> list[tuple[int, np.ndarray]]:
        """Per slope column, the rows it applies to: the same for every counterfactual of this
        design, and comparing each row's level as text is most of what ``replace`` costs."""
        return [(i, (self.subject == self.names[i].split("=", 1)[1]) & self.slope_rows)
                for i in self.slope_columns]


def pooled(values: np.ndarray, min_count: int) -> np.ndarray:
    counts = Counter(values.tolist())
    return np.array([v if counts[v] >= min_count else OTHER for v in values.tolist()],
                    dtype=object)


def build_design(factor: str, values: np.ndarray, controls: Mapping[str, np.ndarray], *,
                 delivery: Mapping[str, np.ndarray] | None, min_level: int,
                 slopes_at: float | None = None, slope_rows: np.ndarray | None = None,
                 ) -> Design:
    subject = pooled(values, min_level)
    levels = tuple(sorted(set(subject.tolist()), key=lambda v: (v == OTHER, v)))
    cols = [(subject == lv).astype(float) for lv in levels]
    names = [f"{factor}={lv}" for lv in levels]
    for cname, cvals in controls.items():
        counts = Counter(cvals.tolist())
        reference = max(counts, key=lambda v: (counts[v], v))
        for level in sorted(v for v, c in counts.items() if c >= min_level and v != reference):
            cols.append((cvals == level).astype(float))
            names.append(f"{cname}={level}")
    for dname, dvals in (delivery or {}).items():
        cols.append(np.asarray(dvals, dtype=float))
        names.append(dname)
    rows = np.ones(len(values), dtype=bool) if slope_rows is None else slope_rows
    with_slopes = slopes_at is not None and bool(delivery and "log_load" in delivery)
    if with_slopes and delivery is not None:
        load = np.asarray(delivery["log_load"], dtype=float) - slopes_at
        for lv in levels:
            cols.append(np.where((subject == lv) & rows, load, 0.0))
            names.append(f"slope:{factor}={lv}")
    X = np.column_stack(cols) if cols else np.zeros((len(values), 0))
    return Design(X, tuple(names), factor, levels, subject,
                  slopes_at if with_slopes else None, rows if with_slopes else None)


def delivery_columns(frame: Frame) -> dict[str, np.ndarray]:
    cols = {"log_load": frame.log_load, "error": frame.error}
    for peer, served in sorted(frame.dep_failed_served.items()):
        if served.any():
            cols[f"fail:{peer}"] = served
    for metric, not_good in frame.vitals.items():
        if not_good.any():
            cols[f"vital:{metric}"] = not_good
    return cols


def good_delivery(design: Design, frame: Frame, settings: Settings,
                  rows: np.ndarray | None = None) -> np.ndarray:
    """Design B with delivery set to good (on ``rows`` only, when given)."""
    rows = np.ones(frame.n, dtype=bool) if rows is None else rows
    cap = np.log(settings.good_load_ms / 1000.0)
    repl = {"log_load": np.where(rows, np.minimum(frame.log_load, cap), frame.log_load),
            "error": np.where(rows, 0.0, frame.error)}
    for name in design.names:
        if name.startswith(("fail:", "vital:")):  # good delivery: no failure, vitals good
            repl[name] = np.where(rows, 0.0, design.X[:, design.column(name)])
    return design.replace(repl)
