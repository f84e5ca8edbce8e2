"""The design check on conversion: did the change cost (or win) conversions, at equal delivery?

Unit: an analytics session of the window that reached the conversion step — the routes every
converting session visited (``conversion.reached_conversion``, as in ``correlate``'s
conversion model). A session that never got there could not convert; comparing it with one
that did reads the funnel as an effect (and separates the model). Outcome: converted.

- Changed sessions viewed the changed route, and count as after the change from their first
  page there (``models/workflows/design_sessions.sql``); control sessions reached the
  conversion step without viewing it but viewed a control route, and count from their start.
- When the changed route is itself a step every conversion passes through (a checkout), no
  session could convert without seeing it: there are no control sessions, and the comparison
  is a before/after at equal controls and delivery — the site-wide part cannot be separated.
- Controls: device, country, segment only. Pages viewed and routes visited afterwards are
  left out: a design change moves them (a one-page checkout has fewer pages).
- Delivery: the slowest page on the changed route (ln s; 0 for sessions without it, its slope
  read within the changed sessions), the slowest page elsewhere in the session, any error
  page, and per dependency any served failure. The changed route's own load is kept apart
  because the session's slowest page would mix it with the others' and under-adjust a
  slowdown of that route (in the demo world the remainder then reads as a lost conversion).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import duckdb
import numpy as np

from parallax.correlate.conversion import (
    conversion_step,
    dependency_columns,
    reached_conversion,
)
from parallax.correlate.did import Columns, Effect, detectable, estimate, placebo, rnd, trends_text
from parallax.correlate.frame import RouteRows, read_sessions
from parallax.correlate.settings import Settings
from parallax.db import read_sql

__all__ = ["ConversionCheck", "conversion_check"]

MIN_SESSIONS = 20  # sessions per cell (changed / control, before / after)
CONTROL = "(control sessions)"


@dataclass(frozen=True)
class ConversionCheck:
    unit: str
    comparison: str  # difference in differences | before/after
    verdict: str  # helped | hurt | no detectable effect | too thin
    n: dict  # sessions: changed before/after, controls before/after
    conversion_rate: dict
    naive: Effect | None
    did: Effect | None
    adjusted: Effect | None
    parts: dict  # naive = site_wide + delivery + remaining (log-odds)
    explained_share: float | None
    detectable: dict | None  # the smallest drop in conversion found with 80 % power
    placebo: Effect | None
    parallel_trends: str
    note: str
    evidence: str

    def to_json(self) -> dict:
        def j(e: Effect | None) -> dict | None:
            return e.to_json() if e is not None else None

        return {"unit": self.unit, "comparison": self.comparison, "verdict": self.verdict,
                "n": self.n, "conversion_rate": {k: rnd(v) if v is not None else None
                                                 for k, v in self.conversion_rate.items()},
                "naive": j(self.naive), "did": j(self.did), "adjusted": j(self.adjusted),
                "parts": {k: rnd(v) if v is not None else None for k, v in self.parts.items()},
                "explained_share": rnd(self.explained_share), "detectable": self.detectable,
                "placebo": j(self.placebo), "parallel_trends": self.parallel_trends,
                "note": self.note, "evidence": self.evidence}


def conversion_check(con: duckdb.DuckDBPyConnection, route: str, changed_at: datetime,
                     since: datetime, controls: list[str], s: Settings) -> ConversionCheck | None:
    """On the join model's window (``build_exposure`` run); None without analytics sessions."""
    sessions, routes = read_sessions(con)
    if sessions.n == 0:
        return None
    keys = sessions.extra["key"]
    converted = sessions.y > 0
    step = sorted(routes.route_names[conversion_step(routes, converted)].tolist())
    reached = reached_conversion(routes, converted)
    treated = np.zeros(sessions.n)
    treated[routes.session[routes.route == route]] = 1.0
    control = np.zeros(sessions.n, dtype=bool)
    codes = [c for c in (routes.code(r) for r in controls) if c is not None]
    control[routes.session[np.isin(routes.route_code, codes)]] = True
    # each session's row in the frame, carried through the selections below
    sessions = replace(sessions, extra={**sessions.extra, "row": np.arange(sessions.n)})
    at = dict(con.execute(read_sql("models", "workflows/design_sessions.sql"),
                          {"route": route}).fetchall())
    unit = (f"analytics sessions that reached the conversion step ({', '.join(step) or '–'}): "
            f"those that viewed {route} against those that viewed a control route instead")
    keep = reached & (sessions.extra["pages"] > 0) & ((treated == 1) | control)
    times = np.array([at[k] for k in keys[keep].tolist()], dtype=object)
    after = np.array([t >= changed_at for t in times], dtype=float)
    f, treated = sessions.take(keep), treated[keep]
    n, rates = _cells(f.y, treated, after)
    comparison, note = "difference in differences", ""
    if min(n["controls_before"], n["controls_after"]) < MIN_SESSIONS:
        comparison = "before/after"
        note = (f"every conversion passes through {route}" if route in step else
                "too few sessions reached the conversion step without it") + (
            ": no control sessions to compare with, so the comparison is before vs after at "
            "equal controls and delivery and a site-wide change at the same time would count "
            "as the design's")
        unit = (f"analytics sessions that reached the conversion step "
                f"({', '.join(step) or '–'}) and viewed {route}")
        mine = treated == 1
        f, treated, after, times = f.take(mine), treated[mine], after[mine], times[mine]
    if (min(n["changed_before"], n["changed_after"]) < MIN_SESSIONS or f.n == 0
            or f.y.min() == f.y.max()):
        thin = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n.items())
        text = (f"Conversion: too few sessions to judge ({thin}; at least {MIN_SESSIONS} "
                "changed sessions before and after, with and without a conversion, are needed).")
        return ConversionCheck(unit, comparison, "too thin", n, rates, None, None, None, {},
                               None, None, None, "not tested", note, text)
    f = replace(f, route=np.where(treated == 1, route, CONTROL).astype(object))
    delivery = _delivery(f.extra["row"], sessions.n, routes, route)
    rng = np.random.default_rng(s.seed + 1)
    naive, did, adjusted = estimate(f, treated, after, s, rng, delivery=delivery)
    plac = placebo(f, times, treated, after, since, changed_at, s, rng, delivery=delivery)
    a = adjusted.log_odds
    verdict = ("helped" if a.ci_low > 0 else "hurt" if a.ci_high < 0
               else "no detectable effect")
    parts = {"naive": naive.log_odds.estimate, **(adjusted.parts or {})}
    share = (min(max(parts["delivery"] / parts["naive"], 0.0), 1.0)
             if parts["naive"] != 0 else None)
    mde = detectable(a.se, rates["changed_after"] - adjusted.points[0], s, sign=-1.0)
    out = ConversionCheck(unit, comparison, verdict, n, rates, naive, did, adjusted, parts,
                          share, mde, plac, trends_text(plac, "sessions"), note, "")
    return replace(out, evidence=_evidence(out, route))


