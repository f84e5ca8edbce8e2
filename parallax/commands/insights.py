"""Insights across sources: ``verbatims`` (topics, sentiment, said vs measured) and ``score``
(the composite quality index). Libraries: parallax.insights.verbatims, parallax.insights.score."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import app, check_format, parse_window, session
from parallax.terminal import echo, print_json

__all__ = ["score_cmd", "score_rows", "verbatims_cmd", "verbatims_lines"]

SinceOpt = Annotated[str | None, typer.Option("--since", help="Window start (ISO).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Window end (ISO, exclusive).")]
FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]


def verbatims_lines(reports) -> list[str]:
    """The table form: one block per route."""
    out = []
    for r in reports:
        langs = ", ".join(f"{k} {v}" for k, v in r.languages.items())
        sent = ", ".join(f"{k} {v}" for k, v in r.sentiment.items())
        out += [f"{r.route}: {r.verbatims} verbatims ({r.poor_share:.0%} poor scores); "
                f"languages: {langs}; sentiment: {sent}"]
        for t in r.topics:
            out.append(f"  {t.topic:<10} {t.verbatims:>5} named, {t.complaints:>5} complaints, "
                       f"{t.poor_share:>4.0%} poor")
        for key, title in (("said_not_measured", "said, not measured"),
                           ("measured_not_said", "measured, not said")):
            items = getattr(r, key)
            if items:
                out.append(f"  {title} ({r.mismatches[key]}):")
                out += [f"    {m.submitted_at:%Y-%m-%d %H:%M} "
                        f"\"{' '.join(m.verbatim.split())}\" — {m.why}" for m in items]
        out.append("")
    return out


@app.command("verbatims")
def verbatims_cmd(
    ctx: typer.Context,
    route: Annotated[str | None, typer.Option("--route", help="Only this route.")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", min=0, help="At most this many said-vs-measured verbatims per list.")] = 10,
    since: SinceOpt = None, until: UntilOpt = None, format: FormatOpt = "table",
) -> None:
    """Topics, sentiment and said vs measured per route (lexicons, no model)."""
    from parallax.insights.verbatims import verbatim_report

    check_format(format)
    start, end = parse_window(since, until)
    with session(ctx) as s:
        con = s.con
        settings, join = s.analysis
        reports = verbatim_report(con, route=s.route(route) if route else None,
                                  good_load_ms=settings.good_load_ms, join=join, since=start,
                                  until=end, limit=limit)
    if format == "json":
        print_json([r.to_json() for r in reports])
        return
    echo("\n".join(verbatims_lines(reports)).rstrip())


def score_rows(report) -> tuple[list[str], list[list[str]]]:
    """The table: rank, group, total, each component, the counts, rank range under ±50 %."""
    from parallax.numbers import fmt

    header = ["rank", report.by, "score", "delivery", "perceived", "effort", "pages",
              "responses", "sessions", "rank ±50% weights"]
    rows = []
    for g in report.groups:
        lo_hi = g.rank_range
        rows.append([str(g.rank or "–"), g.group,
                     *(fmt(x, "num1", empty="no data") for x in (  # a missing part: no data
                         g.total, *(g.components[c] for c in ("delivery", "perceived", "effort")))),
                     f"{g.detail['pages']:,}", f"{g.detail['responses']:,}",
                     f"{g.detail['sessions']:,}",
                     "–" if lo_hi is None else (f"{lo_hi[0]}" if lo_hi[0] == lo_hi[1]
                                                else f"{lo_hi[0]}–{lo_hi[1]}")])
    return header, rows


@app.command("score")
def score_cmd(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="route | segment | channel")] = "route",
    weights: Annotated[Path | None, typer.Option(
        "--weights", help="TOML file with the \\[score] keys (weights, thresholds).")] = None,
    since: SinceOpt = None, until: UntilOpt = None, format: FormatOpt = "table",
) -> None:
    """Quality score 0-100: delivery, perceived, effort, and rank under ±50 % weights."""
    from parallax.commands.console import print_rows
    from parallax.insights.score import ScoreSettings, load_weights, quality_score

    check_format(format)
    start, end = parse_window(since, until)
    with session(ctx) as opened:
        con, cfg = opened.con, opened.cfg
        settings, join = opened.analysis
        section = {"good_load_ms": settings.good_load_ms, **cfg.extra.get("score", {})}
        s = ScoreSettings.from_mapping(section)
        if weights is not None:
            s = load_weights(weights, s)
        report = quality_score(con, by=by, settings=s, join=join, since=start, until=end)
    if format == "json":
        print_json(report.to_json())
        return
    print_rows(*score_rows(report))
    w = report.settings.weights
    notes = [f"weights: delivery {w['delivery']:g}, perceived {w['perceived']:g}, "
             f"effort {w['effort']:g} (relative; docs/score.md)"]
    if not report.effort_data:
        notes.append("effort: no data (no interactions stored); its weight is shared out "
                     "among delivery and perceived")
    moved = ", ".join(f"{k} {v}" for k, v in report.rank_changes.items())
    notes.append(f"groups changing rank when one weight moves: {moved}")
    echo("\n".join(notes))
