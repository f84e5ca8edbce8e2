"""``ingest analytics --to-parquet``: the (1,000-session) demo world's GA4 file mapped on Spark
gives the events, page views and sessions local ingest + export give (every column of every
row but the load id), ingesting it again changes no file, a bad line writes nothing, a session
split across two files is merged as local ingest merges it; a world with Core Web Vitals gets
the export's web_vitals rows from the GA4 file's --to-parquet load. The lake is
conftest.spark_lake, over which test_spark_parity runs the Spark engine: correlate on Spark
over a lake whose spans and analytics Spark ingested (and whose feedback ``ingest feedback
--to-parquet`` added) finds what DuckDB finds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import ConfigError, IngestError
from parallax.lake import export_parquet
from parallax.options import ingest_options

from .test_lake_ingest import _context

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


def test_spark_maps_the_analytics_local_ingest_maps(spark_lake):
    _assert_same(spark_lake.root / "reference", spark_lake.root / "spark")
    # this world collects no vitals: both lakes' web_vitals are empty, of the same columns
    # (test_ga4_vitals_reach_the_lake_as_the_export_has_them loads a world that does)
    ref, got = spark_lake.root / "reference", spark_lake.root / "spark"
    assert _vitals(ref) == _vitals(got) == [] and _types(ref, "web_vitals") == _types(
        got, "web_vitals")


def test_ingesting_the_file_again_changes_nothing(spark_lake, spark):
    from parallax.lake_analytics import to_parquet

    before = _files(spark_lake.root / "spark")
    again = to_parquet(spark, [spark_lake.ga4], spark_lake.root / "spark",
                       _context(spark_lake.key_of, spark_lake.ga4))
    assert again.staged["events"] > 0
    assert again.added == {t: 0 for t in TABLES} and again.days == {t: 0 for t in TABLES}
    assert again.vitals == 0
    assert _files(spark_lake.root / "spark") == before


def test_a_bad_line_is_refused_in_one_line_and_nothing_is_written(spark_lake, spark, tmp_path):
    from parallax.lake_analytics import to_parquet

    lines = spark_lake.ga4.read_bytes().splitlines()[:40]
    doc = orjson.loads(lines[7])
    doc["event_timestamp"] = "soon"
    lines[7] = orjson.dumps(doc)
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    ctx = _context(spark_lake.key_of, bad)
    with pytest.raises(IngestError, match=r"not mapped on Spark \(ga4-native: "
                       r"event_timestamp is not an integer: soon\); nothing was written") as err:
        to_parquet(spark, [bad], tmp_path / "new-lake", ctx)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ndjson"]  # no lake, no staging
    before = _files(spark_lake.root / "spark")
    with pytest.raises(IngestError, match="not mapped on Spark"):
        to_parquet(spark, [bad], spark_lake.root / "spark", ctx)
    assert _files(spark_lake.root / "spark") == before
    assert not [p for p in spark_lake.root.iterdir() if p.name.endswith(".partial")]


def test_a_session_split_across_two_files_is_merged(spark_lake, spark, tmp_path):
    """The head of the GA4 file cut in two at a line inside a session: loaded one file after
    the other, Spark's lake holds what local ingest of the two files holds (one row per
    session: the earliest start, the latest end; the click path numbered across both)."""
    from parallax.lake_analytics import to_parquet

    lines = spark_lake.ga4.read_bytes().splitlines(keepends=True)[:600]
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
        opts = ingest_options(Config(), spark_lake.key_of)
        for file in (first, second):
            ingest_files(con, "analytics", [file], opts)
        export_parquet(con, tmp_path / "exported")
    finally:
        con.close()
    for file in (first, second):
        to_parquet(spark, [file], tmp_path / "lake", _context(spark_lake.key_of, file))
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
