"""Every join-model file (and every file of the self-selection check) transpiles to Spark SQL
with nothing Spark would refuse, and binding parameters goes through the parsed tree (a hostile
value stays one literal)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

pytest.importorskip("sqlglot", reason="the spark extra (sqlglot) is not installed")

from parallax.correlate.settings import SelectionSettings  # noqa: E402
from parallax.exposure import JoinSettings, model_params  # noqa: E402
from parallax.portable import (  # noqa: E402
    MODEL_FOLDERS,
    model_names,
    problems,
    read_model,
    to_spark,
)

PARAMS = {**model_params(JoinSettings()), "since": datetime(2026, 10, 5, 12, tzinfo=UTC),
          "until": None, "offer_events": list(SelectionSettings().offer_events),
          "grace_seconds": SelectionSettings().grace_seconds}


def test_every_model_file_is_checked():
    names = model_names()
    assert "pages.sql" in names and "030_responses.sql" in names and "coverage.sql" in names
    assert len(names) >= 11
    assert model_names("selection") == ["links.sql", "offers.sql"]


@pytest.mark.parametrize("folder, name", [(f, n) for f in MODEL_FOLDERS
                                          for n in model_names(f)])
def test_model_transpiles_to_spark(folder, name):
    assert problems(read_model(name, folder)) == []
    statements = to_spark(read_model(name, folder), PARAMS)
    assert statements
    for statement in statements:
        # every parameter bound ('$.params…' is a JSON path, not a parameter)
        assert re.search(r"\$[A-Za-z_]", statement.sql) is None


def test_no_offer_events_is_an_empty_list_spark_types():
    """[selection] offer_events = [] binds an empty list: still a typed list of strings."""
    (statement,) = to_spark(read_model("links.sql", "selection"),
                            {**PARAMS, "offer_events": []})
    assert "CAST(ARRAY() AS ARRAY<STRING>)" in statement.sql


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM a ASOF JOIN b ON a.k = b.k AND a.t >= b.t", "ASOF join"),
    ("SELECT struct_insert(x, side := false) FROM t", "STRUCT_INSERT"),
    ("SELECT to_minutes(5)", "TO_MINUTES"),
    ("SELECT * REPLACE (1 AS a) FROM t", "REPLACE"),
    ("WITH s AS NOT MATERIALIZED (SELECT 1) SELECT * FROM s", "MATERIALIZED"),
])
def test_problems_names_what_spark_lacks(sql, expected):
    found = problems(sql)
    assert found and expected in " ".join(found)


def test_create_becomes_table_and_query():
    (statement,) = to_spark(read_model("050_sessions.sql"), PARAMS)
    assert statement.table == "exposure_sessions"
    assert statement.sql.startswith("SELECT")
    assert "CAST('2026-10-05 12:00:00' AS TIMESTAMP)" in statement.sql


def test_quantiles_stay_exact():
    sql = " ".join(s.sql for s in to_spark(read_model("060_delivery.sql"), PARAMS))
    assert "PERCENTILE(load_ms, 0.75)" in sql and "APPROX" not in sql


def test_parameter_value_is_one_literal():
    (statement,) = to_spark("SELECT * FROM t WHERE name = $name",
                            {"name": "x' OR 1=1 --"})
    assert statement.sql == "SELECT * FROM t WHERE name = 'x\\' OR 1=1 --'"


def test_missing_parameter_is_refused():
    with pytest.raises(KeyError, match=r"\$bucket_minutes"):
        to_spark(read_model("020_route_buckets.sql"), {"since": None, "until": None})


# --- the native stage's mapping (ingest --to-parquet) ----------------------------------------

MACROS = """
CREATE OR REPLACE TEMP MACRO _lit(j) AS substring(j, 2, length(j) - 2);
CREATE OR REPLACE TEMP MACRO _truthy(d) AS d IS NOT NULL AND d NOT IN ('null', '""', '0');
CREATE OR REPLACE TEMP MACRO _or(x, y) AS CASE WHEN _truthy(x) THEN x ELSE y END;
"""
QUERY = "SELECT _lit(_or(a, _or(b, c))) AS v FROM (VALUES ('\"\"', '0', '\"x\"'), " \
    "('null', '\"y\"', NULL), (NULL, NULL, '\"z\"')) AS t(a, b, c) ORDER BY v"


def test_inlined_macros_compute_what_the_macros_do():
    """Macros calling macros, with arguments that call macros: DuckDB runs the inlined query
    and gets what it gets with the macros defined."""
    import duckdb

    from parallax.portable import inline_macros

    con = duckdb.connect()
    con.execute(MACROS)
    with_macros = con.execute(QUERY).fetchall()
    inlined, = inline_macros(MACROS + QUERY + ";")
    text = inlined.sql(dialect="duckdb")
    assert "_or" not in text.lower() and "_lit" not in text.lower()
    fresh = duckdb.connect()  # no macros defined here
    assert fresh.execute(text).fetchall() == with_macros == [("x",), ("y",), ("z",)]


def test_the_trace_mapping_transpiles_to_spark():
    """The OTLP/JSON-lines stage (models/stage/otlp_jsonl.sql) as one Spark query: no macro,
    no DuckDB-only function left, every parameter bound, read_json's columns kept for the
    reader."""
    import sqlglot

    from parallax.db import read_sql
    from parallax.portable import stage_to_spark

    stage = stage_to_spark(read_sql("models", "stage/otlp_jsonl.sql"),
                           {"source": "otlp-jsonl", "load_id": "L1"}, "otlp_file")
    upper = stage.sql.upper()
    for gone in ("_OTLP_", "ERROR(", "REGEXP_FULL_MATCH", "STRLEN(", "TO_MICROSECONDS",
                 "INT128", "READ_JSON", "$SOURCE", "$LOAD_ID", "$FILE"):
        assert gone not in upper.replace("RAISE_ERROR(", ""), gone
    assert "FROM OTLP_FILE" in upper and "'L1' AS LOAD_ID" in upper
    assert list(stage.columns) == ["resourceSpans"]
    assert "traceId JSON" in stage.columns["resourceSpans"]
    sqlglot.parse_one(stage.sql, read="spark")  # Spark's grammar reads it back


def test_a_stage_file_without_columns_is_refused():
    from parallax.portable import stage_to_spark

    with pytest.raises(ValueError, match="columns"):
        stage_to_spark("INSERT INTO t SELECT * FROM read_json($file);", {}, "f")


GA4_PARAMS = {"file": "f", "compression": "none", "max_object_size": 1, "pii": ['"email"'],
              "session_param": "session_id", "trace_param": "trace_id",
              "load_params": ["page_load_ms"], "source": "ga4-ndjson", "load_id": "L1"}


def test_the_ga4_mapping_transpiles_to_spark():
    """The GA4 stage (models/stage/ga4_ndjson.sql: three tables, list lambdas, list indexes,
    json_extract with a path list, rowid) as Spark queries, one per table, with nothing of
    DuckDB's left; the pseudonymiser, which Spark will not run inside a lambda, is called
    once per list outside it."""
    import sqlglot

    from parallax.db import read_sql
    from parallax.portable import stage_tables_to_spark

    stage = stage_tables_to_spark(read_sql("models", "stage/ga4_ndjson.sql"), GA4_PARAMS,
                                  "ga4_file")
    assert [s.table for s in stage.statements] == ["stage_events", "stage_page_views",
                                                   "stage_sessions"]
    assert "event_params" in stage.columns and stage.columns["device"] == "JSON"
    for statement in stage.statements:
        upper = statement.sql.upper()
        for gone in ("_GA4_", "LIST_", "LAMBDA", "ARRAY_TO_STRING", "JSON_EXTRACT(", " ROWID",
                     "(ROWID", "MAKE_TIMESTAMPTZ", "READ_JSON", "$PII", "$SOURCE", "$LOAD_",
                     "ERROR(", "ISINF", "REGEXP_FULL"):
            assert gone not in upper.replace("RAISE_ERROR(", ""), (statement.table, gone)
        sqlglot.parse_one(statement.sql, read="spark")
    events = stage.statements[0].sql
    assert "FROM GA4_FILE" in events.upper() and "_PARALLAX_PSEUDONYM_LIST(" in events.upper()
    assert "_rowid" in events and "MIN_BY(" in stage.statements[2].sql.upper()


@pytest.mark.parametrize("duck, spark", [
    # a list index counts from 1 in DuckDB: Spark's try_element_at counts from 1 too
    ("SELECT xs[2] FROM t", "TRY_ELEMENT_AT(xs, 2)"),
    # a lambda's index counts from 0 in Spark
    ("SELECT list_transform(xs, lambda x, i: ys[i]) FROM t",
     "TRANSFORM(xs, (x, i) -> TRY_ELEMENT_AT(ys, (i + 1)))"),
    # list_position is NULL when absent, array_position 0
    ("SELECT ys[list_position(xs, 'a')] FROM t",
     "TRY_ELEMENT_AT(ys, CAST(NULLIF(ARRAY_POSITION(xs, 'a'), 0) AS INT))"),
    # DuckDB's concat() skips NULLs
    ("SELECT concat('a', b) FROM t", "CONCAT_WS('', CAST('a' AS STRING), CAST(b AS STRING))"),
    ("SELECT json_extract(d, '$.a') FROM t",
     "TO_JSON(TRY_VARIANT_GET(PARSE_JSON(d), '$.a', 'variant'))"),
])
def test_list_and_json_forms(duck, spark):
    from parallax.portable import stage_tables_to_spark

    source = "FROM read_json($f, columns = {a: 'INT'})"
    sql = f"CREATE TEMP TABLE x AS {duck.replace('FROM t', source)};"
    (statement,) = stage_tables_to_spark(sql, {"f": "x"}, "t").statements
    assert spark in statement.sql
