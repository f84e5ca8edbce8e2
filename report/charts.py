"""The review's plots: Vega-Lite specs built with altair, rendered to inline SVG by vl-convert.

SVG rather than embedded JavaScript: the page stays one self-contained file that opens
offline, prints sharply and runs no script. Each function takes query rows (lists of dicts)
and returns SVG text, or None when there is nothing to plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parallax.correlate.findings import Finding, Verdict

__all__ = ["WIDTH", "annotation_lanes", "driver_bars", "error_timeline", "forest",
           "grid_columns", "latency_histogram", "poor_by_latency", "poor_by_vital", "svg",
           "waterfall"]

_FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
_VERDICT_COLOURS = {"good": "#2e7d32", "needs improvement": "#f9a825", "poor": "#c62828"}
# The page's content is ≈1,050 px wide: each plot is drawn to about that width (with its axis
# labels and legend) so that it is shown at its own size, neither shrunk nor blown up.
WIDTH = 1000
# vl-convert measures text with its fonts, the browser draws it with the page's: room on every
# side, so that a label a little wider than measured is not clipped at the picture's edge.
_PADDING = {"left": 36, "right": 36, "top": 8, "bottom": 8}


def svg(chart) -> str:
    import vl_convert as vlc

    spec = chart.configure(font=_FONT).configure_view(stroke=None).to_dict()
    spec["padding"] = _PADDING  # marks outside the plot (labels above it) are sized in too
    return vlc.vegalite_to_svg(spec)


def _alt():
    import altair as alt

    return alt


def poor_by_latency(bands: Sequence[dict[str, Any]], good_ms: float) -> str | None:
    """Poor-feedback rate per load-time band with 95 % intervals, coloured by CWV rating."""
    if not bands:
        return None
    alt = _alt()
    rows = [{**b, "rating": _rating(b["band_order"], good_ms)} for b in bands]
    order = [b["band"] for b in rows]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("band:N", sort=order, title="load time of the page answered about",
                axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(opacity=0.85).encode(
        y=alt.Y("poor_rate:Q", title="poor answers", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("rating:N", title="Core Web Vitals", legend=alt.Legend(labelLimit=200),
                        scale=alt.Scale(domain=list(_VERDICT_COLOURS),
                                        range=list(_VERDICT_COLOURS.values()))))
    errs = base.mark_rule(strokeWidth=1.5).encode(y="ci_low:Q", y2="ci_high:Q")
    counts = base.mark_text(dy=-8, fontSize=10).encode(
        y="ci_high:Q", text=alt.Text("responses:Q", format=",d"))
    return svg((bars + errs + counts).properties(width=WIDTH - 320, height=240))


def poor_by_vital(rows: Sequence[dict[str, Any]]) -> str | None:
    """Poor-feedback rate by each Core Web Vital's rating of the page answered about, with
    95 % intervals (queries/vitals_bands.sql): one panel per vital."""
    if not rows:
        return None
    alt = _alt()
    order = list(_VERDICT_COLOURS)
    base = alt.Chart(alt.Data(values=list(rows))).encode(
        x=alt.X("rating:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(opacity=0.85).encode(
        y=alt.Y("poor_rate:Q", title="poor answers", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("rating:N", title="Core Web Vitals rating",
                        scale=alt.Scale(domain=order, range=list(_VERDICT_COLOURS.values()))))
    errs = base.mark_rule(strokeWidth=1.5).encode(y="ci_low:Q", y2="ci_high:Q")
    counts = base.mark_text(dy=-8, fontSize=10).encode(
        y="ci_high:Q", text=alt.Text("responses:Q", format=",d"))
    metrics = sorted({r["metric"] for r in rows})
    return svg((bars + errs + counts).properties(width=180, height=200).facet(
        column=alt.Column("metric:N", sort=metrics, title=None)))


def _rating(band_order: int, good_ms: float) -> str:
    # Bands: <1 s, 1–2.5 s, 2.5–4 s, 4–6 s, ≥6 s (queries/latency_bands.sql); LCP thresholds.
    upper = {1: 1000, 2: 2500, 3: 4000, 4: 6000, 5: float("inf")}[band_order]
    if upper <= good_ms:
        return "good"
    return "needs improvement" if upper <= 4000 else "poor"


def latency_histogram(rows: Sequence[dict[str, Any]], good_ms: float) -> str | None:
    """Share of page loads per 250 ms bin, one small panel per route, the target marked. The
    x axis (page load, s) is named once, in the caption; the panels fill whole rows."""
    if not rows:
        return None
    alt = _alt()
    data = [{**r, "from_s": r["bin_low_ms"] / 1000, "to_s": r["bin_high_ms"] / 1000}
            for r in rows]
    columns = grid_columns(len({r["route"] for r in rows}))
    bars = alt.Chart().mark_bar(color="#4a6fa5").encode(
        x=alt.X("from_s:Q", title=None,
                scale=alt.Scale(domain=[0, 8.25]), axis=alt.Axis(values=[0, 2, 4, 6, 8])),
        x2="to_s:Q",
        y=alt.Y("share:Q", title="share of loads", axis=alt.Axis(format="%")),
        y2=alt.datum(0))
    target = alt.Chart().mark_rule(color="#c62828", strokeDash=[4, 3]).encode(
        x=alt.datum(good_ms / 1000))
    return svg(alt.layer(bars, target, data=alt.Data(values=data)).properties(
        width=(WIDTH - 80) // columns - 40, height=90).facet(
        facet=alt.Facet("route:N", title=None, header=alt.Header(labelFontSize=12)),
        columns=columns))


def grid_columns(panels: int, widest: int = 4) -> int:
    """Columns for ``panels`` small multiples: the most (up to ``widest``) that leave no empty
    cell, else ``widest`` (an empty cell draws a lone axis)."""
    for columns in range(min(widest, panels), 1, -1):
        if panels % columns == 0:
            return columns
    return min(widest, panels)


def error_timeline(rows: Sequence[dict[str, Any]], annotations: Sequence[dict[str, Any]],
                   max_routes: int = 5) -> str | None:
    """Error rate over time for the routes with the most errors, annotations as rules."""
    if not rows:
        return None
    alt = _alt()
    errors: dict[str, int] = {}
    for r in rows:
        errors[r["route"]] = errors.get(r["route"], 0) + (r["errors"] or 0)
    top = [k for k, v in sorted(errors.items(), key=lambda kv: -kv[1]) if v > 0][:max_routes]
    data = [{**r, "bucket_start": r["bucket_start"].isoformat()} for r in rows
            if r["route"] in top]
    if not data:
        return None
    lines = alt.Chart(alt.Data(values=data)).mark_line(interpolate="step-after").encode(
        x=alt.X("bucket_start:T", title=None,
                axis=alt.Axis(tickCount="day", format="%a %d %b", labelOverlap="greedy")),
        y=alt.Y("error_rate:Q", title="page loads with an error", axis=alt.Axis(format="%")),
        color=alt.Color("route:N", title="route", legend=alt.Legend(labelLimit=300)))
    layers = [lines]
    marks = annotation_lanes(annotations, min(r["bucket_start"] for r in rows),
                             max(r["bucket_start"] for r in rows))
    if marks:
        notes = alt.Chart(alt.Data(values=marks))
        layers.append(notes.mark_rule(color="#555", strokeDash=[2, 2]).encode(x="at:T"))
        for align, dx in (("left", 3), ("right", -3)):  # labels late in the window point left
            layers.append(notes.transform_filter(alt.datum.align == align).mark_text(
                align=align, dx=dx, fontSize=10, color="#333", baseline="top").encode(
                x="at:T", y=alt.Y("y:Q", scale=None), text="label:N"))
    return svg(alt.layer(*layers).properties(width=WIDTH - 300, height=220))


_LANE = 14  # px: one line of annotation labels above the error-rate plot


def annotation_lanes(annotations: Sequence[dict[str, Any]], first,
                     last) -> list[dict[str, Any]]:
    """Annotation labels in time order, each on a line of its own above the plot (never drawn
    over one another or over the data), pointing left when they start in the last 40 % of
    the window; ``y`` is in pixels from the plot's top (negative: above it)."""
    span = max((last - first).total_seconds(), 1.0)
    ordered = sorted(annotations, key=lambda a: (a["starts_at"], a["id"]))
    out = []
    for i, a in enumerate(ordered):
        late = (a["starts_at"] - first).total_seconds() / span > 0.6
        out.append({"at": a["starts_at"].isoformat(), "label": f"{a['kind']}: {a['id']}",
                    "y": -_LANE * (len(ordered) - i), "align": "right" if late else "left"})
    return out


