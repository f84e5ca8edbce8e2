"""What an incident cost in customers: a counterfactual for its window from the pre-period.

The affected routes are those with page loads in the window that called the dependency, were
served by the service, or are the route. Per time bin (hourly; 15 minutes for windows under
three hours), poor answers per page load on those routes follow a structural time-series
model (``correlate/counterfactual.py``) fitted on the pre-period, the window left out as
missing. The window's expected poor answers are the bins' predicted rates times their page
loads; extra poor answers = observed − expected, with an interval for the incident's expected
effect that carries both the counterfactual's uncertainty and the chance in the observed count.
Per page load, not per answer: unhappy customers answer more often, so during an incident
there are more answers, and a rate per answer would count those extra answers as if they had
been expected. Conversion likewise, per session touching the routes — every such session, the
ones that left on an error page before reaching the checkout included. The model learns only
from pre-period bins that ran under the same other incidents as the window (``left_out``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import duckdb
import numpy as np

from parallax.correlate.counterfactual import (
    Counterfactual,
    Scope,
    counterfactual,
    left_out,
    rate,
)
from parallax.correlate.settings import Settings
from parallax.db import read_sql
from parallax.errors import ConfigError, NoDataError
from parallax.exposure import JoinSettings, refresh_pages
from parallax.records.annotations import list_annotations

__all__ = ["Counterfactual", "IncidentImpact", "counterfactual", "incident_impact"]


@dataclass(frozen=True)
class IncidentImpact:
    id: str | None
    route: str | None
    service: str | None
    dependency: str | None
    starts: datetime
    ends: datetime
    baseline_from: datetime
    bin_minutes: int
    verdict: str  # "measured" | "too thin"
    reason: str
    routes: tuple[str, ...]
    responses: int
    poor_rate: float | None
    poor_rate_before: float | None
    poor: Counterfactual | None
    nps_points: tuple[float, float, float] | None
    conversions: Counterfactual | None  # extra = −lost conversions; given even if too thin
    revenue_per_conversion: float | None
    pre_bins: int
    masked_bins: int
    delivery: list[dict] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    notes: tuple[str, ...] = ()  # how far to trust the figures: thin windows, missing data

    def to_json(self) -> dict:
        lost = None
        if self.conversions is not None:
            c = self.conversions
            lost = {"sessions": c.exposure, "observed": c.observed,
                    "expected": _r(c.expected), "expected_sd": _r(c.expected_sd),
                    "model": c.model, "lost": _span(c.extra, -1.0),
                    "revenue": (_span(c.extra, -(self.revenue_per_conversion or 0.0))
                                if self.revenue_per_conversion else None)}
        return {
            "id": self.id, "route": self.route, "service": self.service,
            "dependency": self.dependency, "starts": _iso(self.starts), "ends": _iso(self.ends),
            "baseline_from": _iso(self.baseline_from), "bin_minutes": self.bin_minutes,
            "verdict": self.verdict, "reason": self.reason, "routes": list(self.routes),
            "responses": self.responses, "poor_rate": _r(self.poor_rate),
            "poor_rate_before": _r(self.poor_rate_before),
            "poor_responses": self.poor.to_json() if self.poor else None,
            "nps_points": _span(self.nps_points) if self.nps_points else None,
            "conversions": lost, "pre_bins": self.pre_bins, "masked_bins": self.masked_bins,
            "delivery": self.delivery, "segments": self.segments, "notes": list(self.notes),
        }


def incident_impact(con: duckdb.DuckDBPyConnection, *, id: str | None = None,
                    service: str | None = None, dependency: str | None = None,
                    route: str | None = None, starts: datetime | None = None,
                    ends: datetime | None = None, baseline: timedelta = timedelta(days=7),
                    join: JoinSettings | None = None,
                    settings: Settings | None = None) -> IncidentImpact:
    """``settings``: the incident_* thresholds of ``[correlate]`` (defaults without)."""
    s = settings or Settings()
    notes = list_annotations(con)
    if id is not None:
        a = next((n for n in notes if n.id == id), None)
        if a is None:
            raise ConfigError(f"no annotation {id!r} (see `parallax annotate list`)")
        route, service, dependency = route or a.route, service or a.service, (
            dependency or a.dependency)
        starts, ends = starts or a.starts_at, ends or a.ends_at
    if route is None and service is None and dependency is None:
        raise ConfigError("say what the incident touched: an annotation ID, --service, "
                          "--dependency or --route")
    if starts is None or ends is None or ends <= starts:
        raise ConfigError("the incident needs --start and --end, the end after the start")
    refresh_pages(con, join or JoinSettings())
    # A dependency outage is about its callers: the service named beside it selects nothing.
    target = {"route": route, "service": None if dependency or route else service,
              "dependency": dependency, "starts": starts, "ends": ends}
    routes = [r for r, _ in con.execute(_sql("incident_routes.sql"), target).fetchall()]
    what = dependency or route or service
    if not routes:
        raise NoDataError(f"no page loads touched {what} between {_iso(starts)} and "
                          f"{_iso(ends)}: nothing to measure")
    first = con.execute("SELECT min(started_at) FROM exposure_pages").fetchall()[0][0]
    base_from = max(starts - baseline, first)
    bin_min = 60 if ends - starts >= timedelta(hours=3) else 15
    period = {"routes": routes, "from": base_from, "starts": starts, "ends": ends}
    delivery = _delivery(con, period)
    series = _series(con, routes, starts, bin_min, base_from, ends)
    k = series["bin"]
    window = k >= 0
    called = {d["subject"] for d in delivery if d["kind"] == "dependency"}
    scope = Scope(frozenset(routes),
                  frozenset(d for d in called | {dependency} if d is not None), service)
    masked, ongoing = left_out(k, starts, bin_min, ends, notes, id, scope)
    pre = ~window & ~masked & (series["pages"] > 0)
    responses = int(series["responses"][window].sum())
    poor_obs = int(series["poor"][window].sum())
    pre_resp = series["responses"][pre].sum()
    before_rate = float(series["poor"][pre].sum() / pre_resp) if pre_resp else None
    thin = _thin(int(pre.sum()), int(pre_resp), responses, s)
    poor = conv = nps = revenue = None
    said = [f"baseline from the pre-period bins under {', '.join(ongoing)} (ongoing through "
            "the window)"] if ongoing else []
    if not thin:
        covariate = rate(series["poor_other"], series["pages_other"])
        poor = counterfactual(series["poor"], series["pages"], pre, window, covariate)
        if responses and series["nps"][window].sum() == responses:
            # at most one extra poor answer per answer: the interval may reach past, NPS not
            nps = cast(tuple[float, float, float],  # poor.extra: estimate, low, high
                       tuple(min(max(100.0 * x / responses, -100.0), 100.0) for x in poor.extra))
        if responses < s.incident_thin_window_responses:
            said.append(f"thin: {responses} answers during the incident: the interval is "
                        "wide, mostly from which customers happened to answer")
    # conversions need no answers: measured even when the survey is too thin
    conv, revenue = _conversions(con, series, period, bin_min, notes, id, scope, said, s)
    return IncidentImpact(
        id, route, service, dependency, starts, ends, base_from, bin_min,
        "too thin" if thin else "measured", thin or _reason(poor), tuple(routes), responses,
        poor_obs / responses if responses else None, before_rate, poor, nps, conv, revenue,
        int(pre.sum()), int((masked & ~window).sum()), delivery,
        _segments(con, period) if responses else [], tuple(said))


def _conversions(con, series, period, bin_min, notes, own, scope: Scope, said: list[str],
                 s: Settings):
    """Lost conversions per session touching the routes. Sessions come from the page loads,
    conversions from the analytics export — a session that left on an (often untagged) error
    page still counts as one that did not convert — so bins the export does not cover are
    left out: there every session would look lost. Other incidents matter anywhere on the way
    to the conversion (a payment outage changes whether crash-hit sessions buy)."""
    starts, ends = period["starts"], period["ends"]
    first, last = con.execute("SELECT min(started_at), max(started_at) FROM sessions"
                              ).fetchall()[0]
    if first is None:
        return None, None
    if last < ends:
        said.append(f"conversions not measured: the analytics data end at {_iso(last)}, "
                    "before the incident's end")
        return None, None
    path = con.execute(_sql("incident_path.sql"), {
        "routes": period["routes"], "from": period["from"], "starts": starts,
        "share": s.incident_path_share}).fetchall()
    scope = Scope(scope.routes | {s for kind, s in path if kind == "route"},
                  scope.dependencies | {s for kind, s in path if kind == "dependency"},
                  scope.service)
    k = series["bin"]
    masked, ongoing = left_out(k, starts, bin_min, ends, notes, own, scope)
    covered = math.ceil((first - starts).total_seconds() / (bin_min * 60))
    # bins wholly after the export's first session, with sessions, under the window's world
    pre = (k < 0) & ~masked & (k >= covered) & (series["sessions"] > 0)
    if (pre.sum() < s.incident_min_pre_bins
            or series["sessions"][pre].sum() < s.incident_min_pre_sessions
            or series["conversions"][pre].sum() == 0):
        said.append(f"conversions not measured: {int(pre.sum())} comparable pre-period bins, "
                    f"{series['sessions'][pre].sum():.0f} sessions, "
                    f"{series['conversions'][pre].sum():.0f} conversions in them")
        return None, None
    if ongoing:
        said.append(f"conversions: baseline from the {int(pre.sum())} pre-period bins under "
                    f"{', '.join(ongoing)} (ongoing through the window, on the way to "
                    "the conversion)")
    conv = counterfactual(series["conversions"], series["sessions"], pre, k >= 0, None)
    revenue = float(series["revenue"][pre].sum() / series["conversions"][pre].sum())
    if conv.expected < s.incident_thin_conversions:
        said.append(f"thin: {conv.expected:.1f} conversions expected during the incident "
                    "without it: lost conversions are rough")
    return conv, revenue


def _sql(name: str) -> str:
    return read_sql("models", f"workflows/{name}")


def _series(con, routes, origin, bin_min, base_from, ends) -> dict[str, np.ndarray]:
    cur = con.execute(_sql("incident_series.sql"), {
        "routes": routes, "origin": origin, "bin_minutes": bin_min, "from": base_from,
        "to": ends})
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    lo = min((r[0] for r in rows), default=0)
    hi = max(math.ceil((ends - origin).total_seconds() / (bin_min * 60)) - 1, 0)
    lo = min(lo, 0)
    out = {n: np.zeros(hi - lo + 1) for n in names}
    out["bin"] = np.arange(lo, hi + 1)
    for row in rows:
        for n, v in zip(names[1:], row[1:], strict=True):
            out[n][row[0] - lo] = float(v or 0.0)
    return out


def _thin(pre_bins: int, pre_responses: int, responses: int, s: Settings) -> str:
    if pre_bins < s.incident_min_pre_bins:
        return (f"too thin: the pre-period has {pre_bins} bins with page loads "
                f"(at least {s.incident_min_pre_bins} needed); load more history")
    if pre_responses < s.incident_min_pre_responses:
        return (f"too thin: {pre_responses} answers on the affected routes before the "
                f"incident (at least {s.incident_min_pre_responses} needed)")
    if responses < s.incident_min_window_responses:
        return (f"too thin: {responses} answers during the incident (at least "
                f"{s.incident_min_window_responses} needed to say anything)")
    return ""


def _reason(poor: Counterfactual | None) -> str:
    if poor is None:
        return ""
    e, lo, hi = poor.extra
    if lo > 0:
        return f"≈ {e:.1f} ({lo:.1f} to {hi:.1f}) poor answers more than expected"
    if hi < 0:
        return f"≈ {-e:.1f} ({-hi:.1f} to {-lo:.1f}) poor answers fewer than expected"
    return "no detectable change in poor answers"


def _delivery(con, period) -> list[dict]:
    rows = con.execute(_sql("incident_delivery.sql"), period).fetchall()
    out: dict[tuple[str, str], dict] = {}
    for kind, subject, when, pages, err, p95, fail in rows:
        d = out.setdefault((kind, subject), {"kind": kind, "subject": subject,
                                             "before": None, "during": None})
        d[when] = {"pages": pages, "error_rate": _r(err), "p95_ms": _r(p95),
                   "failure_rate": _r(fail)}
    for d in out.values():
        b, w = d["before"] or {}, d["during"] or {}
        d["degraded"] = bool(w) and (
            (w.get("failure_rate") or 0) >= 2 * (b.get("failure_rate") or 0) + 0.01
            or (w.get("error_rate") or 0) >= 2 * (b.get("error_rate") or 0) + 0.01
            or (w.get("p95_ms") or 0) >= 2 * (b.get("p95_ms") or math.inf))
    return list(out.values())


def _segments(con, period) -> list[dict]:
    rows = con.execute(_sql("incident_segments.sql"), period).fetchall()
    by: dict[tuple[str, str], dict] = {}
    for factor, level, when, n, poor in rows:
        by.setdefault((factor, level), {})[when] = (n, poor)
    out = []
    for (factor, level), v in sorted(by.items()):
        n, poor = v.get("during", (0, 0))
        bn, bpoor = v.get("before", (0, 0))
        if n == 0 or level == "(unknown)":
            continue
        rate = bpoor / bn if bn else None
        out.append({"factor": factor, "level": level, "responses": n, "poor": poor,
                    "poor_rate": _r(poor / n), "poor_rate_before": _r(rate),
                    "excess_poor": _r(poor - n * rate) if rate is not None else None})
    return sorted(out, key=lambda d: -(d["excess_poor"] or 0.0))


def _span(t, scale: float = 1.0) -> dict:
    vals = sorted(x * scale for x in (t[1], t[2]))
    return {"estimate": _r(t[0] * scale), "ci_low": _r(vals[0]), "ci_high": _r(vals[1])}


def _r(x):
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
