"""``ingest analytics --to-parquet``: the (1,000-session) demo world's GA4 file mapped on Spark
gives the events, page views and sessions local ingest + export give (every column of every
row but the load id), ingesting it again changes no file, a bad line writes nothing, a session
split across two files is merged as local ingest merges it, and correlate on Spark over a lake
whose spans and analytics Spark ingested (and whose feedback ``ingest feedback --to-parquet``
added) finds what DuckDB finds; a world with Core Web Vitals gets the export's web_vitals rows
from the GA4 file's --to-parquet load."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pytest

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.correlate import correlate
from parallax.db import connect
from parallax.errors import ConfigError, IngestError
from parallax.lake import export_parquet
from parallax.options import ingest_options

from .test_lake_ingest import _context
from .test_spark_parity import _close

TABLES = {"events": "event_key", "page_views": "event_key", "sessions": "session_id"}


def _rows(lake: Path, table: str) -> list[tuple]:
    """A lake table as DuckDB reads it (day partition included), the load id left out (a
    load's own), in key order."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(
        f"SELECT * EXCLUDE (load_id) FROM read_parquet(?, hive_partitioning = true) "
        f"ORDER BY {TABLES[table]}", [str(lake / table / "**" / "*.parquet")]).fetchall()


def _vitals(lake: Path) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute("SELECT * FROM read_parquet(?, hive_partitioning = true) ORDER BY ALL",
                       [str(lake / "web_vitals" / "**" / "*.parquet")]).fetchall()


def _types(lake: Path, table: str) -> list[tuple]:
    con = duckdb.connect()
    return [r[:2] for r in con.execute(
        "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)",
        [str(lake / table / "**" / "*.parquet")]).fetchall()]


def _files(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns)
                  for p in folder.rglob("*") if p.is_file())


def _assert_same(reference: Path, mapped: Path) -> None:
    for table in TABLES:
        assert _types(reference, table) == _types(mapped, table), table
        want, got = _rows(reference, table), _rows(mapped, table)
        assert len(got) == len(want) > 10, table
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            assert a == b, f"{table} row {i}: {a} vs {b}"


@dataclass(frozen=True)
class Lakes:
    root: Path
    duck: duckdb.DuckDBPyConnection  # a copy of the demo database (local ingest)
    ga4: Path
    key_of: Path  # the database whose key local ingest used


@pytest.fixture(scope="module")
def lakes(trace_lake, spark, tmp_path_factory):
    """The reference lake (local ingest, then export) and one whose spans, analytics and
    feedback were ingested into it: a copy of conftest.trace_lake (the database's route
    templates exported, the trace file added with --to-parquet on Spark), then the GA4 file
    added with --to-parquet on Spark, the survey export with --to-parquet's local mapping
    (survey answers need no Spark)."""
    from parallax import lake_analytics, lake_feedback

    root = tmp_path_factory.mktemp("lake-analytics")
    shutil.copytree(trace_lake.reference, root / "reference")
    shutil.copytree(trace_lake.lake, root / "spark")
    shutil.copy(trace_lake.key_of, root / "duck.duckdb")
    duck = connect(root / "duck.duckdb")
    try:
        files = trace_lake.key_of.parent / "files"
        ga4 = files / "analytics" / "ga4_events.ndjson"
        load = lake_analytics.to_parquet(spark, [ga4], root / "spark",
                                         _context(trace_lake.key_of, ga4))
        assert not load.created and load.added == load.staged != {}
        survey = files / "feedback" / "qualtrics_export.csv"
        answers = lake_feedback.to_parquet([survey], root / "spark",
                                           ingest_options(Config(), trace_lake.key_of))
        assert answers.added > 100
        yield Lakes(root, duck, ga4, trace_lake.key_of)
    finally:
        duck.close()


def test_spark_maps_the_analytics_local_ingest_maps(lakes):
    _assert_same(lakes.root / "reference", lakes.root / "spark")
    # this world collects no vitals: both lakes' web_vitals are empty, of the same columns
    # (test_ga4_vitals_reach_the_lake_as_the_export_has_them loads a world that does)
    ref, got = lakes.root / "reference", lakes.root / "spark"
    assert _vitals(ref) == _vitals(got) == [] and _types(ref, "web_vitals") == _types(
        got, "web_vitals")


def test_ingesting_the_file_again_changes_nothing(lakes, spark):
    from parallax.lake_analytics import to_parquet

    before = _files(lakes.root / "spark")
    again = to_parquet(spark, [lakes.ga4], lakes.root / "spark",
                       _context(lakes.key_of, lakes.ga4))
    assert again.staged["events"] > 0
    assert again.added == {t: 0 for t in TABLES} and again.days == {t: 0 for t in TABLES}
    assert again.vitals == 0
    assert _files(lakes.root / "spark") == before


