"""The before/after page of ``incident --html`` and ``design-check --html``: poor answers,
errors and load time on the routes concerned, per time bucket, with the incident's window
shaded or the change marked, beside the command's verdict. Reads a named query only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from parallax.db import fetch_dicts
from parallax.named_queries import run_query

__all__ = ["Trend", "trend_html"]

_BUCKETS = 40  # about this many points across the window: an hour at least


@dataclass(frozen=True)
class Trend:
    title: str  # "Incident inventory-db-crash", "Design change on /checkout"
    verdict: str
    lead: str  # the command's own sentence (reason or evidence)
    routes: tuple[str, ...]
    since: datetime
    until: datetime
    starts: datetime  # the incident's start or the change
    ends: datetime | None = None  # the incident's end; None for a change (a moment)


def trend_html(con: duckdb.DuckDBPyConnection, t: Trend) -> str:
    from parallax.report.render import render

    minutes = (t.until - t.since).total_seconds() / 60
    bucket = max(60, int(minutes / _BUCKETS) // 60 * 60)
    _, rows = fetch_dicts(run_query(con, "trend", {
        "routes": ",".join(t.routes), "since": t.since, "until": t.until,
        "bucket_minutes": bucket}))
    return render("trend.html.j2", t=t, bucket=bucket, svg=before_after(rows, t))


def before_after(rows: Sequence[dict[str, Any]], t: Trend) -> str | None:
    """Three panels over one time axis: poor answers (dots sized by answers), page loads with
    an error, p75 load; the incident's window shaded, a change as a dashed line."""
    if not rows:
        return None
    import altair as alt

    from parallax.report.charts import WIDTH, svg

    data = [{**r, "bucket_start": r["bucket_start"].isoformat(),
             "p75_s": None if r["p75_ms"] is None else r["p75_ms"] / 1000} for r in rows]
    x = alt.X("bucket_start:T", title=None,
              axis=alt.Axis(tickCount="day", format="%a %d %b", labelOverlap="greedy"))
    mark = {"at": t.starts.isoformat(), "to": (t.ends or t.starts).isoformat()}
    when = alt.Chart(alt.Data(values=[mark]))
    when = (when.mark_rect(color="#c62828", opacity=0.12).encode(x="at:T", x2="to:T")
            if t.ends else when.mark_rule(color="#333", strokeDash=[4, 3]).encode(x="at:T"))

    def panel(field: str, title: str, fmt: str, dots: bool = False):
        base = alt.Chart(alt.Data(values=data)).encode(x=x)
        top = max([r[field] for r in data if r[field] is not None] + [0.0])
        y = alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=fmt),
                  scale=alt.Scale(domain=[0, max(top, 0.05)]))  # all-zero: an axis still
        line = base.mark_line(interpolate="step-after", color="#4a6fa5").encode(y=y)
        layers = [when, line]
        if dots:
            layers.append(base.mark_circle(color="#4a6fa5").encode(
                y=y, size=alt.Size("responses:Q", title="answers", legend=alt.Legend(
                    orient="right"))))
        return alt.layer(*layers).properties(width=WIDTH - 260, height=130)

    chart = alt.vconcat(panel("poor_rate", "poor answers", "%", dots=True),
                        panel("error_rate", "page loads with an error", "%"),
                        panel("p75_s", "p75 page load, s", ".1f"))
    return svg(chart)
