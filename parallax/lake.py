"""Canonical tables as Parquet, partitioned by day: the layout ``correlate --engine spark`` reads.

``DIR/<table>/day=YYYY-MM-DD/*.parquet`` (Hive-style, what Spark, Databricks, EMR and DuckDB all
read as a partition column), one folder per canonical table the join model reads (the Core Web
Vitals as rows of the web_vitals view). The day is the UTC date of the table's own time column,
so a window of days reads only its folders.
Rows stream from DuckDB to the files in Arrow batches (a table never has to fit in memory), and
the folder's path is handed to pyarrow, never written into SQL. The tables are written into a
fresh sibling folder and moved into place at the end: a failed export leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from parallax.errors import ConfigError

__all__ = ["ADDED_LATER", "LEDGER", "NO_DAY", "ROUTE_STATE", "TABLES", "ExportSummary",
           "LakeTarget", "add_to_ledger", "day_folder", "drop_placeholder", "empty_lake",
           "empty_table", "export_parquet", "lake_load", "ledger_sql",
           "stage_ledger", "swap_days", "table_sql", "write_table"]

# table -> the time column its day partition is read from (None: small, not partitioned)
TABLES: Mapping[str, str | None] = {
    "spans": "started_at",
    "page_views": "viewed_at",
    "events": "occurred_at",
    "sessions": "started_at",
    "feedback": "submitted_at",
    "route_templates": None,
    # The vitals as the web_vitals view reads them out of events and spans (rows, not the view:
    # its JSON paths and ASOF routing are DuckDB's), and the thresholds they are rated against.
    "web_vitals": "measured_at",
    "web_vital_thresholds": None,
    # Survey offers from sources without an analytics event stream (PostHog's pulled `survey
    # shown`, offer files): the self-selection check reads them beside the offer events.
    "survey_offers": "offered_at",
}

# Tables a lake written before they were part of the layout lacks: read as empty (with the
# migration's columns), so such a lake is read as it was before. table -> its migration.
ADDED_LATER: Mapping[str, str] = {"survey_offers": "015_survey_offers.sql"}


# The lake's ledger of loads: a database's ``loads`` table (what local ingest records), written
# by the export, and one file added by each lake ingest that changed the lake. Not a table the
# join model reads, so a lake written before it had one is still read.
LEDGER = "loads"

# The state the lake's stored routes were computed with (a database's ``route_state``: the
# learn flag and the normaliser's fingerprint), written by the export and by each lake ingest
# that changes it (parallax/lake_routes.py). Not read by the join model either.
ROUTE_STATE = "route_state"


@dataclass(frozen=True)
class ExportSummary:
    folder: Path
    rows: Mapping[str, int]  # table -> rows written
    days: int  # distinct days over the partitioned tables


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path, *,
                   replace: bool = False) -> ExportSummary:
    """Write the canonical tables under ``folder`` (which must not exist unless ``replace``)."""
    folder = Path(folder)
    if folder.exists() and not replace:
        raise ConfigError(f"{folder}: already exists (pass --replace to write it again)")
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.partial")
    rows: dict[str, int] = {}
    days: set = set()
    try:
        for table, column in TABLES.items():
            rows[table], seen = write_table(con, table, column, staging / table)
            days |= seen
        for table in (LEDGER, ROUTE_STATE):
            rows[table], _ = write_table(con, table, None, staging / table)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ExportSummary(folder, rows, len(days))


def write_table(con: duckdb.DuckDBPyConnection, table: str, column: str | None,
                target: Path) -> tuple[int, set]:
    """Write ``table`` (a table or view) under ``target``, by day of ``column`` when given;
    (rows, days written)."""
    # Table and column names come from TABLES above, never from input.
    day = f", CAST(timezone('UTC', {column}) AS DATE) AS day" if column else ""
    reader = con.sql(f"SELECT *{day} FROM {table}").to_arrow_reader()
    schema = reader.schema
    ds.write_dataset(reader, target, format="parquet",
                     partitioning=["day"] if column else None, partitioning_flavor="hive",
                     existing_data_behavior="error", max_rows_per_group=1 << 20)
    if not target.exists():  # no rows: still a folder, with the table's columns, to read
        target.mkdir(parents=True)
        pq.write_table(schema.empty_table(), target / "part-0.parquet")
    count, = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
    seen = set()
    if column:
        seen = {d for (d,) in con.execute(
            f"SELECT DISTINCT CAST(timezone('UTC', {column}) AS DATE) FROM {table}").fetchall()}
    return count, seen


# What the lake ingests share, none of it Spark's: a new lake's empty tables, the route
# templates it learned, and the day partitions swapped in by renames.

# The folder a row without a day (a NULL time) is written to: pyarrow's and Spark's name.
NO_DAY = "__HIVE_DEFAULT_PARTITION__"


def day_folder(day: date | None) -> str:
    """The partition folder of ``day`` (None: the rows without a time)."""
    return f"day={NO_DAY if day is None else day.isoformat()}"


def empty_lake(target: Path) -> None:
    """Every canonical table as an empty folder of Parquet, written by the export itself."""
    import tempfile

    from parallax.db import connect

    with tempfile.TemporaryDirectory(prefix="parallax-lake-") as tmp:
        con = connect(Path(tmp) / "empty.duckdb")
        try:
            export_parquet(con, target)
        finally:
            con.close()


@dataclass(frozen=True)
class LakeTarget:
    lake: Path  # what the load merges into: the folder, or a new lake built in staging
    staging: Path  # beside the folder, removed at the end: the load's new/ and old/ partitions
    created: bool


@contextmanager
def lake_load(folder: Path, tables: Sequence[str]) -> Iterator[LakeTarget]:
    """A load into the lake at ``folder``, which must hold ``tables``: a missing folder becomes
    a new lake (every canonical table, empty), built in the staging folder and moved into place
    when the block ends without an error. The staging folder goes however the block ends."""
    created = not folder.exists()
    if not created and not all((folder / t).is_dir() for t in tables):
        missing = " or ".join(f"{t}/" for t in tables)
        raise ConfigError(f"{folder}: not a Parquet lake (no {missing} folder; "
                          "`parallax export --parquet` writes one)")
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        if created:
            empty_lake(staging / "lake")
        yield LakeTarget(staging / "lake" if created else folder, staging, created)
        if created:
            if folder.exists():
                raise ConfigError(f"{folder}: written by someone else meanwhile; nothing added")
            (staging / "lake").rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def table_sql(table: str, migration: str) -> str:
    """The migration's ``CREATE TABLE <table>`` statement: the table's columns."""
    from parallax.db import read_sql

    for statement in duckdb.extract_statements(read_sql("models", f"schema/{migration}")):
        if f"CREATE TABLE {table} (" in " ".join(statement.query.split()):
            return statement.query
    raise RuntimeError(f"{migration}: no CREATE TABLE {table} statement")


def ledger_sql() -> str:
    """The migration's ``CREATE TABLE loads`` statement: the ledger's columns."""
    return table_sql(LEDGER, "001_canonical.sql")


def empty_table(table: str) -> pa.Table:
    """A table of ADDED_LATER with no rows, its columns as the export writes them."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(table_sql(table, ADDED_LATER[table]))
        return con.sql(f"FROM {table}").to_arrow_table()  # names from ADDED_LATER only
    finally:
        con.close()


