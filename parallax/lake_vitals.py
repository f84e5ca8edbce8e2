"""The lake's ``web_vitals`` rows, recomputed from its events, spans and page views.

``export --parquet`` writes the Core Web Vitals as rows of the DuckDB view ``web_vitals``
(``models/schema/014_web_vitals.sql``); the lake ingests (``ingest traces|analytics
--to-parquet``) add events, spans and page views without a database, so they recompute those
rows here, with the view's own SQL: a scratch in-memory DuckDB whose ``events``, ``spans``,
``page_views`` and ``web_vital_thresholds`` are views over the lake's Parquet (as the load left
it: its staged day folders in place of the lake's, its staged files beside them), and the
migration's ``CREATE VIEW web_vitals`` statement, read from the .sql file, run over them. One
copy of the logic; the Parquet paths are handed to DuckDB as values, never written into SQL.

Which days. A vitals row is measured on the day of the last report of its metric id, routed by
its own route or else by the session's latest page view at or before it. So when the rows of
the days ``C`` (events, spans or page views) changed:

- a day of ``C`` may gain, lose or re-route vitals (its own reports, its page views);
- the day after may change: a vital there routed to a page view of a ``C`` day (a session
  across midnight), or whose metric id got a report on a ``C`` day;
- the day before may change: a metric id whose last report was there and now has a later one
  on a ``C`` day moves its row out of it.

The days recomputed are therefore ``C`` and its neighbours (``R``), and they are computed from
the inputs of ``R`` and its neighbours: a metric id's other reports and a session's earlier
page views are looked for within a day — the bound the GA4 lake ingest already keeps (a
session spans at most one midnight), and the one a web-vitals report keeps (the library reports
a metric again while its page is open). A report more than a day from the rest of its metric
id, or a vital more than a day after its session's last page view, is the case this reads
differently from a database; it is not one the RUM libraries produce.

Only the days whose rows differ from what the lake holds (as multisets, every column) are
written, each whole, for the caller to swap in with its own day partitions: a run that changes
nothing writes nothing. DuckDB reads the days on the driver, which is fine because vitals are a
small part of a day's events and spans (the view's scan of them is what costs; docs/scale.md).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path

import duckdb

from parallax.lake import NO_DAY, day_folder, swap_days, write_table

__all__ = ["INPUTS", "lake_days", "refresh_vitals", "stage_vitals", "vitals_view_sql"]

# the tables the view reads, partitioned by day (the thresholds are read whole)
INPUTS = ("events", "spans", "page_views")
_TABLE = "web_vitals"
_DAY = "CAST(timezone('UTC', measured_at) AS DATE)"  # lake.TABLES: web_vitals by measured_at


def vitals_view_sql() -> str:
    """The migration's ``CREATE VIEW web_vitals`` statement, as it stands in the .sql file."""
    from parallax.db import read_sql

    text = read_sql("models", "schema/014_web_vitals.sql")
    for statement in duckdb.extract_statements(text):
        if "CREATE VIEW web_vitals AS" in " ".join(statement.query.split()):
            return statement.query
    raise RuntimeError("014_web_vitals.sql: no CREATE VIEW web_vitals statement")


def _around(days: Iterable[date]) -> set[date]:
    """Each day with the day before and the day after."""
    return {d + timedelta(days=k) for d in days for k in (-1, 0, 1)}


def lake_days(lake: Path, tables: Iterable[str] = INPUTS) -> set[date]:
    """The days the lake holds a folder for, over ``tables``."""
    days = set()
    for table in tables:
        for folder in (lake / table).glob("day=*"):
            name = folder.name.removeprefix("day=")
            if name != NO_DAY:
                days.add(date.fromisoformat(name))
    return days