def waterfall(spans: Sequence[dict[str, Any]]) -> str | None:
    """One session's spans as a waterfall: a row per span, grouped by trace (page load), a bar
    from its offset within its trace, coloured by service; failed spans outlined in red."""
    if not spans:
        return None
    alt = _alt()
    starts: dict[str, float] = {}
    for s in spans:
        starts[s["trace_id"]] = min(starts.get(s["trace_id"], s["offset_ms"]), s["offset_ms"])
    data = []
    for i, s in enumerate(spans):
        first = starts[s["trace_id"]]
        data.append({
            "label": f"{i + 1:>3} +{first / 1000:,.1f}s {s['service'] or '?'} · "
                     f"{s['name'] or ''}"[:64],
            "start": s["offset_ms"] - first,
            "end": s["offset_ms"] - first + (s["duration_ms"] or 0),
            "service": s["service"] or "?", "status": "error" if s["error"] else "ok"})
    chart = alt.Chart(alt.Data(values=data)).mark_bar(height=8).encode(
        y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=360)),
        x=alt.X("start:Q", title="ms since the page load's trace began",
                axis=alt.Axis(labelOverlap="greedy", labelFlush=True, tickCount=6)),
        x2="end:Q",
        color=alt.Color("service:N", title="service", legend=alt.Legend(labelLimit=300)),
        stroke=alt.condition(alt.datum.status == "error", alt.value("#c62828"),
                             alt.value(None)),
        strokeWidth=alt.value(2))
    return svg(chart.properties(width=WIDTH - 520, height=12 * len(data)))


