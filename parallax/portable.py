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

__all__ = ["Statement", "StageQuery", "inline_macros", "model_names", "problems", "read_model",
           "stage_to_spark", "to_spark"]


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


def inline_macros(sql: str) -> list[exp.Expr]:
    """The statements of a DuckDB file with its ``CREATE … MACRO`` statements applied: every
    call of a scalar macro replaced by the macro's body over the call's arguments (macros
    calling macros included), the macro statements themselves left out. Spark has no macros;
    the body is the same SQL, so the file stays the one copy of what it says."""
    macros: dict[str, tuple[list[str], exp.Expr]] = {}
    out = []
    for tree in sqlglot.parse(sql, read="duckdb"):
        assert tree is not None
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "MACRO":
            name = tree.this.this.name.lower()
            params = [p.name.lower() for p in tree.this.expressions]
            macros[name] = (params, _expand(tree.expression, macros))
            continue
        out.append(_expand(tree, macros))
    return out


def _expand(tree: exp.Expr, macros: Mapping[str, tuple[list[str], exp.Expr]]) -> exp.Expr:
    def call(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous) or node.name.lower() not in macros:
            return node
        params, body = macros[node.name.lower()]
        if len(params) != len(node.expressions):
            raise ValueError(f"macro {node.name}: {len(node.expressions)} arguments, "
                             f"expected {len(params)}")
        args = dict(zip(params, node.expressions, strict=True))

        def substitute(inner: exp.Expr) -> exp.Expr:
            if isinstance(inner, exp.Column) and not inner.table and inner.name.lower() in args:
                return exp.paren(args[inner.name.lower()].copy(), copy=False)
            return inner

        return body.copy().transform(substitute)

    # A macro's argument may itself call a macro: expand until none is left (bodies were
    # expanded when defined, so this ends within the nesting depth of the calls).
    for _ in range(64):
        if not any(isinstance(n, exp.Anonymous) and n.name.lower() in macros
                   for n in tree.walk()):
            return tree
        tree = tree.transform(call)
    raise ValueError("macros nested more than 64 deep")


@dataclass(frozen=True)
class StageQuery:
    """A stage file's INSERT for Spark: the query over ``source`` (a view of the file as
    ``read_json`` would read it) and that view's columns, as DuckDB types."""

    sql: str
    source: str  # the view name the query reads instead of read_json(…)
    columns: dict[str, str]  # column -> DuckDB type, from read_json's columns = {…}


def stage_to_spark(sql: str, params: Mapping[str, object], source: str) -> StageQuery:
    """A stage file (``models/stage/*.sql``: macros, then one ``INSERT … SELECT`` over
    ``read_json``) as one Spark query. The file is read by the engine (Spark's JSON reader,
    told the same columns), not by SQL: the query reads the view ``source`` instead."""
    statements = inline_macros(sql)
    inserts = [s for s in statements if isinstance(s, exp.Insert)]
    if len(statements) != 1 or len(inserts) != 1:
        raise ValueError("a stage file holds macros and one INSERT")
    query = inserts[0].expression
    reads = [t for t in query.find_all(exp.Table)
             if isinstance(t.this, exp.Anonymous) and t.this.name.lower() == "read_json"]
    if len(reads) != 1:
        raise ValueError(f"a stage file reads one file with read_json ({len(reads)} found)")
    columns = _read_json_columns(reads[0].this)
    reads[0].replace(exp.to_table(source))
    tree = query.transform(lambda node: _bind(node, params)).transform(_spark_form)
    return StageQuery(tree.sql(dialect=_Spark, comments=False,
                               unsupported_level=ErrorLevel.RAISE), source, columns)


def _spark_form(node: exp.Expr) -> exp.Expr:
    """DuckDB functions and types the stage files use, in the Spark form that computes the
    same: error() is raise_error(); regexp_full_match an anchored RLIKE (Java's regex agrees
    with RE2 on the patterns used: classes, repeats, alternation); strlen (bytes) is
    octet_length; HUGEINT a DECIMAL(38, 0) (whole numbers, as exact); to_microseconds(n) a
    day-time interval of n µs."""
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "error":
            return exp.func("raise_error", *node.expressions)
        if name == "strlen":
            return exp.func("octet_length", *node.expressions)
        if name == "to_microseconds":
            micros, = node.expressions
            seconds = exp.Div(this=exp.cast(micros, exp.DataType.build("DECIMAL(38, 6)")),
                              expression=exp.Literal.number(1_000_000))
            return exp.func("make_dt_interval", exp.Literal.number(0), exp.Literal.number(0),
                            exp.Literal.number(0), exp.cast(seconds, "DECIMAL(18, 6)"))
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not isinstance(pattern, exp.Literal):
            raise ValueError("regexp_full_match with a pattern that is not a literal")
        return exp.RegexpLike(this=node.this,
                              expression=exp.Literal.string(f"^(?:{pattern.this})$"))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build("DECIMAL(38, 0)")
    return node


def _read_json_columns(call: exp.Expr) -> dict[str, str]:
    for arg in call.expressions:
        if isinstance(arg, exp.EQ) and arg.this.name.lower() == "columns" \
                and isinstance(arg.expression, exp.Struct):
            return {f.this.name: f.expression.name for f in arg.expression.expressions}
    raise ValueError("read_json without columns = {…}: the stage must name what it reads")
