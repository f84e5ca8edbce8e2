"""``ingest traces --to-parquet``: the (1,000-session) demo world's trace file mapped on Spark
gives the spans local ingest gives (every column of every row, in the lake export writes),
ingesting it again adds nothing, and bad input writes nothing. Correlate on Spark over a lake
whose spans Spark ingested (its analytics too) is compared with DuckDB in
test_lake_analytics.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest

from parallax.config import Config
from parallax.connectors.base import ParseContext
from parallax.db import connect
from parallax.errors import ConfigError, IngestError
from parallax.lake import export_parquet
from parallax.options import ingest_options


def _context(db_path: Path, file: Path, cfg: Config | None = None) -> ParseContext:
    """The key and route settings local ingest used for this database (``cfg``'s, default
    ones by default): the same pseudonyms (test_lake_analytics and test_lake_routes read
    their files with it too)."""
    opts = ingest_options(cfg or Config(), db_path)
    return ParseContext(file=str(file), pseudonymize=opts.pseudonymize, route=opts.route)


def _spans(lake: Path) -> list[tuple]:
    """The lake's spans as DuckDB reads them (day partition included), the load id left out
    (a load's own), in key order."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(
        "SELECT * EXCLUDE (load_id) FROM read_parquet(?, hive_partitioning = true) "
        "ORDER BY trace_id, span_id, kind", [str(lake / "spans" / "**" / "*.parquet")]
    ).fetchall()


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_spark_maps_the_spans_local_ingest_maps(trace_lake):
    """conftest.trace_lake: the trace file added with --to-parquet to a lake of the
    database's route templates, against the database's export."""
    load = trace_lake.load
    reference, mapped = _spans(trace_lake.reference), _spans(trace_lake.lake)
    assert len(reference) > 10_000
    assert load.staged == load.added == len(mapped) == len(reference)
    assert not load.created
    for i, (a, b) in enumerate(zip(reference, mapped, strict=True)):
        assert a == b, f"row {i}: {a} vs {b}"


def _templates(lake: Path) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute("SELECT * FROM read_parquet(?) ORDER BY template, source",
                       [str(lake / "route_templates" / "*.parquet")]).fetchall()


def test_the_lake_learns_the_templates_local_ingest_learns(trace_lake):
    """The lake held no learned template; the file teaches what local ingest learned from it
    (every column: spans, written form, example, first and last seen)."""
    reference = _templates(trace_lake.reference)
    assert [r for r in reference if r[1] == "learned"]
    assert _templates(trace_lake.lake) == reference
    assert trace_lake.load.templates == sum(1 for r in reference if r[1] == "learned")


def test_ingesting_the_file_again_adds_nothing(trace_lake, spark):
    from parallax.lake_ingest import to_parquet

    trace = trace_lake.trace
    before = _files(trace_lake.lake)
    again = to_parquet(spark, [trace], trace_lake.lake, _context(trace_lake.key_of, trace))
    assert again.staged > 0 and again.added == 0 and again.vitals == 0
    assert _files(trace_lake.lake) == before


def _bad_copy(trace: Path, target: Path) -> Path:
    """The trace file's first line with one span's traceId made invalid."""
    doc = orjson.loads(trace.read_bytes().split(b"\n", 1)[0])
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "not-hex"
    target.write_bytes(orjson.dumps(doc) + b"\n")
    return target


def test_bad_input_is_refused_in_one_line_and_nothing_is_written(trace_lake, spark, tmp_path):
    from parallax.lake_ingest import to_parquet

    bad = _bad_copy(trace_lake.trace, tmp_path / "bad.jsonl")
    ctx = _context(trace_lake.key_of, bad)
    with pytest.raises(IngestError, match=r"not mapped on Spark \(otlp-native: invalid "
                       r"traceId \"not-hex\"\); nothing was written") as err:
        to_parquet(spark, [bad], tmp_path / "new-lake", ctx)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]  # no lake, no staging
    before = _files(trace_lake.lake)
    with pytest.raises(IngestError, match="not mapped on Spark"):
        to_parquet(spark, [bad], trace_lake.lake, ctx)
    assert _files(trace_lake.lake) == before
    assert not [p for p in trace_lake.lake.parent.iterdir() if p.name.endswith(".partial")]


def test_a_new_lake_holds_every_table(trace_lake, spark, tmp_path):
    """A missing folder becomes a whole lake (every canonical table, the spans added), which
    the Spark engine reads."""
    from parallax.lake import LEDGER, ROUTE_STATE, TABLES
    from parallax.lake_ingest import to_parquet
    from parallax.spark_engine import SparkExposure

    head = tmp_path / "head.jsonl"
    head.write_bytes(b"".join(trace_lake.trace.read_bytes().splitlines(keepends=True)[:20]))
    load = to_parquet(spark, [head], tmp_path / "lake", _context(trace_lake.key_of, head))
    assert load.created and load.added == load.staged > 0
    assert (sorted(p.name for p in (tmp_path / "lake").iterdir())
            == sorted([*TABLES, LEDGER, ROUTE_STATE]))
    # the state its routes were computed with: the settings and the templates it learned
    from parallax.lake_routes import lake_state

    learned = [t for (t,) in duckdb.connect().execute(
        "SELECT template FROM read_parquet(?) WHERE source = 'learned' ORDER BY template",
        [str(tmp_path / "lake" / "route_templates" / "*.parquet")]).fetchall()]
    norm = _context(trace_lake.key_of, head).route.with_learned(learned)
    assert {n: v for n, (v, _) in lake_state(tmp_path / "lake").items()} == {
        "learn": "true", "fingerprint": norm.fingerprint()}
    assert len(_spans(tmp_path / "lake")) == load.added
    SparkExposure(spark, tmp_path / "lake")  # every table there, readable


def test_formats_without_a_spark_mapping_are_refused_before_spark(tmp_path):
    from parallax.lake_ingest import check_files

    zipkin = tmp_path / "zipkin.json"
    zipkin.write_text('[{"traceId": "0af7651916cd43dd8448eb211c80319c", "id": '
                      '"b7ad6b7169203331", "name": "get", "timestamp": 1, "duration": 2}]')
    with pytest.raises(ConfigError, match="OTLP/JSON lines .* only; this is zipkin"):
        check_files([zipkin])


def test_json_nulls_read_as_local_ingest_reads_them(trace_lake, spark, tmp_path):
    """A field written as JSON null (a root span's "parentSpanId": null) is absent to DuckDB's
    reader; Spark's reads it as a null too, so the rows agree with local ingest's."""
    from parallax.connectors.load import ingest_files
    from parallax.lake_ingest import to_parquet

    lines = trace_lake.trace.read_bytes().splitlines()[:10]
    docs = [orjson.loads(line) for line in lines]
    roots = 0
    for doc in docs:
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    if not span.get("parentSpanId"):
                        span["parentSpanId"] = None
                        roots += 1
    nulls = tmp_path / "nulls.jsonl"
    nulls.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    assert roots > 0
    to_parquet(spark, [nulls], tmp_path / "lake", _context(trace_lake.key_of, nulls))
    con = connect(tmp_path / "local.duckdb")
    try:
        ingest_files(con, "traces", [nulls], ingest_options(Config(), trace_lake.key_of))
        export_parquet(con, tmp_path / "exported")
    finally:
        con.close()
    local, mapped = _spans(tmp_path / "exported"), _spans(tmp_path / "lake")
    assert len(local) > roots and mapped == local
    assert sum(1 for row in local if row[2] is None) == roots  # parent_span_id