def stage_ledger(rows: Sequence[Sequence[object]], target: Path) -> Path:
    """Write ledger rows (the loads table's columns, in its order) to the file ``target``."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(ledger_sql())
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {LEDGER} VALUES ({marks})", [list(r) for r in rows])
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(con.sql(f"FROM {LEDGER}").to_arrow_table(), target)
    finally:
        con.close()
    return target


def add_to_ledger(staged: Path, lake: Path, load_id: str) -> Path:
    """Move a staged ledger file into the lake's ledger (made for a lake without one); the
    file moved in, for the caller to remove if the rest of its load fails."""
    folder = lake / LEDGER
    folder.mkdir(exist_ok=True)
    dest = folder / f"load-{load_id}.parquet"
    if dest.exists():
        raise ConfigError(f"{dest}: already exists; nothing added")
    staged.rename(dest)
    return dest


def drop_placeholder(table: Path) -> None:
    """An export of an empty table leaves one empty file beside the (absent) day folders, to
    give its columns; once the table has day folders it would break the partition layout."""
    for empty in table.glob("*.parquet"):
        if pq.read_metadata(empty).num_rows == 0:
            empty.unlink()


def swap_days(new: Path, lake: Path, days: Mapping[str, Sequence[date | None]],
              old: Path, whole: Sequence[str] = ()) -> None:
    """Each changed day folder of the lake replaced by the one written under ``new`` (or
    removed, when no row of that day is left), and each table of ``whole`` (one that is not
    partitioned) replaced by ``new/<table>``, by renames; a failure puts back the ones
    already replaced."""
    done: list[tuple[Path, Path | None, Path | None]] = []  # (folder, moved aside, moved in)
    folders = [(t, day_folder(d)) for t, changed in days.items() for d in changed]
    # a whole table is the folder itself (name ''), set aside under old/whole/
    try:
        for table, name in [*folders, *((t, "") for t in whole)]:
            target, fresh = lake / table / name, new / table / name
            aside: Path | None = None
            if target.exists():
                aside = old / table / name if name else old / "whole" / table
                aside.parent.mkdir(parents=True, exist_ok=True)
                target.rename(aside)
            done.append((target, aside, None))
            if fresh.exists():
                target.parent.mkdir(parents=True, exist_ok=True)  # a table not yet there
                fresh.rename(target)
                done[-1] = (target, aside, fresh)
    except BaseException:
        for folder, moved_aside, moved_in in reversed(done):
            if moved_in is not None and folder.exists():
                folder.rename(moved_in)
            if moved_aside is not None:
                moved_aside.rename(folder)
        raise
    for table in days:
        if any((lake / table).glob("day=*")):
            drop_placeholder(lake / table)
