"""Every join-model file transpiles to Spark SQL with nothing Spark would refuse, and binding
parameters goes through the parsed tree (a hostile value stays one literal)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("sqlglot", reason="the spark extra (sqlglot) is not installed")

from parallax.exposure import JoinSettings, model_params  # noqa: E402
from parallax.portable import model_names, problems, read_model, to_spark  # noqa: E402

PARAMS = {**model_params(JoinSettings()), "since": datetime(2026, 10, 5, 12, tzinfo=UTC),
          "until": None}


def test_every_model_file_is_checked():
    names = model_names()
    assert "pages.sql" in names and "030_responses.sql" in names and "coverage.sql" in names
    assert len(names) >= 11


@pytest.mark.parametrize("name", model_names())
def test_model_transpiles_to_spark(name):
    assert problems(read_model(name)) == []
    statements = to_spark(read_model(name), PARAMS)
    assert statements
    for statement in statements:
        assert "$" not in statement.sql  # every parameter bound


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
