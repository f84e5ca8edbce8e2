"""The joint business–IT review: one self-contained HTML page from one correlate run.

It reads findings and named queries only (``report.data``), plots with altair
(``report.charts``) and renders ``templates/review.html.j2``. Sums shown in the headline are
sums of per-finding estimates over routes whose verdict is delivery or mixed (routes do not
overlap); their intervals are on the cards, not summed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from parallax.correlate.findings import CAUSED, Finding
from parallax.files import write_whole
from parallax.numbers import Interval
from parallax.report import charts
from parallax.report.data import ReviewData, gather
from parallax.report.render import render

__all__ = ["ReviewSummary", "review_context", "write_review"]


@dataclass(frozen=True)
class ReviewSummary:
    path: Path
    run_id: str
    routes: int
    dependencies: int
    bytes: int


def write_review(con: duckdb.DuckDBPyConnection, out: Path, run_id: str | None = None,
                 currency: str = "") -> ReviewSummary:
    data = gather(con, run_id)
    html = render("review.html.j2", **review_context(data, currency))
    out = Path(out)
    write_whole(out, html, "--out")  # never a half-written report under the real name
    return ReviewSummary(out, data.run["run_id"], len(data.of_kind("route")),
                         len(data.of_kind("dependency")), len(html.encode()))


def review_context(data: ReviewData, currency: str = "") -> dict[str, Any]:
    routes, deps = data.of_kind("route"), data.of_kind("dependency")
    settings = data.run["parameters"]["correlate"]
    good_ms = settings["good_load_ms"]
    caused = [f for f in routes if f.verdict in CAUSED]
    totals = {  # keyed by the figure's field in the findings JSON (the page's data-field)
        "impact.extra_poor_responses.estimate": _sum(f.impact.extra_poor_responses
                                                     for f in caused),
        "impact.lost_conversions.estimate": _sum(f.impact.lost_conversions for f in caused),
        "impact.revenue_at_risk.estimate": _sum(f.impact.revenue_at_risk for f in caused)}
    return {
        "data": data, "run": data.run, "headline": data.headline, "settings": settings,
        "join": data.run["parameters"]["join"], "currency": currency, "weeks": data.weeks,
        "routes": routes, "dependencies": deps, "segments": data.of_kind("segment"),
        "caused": caused, "totals": totals, "caused_subjects": ",".join(
            f.subject for f in caused),
        "false_positives": [f for f in routes if f.verdict == "delivery"],
        "silent": [f for f in routes + deps if f.verdict == "silent"],
        "lead": _lead(caused, deps),
        "charts": {
            "forest": charts.forest(routes + deps),
            "bands": charts.poor_by_latency(data.bands, good_ms),
            "vitals": charts.poor_by_vital(data.vital_bands),
            "histogram": charts.latency_histogram(data.histogram, good_ms),
            "timeline": charts.error_timeline(data.timeline, data.annotations),
        },
        "waterfalls": {s: charts.waterfall(v.spans.rows) for s, v in data.sessions.items()},
    }


def _sum(intervals: Iterable[Interval | None]) -> float:
    """Sum of the estimates (a missing one counts 0; the intervals are not summed)."""
    return sum(_estimate(i) for i in intervals)


def _estimate(i: Interval | None) -> float:
    return 0.0 if i is None or math.isnan(i.estimate) else i.estimate


def _cost(f: Finding) -> float:
    return _estimate(f.impact.extra_poor_responses)


def _lead(caused: list[Finding], deps: list[Finding]) -> dict | None:
    """The one sentence a joint review starts from: the costliest delivery-caused route and
    the failing dependency behind it (the costliest delivery-verdict dependency it calls)."""
    if not caused:
        return None
    route = max(caused, key=_cost)
    related = set(route.delivered.get("related") or ())
    culprits = [d for d in deps if d.subject in related and d.verdict in CAUSED]
    return {"route": route, "dependency": max(culprits, key=_cost, default=None)}
