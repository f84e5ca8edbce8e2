"""Named queries (``query``) and read-only ad-hoc SQL (``sql``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import app, open_db, pairs
from parallax.errors import ConfigError

__all__: list[str] = []


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
    values = pairs(param, "--param", "name=value")
    con, _, _ = open_db(ctx)
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
