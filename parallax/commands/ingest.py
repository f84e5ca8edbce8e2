"""Loading files: ``ingest traces|feedback|analytics|interactions``, the load ledger, the
overview, the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import (
    app,
    command_line,
    pairs,
    print_query,
    refresh_pages,
    session,
)
from parallax.terminal import echo

__all__ = ["ingest_app"]

ingest_app = typer.Typer(help="Load files into the database (format detected from content).",
                         no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


FilesArg = Annotated[list[str], typer.Argument(help="Files, globs or folders (.gz works).")]
FormatOpt = Annotated[str | None, typer.Option("--format", help="Skip detection: format name.")]
FieldOpt = Annotated[list[str] | None, typer.Option(
    "--field", help="canonical=column mapping, repeatable (e.g. score=Q3, session_id=sid).")]
OptionOpt = Annotated[list[str] | None, typer.Option(
    "--option", help="key=value format option, repeatable: timezone=Europe/Berlin, "
    "survey_id=SV_…, source=NAME, scale=1-5, poor_at_most=2, details=PATH (SurveyMonkey "
    "survey details), score_question=ID (feedback); load_param=NAME (analytics).")]
RejectOpt = Annotated[float | None, typer.Option(
    "--max-reject-rate", help="Fail a file when more than this share of records is bad.")]
SparkMasterOpt = Annotated[str, typer.Option(
    "--spark-master", help="With --to-parquet: Spark master URL (local[N], spark://…, yarn).")]


def _ingest(ctx, kind, files, fmt, fields, max_reject_rate, options, extra=None) -> None:
    from parallax.commands.console import FileProgress, print_summaries
    from parallax.connectors.load import expand_paths, ingest_files
    from parallax.options import ingest_options

    paths = expand_paths(files)
    with session(ctx, create=True) as s:
        con, cfg, db_path = s.con, s.cfg, s.path
        merged = {**pairs(extra, "--option", "key=value"), **options}
        opts = ingest_options(cfg, db_path, pairs(fields), merged, max_reject_rate)
        with FileProgress() as progress:
            summaries = ingest_files(con, kind, paths, opts, format=fmt, progress=progress)
        refresh_pages(con, cfg)
    print_summaries(summaries)


@ingest_app.command("traces")
def ingest_traces(
    ctx: typer.Context, files: FilesArg, format: FormatOpt = None,
    max_reject_rate: RejectOpt = None,
    to_parquet: Annotated[Path | None, typer.Option(
        "--to-parquet", help="Map the files on Spark and add their spans to this Parquet lake "
        "(the layout of `export --parquet`; created if missing) instead of the database. "
        "OTLP/JSON lines only; needs the spark extra and Java 17+.")] = None,
    spark_master: SparkMasterOpt = "local[2]",
) -> None:
    """OTLP/JSON (document or collector JSON lines), Jaeger JSON, Zipkin v2 JSON.

    With --to-parquet DIR, Spark maps OTLP/JSON-lines files with the same SQL as local
    ingest and appends their new spans to DIR/spans/day=…; the pseudonymisation key is the
    one local ingest uses for --db (nothing is written to the database). The lake learns
    route templates from the new spans as local ingest does, and re-routes the stored days
    the new templates move."""
    if to_parquet is None:
        _ingest(ctx, "traces", files, format, None, max_reject_rate, {})
        return
    _ingest_to_parquet(ctx, files, format, to_parquet, spark_master)


def _ingest_to_parquet(ctx, files, fmt, folder: Path, master: str) -> None:
    from parallax.errors import ConfigError
    from parallax.lake_ingest import check_files, to_parquet
    from parallax.spark_engine import spark_session

    if fmt not in (None, "otlp-jsonl"):
        raise ConfigError(f"--format {fmt}: --to-parquet maps otlp-jsonl files only")
    paths, context = _lake_context(ctx, files, check_files)
    with spark_session(master) as spark:
        done = to_parquet(spark, paths, folder, context)
    rerouted = sum(done.rerouted.values())
    echo(f"{'created' if done.created else 'added to'} {done.folder}: {done.added:,} new "
         f"spans of {done.staged:,} in {done.files:,} file(s); {done.templates:,} learned "
         f"route template(s), {rerouted:,} day partition(s) of stored rows re-routed; "
         f"{done.vitals:,} web_vitals day partition(s) rewritten")


def _lake_context(ctx, files, check, options=None):
    """The files of a --to-parquet load, checked before the JVM starts, and the context local
    ingest into --db would parse them with: the same key and route settings, the same
    pseudonyms."""
    from parallax.connectors.base import ParseContext
    from parallax.connectors.load import expand_paths

    paths = expand_paths(files)
    check(paths)
    opts = _lake_options(ctx)
    return paths, ParseContext(file=", ".join(map(str, paths)), pseudonymize=opts.pseudonymize,
                               route=opts.route, options=options or {})


def _lake_options(ctx, fields=None, options=None, max_reject_rate=None):
    """The options local ingest into --db would load with (its key and route settings: the
    same pseudonyms), for a --to-parquet load that writes nothing to the database."""
    from parallax.config import load_config
    from parallax.db import resolve_db_path
    from parallax.options import ingest_options

    return ingest_options(load_config(ctx.obj.config), resolve_db_path(ctx.obj.db), fields,
                          options, max_reject_rate)


@ingest_app.command("feedback")
def ingest_feedback(
    ctx: typer.Context, files: FilesArg, format: FormatOpt = None, field: FieldOpt = None,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="nps | csat | ces | rating (default: found from the data).")] = None,
    option: OptionOpt = None, max_reject_rate: RejectOpt = None,
    to_parquet: Annotated[Path | None, typer.Option(
        "--to-parquet", help="Merge the responses into this Parquet lake (the layout of "
        "`export --parquet`; created if missing) instead of the database. Every format; "
        "mapped locally by the same ingest, without Spark or Java.")] = None,
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", hidden=True,
        help="Refused: feedback --to-parquet runs without Spark.")] = None,
) -> None:
    """Qualtrics response exports (CSV), SurveyMonkey bulk responses (JSON, with the survey's
    details), generic CSV / NDJSON survey answers.

    Generic CSV / NDJSON columns, found by name (case, _ . - and spaces ignored) or given with
    --field: score (or nps, csat, ces, rating, stars), metric (nps | csat | ces | rating),
    submitted_at (or timestamp, created_at, date, …; ISO 8601 or epoch; no offset = UTC; a
    bad one rejects the row), started_at, feedback_id (or response_id, id), session_id,
    user_id (or customer_id, else email; pseudonymised), page_url (or page, url, route),
    verbatim (or comment, feedback, text), device, country, segment, channel. A Qualtrics
    export is recognised only by its ImportId row or legacy V1… ids.

    With --to-parquet DIR, the responses are merged into DIR/feedback/day=… by local ingest
    itself (same mapping, same merge, the pseudonymisation key of --db), without Spark: only
    the day partitions that change are rewritten; rejected rows go to DIR/rejects/.
    """
    extra = {"metric": metric} if metric else {}
    if to_parquet is None:
        _ingest(ctx, "feedback", files, format, field, max_reject_rate, extra, option)
        return
    _feedback_to_parquet(ctx, files, format, field, max_reject_rate,
                         {**pairs(option, "--option", "key=value"), **extra}, to_parquet,
                         spark_master)


def _feedback_to_parquet(ctx, files, fmt, fields, max_reject_rate, options, folder: Path,
                         master: str | None) -> None:
    from parallax.commands.console import FileProgress
    from parallax.connectors.load import expand_paths
    from parallax.errors import ConfigError
    from parallax.lake_feedback import to_parquet

    if master is not None:
        # Survey answers are small: they are mapped here, by local ingest. A master given
        # would be silently unused, and a user who gave one expects the load to run there.
        raise ConfigError("--spark-master: feedback --to-parquet runs locally, without "
                          "Spark (survey answers are small); drop the option")
    opts = _lake_options(ctx, pairs(fields), options, max_reject_rate)
    paths = expand_paths(files)
    with FileProgress() as progress:
        done = to_parquet(paths, folder, opts, format=fmt, progress=progress)
    read = sum(s.rows_loaded + s.duplicates for s in done.summaries)
    # said only when it happened: the settings changed since the lake's last load
    rerouted = sum(done.rerouted.values())
    moved = (f"; {rerouted:,} day partition(s) of stored spans, page views and events "
             "re-routed" if rerouted else "")
    echo(f"{'created' if done.created else 'added to'} {done.folder}: {done.added:,} new "
         f"responses of {read:,} in {len(done.summaries):,} file(s); {done.days:,} day "
         f"partition(s) rewritten; {done.rejected:,} rejected row(s) added to "
         f"{done.folder / 'rejects'}{moved}")


@ingest_app.command("analytics")
def ingest_analytics(
    ctx: typer.Context, files: FilesArg, format: FormatOpt = None, field: FieldOpt = None,
    session_param: Annotated[str | None, typer.Option(
        "--session-param", help="GA4 event param, or Snowplow context key (NAME or "
        "CONTEXT.NAME), carrying the shared session id.")] = None,
    option: OptionOpt = None, max_reject_rate: RejectOpt = None,
    to_parquet: Annotated[Path | None, typer.Option(
        "--to-parquet", help="Map the files on Spark and merge their events, page views and "
        "sessions into this Parquet lake (the layout of `export --parquet`; created if "
        "missing) instead of the database. GA4 NDJSON only; needs the spark extra and Java "
        "17+.")] = None,
    spark_master: SparkMasterOpt = "local[2]",
) -> None:
    """GA4 BigQuery export NDJSON, Snowplow enriched events (131-field TSV, or wide-row JSON
    lines), generic page-view CSV / NDJSON.

    --session-param names the shared session id: a GA4 event param, or a key of a Snowplow
    custom context (NAME, or CONTEXT.NAME); else GA4's session, Snowplow's domain_sessionid.

    With --to-parquet DIR, Spark maps GA4 NDJSON files with the same SQL as local ingest and
    merges them into DIR/events, page_views and sessions (only the day partitions that change
    are rewritten); the pseudonymisation key is the one local ingest uses for --db.
    """
    extra = {"session_param": session_param} if session_param else {}
    if to_parquet is None:
        _ingest(ctx, "analytics", files, format, field, max_reject_rate, extra, option)
        return
    _analytics_to_parquet(ctx, files, format, field, {**pairs(option, "--option",
                                                             "key=value"), **extra},
                          to_parquet, spark_master)


def _analytics_to_parquet(ctx, files, fmt, fields, options, folder: Path, master: str) -> None:
    from parallax.errors import ConfigError
    from parallax.lake_analytics import check_analytics_files, to_parquet
    from parallax.spark_engine import spark_session

    if fmt not in (None, "ga4-ndjson"):
        raise ConfigError(f"--format {fmt}: --to-parquet maps ga4-ndjson files only")
    if fields:
        raise ConfigError("--field does not apply to GA4 NDJSON (its columns are fixed)")
    paths, context = _lake_context(ctx, files, check_analytics_files, options)
    with spark_session(master) as spark:
        done = to_parquet(spark, paths, folder, context)
    added = ", ".join(f"{done.added[t]:,} new {t.replace('_', ' ')} of "
                      f"{done.staged[t]:,}" for t in ("events", "page_views", "sessions"))
    echo(f"{'created' if done.created else 'added to'} {done.folder}: {added} in "
         f"{done.files:,} file(s); {sum(done.days.values()):,} day partition(s) rewritten "
         f"(and {done.vitals:,} of web_vitals)")


@ingest_app.command("interactions")
def ingest_interactions(
    ctx: typer.Context, files: FilesArg, format: FormatOpt = None,
    field: Annotated[list[str] | None, typer.Option(
        "--field", help="canonical=column mapping, repeatable (e.g. interaction_id=Call ID, "
        "user_id=crm_login; generic CSV / NDJSON).")] = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", help="key=value format option, repeatable: source=NAME; "
        "customer_attribute=NAME, reason_attribute=NAME (Amazon Connect); customer_field=ID, "
        "reason_field=ID, reason_tag_prefix=P, handle_field=ID, ticket_fields=PATH (Zendesk; "
        "else fields found by title in ticket_fields.json beside the tickets).")] = None,
    max_reject_rate: RejectOpt = None,
) -> None:
    """Amazon Connect contact records, Zendesk tickets, generic CSV / NDJSON contacts."""
    _ingest(ctx, "interactions", files, format, field, max_reject_rate, {}, option)


@app.command("loads")
def loads(ctx: typer.Context,
          rejects: Annotated[bool, typer.Option("--rejects", help="Rejected records.")] = False,
          limit: Annotated[int, typer.Option("--limit")] = 50) -> None:
    """The load ledger (newest first), or the rejected records with their reasons."""
    with session(ctx) as s:
        con = s.con
        print_query(con, "rejects" if rejects else "loads", {"limit": limit})


@app.command("overview")
def overview(ctx: typer.Context) -> None:
    """What the database holds and how well feedback, sessions and traces meet."""
    with session(ctx) as s:
        con = s.con
        print_query(con, "overview")


@app.command("demo")
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Where the demo files are written.")] = Path(
        "demo-out"),
    seed: Annotated[int, typer.Option("--seed")] = 7,
    sessions: Annotated[int, typer.Option("--sessions", min=100)] = 3000,
    force: Annotated[bool, typer.Option(
        "--force", help="Load the demo into a database that holds other data too.")] = False,
    vitals: Annotated[bool, typer.Option(
        "--vitals", help="Collect Core Web Vitals and plant their two cases (a layout-shift "
                         "page customers complain about, a slow-input page nobody mentions)."
    )] = False,
) -> None:
    """Build the demo world as real-format files, ingest them, and show what landed."""
    from parallax.commands.analysis import run_correlate
    from parallax.commands.console import FileProgress, print_summaries
    from parallax.connectors.load import ingest_files
    from parallax.demo import build_world
    from parallax.options import ingest_options
    from parallax.records.annotations import import_csv

    with session(ctx, create=True) as s:
        con, cfg, db_path = s.con, s.cfg, s.path
        if not force:
            _refuse_foreign_data(con, db_path)
        from parallax.demo.spec import DEMO
        from parallax.demo.vitals import with_vitals

        files = build_world(out, seed=seed, sessions=sessions,
                            spec=with_vitals(DEMO) if vitals else DEMO)
        opts = ingest_options(cfg, db_path)
        summaries = []
        with FileProgress() as progress:
            for kind, paths in files.by_kind():
                summaries += ingest_files(con, kind, paths, opts, progress=progress)
        refresh_pages(con, cfg)
        print_summaries(summaries)
        for path in files.annotations:  # the incident tracker's export
            imported = import_csv(con, path)
            echo(f"{path.name}: {imported.added} annotations added, "
                 f"{imported.updated} updated, {imported.unchanged} unchanged")
        print_query(con, "overview")
        run_correlate(con, cfg, None, None, None)
    echo(f"\ndatabase: {db_path.resolve()}\nfiles:    {out.resolve()} "
         f"(planted truth: {files.truth.name})\nnext:")
    for args in (("review",), ("findings", "--format", "json"), ("overview",),
                 ("drill", "route", "/cart"), ("incident", "inventory-db-crash"),
                 ("design-check", "--route", "/checkout", "--changed-at", "2026-10-07"),
                 ("contacts", "drivers")):
        echo(f"  {command_line(*args, db=db_path)}")


def _refuse_foreign_data(con, db_path: Path) -> None:
    """The demo's world mixed into someone's own data would spoil both: refuse, unless forced."""
    from parallax.db import read_sql
    from parallax.demo.build import DATA_FILES
    from parallax.errors import ConfigError

    (foreign,) = con.execute(read_sql("models", "demo/foreign_loads.sql"),
                             {"demo_files": list(DATA_FILES)}).fetchone()
    if foreign:
        raise ConfigError(f"{db_path}: holds {foreign:,} load(s) that are not the demo's; "
                          "the demo writes into it only with --force (or give another --db)")
