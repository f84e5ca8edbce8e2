"""The ``parallax`` command: parse, call a library function, print.

``main()`` is the one error boundary: a ``ParallaxError`` becomes one line on stderr and its
exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from parallax.errors import ConfigError, ParallaxError

app = typer.Typer(
    help="Parallax: put what customers say beside what they got.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load files into the database (format detected from content).",
                         no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


@dataclass(frozen=True)
class _Globals:
    db: str | None
    config: Path | None


@app.callback()
def _global(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", help="DuckDB file (env PARALLAX_DB; default ./parallax.duckdb)")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Settings file (env PARALLAX_CONFIG; default ./parallax.toml)")] = None,
) -> None:
    ctx.obj = _Globals(db, config)


def _open(ctx: typer.Context):
    """Open (and migrate) the database; the CLI is the only caller of ``db.connect``."""
    from parallax.config import load_config
    from parallax.db import connect, resolve_db_path

    g: _Globals = ctx.obj
    cfg = load_config(g.config)
    path = resolve_db_path(g.db)
    return connect(path), cfg, path


FilesArg = Annotated[list[str], typer.Argument(help="Files, globs or folders (.gz works).")]
FormatOpt = Annotated[str | None, typer.Option("--format", help="Skip detection: format name.")]
FieldOpt = Annotated[list[str] | None, typer.Option(
    "--field", help="canonical=column mapping, repeatable (e.g. score=Q3, session_id=sid).")]
OptionOpt = Annotated[list[str] | None, typer.Option(
    "--option", help="key=value format option, repeatable: timezone=Europe/Berlin, "
    "survey_id=SV_…, source=NAME, scale=1-5, poor_at_most=2 (feedback); load_param=NAME "
    "(analytics).")]
RejectOpt = Annotated[float | None, typer.Option(
    "--max-reject-rate", help="Fail a file when more than this share of records is bad.")]


def _ingest(ctx, kind, files, fmt, fields, max_reject_rate, options, extra=None) -> None:
    from parallax.connectors.load import expand_paths, ingest_files
    from parallax.console import FileProgress, print_summaries
    from parallax.options import ingest_options

    paths = expand_paths(files)
    con, cfg, db_path = _open(ctx)
    try:
        merged = {**_pairs(extra, "--option", "key=value"), **options}
        opts = ingest_options(cfg, db_path, _pairs(fields), merged, max_reject_rate)
        with FileProgress() as progress:
            summaries = ingest_files(con, kind, paths, opts, format=fmt, progress=progress)
        _refresh_pages(con, cfg)
    finally:
        con.close()
    print_summaries(summaries)


def _refresh_pages(con, cfg) -> None:
    """Fold new loads into the page-level join model now, so analysis never re-reads spans."""
    from parallax.exposure import JoinSettings, refresh_pages

    refresh_pages(con, JoinSettings.from_mapping(cfg.extra.get("join", {})))


@ingest_app.command("traces")
def ingest_traces(ctx: typer.Context, files: FilesArg, format: FormatOpt = None,
                  max_reject_rate: RejectOpt = None) -> None:
    """OTLP/JSON (document or collector JSON lines), Jaeger JSON, Zipkin v2 JSON."""
    _ingest(ctx, "traces", files, format, None, max_reject_rate, {})


@ingest_app.command("feedback")
def ingest_feedback(
    ctx: typer.Context, files: FilesArg, format: FormatOpt = None, field: FieldOpt = None,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="nps | csat | ces | rating (default: found from the data).")] = None,
    option: OptionOpt = None, max_reject_rate: RejectOpt = None,
) -> None:
    """Qualtrics response exports (CSV), generic CSV / NDJSON survey answers."""
    _ingest(ctx, "feedback", files, format, field, max_reject_rate,
            {"metric": metric} if metric else {}, option)


@ingest_app.command("analytics")
def ingest_analytics(
    ctx: typer.Context, files: FilesArg, format: FormatOpt = None, field: FieldOpt = None,
    session_param: Annotated[str | None, typer.Option(
        "--session-param", help="GA4 event param carrying the shared session id.")] = None,
    option: OptionOpt = None, max_reject_rate: RejectOpt = None,
) -> None:
    """GA4 BigQuery export NDJSON, generic page-view CSV / NDJSON."""
    _ingest(ctx, "analytics", files, format, field, max_reject_rate,
            {"session_param": session_param} if session_param else {}, option)


@app.command("loads")
def loads(ctx: typer.Context,
          rejects: Annotated[bool, typer.Option("--rejects", help="Rejected records.")] = False,
          limit: Annotated[int, typer.Option("--limit")] = 50) -> None:
    """The load ledger (newest first), or the rejected records with their reasons."""
    con, _, _ = _open(ctx)
    try:
        _print_query(con, "rejects.sql" if rejects else "loads.sql", {"limit": limit})
    finally:
        con.close()


@app.command("overview")
def overview(ctx: typer.Context) -> None:
    """What the database holds and how well feedback, sessions and traces meet."""
    con, _, _ = _open(ctx)
    try:
        _print_query(con, "overview.sql")
    finally:
        con.close()


@app.command("demo")
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Where the demo files are written.")] = Path(
        "demo-out"),
    seed: Annotated[int, typer.Option("--seed")] = 7,
    sessions: Annotated[int, typer.Option("--sessions", min=100)] = 3000,
) -> None:
    """Build the demo world as real-format files, ingest them, and show what landed."""
    from parallax.connectors.load import ingest_files
    from parallax.console import FileProgress, print_summaries
    from parallax.demo import build_world
    from parallax.options import ingest_options

    files = build_world(out, seed=seed, sessions=sessions)
    con, cfg, db_path = _open(ctx)
    try:
        opts = ingest_options(cfg, db_path)
        summaries = []
        with FileProgress() as progress:
            for kind, paths in (("traces", files.traces), ("feedback", files.feedback),
                                ("analytics", files.analytics)):
                summaries += ingest_files(con, kind, list(paths), opts, progress=progress)
        _refresh_pages(con, cfg)
        print_summaries(summaries)
        _print_query(con, "overview.sql")
        _correlate(con, cfg, None, None, None)
    finally:
        con.close()
    typer.echo(f"\ndatabase: {db_path.resolve()}\nfiles:    {out.resolve()} "
               f"(planted truth: {files.truth.name})\n"
               f"next:     parallax --db {db_path} findings --format json · "
               f"parallax --db {db_path} overview · duckdb {db_path}")


def _when(value: str | None, flag: str):
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} {value!r}: expected an ISO date or time, "
                          "e.g. 2026-10-05 or 2026-10-05T12:00Z") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _correlate(con, cfg, since, until, min_responses) -> None:
    from dataclasses import replace

    from parallax.console import print_findings
    from parallax.correlate import JoinSettings, Settings, correlate

    settings = Settings.from_mapping(cfg.extra.get("correlate", {}))
    if min_responses is not None:
        settings = replace(settings, min_responses=min_responses)
    join = JoinSettings.from_mapping(cfg.extra.get("join", {}))
    run = correlate(con, settings=settings, join=join, since=since, until=until)
    cov = run.coverage
    typer.echo(f"\ncorrelate run {run.run_id}: {cov.responses:,} responses, {run.modelled:,} "
               "linked to a delivered experience with a load time (" + ", ".join(
                   f"{link} {cov.share(link):.0%}" for link in ("session", "user", "route_time",
                                                                "none")) + ")")
    print_findings([f.to_json() for f in run.findings if f.subject_kind != "segment"])


@app.command("correlate")
def correlate_cmd(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Window start (ISO).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Window end (ISO).")] = None,
    min_responses: Annotated[int | None, typer.Option(
        "--min-responses", min=1, help="Fewer responses on a subject: inconclusive.")] = None,
) -> None:
    """Link feedback to delivery, attribute poor feedback, store findings with verdicts."""
    start, end = _when(since, "--since"), _when(until, "--until")
    con, cfg, _ = _open(ctx)
    try:
        _correlate(con, cfg, start, end, min_responses)
    finally:
        con.close()


@app.command("findings")
def findings_cmd(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: latest).")] = None,
) -> None:
    """Print the findings of the latest (or a given) correlate run."""
    import orjson

    from parallax.console import print_findings
    from parallax.db import read_sql

    if format not in ("table", "json", "csv"):
        raise ConfigError(f"--format {format!r}: expected table, json or csv")
    con, _, _ = _open(ctx)
    try:
        rows = con.execute(read_sql("queries", "findings.sql"), {"run_id": run_id}).fetchall()
    finally:
        con.close()
    if not rows:
        raise ConfigError("no findings yet: run `parallax correlate` first"
                          + (f" (no run {run_id!r})" if run_id else ""))
    docs = [orjson.loads(doc) for *_, doc in rows]
    if format == "json":
        sys.stdout.write(orjson.dumps(docs, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif format == "csv":
        _write_csv(docs)
    else:
        print_findings(docs)


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
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@app.command("query")
def query_cmd(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(
        help="A query from `parallax query --list`.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="name=value, repeatable (typed by the query's header).")] = None,
    format: Annotated[str, typer.Option("--format", help="table | json | csv | parquet")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Run a named query from queries/*.sql (each says what it answers and its parameters)."""
    from parallax.export import write_result
    from parallax.named_queries import list_queries, run_query

    if list_ or name is None:
        from parallax.console import print_rows

        print_rows(["query", "answers", "parameters"], [
            (q.name, q.description, ", ".join(
                f"{p.name} {p.type}" + ("" if p.required else f" = {p.default}")
                for p in q.params) or "–") for q in list_queries()])
        return
    values = _pairs(param, "--param", "name=value")
    con, _, _ = _open(ctx)
    try:
        write_result(run_query(con, name, values), format, out)
    finally:
        con.close()


