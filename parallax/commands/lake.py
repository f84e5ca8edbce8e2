"""``export --parquet``: the canonical tables as Parquet partitioned by day (what
``correlate --engine spark`` reads, on this machine or a cluster's object store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import app, session
from parallax.terminal import echo

__all__: list[str] = []


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    parquet: Annotated[Path, typer.Option(
        "--parquet", help="Folder to write: one sub-folder per table, day=YYYY-MM-DD "
        "partitions (UTC) inside.")],
    replace: Annotated[bool, typer.Option(
        "--replace", help="Write over an existing folder (only once the new one is whole).")
    ] = False,
) -> None:
    """Write the database's canonical tables as Parquet partitioned by day."""
    from parallax.lake import export_parquet

    with session(ctx) as s:
        summary = export_parquet(s.con, parquet, replace=replace)
    echo(f"exported to {summary.folder}: " + ", ".join(
        f"{table} {rows:,}" for table, rows in summary.rows.items())
         + f" rows over {summary.days:,} days")