# The verdict badges' colours on the page (templates/base.html.j2), so a plot reads like them.
_VERDICTS: dict[Verdict, str] = {"delivery": "#c62828", "mixed": "#ef6c00",
                                  "design": "#6a1b9a", "silent": "#1565c0",
                                  "inconclusive": "#757575", "ok": "#2e7d32"}


def forest(findings: Sequence[Finding]) -> str | None:
    """Adjusted odds ratios of poor feedback with their 95 % intervals, one row per route and
    dependency (log scale; 1 = no different from the site's normal), coloured by verdict."""
    rows = []
    for f in findings:
        o = f.odds_ratio_adjusted
        if o is not None and all(v and not math.isnan(v) for v in (o.estimate, o.low, o.high)):
            rows.append({"subject": f"{f.subject_kind} {f.subject}",
                         "or": o.estimate, "lo": o.low, "hi": o.high, "verdict": f.verdict})
    if not rows:
        return None
    alt = _alt()
    order = [r["subject"] for r in rows]
    scale = alt.Scale(type="log", domain=[0.05, 50], clamp=True)  # wider intervals end there
    ticks = alt.Axis(values=[0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50])
    x = alt.X("lo:Q", title="adjusted odds ratio of a poor answer (95 % interval, log scale)",
              scale=scale, axis=ticks)
    y = alt.Y("subject:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    colour = alt.Color("verdict:N", title="verdict", scale=alt.Scale(
        domain=list(_VERDICTS), range=list(_VERDICTS.values())))
    base = alt.Chart(alt.Data(values=rows))
    one = alt.Chart(alt.Data(values=[{"x": 1}])).mark_rule(color="#555", strokeDash=[4, 3])
    chart = alt.layer(
        one.encode(x=alt.X("x:Q", scale=scale, axis=ticks)),
        base.mark_rule(strokeWidth=2).encode(x=x, x2="hi:Q", y=y, color=colour),
        base.mark_point(filled=True, size=60, opacity=1).encode(
            x=alt.X("or:Q", scale=scale, axis=ticks), y=y, color=colour))
    return svg(chart.properties(width=WIDTH - 420, height=18 * len(rows)))


def driver_bars(rows: Sequence[dict[str, Any]]) -> str | None:
    """Avoidable contacts per call driver as horizontal bars, each with its 95 % interval as an
    error bar and its figure beside it, one line per row in the order given (``label``,
    ``avoidable``, ``ci_low``, ``ci_high``, ``shown``, ``thin``); a row without an estimate
    keeps its line and says so, with no bar. Thin rows are drawn paler."""
    if not rows:
        return None
    alt = _alt()
    data = [{**r, "at": r["ci_high"] if r["avoidable"] is not None else 0} for r in rows]
    y = alt.Y("label:N", sort=[r["label"] for r in rows], title=None,
              axis=alt.Axis(labelLimit=380))
    x = alt.X("avoidable:Q", title="avoidable contacts (bar: estimate; line: 95 % interval)",
              axis=alt.Axis(tickMinStep=1, labelFlush=True))
    base = alt.Chart(alt.Data(values=data))
    known = base.transform_filter("isValid(datum.avoidable)")
    chart = alt.layer(
        known.mark_bar(height=14).encode(
            x=x, y=y, color=alt.condition(alt.datum.thin, alt.value("#a9bcd8"),
                                          alt.value("#4a6fa5"))),
        known.mark_rule(color="#1d2330", strokeWidth=1.5).encode(x="ci_low:Q", x2="ci_high:Q",
                                                                 y=y),
        base.mark_text(align="left", dx=5, fontSize=11, color="#333").encode(
            x="at:Q", y=y, text="shown:N"))
    return svg(chart.properties(width=WIDTH - 440, height=24 * len(data)))
