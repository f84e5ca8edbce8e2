"""Named queries (``query``) and read-only ad-hoc SQL (``sql``), both on the sandboxed
connection of ``parallax.db.sandboxed``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import app, pairs, session, writable

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
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.",
                                             callback=writable("--out"))] = None,
) -> None:
    """Run a named query from queries/*.sql (each says what it answers and its parameters)."""
    from parallax.commands.export import write_result
    from parallax.db import sandboxed
    from parallax.named_queries import list_queries, run_query

    if list_ or name is None:
        from parallax.commands.console import print_rows

        print_rows(["query", "answers", "parameters"], [
            (q.name, q.description, ", ".join(
                f"{p.name} {p.type}" + ("" if p.required else f" = {p.default}")
                for p in q.params) or "–") for q in list_queries()])
        return
    values = pairs(param, "--param", "name=value")
    path = _migrated(ctx)
    with sandboxed(path) as con:
        write_result(run_query(con, name, values), format, out)


@app.command("sql")
def sql_cmd(
    ctx: typer.Context,
    statement: Annotated[str, typer.Argument(help='e.g. "SELECT route, count(*) FROM spans '
                                                  'GROUP BY route"')],
    format: Annotated[str, typer.Option("--format", help="table | json | csv | parquet")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.",
                                             callback=writable("--out"))] = None,
) -> None:
    """Run one SELECT on a sandboxed, read-only connection (what it can touch: docs/privacy.md)."""
    from parallax.commands.export import write_result
    from parallax.db import read_query, resolve_db_path, sandboxed

    with sandboxed(resolve_db_path(ctx.obj.db)) as con:
        write_result(read_query(con, statement), format, out)


def _migrated(ctx: typer.Context) -> Path:
    """The database, its pending migrations applied on a connection of Parallax's own, closed
    before any query runs (the sandbox never writes)."""
    from parallax.db import resolve_db_path

    path = resolve_db_path(ctx.obj.db)
    if path.is_file():
        with session(ctx):
            pass
    return path
