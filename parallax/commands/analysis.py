"""Analysis: ``correlate`` (join model, attribution, verdicts) and ``findings``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import (
    analysis_settings,
    app,
    check_format,
    parse_window,
    selection_settings,
    session,
)
from parallax.errors import ConfigError, NoDataError
from parallax.terminal import echo, print_json, safe_text

__all__ = ["run_correlate", "selection_line"]


def selection_line(checked: dict | None) -> str:
    """The run's self-selection check in one line (said once, not per finding)."""
    from parallax.correlate.who_answered import NO_OFFERS
    from parallax.numbers import fmt

    if checked is None:
        return NO_OFFERS
    lo, hi = checked["trimmed_at"]
    ess = checked["effective_n_responses"]
    flagged = ", ".join(checked["flagged"]) or "none"
    note = f"; {checked['note']}" if checked["note"] else ""
    offers, answered = fmt(checked["offers"], "int"), fmt(checked["answered"], "int")
    of = fmt(checked["responses_modelled"], "int")
    return (f"who answered: {offers} survey offers, {answered} answered; weights trimmed at "
            f"{fmt(lo)}–{fmt(hi)}, effective sample {'–' if ess is None else fmt(ess, 'int')} "
            f"of {of} modelled responses; delivery changes who answers on: {flagged}{note}")


def run_correlate(con, cfg, since, until, min_responses, exposure=None) -> None:
    from dataclasses import replace

    from parallax.commands.console import Steps
    from parallax.commands.findings_table import print_findings

    settings, join = analysis_settings(cfg)
    if min_responses is not None:
        settings = replace(settings, min_responses=min_responses)
    with Steps() as steps:
        steps.step("correlate: join model, model fits, verdicts")
        from parallax.correlate import correlate

        run = correlate(con, settings=settings, join=join, since=since, until=until,
                        selection=selection_settings(cfg),
                        **({"exposure": exposure} if exposure else {}))
    cov = run.coverage
    echo(f"\ncorrelate run {run.run_id}: {cov.responses:,} responses, {run.modelled:,} "
         "linked to a delivered experience with a load time (" + ", ".join(
             f"{link} {cov.share(link):.0%}" for link in ("session", "user", "route_time",
                                                          "none")) + "); on a route "
         f"template: {cov.response_template_share:.0%} of responses, "
         f"{cov.page_view_template_share:.0%} of page views")
    echo(selection_line(run.selection))
    print_findings([f for f in run.findings if f.subject_kind != "segment"])


@app.command("correlate")
def correlate_cmd(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Window start (ISO).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Window end (ISO).")] = None,
    min_responses: Annotated[int | None, typer.Option(
        "--min-responses", min=1, help="Fewer responses on a subject: inconclusive.")] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="duckdb (the database's own tables) | spark (Parquet tables from "
        "--tables; needs the spark extra and Java 17+)")] = "duckdb",
    spark_master: Annotated[str, typer.Option(
        "--spark-master", help="Spark master URL (local[N], spark://…, yarn).")] = "local[2]",
    tables: Annotated[str | None, typer.Option(
        "--tables", help="With --engine spark: the folder `parallax export --parquet` wrote "
        "(one sub-folder per table, partitioned by day), local or a URI Spark reads "
        "(s3://…, abfss://…, dbfs:/…).")] = None,
) -> None:
    """Link feedback to delivery, attribute poor feedback, store findings with verdicts.

    With --engine spark the join model runs on Spark over the --tables folder; only the
    per-response and per-session frames come back, and the findings go to --db (created if
    missing) as with DuckDB."""
    check_format(engine, ("duckdb", "spark"), option="--engine")
    if (engine == "spark") != (tables is not None):
        raise ConfigError("--tables goes with --engine spark (and --engine spark needs it)")
    start, end = parse_window(since, until)
    from parallax.correlate.run import load_statistics
    from parallax.db import resolve_db_path

    # numpy and scipy load in the background while the database opens; not for a missing
    # database, which session() refuses at once (the exit would wait for the imports)
    if tables is not None or resolve_db_path(ctx.obj.db).is_file():
        load_statistics()
    if tables is None:
        with session(ctx) as s:
            run_correlate(s.con, s.cfg, start, end, min_responses)
        return
    from parallax.spark_engine import SparkExposure, is_uri, spark_session

    if not is_uri(tables) and not Path(tables).is_dir():
        raise ConfigError(f"{tables}: no such folder (--tables)")
    with session(ctx, create=True) as s, spark_session(spark_master) as spark:
        run_correlate(s.con, s.cfg, start, end, min_responses, SparkExposure(spark, tables))


@app.command("findings")
def findings_cmd(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: latest).")] = None,
    wide: Annotated[bool, typer.Option(
        "--wide", help="Every column: intervals, odds ratio, q, delivery.")] = False,
    columns: Annotated[str | None, typer.Option(
        "--columns", help="Comma-separated columns after subject and verdict: responses, poor, "
        "odds, explained, q, p75, errors, extra_poor(_ci), lost_conversions(_ci).")] = None,
) -> None:
    """Print the findings of the latest (or a given) correlate run."""
    import orjson

    from parallax.commands.findings_table import pick_columns, print_findings
    from parallax.named_queries import run_query

    check_format(format, ("table", "json", "csv"))
    shown = pick_columns(columns, wide)
    with session(ctx) as s:
        con = s.con
        rows = run_query(con, "findings", {"run_id": run_id}).fetchall()
    if not rows:
        raise NoDataError("no findings yet: run `parallax correlate` first"
                          + (f" (no run {run_id!r})" if run_id else ""))
    docs = [orjson.loads(doc) for *_, doc in rows]
    if format == "json":
        print_json(docs)
    elif format == "csv":
        _write_csv(docs)
    else:
        from parallax.correlate.findings import Finding

        print_findings([Finding.from_json(d) for d in docs], columns=shown)


def _write_csv(docs: list[dict]) -> None:
    """Flat columns: nested objects become dotted names (impact.extra_poor_responses.estimate)."""
    import csv

    def flat(prefix: str, v, out: dict) -> dict:
        if isinstance(v, dict):
            for k, x in v.items():
                flat(f"{prefix}.{k}" if prefix else k, x, out)
        else:
            out[prefix] = "; ".join(map(str, v)) if isinstance(v, list) else v
        return out

    rows = [flat("", d, {}) for d in docs]
    if sys.stdout.isatty():  # for eyes, not a CSV reader: nothing a terminal acts on
        rows = [{k: safe_text(v) for k, v in r.items()} for r in rows]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
