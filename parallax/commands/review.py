"""The joint review: ``review`` (one HTML page) and ``drill`` (the rows behind a number)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import (
    app,
    check_format,
    parse_window,
    selection_settings,
    session,
    writable,
)
from parallax.terminal import echo, print_json

__all__: list[str] = []


@app.command("review")
def review_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.",
                                      callback=writable("--out"))] = Path(
        "report.html"),
    since: Annotated[str | None, typer.Option("--since", help="Window start (ISO).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Window end (ISO).")] = None,
) -> None:
    """Correlate the window, then write one self-contained HTML page both business and IT read."""
    from parallax.commands.console import Steps

    start, end = parse_window(since, until)
    with session(ctx) as s:
        con, cfg = s.con, s.cfg
        # A fresh run: the page's findings and the join model it drills into are one window.
        settings, join = s.analysis
        with Steps() as steps:
            steps.step("correlate: join model, model fits, verdicts")
            from parallax.correlate import correlate

            run = correlate(con, settings=settings, join=join, since=start, until=end,
                            selection=selection_settings(cfg))
            steps.step(f"writing {out}: figures, plots, evidence")
            from parallax.report import write_review

            currency = str(cfg.extra.get("report", {}).get("currency", ""))
            summary = write_review(con, out, run.run_id, currency=currency)
    echo(f"review: {summary.path} ({summary.routes} routes, {summary.dependencies} "
         f"dependencies, run {summary.run_id}, {summary.bytes / 1e6:.1f} MB, works offline)")


@app.command("drill")
def drill_cmd(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(
        help="route | dependency | response | session | interaction")],
    subject: Annotated[str, typer.Argument(help="Route template, dependency, response id "
                                                "(feedback id), session id or interaction "
                                                "id.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows per table.")] = 50,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write the view as a self-contained page.",
        callback=writable("--html"))] = None,
    format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    wide: Annotated[bool, typer.Option("--wide", help="Every column of each table.")] = False,
) -> None:
    """The rows behind a finding, down to one session's timeline and spans (latest run)."""
    from parallax.report import drill, drill_html

    check_format(format)
    with session(ctx) as s:
        con = s.con
        if kind == "route":  # a typed URL or template means the stored route it lands on
            subject = s.route(subject)
        d = drill(con, kind, subject, limit, s.analysis[0].good_load_ms)
    if html is not None:
        from parallax.files import write_whole

        write_whole(html, drill_html(d), "--html")
    if format == "json":
        _print_json(d)
    else:
        _print_tables(d, wide)
    if html is not None:
        echo(f"\nhtml: {html}", err=format == "json")


def _print_json(d) -> None:
    doc = {"kind": d.kind, "subject": d.subject, "finding": d.finding,
           "tables": [{"title": t.title, "rows": list(t.rows)} for t in d.tables],
           "sessions": [{"session": v.session, "timeline": list(v.timeline.rows),
                         "spans": list(v.spans.rows)} for v in d.sessions]}
    print_json(doc)


def _print_tables(d, wide: bool) -> None:
    from parallax.report.drill import text_waterfall

    if d.finding:
        echo(f"[{d.finding['verdict']}] {d.finding['evidence']}\n")
    for t in d.tables:
        echo(t.title)
        _print_rows(t, wide)
    for v in d.sessions:
        echo(v.timeline.title)
        _print_rows(v.timeline, wide)
        echo(f"{v.spans.title}: {len(v.spans.rows)} spans")
        columns, rows = text_waterfall(v.spans.rows)
        _print(columns, [dict(zip(columns, r, strict=True)) for r in rows])


def _print_rows(t, wide: bool) -> None:
    """Compact columns unless --wide; values as people read them (parallax.numbers.cell); one
    row (a response, an interaction) as field: value lines, which no width cuts."""
    if len(t.rows) == 1 and not wide:
        from parallax.numbers import cell, header

        (row,) = t.rows
        _print(("field", "value"), [{"field": header(c), "value": cell(c, row[c])}
                                    for c in t.columns if row[c] not in (None, "", [])])
        return
    _print(t.columns if wide or not t.compact else t.compact, t.rows)


def _print(columns, rows) -> None:
    from parallax.commands.console import print_rows
    from parallax.numbers import cell, header

    print_rows([header(c) for c in columns], [[cell(c, r[c]) for c in columns] for r in rows],
               keep={header(c) for c in columns if c in _IDS})


_IDS = ("response", "session", "interaction", "route")  # copied into the next drill
