"""``parallax ingest traces … --to-parquet DIR`` from the command line: files Spark does not
map are refused in one line before the JVM starts; a collector file lands in the lake with the
pseudonyms local ingest gives with the same key (a second load adding nothing is tested in
tests/correlate/test_lake_ingest.py), on the suite's Spark session."""

from __future__ import annotations

from pathlib import Path

import duckdb

from parallax.cli import run
from parallax.demo import build_world


def test_a_format_spark_does_not_map_is_refused_in_one_line(isolated, capsys):
    zipkin = isolated / "zipkin.json"
    zipkin.write_text('[{"traceId": "0af7651916cd43dd8448eb211c80319c", "id": '
                      '"b7ad6b7169203331", "name": "get", "timestamp": 1, "duration": 2}]')
    assert run(["ingest", "traces", str(zipkin), "--to-parquet", "lake"]) != 0
    err = capsys.readouterr().err.strip()
    assert "--to-parquet maps OTLP/JSON lines" in err and "this is zipkin" in err
    assert len(err.splitlines()) == 1
    assert not (isolated / "lake").exists()
    assert run(["ingest", "traces", str(zipkin), "--format", "zipkin",
                "--to-parquet", "lake"]) != 0
    assert "otlp-jsonl files only" in capsys.readouterr().err


def test_analytics_spark_does_not_map_is_refused_in_one_line(isolated, capsys):
    views = isolated / "views.csv"
    views.write_text("session_id,viewed_at,url\ns1,2026-10-05T10:00:00Z,https://x.test/a\n")
    assert run(["ingest", "analytics", str(views), "--to-parquet", "lake"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--to-parquet maps GA4 BigQuery-export NDJSON only" in err
    assert len(err.splitlines()) == 1
    assert not (isolated / "lake").exists()
    assert run(["ingest", "analytics", str(views), "--format", "snowplow-tsv",
                "--to-parquet", "lake"]) == 2
    assert "ga4-ndjson files only" in capsys.readouterr().err


def test_a_collector_file_lands_in_the_lake_with_local_pseudonyms(isolated, capsys, spark):
    """Run in this process, the command uses the Spark session already running (the suite's,
    as it would a notebook's) and leaves it running, its settings put back."""
    files = build_world(isolated / "world", seed=7, sessions=30)
    trace, = files.traces
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        assert run(["--db", "local.duckdb", "ingest", "traces", str(trace),
                    "--to-parquet", "lake"]) == 0
        assert spark.conf.get("spark.sql.session.timeZone") == "Europe/Paris"
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert spark.range(3).count() == 3  # not stopped
    out = capsys.readouterr().out
    assert "created" in out and " new spans of " in out

    assert run(["--db", "local.duckdb", "ingest", "traces", str(trace)]) == 0
    capsys.readouterr()
    local = duckdb.connect(str(isolated / "local.duckdb"), read_only=True)
    lake = duckdb.connect()
    query = "SELECT trace_id, span_id, kind, user_id, session_id, route, attributes::VARCHAR "
    want = local.execute(query + "FROM spans ORDER BY ALL").fetchall()
    got = lake.execute(query + "FROM read_parquet(?) ORDER BY ALL",
                       [str(isolated / "lake" / "spans" / "**" / "*.parquet")]).fetchall()
    assert got == want and len(want) > 100
    assert any(user for _, _, _, user, *_ in want)  # pseudonyms were compared
    assert sorted(p.name for p in Path(isolated / "lake").iterdir())[0] == "events"