def _cells(y: np.ndarray, treated: np.ndarray, after: np.ndarray) -> tuple[dict, dict]:
    cells = {"changed_before": (treated == 1) & (after == 0),
             "changed_after": (treated == 1) & (after == 1),
             "controls_before": (treated == 0) & (after == 0),
             "controls_after": (treated == 0) & (after == 1)}
    return ({k: int(v.sum()) for k, v in cells.items()},
            {k: (float(y[v].mean()) if v.any() else None) for k, v in cells.items()})


def _delivery(sessions: np.ndarray, total: int, routes: RouteRows, route: str) -> Columns:
    """Per session (``sessions``: their rows among the ``total`` sessions of the frame
    ``routes`` refers to, in this order): delivery on the changed route and elsewhere."""
    position = np.full(total, -1, dtype=np.int64)
    position[sessions] = np.arange(len(sessions))
    rt = routes.take(np.flatnonzero(position[routes.session] >= 0))
    at = position[rt.session]
    here = rt.route == route
    load = rt.log_load_max
    n = len(sessions)
    cols: Columns = {
        "log_load": _top(load, at, here, n, fill="median_or_zero"),
        "log_load_elsewhere": _top(load, at, ~here, n, fill="median"),
        "error": _top(np.where(np.isnan(rt.error_any), 0.0, rt.error_any), at,
                      np.ones(len(at), bool), n, fill=0.0)}
    rows: dict[str, np.ndarray] = {}
    for peer in dependency_columns(rt, rows):
        v = _top(rows[f"fail:{peer}"], at, np.ones(len(at), bool), n, fill=0.0)
        if v.any():
            cols[f"fail:{peer}"] = v
    return cols


def _top(values: np.ndarray, at: np.ndarray, sel: np.ndarray, n: int, *, fill) -> np.ndarray:
    """Max per session over the selected route rows; sessions without a value get ``fill``:
    a number, "median" (of the known), or "median_or_zero" (median for sessions with a
    selected row but no timing, 0 for sessions without a selected row)."""
    out = np.full(n, -np.inf)
    v = np.where(np.isnan(values), -np.inf, values)
    np.maximum.at(out, at[sel], v[sel])
    known = np.isfinite(out)
    if isinstance(fill, float):
        out[~known] = fill
        return out
    med = float(np.median(out[known])) if known.any() else 0.0
    out[~known] = med
    if fill == "median_or_zero":
        has = np.zeros(n, bool)
        has[at[sel]] = True
        out[~has] = 0.0
    return out


def _evidence(c: ConversionCheck, route: str) -> str:
    a, nv = c.adjusted, c.naive
    assert a is not None and nv is not None
    pts = (f"{nv.points[0] * 100:+.1f} points naive ({nv.points[1] * 100:+.1f} to "
           f"{nv.points[2] * 100:+.1f}), {a.points[0] * 100:+.1f} at equal delivery "
           f"({a.points[1] * 100:+.1f} to {a.points[2] * 100:+.1f})")
    how = ("against control sessions" if c.comparison == "difference in differences"
           else "before vs after only")
    explained = ("" if c.explained_share is None
                 else f"; delivery explains {c.explained_share:.0%} of the naive change")
    head = {"hurt": "the change cost conversions", "helped": "the change won conversions",
            "no detectable effect": "no detectable effect"}[c.verdict]
    tail = ("" if c.verdict != "no detectable effect" or not c.detectable
            or c.detectable["odds_ratio"] is None or c.detectable["points"] is None else
            f" It could have detected a drop to an odds ratio of "
            f"{c.detectable['odds_ratio']:.2f} (≈ {c.detectable['points'] * 100:+.1f} points).")
    size = c.n["changed_before"] + c.n["changed_after"]
    return (f"Conversion of {size} sessions that viewed {route} ({how}): {head}, "
            f"{pts}{explained}.{tail} Parallel trends (conversion): {c.parallel_trends}.")
