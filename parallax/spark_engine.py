"""``correlate --engine spark``: the join model on Apache Spark, the statistics here.

Spark reads the canonical tables as Parquet (``parallax export --parquet``: one folder per
table, partitioned by day) and runs the very files of ``models/exposure`` (transpiled by
``parallax.portable``) in the order DuckDB runs them, each model materialised once
(``localCheckpoint``) because several later models read it. Only the compact frames the
statistics read — one row per response, per session × route, per session, per route and
dependency, per route × vital and per response × vital, and for the self-selection check
(``models/selection``, run on Spark over the page loads) per survey offer and per answered
offer — come back to this machine (as Arrow) and replace those tables of the local DuckDB
file; correlate then fits them and stores findings there as it does after the DuckDB join
model. Every join of the model is on a session, user, trace or route key, so Spark can
partition the work by that key (docs/scale.md).

Needs the ``spark`` extra (pyspark, sqlglot) and a Java 17+ runtime.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from parallax.correlate.settings import SELECTION_FILES, SelectionSettings, offer_params
from parallax.db import transaction
from parallax.errors import ConfigError
from parallax.exposure import (
    JoinSettings,
    LinkCoverage,
    coverage_from_rows,
    model_params,
    numbered_models,
)
from parallax.lake import ADDED_LATER, TABLES, empty_table
from parallax.portable import read_model, to_spark

__all__ = ["FRAMES", "SELECTION_FRAMES", "SparkExposure", "build_on_spark", "is_uri",
           "job_settings", "spark_session"]


def is_uri(location: str) -> bool:
    """A URI Spark reads (s3://, abfss://, dbfs:/, hdfs://), not a local path. A scheme is two
    or more letters, so a Windows drive (C:\\data) stays a path."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", location) is not None

# What the statistics read (correlate/frame.py): small at any number of spans.
FRAMES = ("exposure_responses", "exposure_session_routes", "exposure_sessions",
          "exposure_delivery", "exposure_vitals", "exposure_response_vitals")
# What the self-selection check reads (correlate/selection.py): one row per answered offer
# and per offer.
SELECTION_FRAMES = ("selection_links", "selection_offers")
# The incremental models, over every span (DuckDB keeps them current at ingest; Spark builds
# them whole), then each window's numbered models.
_PAGES = (("pages.sql", "exposure_pages"), ("side_calls.sql", "exposure_side_calls"))


