"""The join model's SQL for Apache Spark: the same ``models/exposure`` files, transpiled.

There is one copy of the join model, written in DuckDB's dialect in portable forms (no ASOF join,
no struct_insert, no ``SELECT * REPLACE``: see each file's header). sqlglot turns a file into
Spark SQL; parameters are bound as literals in the parsed tree (never by formatting text), and
``CREATE OR REPLACE TABLE x AS …`` becomes a (table, query) pair the engine materialises as it
likes (Spark has no plain tables without a catalog). ``problems`` names what Spark would not
run, so a test can pin that every model file stays portable. Needs the ``spark`` extra (sqlglot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel
from sqlglot.generators.spark import SparkGenerator

__all__ = ["Statement", "model_names", "problems", "read_model", "to_spark"]


class _Spark(Spark):
    """Spark, with DuckDB's exact quantile kept exact: sqlglot writes quantile_cont(x, p) as
    PERCENTILE_CONT(x, p), which Spark refuses (it only takes the WITHIN GROUP form, and sqlglot
    turns that form into the approximate PERCENTILE_APPROX); Spark's PERCENTILE(x, p) is the
    same linear interpolation between order statistics."""

    class Generator(SparkGenerator):
        TRANSFORMS = {
            **SparkGenerator.TRANSFORMS,
            exp.PercentileCont: lambda self, e: self.func("PERCENTILE", e.this, e.expression),
        }


@dataclass(frozen=True)
class Statement:
    table: str | None  # the table a CREATE … AS builds; None for a query read as it is
    sql: str  # the query, in Spark SQL


def model_names() -> list[str]:
    """Every file of models/exposure, sorted."""
    folder = resources.files("parallax.models").joinpath("exposure")
    return sorted(e.name for e in folder.iterdir() if e.name.endswith(".sql"))


def read_model(name: str) -> str:
    return resources.files("parallax.models").joinpath("exposure", name).read_text("utf-8")


def to_spark(sql: str, params: Mapping[str, object]) -> list[Statement]:
    """Each statement of a DuckDB model file as Spark SQL, with ``$parameters`` bound."""
    out = []
    for tree in sqlglot.parse(sql, read="duckdb"):
        assert tree is not None  # parse gives None only for an empty statement
        tree = tree.transform(lambda node: _bind(node, params))
        table = None
        if isinstance(tree, exp.Create):
            table = tree.this.name
            tree = tree.expression
        out.append(Statement(table, tree.sql(dialect=_Spark, comments=False,
                                             unsupported_level=ErrorLevel.RAISE)))
    return out


def problems(sql: str) -> list[str]:
    """What in a DuckDB model file Spark would not run: constructs sqlglot cannot write in
    Spark's dialect, ASOF joins, and functions sqlglot knows in neither dialect (it passes those
    through unchanged, where Spark would fail only at run time)."""
    found = []
    for tree in sqlglot.parse(sql, read="duckdb"):
        assert tree is not None
        try:
            text = tree.sql(dialect=_Spark, unsupported_level=ErrorLevel.RAISE)
        except sqlglot.errors.UnsupportedError as err:
            found.append(str(err))
            continue
        back = sqlglot.parse_one(text, read="spark")
        found += [f"ASOF join ({j.sql(dialect='spark')[:60]})" for j in back.find_all(exp.Join)
                  if (j.args.get("method") or "").upper() == "ASOF"]
        found += [f"function {f.name}() unknown to Spark" for f in back.find_all(exp.Anonymous)]
        found += [f"CTE {c.alias} AS [NOT] MATERIALIZED" for c in tree.find_all(exp.CTE)
                  if c.args.get("materialized") is not None]
        found += ["SELECT * REPLACE/EXCLUDE" for s in back.find_all(exp.Star)
                  if s.args.get("replace") or s.args.get("except")]
    return found


def _bind(node: exp.Expr, params: Mapping[str, object]) -> exp.Expr:
    if not isinstance(node, exp.Placeholder | exp.Parameter):
        return node
    name = node.name
    if name not in params:
        raise KeyError(f"model parameter ${name} has no value")
    value = params[name]
    if isinstance(value, datetime):  # Spark's session time zone is UTC (see the engine)
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))
    if value is None:
        return exp.null()
    return exp.convert(value)
