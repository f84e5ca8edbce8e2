"""SRE and marketing workflows: ``incident`` (what an incident cost in customers) and
``design-check`` (did a change help); the annotations they read: parallax.commands.annotate."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import (
    app,
    check_format,
    parse_when,
    parse_window,
    session,
    writable,
)
from parallax.errors import ConfigError
from parallax.numbers import ci, fmt
from parallax.terminal import echo, print_json

__all__: list[str] = []

FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]
_DURATION = re.compile(r"^(\d+)\s*([dhm])$")


def _duration(value: str, flag: str) -> timedelta:
    m = _DURATION.match(value.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise ConfigError(f"{flag} {value!r}: expected a duration such as 14d, 36h or 90m")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(days=n) if unit == "d" else timedelta(hours=n) if unit == "h" else (
        timedelta(minutes=n))


HtmlOpt = Annotated[Path | None, typer.Option(
    "--html", help="Also write a page: before/after trends on the routes, the verdict.",
    callback=writable("--html"))]


def _write_trend(con, path: Path, trend) -> None:
    from parallax.files import write_whole
    from parallax.report.trend import trend_html

    write_whole(path, trend_html(con, trend), "--html")


@app.command("incident")
def incident_cmd(
    ctx: typer.Context,
    id: Annotated[str | None, typer.Argument(help="An annotation id (its scope and times).")]
    = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    dependency: Annotated[str | None, typer.Option("--dependency")] = None,
    route: Annotated[str | None, typer.Option("--route")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Incident start (ISO).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Incident end (ISO).")] = None,
    baseline: Annotated[str, typer.Option(
        "--baseline", help="Pre-period length before the start.")] = "7d",
    format: FormatOpt = "table",
    html: HtmlOpt = None,
) -> None:
    """What an incident cost in customers: extra poor answers, NPS, conversions, revenue."""
    from parallax.commands.console import Steps
    from parallax.names import require_known

    format = check_format(format)
    span = _duration(baseline, "--baseline")
    starts, ends = parse_window(start, end, ("--start", "--end"))
    if id is None and not (service or dependency or route):
        raise ConfigError("say what the incident touched: an annotation ID, --service, "
                          "--dependency or --route")
    if id is None and (starts is None or ends is None):
        raise ConfigError("the incident needs --start and --end (or an annotation ID)")
    with session(ctx) as s:
        con = s.con
        # A typed /category/base-layers or /category/:slug means the stored /category/{slug}.
        route = s.route(route) if route else None
        for kind, name, flag in (("annotation", id, "incident"), ("route", route, "--route"),
                                 ("service", service, "--service"),
                                 ("dependency", dependency, "--dependency")):
            require_known(con, kind, name, flag)  # before the models load and fit
        with Steps() as steps:
            steps.step("incident: join model, time-series baseline, counterfactual")
            from parallax.correlate.incident import incident_impact

            settings, join = s.analysis
            r = incident_impact(con, id=id, service=service, dependency=dependency,
                                route=route, starts=starts, ends=ends, baseline=span,
                                join=join, settings=settings)
            if html is not None:
                from parallax.report.trend import Trend

                steps.step(f"writing {html}")
                _write_trend(con, html, Trend(
                    f"Incident {r.id or r.dependency or r.route or r.service}", r.verdict,
                    r.reason, r.routes, r.baseline_from, r.ends + (r.ends - r.starts),
                    r.starts, r.ends))
    doc = r.to_json()
    if format == "json":
        print_json(doc)
    else:
        _print_incident(doc)
    if html is not None:
        echo(f"html: {html}", err=format == "json")


def _print_incident(doc: dict) -> None:
    from parallax.commands.console import print_rows

    what = doc["dependency"] or doc["route"] or doc["service"]
    echo(f"\nincident {doc['id'] or what}: {doc['starts']} → {doc['ends']} "
         f"(routes {', '.join(doc['routes'])}; pre-period from {doc['baseline_from']}, "
         f"{doc['bin_minutes']}-minute bins)")
    echo(f"verdict: {doc['verdict']} — {doc['reason']}")
    for note in doc["notes"]:
        echo(f"note: {note}")
    poor, conv = doc["poor_responses"], doc["conversions"]
    rows = [("answers during", doc["responses"], ""),
            ("poor rate during / before",
             f"{fmt(doc['poor_rate'], 'pct1')} / {fmt(doc['poor_rate_before'], 'pct1')}", "")]
    if poor:
        rows += [("poor answers observed / expected", f"{poor['observed']:.0f} / "
                  f"{poor['expected']:.1f}", poor["model"]),
                 ("extra poor answers", ci(poor["extra"], "num1"), "95 % interval"),
                 ("NPS points lost", ci(doc["nps_points"], "num1"), "")]
    if conv:
        rows += [("sessions on the routes / conversions", f"{conv['sessions']:.0f} / "
                  f"{conv['observed']:.0f} (expected {conv['expected']:.1f})", ""),
                 ("lost conversions", ci(conv["lost"], "num1"), conv["model"]),
                 ("revenue at risk", ci(conv["revenue"], "int"), "")]
    print_rows(["", "value", "note"], rows)
    print_rows(["delivered", "subject", "pages before/during", "error rate", "failure rate",
                "p95 ms", "degraded"],
               [(d["kind"], d["subject"], f"{_g(d['before'], 'pages')} / "
                 f"{_g(d['during'], 'pages')}",
                 f"{fmt(_g(d['before'], 'error_rate'), 'pct1')} → "
                 f"{fmt(_g(d['during'], 'error_rate'), 'pct1')}",
                 f"{fmt(_g(d['before'], 'failure_rate'), 'pct1')} → "
                 f"{fmt(_g(d['during'], 'failure_rate'), 'pct1')}",
                 f"{fmt(_g(d['before'], 'p95_ms'), 'int')} → "
                 f"{fmt(_g(d['during'], 'p95_ms'), 'int')}",
                 "yes" if d["degraded"] else "") for d in doc["delivery"]])
    if doc["segments"]:
        print_rows(["segment", "level", "answers", "poor rate during / before", "excess poor"],
                   [(s["factor"], s["level"], s["responses"],
                     f"{fmt(s['poor_rate'], 'pct1')} / {fmt(s['poor_rate_before'], 'pct1')}",
                     fmt(s["excess_poor"], "num1")) for s in doc["segments"][:8]])


def _g(d: dict | None, key: str):
    return None if d is None else d.get(key)


@app.command("design-check")
def design_check_cmd(
    ctx: typer.Context,
    route: Annotated[str, typer.Option("--route", help="The route whose design changed.")],
    changed_at: Annotated[str, typer.Option("--changed-at", help="When it changed (ISO).")],
    control_routes: Annotated[list[str] | None, typer.Option(
        "--control-routes", help="Control routes (repeatable or comma-separated; default: "
        "every other route with responses).")] = None,
    window: Annotated[str, typer.Option(
        "--window", help="How far before and after the change to look.")] = "14d",
    format: FormatOpt = "table",
    html: HtmlOpt = None,
) -> None:
    """Did a design change help or hurt, once delivery that week is accounted for?"""
    from dataclasses import replace

    from parallax.commands.console import Steps
    from parallax.names import require_known

    format = check_format(format)
    at = parse_when(changed_at, "--changed-at")
    span = _duration(window, "--window")
    with session(ctx) as s:
        con = s.con
        route = s.route(route)
        controls = None
        if control_routes:
            controls = [s.route(c.strip()) for v in control_routes
                        for c in v.split(",") if c.strip()]
        for flag, name in (("--route", route),
                           *(("--control-routes", c) for c in controls or ())):
            require_known(con, "route", name, flag)  # before the models load and fit
        settings, join = s.analysis
        with Steps() as steps:
            steps.step("design-check: join model, before/after against controls, adjusted")
            from parallax.correlate.design_check import design_check

            r = design_check(con, route, at, controls=controls, window=span,
                             settings=replace(settings, draws=max(settings.draws, 100)),
                             join=join)
            if html is not None:
                from parallax.report.trend import Trend

                steps.step(f"writing {html}")
                _write_trend(con, html, Trend(f"Design change on {r.route}", r.verdict,
                                              r.evidence, (r.route,), r.since, r.until,
                                              r.changed_at))
    doc = r.to_json()
    if format == "json":
        print_json(doc)
        if html is not None:
            echo(f"html: {html}", err=True)
        return
    from parallax.commands.console import print_rows

    echo(f"\ndesign check {doc['route']} changed {doc['changed_at']} "
         f"({doc['since']} → {doc['until']}; controls {', '.join(doc['controls'])})")
    echo(f"verdict: {doc['verdict']}")
    n, rate = doc["n"], doc["poor_rate"]
    print_rows(["responses (poor rate)", "before", "after"], [
        ("changed route", f"{n['changed_before']} ({fmt(rate['changed_before'], 'pct1')})",
         f"{n['changed_after']} ({fmt(rate['changed_after'], 'pct1')})"),
        ("control routes", f"{n['controls_before']} ({fmt(rate['controls_before'], 'pct1')})",
         f"{n['controls_after']} ({fmt(rate['controls_after'], 'pct1')})")])
    if doc["adjusted"]:
        print_rows(["estimate", "odds ratio", "poor rate points", "p"], [
            (name, ci(doc[key]["odds_ratio"], "or"), ci(doc[key]["points"], "num1", scale=100.0),
             fmt(doc[key]["p_value"], "q"))
            for name, key in (("naive before/after", "naive"), ("difference in differences",
                                                                "did"),
                              ("adjusted for delivery", "adjusted"),
                              ("placebo (before period)", "placebo")) if doc[key]])
    if doc.get("conversion"):
        _print_conversion(doc["conversion"])
    echo(doc["evidence"])
    if html is not None:
        echo(f"html: {html}")


def _print_conversion(c: dict) -> None:
    """The conversion half of design-check: sessions, estimates, the verdict."""
    from parallax.commands.console import print_rows

    echo(f"conversion verdict: {c['verdict']} ({c['comparison']}; {c['unit']})")
    n, rate = c["n"], c["conversion_rate"]
    rows = [("changed route", f"{n['changed_before']} ({fmt(rate['changed_before'], 'pct1')})",
             f"{n['changed_after']} ({fmt(rate['changed_after'], 'pct1')})")]
    if c["comparison"] != "before/after":
        rows.append(("control sessions",
                     f"{n['controls_before']} ({fmt(rate['controls_before'], 'pct1')})",
                     f"{n['controls_after']} ({fmt(rate['controls_after'], 'pct1')})"))
    print_rows(["sessions (conversion rate)", "before", "after"], rows)
    if c["adjusted"]:
        print_rows(["conversion estimate", "odds ratio", "conversion points", "p"], [
            (name, ci(c[key]["odds_ratio"], "or"), ci(c[key]["points"], "num1", scale=100.0),
             fmt(c[key]["p_value"], "q"))
            for name, key in (("naive before/after", "naive"),
                              ("difference in differences", "did"),
                              ("adjusted for delivery", "adjusted"),
                              ("placebo (before period)", "placebo")) if c[key]])
    if c["note"]:
        echo(f"note: {c['note']}")
