"""Staging and merging one file's rows: parsed chunks go to the connection's temporary tables
``stage_<table>``, then ``models/load/<table>.sql`` merges each into its canonical table by
natural key, in an order that lets sessions read the stored events. ``connectors.load`` runs
both inside one transaction per file.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from parallax.connectors.base import FileFormat, ParseContext, Reject, Source
from parallax.db import read_sql
from parallax.errors import RejectRateError

__all__ = ["drop_stage", "merge", "merge_order", "stage_all"]


# Rows per staging insert: whole row groups (122,880 rows) rather than many small appends.
STAGE_ROWS = 2 * 122_880

# Staging: parsed chunks go to the connection's temporary tables stage_<table>: never written
# to the database file only to be read back by the merge (DuckDB spills them to its temporary
# directory beyond the memory limit, so memory stays flat however large the file); nothing is
# visible in the canonical tables until the one merge transaction. Stage tables are dropped
# afterwards; those an older version staged into the file, left behind when its process
# died, are dropped before the next load.

def stage_all(con, fmt: FileFormat, source: Source, ctx: ParseContext, load_id: str,
               max_reject_rate: float
               ) -> tuple[dict[str, int], list[Reject], int, dict[str, int]]:
    drop_stage(con)
    if fmt.stage_native is not None:
        native = fmt.stage_native(con, source, ctx, load_id)
        if native is not None:  # DuckDB read it all: no rejects
            records, rows = native
            done = dict(rows) if isinstance(rows, Mapping) else {fmt.primary: rows}
            return done, [], records, {}
        drop_stage(con)
    staged: dict[str, int] = {}
    buffered: dict[str, list[pa.Table]] = {}
    rejects: list[Reject] = []
    records = 0
    notes: dict[str, int] = {}
    for chunk in fmt.parse(source, ctx):
        records += chunk.records
        rejects.extend(chunk.rejects)
        for what, n in chunk.notes:
            notes[what] = notes.get(what, 0) + n
        tables = buffered.setdefault(chunk.table, [])
        tables.append(chunk.arrow())
        if sum(t.num_rows for t in tables) >= STAGE_ROWS:
            _stage(con, chunk.table, tables, load_id, staged)
            tables.clear()
    for table, tables in buffered.items():
        _stage(con, table, tables, load_id, staged)
    bad = [r for r in rejects if not r.excluded]
    if records and len(bad) / records > max_reject_rate:
        raise RejectRateError(
            f"{ctx.file}: {len(bad)} of {records} records rejected "
            f"({len(bad) / records:.1%} > {max_reject_rate:.1%}); "
            f"first at {bad[0].location}: {bad[0].reason}"
        )
    return staged, rejects, records, notes


def _stage(con, table: str, frames: list[pa.Table], load_id: str,
           staged: dict[str, int]) -> None:
    if table not in staged:
        # The table name comes from our own format modules, never from user input.
        con.execute(f"CREATE TEMP TABLE stage_{table} AS SELECT * FROM {table} LIMIT 0")
        staged[table] = 0
    frame = pa.concat_tables(frames, promote_options="default") if len(frames) > 1 else (
        frames[0] if frames else None)
    if frame is None or frame.num_rows == 0:
        return
    con.register("_parallax_chunk", frame)
    try:
        con.execute(f"INSERT INTO stage_{table} BY NAME "
                    "SELECT *, $load_id AS load_id FROM _parallax_chunk", {"load_id": load_id})
    finally:
        con.unregister("_parallax_chunk")
    staged[table] += frame.num_rows


def drop_stage(con) -> None:
    # this connection's temporary stage tables, and stage tables a version that staged into
    # the database file left behind when its process died
    names = con.execute(
        "SELECT database_name, table_name FROM duckdb_tables() "
        "WHERE starts_with(table_name, 'stage_') AND schema_name = 'main' "
        "AND (temporary OR database_name = current_database())"
    ).fetchall()
    for database, name in names:
        con.execute(f'DROP TABLE IF EXISTS "{database}".main."{name}"')


# Sessions are merged after page views and events so their SQL can read the stored events.
_ORDER = ("spans", "feedback", "events", "page_views", "sessions", "interactions")


def merge_order(staged: dict[str, int]) -> list[str]:
    return sorted(staged, key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER))


def merge(con, table: str, load_id: str) -> int:
    """Run models/load/<table>.sql; its first INSERT's count is the rows loaded."""
    statements = [s for s in read_sql("models", f"load/{table}.sql").split(";\n") if _sql(s)]
    loaded = None
    for stmt in statements:
        params = {"load_id": load_id} if "$load_id" in stmt else None
        result = con.execute(stmt, params).fetchall() if params else con.execute(stmt).fetchall()
        if loaded is None and _sql(stmt).upper().startswith("INSERT"):
            loaded = int(result[0][0]) if result else 0
    return loaded or 0


def _sql(stmt: str) -> str:
    """The statement without its leading comment lines ('' if it has no SQL)."""
    lines = [line for line in stmt.splitlines() if line.strip()]
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip()