def stage_vitals(lake: Path, changed: Iterable[date | None], target: Path, *,
                 new: Path | None = None,
                 swapped: Mapping[str, Collection[date | None]] | None = None,
                 added: Path | None = None) -> list[date]:
    """Write under ``target/web_vitals/day=…`` each day partition of the lake's vitals that
    differs once the load is in; return those days (a day absent under ``target`` has no row
    left), for ``swap_days``.

    ``changed``: the days whose events, spans or page views the load changes. The lake as the
    load leaves it: ``lake``, with ``new/<table>/day=…`` in place of the day folders
    ``swapped[table]`` names (absent there: no row left) and the files of
    ``added/<table>/day=…`` beside the lake's."""
    swapped = swapped or {}
    recompute = _around(d for d in changed if d is not None)
    if not recompute:
        return []
    read = _around(recompute)

    def files(table: str, day: date) -> list[str]:
        name = day_folder(day)
        home = (new / table / name) if new is not None and day in swapped.get(table, ()) \
            else lake / table / name
        found = sorted(home.glob("*.parquet"))
        if added is not None:
            found += sorted((added / table / name).glob("*.parquet"))
        return [str(p) for p in found]

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table in INPUTS:
            _view(con, table, [f for d in sorted(read) for f in files(table, d)],
                  _columns_of(lake / table))
        thresholds = sorted(str(p) for p in (lake / "web_vital_thresholds").rglob("*.parquet"))
        _view(con, "web_vital_thresholds", thresholds, thresholds[0])
        con.execute(vitals_view_sql())
        days = sorted(recompute)
        con.execute(f"CREATE TEMP TABLE fresh AS SELECT * FROM {_TABLE} "
                    f"WHERE {_DAY} IN (SELECT unnest(?::DATE[]))", [days])
        stored = [str(p) for d in days for p in sorted((lake / _TABLE / day_folder(d))
                                                        .glob("*.parquet"))]
        if stored:
            con.read_parquet(stored, hive_partitioning=False, union_by_name=True) \
                .create_view("stored")
        else:
            con.execute("CREATE TEMP VIEW stored AS SELECT * FROM fresh LIMIT 0")
        # A day differs when either side holds a row the other does not (EXCEPT ALL: as
        # multisets, NULLs equal); only those are written, so a run with nothing new writes
        # nothing and keeps every file as it was.
        differ = sorted(d for (d,) in con.execute(
            f"SELECT DISTINCT {_DAY} FROM ((SELECT * FROM fresh EXCEPT ALL "
            f"SELECT * FROM stored) UNION ALL (SELECT * FROM stored EXCEPT ALL "
            f"SELECT * FROM fresh))").fetchall())
        if differ:
            con.execute(f"CREATE TEMP TABLE out AS SELECT * FROM fresh "
                        f"WHERE {_DAY} IN (SELECT unnest(?::DATE[]))", [differ])
            if con.execute("SELECT count(*) FROM out").fetchall() != [(0,)]:
                write_table(con, "out", "measured_at", target / _TABLE)
        return differ
    finally:
        con.close()


def _columns_of(table: Path) -> str | None:
    """A Parquet file of ``table`` (any day, or the empty file of an empty table): its
    columns, for a read of days that hold no file."""
    return next((str(p) for p in sorted(table.rglob("*.parquet"))), None)


def _view(con: duckdb.DuckDBPyConnection, name: str, files: list[str],
          columns: str | None) -> None:
    if files:
        # the day is in the folder name, not in the file: not read as a column
        rel = con.read_parquet(files, hive_partitioning=False, union_by_name=True)
    elif columns is not None:
        rel = con.read_parquet(columns, hive_partitioning=False).limit(0)
    else:
        raise FileNotFoundError(f"no Parquet file for table {name}")
    rel.create_view(name)


def refresh_vitals(lake: Path, days: Iterable[date | None] | None = None) -> list[date]:
    """Recompute the vitals of a lake at rest for ``days`` (None: every day it holds events,
    spans or page views) and swap in the day partitions that differ; the days written."""
    lake = Path(lake)
    staging = lake.with_name(f".{lake.name}.{uuid.uuid4().hex[:8]}.vitals")
    try:
        changed = stage_vitals(lake, lake_days(lake) if days is None else days,
                               staging / "new")
        swap_days(staging / "new", lake, {_TABLE: changed}, staging / "old")
        return changed
    finally:
        if staging.exists():
            shutil.rmtree(staging)