@contextmanager
def spark_session(master: str = "local[2]", conf: dict[str, str] | None = None,
                  ) -> Iterator[Any]:
    """A SparkSession in UTC (the models compare timestamps; DuckDB's are UTC instants).

    A session already running in this process (a notebook's ``spark`` on Databricks, or the
    caller's) is used instead, whatever ``master`` says: the settings that can change at run
    time are set for the block and put back after it, and it is never stopped — stopping a
    notebook's session would end the notebook's work too."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise ConfigError("the Spark engine needs the spark extra: "
                          "`uv sync --group spark` (and a Java 17+ runtime)") from err
    active = SparkSession.getActiveSession()
    if active is not None:
        with _settings(active, {"spark.sql.session.timeZone": "UTC", **(conf or {})}):
            yield active
        return
    builder = (SparkSession.builder.master(master).appName("parallax")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    scratch = None
    if master.startswith("local"):
        # Parallax keeps no managed tables (only views over Parquet), but a local session still
        # creates its warehouse folder in the working directory: keep it out of the user's.
        scratch = tempfile.mkdtemp(prefix="parallax-spark-")
        builder = builder.config("spark.sql.warehouse.dir", scratch)
        if "PYSPARK_PYTHON" not in os.environ:
            # Python functions (ingest --to-parquet) run in workers started from this
            # interpreter, which has parallax; not whichever python3 the PATH finds first.
            builder = builder.config("spark.pyspark.python", sys.executable)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # its warnings are about the JVM, not the data
    try:
        yield spark
    finally:
        spark.stop()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def _settings(spark: Any, conf: dict[str, str]) -> Iterator[None]:
    """``conf``'s run-time settings set on a running session for the block, then put back
    (settings fixed at the JVM's start, such as spark.default.parallelism, are left as they
    are)."""
    changed = {k: spark.conf.get(k, None) for k in conf if spark.conf.isModifiable(k)}
    for key in changed:
        spark.conf.set(key, conf[key])
    try:
        yield
    finally:
        for key, value in changed.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


@contextmanager
def job_settings(spark: Any, conf: dict[str, str]) -> Iterator[None]:
    """A lake ingest's Spark work: ``conf``'s settings for the block, then put back, and the
    JVM's log off meanwhile — a refused file fails a Spark task, which the JVM logs with its
    stack at ERROR; the user gets one line instead."""
    with _settings(spark, conf):
        spark.sparkContext.setLogLevel("OFF")
        try:
            yield
        finally:
            spark.sparkContext.setLogLevel("ERROR")  # spark_session's level


def register_tables(spark: Any, folder: Path | str) -> None:
    """The Parquet tables under ``folder`` as Spark views named like DuckDB's tables.
    ``folder`` is a local path or a URI Spark reads (s3://, abfss://, dbfs:/, hdfs://): only a
    local one is checked here; Spark names what it cannot read."""
    from pyspark.errors import AnalysisException

    # a local folder made absolute: Spark would resolve it against the JVM's working folder
    base = str(folder).rstrip("/") if is_uri(str(folder)) else str(Path(folder).absolute())
    for table in TABLES:
        if not is_uri(base) and not (Path(base) / table).is_dir() and table not in ADDED_LATER:
            raise ConfigError(f"{base}: no {table}/ folder (write the tables with "
                              "`parallax export --parquet DIR`)")
    for table, partitioned in TABLES.items():
        path = f"{base}/{table}"
        if table in ADDED_LATER and not is_uri(base) and not Path(path).is_dir():
            # a lake written before the table was part of the layout: read as empty
            spark.createDataFrame(empty_table(table)).createOrReplaceTempView(table)
            continue
        try:
            df = spark.read.parquet(path)
        except AnalysisException as err:
            if table in ADDED_LATER and _missing_path(err):
                spark.createDataFrame(empty_table(table)).createOrReplaceTempView(table)
                continue
            first = str(err).strip().splitlines()[0]
            raise ConfigError(f"{path}: not a Parquet table Spark can read ({first})") from err
        if partitioned and "day" in df.columns:
            df = df.drop("day")  # the partition column, not a column of the table
        df.createOrReplaceTempView(table)
    # pages.sql and side_calls.sql read these names (DuckDB points them at a refresh's scope)
    spark.table("spans").createOrReplaceTempView("exposure_spans")
    spark.table("page_views").createOrReplaceTempView("exposure_page_views")


def _missing_path(err: Exception) -> bool:
    """Spark's error for a path that does not exist (a URI's folder), not an unreadable one."""
    return getattr(err, "getCondition", lambda: None)() == "PATH_NOT_FOUND" \
        or "PATH_NOT_FOUND" in str(err)


def build_on_spark(spark: Any, settings: JoinSettings, since: datetime | None = None,
                   until: datetime | None = None) -> tuple[dict[str, Any], list[tuple]]:
    """Run the join model over the registered tables; return the frames (Arrow tables) and the
    link-coverage rows."""
    params = {**model_params(settings), "since": since, "until": until}
    steps = [(name, table) for name, table in _PAGES] + [(n, None) for n in numbered_models()]
    for name, table in steps:
        for statement in to_spark(read_model(name), params):
            target = statement.table or table
            assert target is not None, name  # every model file builds one table
            spark.sql(statement.sql).localCheckpoint().createOrReplaceTempView(target)
    frames = {t: spark.table(t).toArrow() for t in FRAMES}
    coverage, = to_spark(read_model("coverage.sql"), params)
    rows = [tuple(r) for r in spark.sql(coverage.sql).collect()]
    return frames, rows


class SparkExposure:
    """correlate's exposure step on Spark: build there, load the frames into ``con``; and the
    self-selection check's frames (``build_offers``), which read the page loads the join model
    left on Spark."""

    def __init__(self, spark: Any, tables: Path | str) -> None:
        register_tables(spark, tables)
        self.spark = spark

    def __call__(self, con: duckdb.DuckDBPyConnection, settings: JoinSettings,
                 since: datetime | None, until: datetime | None) -> LinkCoverage:
        frames, rows = build_on_spark(self.spark, settings, since, until)
        load_frames(con, frames)
        return coverage_from_rows(rows)

    def build_offers(self, con: duckdb.DuckDBPyConnection, sel: SelectionSettings,
                     since: datetime | None, until: datetime | None) -> int:
        """What ``correlate.selection.build_offers`` does in DuckDB, on Spark: the files of
        models/selection over the lake's offers and the join model's page loads (built by
        this step's call, before), their two frames loaded into ``con``; the number of
        offers. Each frame has one row per offer or per answered offer: small beside the page
        loads, which stay on Spark."""
        frames = {}
        for name in SELECTION_FILES:
            for statement in to_spark(read_model(name, "selection"),
                                      offer_params(sel, since, until)):
                assert statement.table is not None, name  # every file builds one table
                df = self.spark.sql(statement.sql).localCheckpoint()
                df.createOrReplaceTempView(statement.table)
                frames[statement.table] = df.toArrow()
        load_frames(con, frames, SELECTION_FRAMES)
        (n,), = con.execute("SELECT count(*) FROM selection_offers").fetchall()
        return int(n)


def load_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, Any],
                tables: tuple[str, ...] = FRAMES) -> None:
    """Replace the local tables ``tables`` with Spark's frames, all or none."""
    with transaction(con):
        for table in tables:  # names from FRAMES / SELECTION_FRAMES, never from input
            con.register("spark_frame", frames[table])
            try:
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM spark_frame")
            finally:
                con.unregister("spark_frame")
