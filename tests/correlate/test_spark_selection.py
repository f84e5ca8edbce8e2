"""The self-selection check on Spark gives what it gives on DuckDB: on a world with planted
self-selection, the stored run's ``selection`` and every finding's ``details.selection`` equal
(numbers within 1e-6 relative), every verdict the same; a lake without offers gives no
selection key on either engine.

The world: the demo (seed 7, 1,000 sessions: a few hundred offers, enough for the propensity
model to flag the planted country) with planted self-selection, its offers GA4
``survey_impression`` events. Every other offer is moved from ``events`` into
``survey_offers`` (the table PostHog pulls and offer files fill) before the export, so the one
Spark run reads offers from both places the check reads them from."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pytest

from parallax.correlate import Run, correlate
from parallax.db import connect
from parallax.lake import export_parquet
from tests.worlds import ingest_world

from .test_spark_parity import _close  # numbers within 1e-6 relative


@dataclass(frozen=True)
class Runs:
    events_only: Run  # DuckDB, every offer an event (the world as ingested)
    duck: Run  # DuckDB, half the offers in survey_offers
    spark: Run  # Spark over that database's export
    lake: Path
    moved: int  # offers moved into survey_offers
    local: duckdb.DuckDBPyConnection  # where the Spark run stored its findings


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    from parallax.demo import build_world
    from parallax.demo.selection import PlantedSelection
    from parallax.spark_engine import SparkExposure

    root = tmp_path_factory.mktemp("spark-selection")
    files = build_world(root / "files", seed=7, sessions=1000, selection=PlantedSelection())
    con = connect(root / "duck.duckdb")
    local = connect(root / "spark.duckdb")  # findings only: Spark reads the Parquet tables
    try:
        ingest_world(con, files, root / "duck.duckdb")
        events_only = correlate(con)
        # every other offer (by key) as a survey_offers row, with what the event said
        con.execute("""
            CREATE TEMP TABLE moved AS
            SELECT event_key, source, properties->>'$.params.survey_id' AS survey, session_id,
                   occurred_at, route, load_id
            FROM events WHERE name = 'survey_impression' AND hash(event_key) % 2 = 0""")
        con.execute("INSERT INTO survey_offers (offer_key, source, survey, session_id, "
                    "offered_at, route, load_id) SELECT * FROM moved")
        con.execute("DELETE FROM events WHERE event_key IN (SELECT event_key FROM moved)")
        (moved,), = con.execute("SELECT count(*) FROM moved").fetchall()
        duck = correlate(con)
        export_parquet(con, root / "lake")
        spark_run = correlate(local, exposure=SparkExposure(spark, root / "lake"))
        yield Runs(events_only, duck, spark_run, root / "lake", moved, local)
    finally:
        con.close()
        local.close()


def test_the_offers_reach_the_lake_from_both_tables(runs):
    """The moved offers are in the lake's survey_offers, by UTC day of offered_at; the rest
    are still events. Moving them changes nothing DuckDB's check finds."""
    assert runs.moved > 50
    back = duckdb.connect()
    back.execute("SET TimeZone = 'UTC'")
    rows = back.execute(
        "SELECT count(*), count(DISTINCT day), bool_and(CAST(offered_at AS DATE) = day) "
        "FROM read_parquet(?, hive_partitioning = true)",
        [str(runs.lake / "survey_offers" / "*" / "*.parquet")]).fetchall()
    assert rows == [(runs.moved, rows[0][1], True)] and rows[0][1] >= 1
    checked = runs.duck.selection
    assert checked is not None and checked["offers"] > runs.moved
    _close(runs.events_only.selection, checked, "selection")


def test_the_stored_selection_matches(runs):
    duck, spark_run = runs.duck.selection, runs.spark.selection
    assert duck is not None and spark_run is not None
    assert duck["flagged"]  # the planted country: the check found something to compare
    _close(duck, spark_run, "selection")
    assert runs.duck.parameters["selection"] == runs.spark.parameters["selection"]
    (stored,), = runs.local.execute("SELECT selection FROM correlate_runs WHERE run_id = ?",
                                    [runs.spark.run_id]).fetchall()
    _close(duck, orjson.loads(stored), "stored")


def test_every_finding_has_the_same_selection_and_verdict(runs):
    a = {(f.subject_kind, f.subject): f for f in runs.duck.findings}
    b = {(f.subject_kind, f.subject): f for f in runs.spark.findings}
    assert a.keys() == b.keys() and len(a) > 5
    assert {k: f.verdict for k, f in a.items()} == {k: f.verdict for k, f in b.items()}
    with_selection = [k for k, f in a.items() if "selection" in f.details]
    assert len(with_selection) > 5
    assert [k for k, f in b.items() if "selection" in f.details] == with_selection
    for key in with_selection:
        _close(a[key].details["selection"], b[key].details["selection"], "/".join(key))


def test_a_lake_written_before_offers_reads_them_as_none(spark, small_demo, tmp_path):
    """A lake without the survey_offers folder (written before offers were part of the
    layout) is read as it was: the table empty, with its columns. (A lake whose export holds
    no offers gives no selection key on either engine: test_spark_parity.)"""
    from parallax.spark_engine import SparkExposure

    shutil.copy(small_demo, tmp_path / "duck.duckdb")
    con = connect(tmp_path / "duck.duckdb")
    try:
        export_parquet(con, tmp_path / "lake")
    finally:
        con.close()
    shutil.rmtree(tmp_path / "lake" / "survey_offers")
    SparkExposure(spark, tmp_path / "lake")
    offers = spark.table("survey_offers")
    assert offers.count() == 0
    assert offers.columns == ["offer_key", "source", "survey", "session_id", "user_id",
                              "offered_at", "url", "route", "load_id"]
    assert spark.table("spans").count() > 0  # the rest of the lake as exported
