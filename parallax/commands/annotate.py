"""``annotate``: incidents, deploys and design changes beside the data (the ``annotations``
table that findings, the review, ``incident`` and ``design-check`` read)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import app, check_format, pairs, session
from parallax.terminal import echo, print_json

__all__ = ["annotate_app"]

annotate_app = typer.Typer(help="Incidents, deploys and design changes beside the data.",
                           no_args_is_help=True)
app.add_typer(annotate_app, name="annotate")

FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]


@annotate_app.command("add")
def annotate_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option("--kind", help="incident | deploy | design-change")],
    start: Annotated[str, typer.Option("--start", help="When it began (ISO, UTC if no offset).")],
    end: Annotated[str | None, typer.Option("--end", help="When it ended (none: a point).")] = None,
    route: Annotated[str | None, typer.Option("--route", help="Route it touched.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Service it touched.")] = None,
    dependency: Annotated[str | None, typer.Option(
        "--dependency", help="Dependency (span peer) it touched.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    id: Annotated[str | None, typer.Option("--id", help="Default: derived from the rest.")] = None,
) -> None:
    """Record an incident, a deploy or a design change."""
    from parallax.records.annotations import add, make, parse_time

    with session(ctx, create=True) as s:
        con = s.con
        a = make(kind=kind, starts_at=parse_time(start, "--start"),
                 ends_at=parse_time(end, "--end") if end else None, service=service,
                 route=route, dependency=dependency, description=description, id=id,
                 source="cli", where="annotate add", routes=s.route)
        stored = add(con, a)
    echo(f"{'stored' if stored else 'already there'}: {a.id}")


@annotate_app.command("list")
def annotate_list(ctx: typer.Context, format: FormatOpt = "table",
                  kind: Annotated[str | None, typer.Option("--kind")] = None) -> None:
    """The annotations, oldest first."""
    from parallax.records.annotations import list_annotations

    format = check_format(format)
    with session(ctx) as s:
        con = s.con
        rows = list_annotations(con, kind=kind)
    if format == "json":
        print_json([a.to_json() for a in rows])
        return
    from parallax.commands.console import print_rows

    print_rows(["id", "kind", "starts", "ends", "service", "route", "dependency",
                "description"],
               [(a.id, a.kind, f"{a.starts_at:%Y-%m-%d %H:%M}",
                 f"{a.ends_at:%Y-%m-%d %H:%M}" if a.ends_at else "", a.service, a.route,
                 a.dependency, a.description) for a in rows])


@annotate_app.command("import")
def annotate_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An incident tracker's CSV export.")],
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="field=COLUMN, repeatable: id, kind, starts_at, ends_at, service, route, "
        "dependency, description (common header names are found without it).")] = None,
    kind: Annotated[str, typer.Option("--kind", help="Kind of rows without one.")] = "incident",
) -> None:
    """Import annotations from CSV: all rows or none; re-importing changes nothing."""
    from parallax.records.annotations import import_csv

    with session(ctx, create=True) as s:
        con = s.con
        r = import_csv(con, file, pairs(map_, "--map", "field=COLUMN"), default_kind=kind,
                       routes=s.route)
    echo(f"{file}: {r.rows} rows — {r.added} added, {r.updated} updated, "
         f"{r.unchanged} unchanged")