def test_correlate_on_the_spark_ingested_lake_finds_what_duckdb_finds(lakes, spark):
    from parallax.spark_engine import SparkExposure

    root, duck = lakes.root, lakes.duck
    local = connect(root / "findings.duckdb")
    try:
        duck_run = correlate(duck)
        spark_run = correlate(local, exposure=SparkExposure(spark, root / "spark"))
    finally:
        local.close()
    assert duck_run.coverage == spark_run.coverage
    a = {(f.subject_kind, f.subject): f.to_json() for f in duck_run.findings}
    b = {(f.subject_kind, f.subject): f.to_json() for f in spark_run.findings}
    assert a.keys() == b.keys() and len(a) > 5
    assert {f["verdict"] for f in a.values()} >= {"delivery", "design"}
    for key, finding in a.items():
        _close(finding, b[key], "/".join(key))


def test_a_bad_line_is_refused_in_one_line_and_nothing_is_written(lakes, spark, tmp_path):
    from parallax.lake_analytics import to_parquet

    lines = lakes.ga4.read_bytes().splitlines()[:40]
    doc = orjson.loads(lines[7])
    doc["event_timestamp"] = "soon"
    lines[7] = orjson.dumps(doc)
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    ctx = _context(lakes.key_of, bad)
    with pytest.raises(IngestError, match=r"not mapped on Spark \(ga4-native: "
                       r"event_timestamp is not an integer: soon\); nothing was written") as err:
        to_parquet(spark, [bad], tmp_path / "new-lake", ctx)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ndjson"]  # no lake, no staging
    before = _files(lakes.root / "spark")
    with pytest.raises(IngestError, match="not mapped on Spark"):
        to_parquet(spark, [bad], lakes.root / "spark", ctx)
    assert _files(lakes.root / "spark") == before
    assert not [p for p in lakes.root.iterdir() if p.name.endswith(".partial")]


def test_a_session_split_across_two_files_is_merged(lakes, spark, tmp_path):
    """The head of the GA4 file cut in two at a line inside a session: loaded one file after
    the other, Spark's lake holds what local ingest of the two files holds (one row per
    session: the earliest start, the latest end; the click path numbered across both)."""
    from parallax.lake_analytics import to_parquet

    lines = lakes.ga4.read_bytes().splitlines(keepends=True)[:600]
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    first.write_bytes(b"".join(lines[:300]))
    second.write_bytes(b"".join(lines[300:]))

    def sessions(chunk: list[bytes]) -> set[str]:
        found = set()
        for line in chunk:
            doc = orjson.loads(line)
            found |= {p["value"].get("string_value") for p in doc["event_params"]
                      if p["key"] == "session_id"}
        return found - {None}

    assert sessions(lines[:300]) & sessions(lines[300:])  # a session in both files
    con = connect(tmp_path / "local.duckdb")
    try:
        opts = ingest_options(Config(), lakes.key_of)
        for file in (first, second):
            ingest_files(con, "analytics", [file], opts)
        export_parquet(con, tmp_path / "exported")
    finally:
        con.close()
    for file in (first, second):
        to_parquet(spark, [file], tmp_path / "lake", _context(lakes.key_of, file))
    _assert_same(tmp_path / "exported", tmp_path / "lake")


def test_formats_without_a_spark_mapping_are_refused_before_spark(tmp_path):
    from parallax.lake_analytics import check_analytics_files

    views = tmp_path / "views.csv"
    views.write_text("session_id,viewed_at,url\ns1,2026-10-05T10:00:00Z,https://x.test/a\n")
    with pytest.raises(ConfigError, match="GA4 BigQuery-export NDJSON only; this is"):
        check_analytics_files([views])


def test_ga4_vitals_reach_the_lake_as_the_export_has_them(spark, tmp_path):
    """A 400-session world with Core Web Vitals (GA4 vital events; seed 3): its GA4 file
    ingested with --to-parquet into a lake without its analytics gives the web_vitals rows
    local ingest + export give, every column (the view's SQL over the lake's new days)."""
    from parallax.demo import build_world
    from parallax.demo.spec import DEMO
    from parallax.demo.vitals import with_vitals
    from parallax.lake_analytics import to_parquet

    files = build_world(tmp_path / "w", seed=3, sessions=400, spec=with_vitals(DEMO))
    db = tmp_path / "w.duckdb"
    con = connect(db)
    try:
        ingest_files(con, "analytics", list(files.analytics), ingest_options(Config(), db))
        export_parquet(con, tmp_path / "reference")
        for table in TABLES:
            con.execute(f"DELETE FROM {table}")
        export_parquet(con, tmp_path / "lake")
    finally:
        con.close()
    assert _vitals(tmp_path / "lake") == []
    load = to_parquet(spark, list(files.analytics), tmp_path / "lake",
                      _context(db, files.analytics[0]))
    want = _vitals(tmp_path / "reference")
    assert load.vitals >= 2 and len(want) > 50
    assert _types(tmp_path / "lake", "web_vitals") == _types(tmp_path / "reference",
                                                             "web_vitals")
    assert _vitals(tmp_path / "lake") == want
