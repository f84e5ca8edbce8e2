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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from parallax.errors import ConfigError

__all__ = ["TABLES", "ExportSummary", "export_parquet"]

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
}


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
            rows[table], seen = _write(con, table, column, staging / table)
            days |= seen
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ExportSummary(folder, rows, len(days))


def _write(con: duckdb.DuckDBPyConnection, table: str, column: str | None,
           target: Path) -> tuple[int, set]:
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