@app.command("sql")
def sql_cmd(
    ctx: typer.Context,
    statement: Annotated[str, typer.Argument(help='e.g. "SELECT route, count(*) FROM spans '
                                                  'GROUP BY route"')],
    format: Annotated[str, typer.Option("--format", help="table | json | csv | parquet")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Run ad-hoc SQL on a read-only connection: nothing can be changed from here."""
    import duckdb

    from parallax.db import connect, resolve_db_path
    from parallax.export import write_result

    path = resolve_db_path(ctx.obj.db)
    if not path.exists():
        raise ConfigError(f"{path}: no such database (load something with `parallax ingest`)")
    con = connect(path, read_only=True)
    try:
        try:
            rel = con.sql(statement)
        except duckdb.Error as exc:
            raise ConfigError(f"sql: {str(exc).strip().splitlines()[0]}") from None
        if rel is None:
            raise ConfigError("sql: the statement returns no rows")
        write_result(rel, format, out)
    finally:
        con.close()


def _print_query(con, name: str, params: dict | None = None) -> None:
    from parallax.console import print_rows
    from parallax.db import read_sql

    cur = con.execute(read_sql("queries", name), params) if params else con.execute(
        read_sql("queries", name))
    print_rows([d[0] for d in cur.description], cur.fetchall())


def _pairs(values: list[str] | None, flag: str = "--field",
           shape: str = "canonical=column") -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, col = v.partition("=")
        if not sep or not key.strip() or not col.strip():
            raise ConfigError(f"{flag} {v!r}: expected {shape}")
        out[key.strip()] = col.strip()
    return out


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the error boundary; tests call this)."""
    try:
        app(args=argv, prog_name="parallax", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except ParallaxError as exc:
        print(f"parallax: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def main() -> None:
    sys.exit(run())
