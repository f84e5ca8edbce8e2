"""The join model's SQL for Apache Spark: the same ``models/exposure`` files (and the
self-selection check's ``models/selection`` files), transpiled.

There is one copy of the join model, written in DuckDB's dialect in portable forms (no ASOF join,
no struct_insert, no ``SELECT * REPLACE``: see each file's header). sqlglot turns a file into
Spark SQL; parameters are bound as literals in the parsed tree (never by formatting text), and
``CREATE OR REPLACE TABLE x AS …`` becomes a (table, query) pair the engine materialises as it
likes (Spark has no plain tables without a catalog). ``problems`` names what Spark would not
run, so a test can pin that every model file stays portable. Needs the ``spark`` extra (sqlglot).

The native stages (``models/stage/*.sql``: ``ingest … --to-parquet``) are transpiled too, with
their DuckDB-only constructs rewritten here rather than in the files (local ingest runs them
unchanged): ``stage_to_spark`` for a one-statement stage (OTLP), ``stage_tables_to_spark``
for one that builds several tables (GA4: list lambdas, list indexes, json_extract, rowid).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel
from sqlglot.generators.spark import SparkGenerator

__all__ = ["MODEL_FOLDERS", "StageQuery", "StageTables", "Statement", "inline_macros",
           "model_names", "problems", "query_to_spark", "read_model", "stage_tables_to_spark",
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


# The model folders both engines run: the join model, and the self-selection check's frames
# (survey offers matched to page loads), which read the join model's exposure_pages.
MODEL_FOLDERS = ("exposure", "selection")


def model_names(folder: str = "exposure") -> list[str]:
    """Every file of models/<folder> (one of MODEL_FOLDERS), sorted."""
    found = resources.files("parallax.models").joinpath(folder)
    return sorted(e.name for e in found.iterdir() if e.name.endswith(".sql"))


def read_model(name: str, folder: str = "exposure") -> str:
    return resources.files("parallax.models").joinpath(folder, name).read_text("utf-8")


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
    for tree in sqlglot.parse(_parenthesised_macros(sql), read="duckdb"):
        assert tree is not None
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "MACRO":
            name = tree.this.this.name.lower()
            params = [p.name.lower() for p in tree.this.expressions]
            macros[name] = (params, _expand(tree.expression, macros))
            continue
        out.append(_expand(tree, macros))
    return out


_MACRO = re.compile(r"(CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?MACRO\s+\w+\s*"
                    r"\([^)]*\)\s+AS\s+)(?!TABLE\b)(.*?);[ \t]*$", re.I | re.S | re.M)


def _parenthesised_macros(sql: str) -> str:
    """Each scalar macro's body in parentheses: sqlglot reads a body that starts with a
    string literal and an operator (``AS '{' || …``) as a statement it does not know."""
    return _MACRO.sub(lambda m: f"{m.group(1)}({m.group(2)});", sql)


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


@dataclass(frozen=True)
class StageTables:
    """A stage file that builds several tables (``CREATE TEMP TABLE t AS …``, ``INSERT INTO t
    BY NAME …``) as Spark queries, in order: each reads the file's view ``source`` or a table
    built before it (the engine registers each as a view under the table's name). A table made
    empty from a canonical one (``… AS SELECT * FROM x LIMIT 0``) and then filled BY NAME is
    the filling query alone: the caller casts it to the canonical columns, which also drops
    the helper columns the file's ``ALTER TABLE … DROP COLUMN`` statements drop. DuckDB's
    ``rowid`` of a table built here is its column ``_rowid`` (the rows' order as built)."""

    statements: list[Statement]
    source: str
    columns: dict[str, str]


def stage_tables_to_spark(sql: str, params: Mapping[str, object], source: str) -> StageTables:
    """A multi-table stage file (``models/stage/ga4_ndjson.sql``) as Spark queries."""
    out: list[Statement] = []
    columns: dict[str, str] | None = None
    # DuckDB's len() is a list's length and a string's; sqlglot reads both as LENGTH, which
    # Spark takes for strings only. The multi-table stage files write len() of lists alone
    # (length() of text), so len() is their list length: Spark's size().
    for tree in inline_macros(re.sub(r"\blen\(", "array_length(", sql)):
        if isinstance(tree, exp.Alter):
            continue  # helper columns dropped: the caller keeps the canonical ones
        if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
            query, table = tree.expression, tree.this.name
            if _is_empty_copy(query):
                continue
            query = query.select(exp.alias_(exp.func("monotonically_increasing_id"), "_rowid"),
                                 copy=False) if isinstance(query, exp.Select) else query
        elif isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Query):
            query, table = tree.expression, tree.this.name
        else:
            raise ValueError(f"a stage statement Spark does not build: {tree.sql()[:80]}")
        reads = [t for t in query.find_all(exp.Table)
                 if isinstance(t.this, exp.Anonymous) and t.this.name.lower() == "read_json"]
        if reads:
            if columns is not None or len(reads) > 1:
                raise ValueError("a stage file reads its file once, with read_json")
            columns = _read_json_columns(reads[0].this)
            reads[0].replace(exp.to_table(source))
        bound = _hoist_python_calls(query.transform(lambda node: _bind(node, params)))
        tree = _children_first(bound, _spark_form)
        out.append(Statement(table, tree.sql(dialect=_Spark, comments=False,
                                             unsupported_level=ErrorLevel.RAISE)))
    if columns is None:
        raise ValueError("a stage file reads one file with read_json (none found)")
    return StageTables(out, source, columns)


def query_to_spark(sql: str, params: Mapping[str, object],
                   tables: Mapping[str, str] | None = None) -> str:
    """A one-statement DuckDB file (a query, or ``CREATE … AS`` a query: the query alone) as
    Spark SQL, with ``$parameters`` bound and the stage files' DuckDB forms rewritten
    (``models/routes/teach_load.sql``: the lake ingest collects a load's teaching pairs on
    Spark with it). The tables it reads are the engine's views of the same names, or of the
    names ``tables`` gives them."""
    trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    if len(trees) != 1:
        raise ValueError(f"one statement expected ({len(trees)} found)")
    tree = trees[0]
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        tree = tree.expression
    if not isinstance(tree, exp.Query):
        raise ValueError(f"not a query: {tree.sql()[:80]}")
    for table in list(tree.find_all(exp.Table)):
        if tables and not table.db and table.name in tables:
            table.set("this", exp.to_identifier(tables[table.name]))
    bound = tree.transform(lambda node: _bind(node, params))
    return _children_first(bound, _spark_form).sql(dialect=_Spark, comments=False,
                                                   unsupported_level=ErrorLevel.RAISE)


def _hoist_python_calls(tree: exp.Expr) -> exp.Expr:
    """Spark runs no Python function inside a list lambda: a call ``_parallax_f(arg)`` in
    ``list_transform(xs, lambda x, i: …)`` becomes element i of a column computed beside the
    query's input, ``_parallax_f_list(list_transform(xs, lambda x, i: arg))``: one call over
    the list of the arguments, each computed under the CASE conditions that led to the call
    (NULL elsewhere), so no argument is computed (or raises) that DuckDB would not compute.
    The engine registers ``_parallax_f_list``: ``_parallax_f`` over a list."""
    calls = [n for n in tree.find_all(exp.Anonymous)
             if n.name.lower().startswith("_parallax_") and len(n.expressions) == 1
             and n.find_ancestor(exp.Lambda) is not None]
    for number, call in enumerate(calls):
        lam = call.find_ancestor(exp.Lambda)
        select = call.find_ancestor(exp.Select)
        transform = lam.parent if lam else None
        if lam is None or not isinstance(transform, exp.Transform) or select is None \
                or select.args.get("joins") or select.args.get("from_") is None:
            raise ValueError(f"{call.name}() in a lambda Spark cannot hoist it out of")
        params = [p.name for p in lam.expressions]
        if len(params) == 1:
            params.append("_parallax_i")
            lam.set("expressions", [exp.to_identifier(p) for p in params])
        guard = _conditions(call, select)
        arg = call.expressions[0].copy()
        body = exp.Case(ifs=[exp.If(this=guard, true=arg)]) if guard is not None else arg
        listed = exp.Anonymous(this=f"{call.name}_list", expressions=[exp.Transform(
            this=transform.this.copy(),
            expression=exp.Lambda(this=body, expressions=[exp.to_identifier(p)
                                                          for p in params]))])
        column = f"_parallax_hoisted_{number}"
        source = select.args["from_"].this
        inner = exp.select("*", exp.alias_(listed, column)).from_(source.copy())
        select.set("from_", exp.From(this=inner.subquery(source.alias_or_name)))
        call.replace(exp.Bracket(this=exp.column(column), expressions=[exp.column(params[1])]))
    return tree


def _conditions(node: exp.Expr, stop: exp.Expr) -> exp.Expr | None:
    """What must hold for ``node`` to be evaluated, from the CASEs between it and ``stop``."""
    conds: list[exp.Expr] = []
    child, parent = node, node.parent
    while parent is not None and child is not stop:
        if isinstance(parent, exp.If) and child is parent.args.get("true"):
            conds.append(parent.this.copy())
            case = parent.parent
            if isinstance(case, exp.Case):
                for earlier in case.args["ifs"][:case.args["ifs"].index(parent)]:
                    conds.append(exp.not_(earlier.this.copy()))
        elif isinstance(parent, exp.Case) and child is parent.args.get("default"):
            conds += [exp.not_(i.this.copy()) for i in parent.args["ifs"]]
        child, parent = parent, parent.parent
    return exp.and_(*conds) if conds else None


def _children_first(tree: exp.Expr, fn: Any) -> exp.Expr:
    """``tree`` with ``fn`` applied to every node, a node's children before it: a rewrite
    that moves a node (a list index into try_element_at) leaves nothing below unrewritten."""
    for node in reversed(list(tree.walk())):
        new = fn(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _is_empty_copy(query: exp.Query) -> bool:
    limit = query.args.get("limit")
    return (isinstance(query, exp.Select) and limit is not None
            and limit.expression.name == "0" and query.is_star)


def _json_at(doc: exp.Expr, path: exp.Expr) -> exp.Expr:
    """DuckDB's json_extract(doc, path) (the value's JSON text; NULL where the path is absent,
    'null' for a JSON null) in Spark: the value as a variant, written back as JSON."""
    text = path.sql(dialect="duckdb") if isinstance(path, exp.JSONPath) else path.name
    value = exp.Anonymous(this="try_variant_get", expressions=[
        exp.Anonymous(this="parse_json", expressions=[doc.copy()]),
        exp.Literal.string(text.strip("'")), exp.Literal.string("variant")])
    return exp.Anonymous(this="to_json", expressions=[value])


def _json_text_at(doc: exp.Expr, path: exp.Expr) -> exp.Expr:
    """DuckDB's json_extract_string(doc, path) (a string's text, a number's or a boolean's as
    written, NULL where the path is absent or holds a JSON null) in Spark. An object or a list
    comes back as JSON text, its keys in Spark's order: no teaching rule reads one."""
    return exp.Anonymous(this="try_variant_get", expressions=[
        exp.Anonymous(this="parse_json", expressions=[doc.copy()]),
        exp.Literal.string(_variant_path(path)), exp.Literal.string("string")])


def _variant_path(path: exp.Expr) -> str:
    """A DuckDB JSON path as Spark's variant path: a quoted key (``$."http.route"``, a key
    holding a dot) in brackets (``$['http.route']``), which Spark reads as one key."""
    text = (path.sql(dialect="duckdb") if isinstance(path, exp.JSONPath)
            else path.name).strip("'")
    quoted = re.fullmatch(r'\$\."([^"\'\\]*)"', text)
    return f"$['{quoted.group(1)}']" if quoted else text


def _one_based(node: exp.Expr) -> exp.Expr:
    """A lambda's index parameter (DuckDB counts from 1, Spark from 0) as DuckDB's."""
    if not isinstance(node, exp.Lambda) or len(node.expressions) != 2:
        return node
    index = node.expressions[1].name

    def shift(inner: exp.Expr) -> exp.Expr:
        if isinstance(inner, exp.Identifier | exp.Column) and inner.name == index \
                and not isinstance(inner.parent, exp.Column | exp.Lambda) \
                and inner.find_ancestor(exp.Lambda) is node:
            return exp.paren(exp.Add(this=exp.to_identifier(index),
                                     expression=exp.Literal.number(1)), copy=False)
        return inner

    node.set("this", node.this.transform(shift, copy=False))
    return node


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
        if name == "list_position":  # DuckDB: NULL when absent; Spark: 0
            return exp.cast(exp.func("nullif", exp.func("array_position", *node.expressions),
                                     exp.Literal.number(0)), "INT")  # an index is an INT
        if name == "list_unique":  # distinct non-null elements
            return exp.func("size", exp.func("array_distinct",
                                              exp.func("array_compact", *node.expressions)))
        if name == "make_timestamptz" and len(node.expressions) == 1:  # µs since 1970
            return exp.func("timestamp_micros", *node.expressions)
        if name == "to_json":  # a scalar as JSON text (a NULL stays NULL, as in DuckDB)
            value, = node.expressions
            return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.null()),
                                        true=exp.null())],
                            default=exp.Anonymous(this="to_json",
                                                  expressions=[exp.cast(value, "VARIANT")]))
    if isinstance(node, exp.JSONExtractScalar):  # json_extract_string
        doc, path = node.this, node.expression
        if isinstance(path, exp.Array):  # a list of paths: the list of values
            return exp.Array(expressions=[_json_text_at(doc, p) for p in path.expressions])
        return _json_text_at(doc, path)
    if isinstance(node, exp.JSONExtract):
        doc, path = node.this, node.expression
        if isinstance(path, exp.Array):  # a list of paths: the list of values
            return exp.Array(expressions=[_json_at(doc, p) for p in path.expressions])
        return _json_at(doc, path)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 \
            and not (isinstance(node.expressions[0], exp.Literal)
                     and node.expressions[0].is_string):
        # DuckDB's list[i] counts from 1 and is NULL out of range; sqlglot holds a literal
        # index counted from 0, any other as written (from 1)
        index = node.expressions[0]
        if isinstance(index, exp.Literal):
            index = exp.Literal.number(int(index.this) + 1)
        return exp.func("try_element_at", node.this, index)
    if isinstance(node, exp.Lambda):
        return _one_based(node)
    if isinstance(node, exp.Concat) and node.args.get("coalesce"):
        # DuckDB's concat() skips NULLs; Spark's concat() is NULL if any part is
        return exp.Anonymous(this="concat_ws", expressions=[
            exp.Literal.string(""), *[exp.cast(e, "STRING") for e in node.expressions]])
    if isinstance(node, exp.IsInf):
        return exp.EQ(this=exp.func("abs", node.this),
                      expression=exp.cast(exp.Literal.string("Infinity"), "DOUBLE"))
    if isinstance(node, exp.Column) and not node.table and node.name.lower() == "rowid":
        return exp.column("_rowid")
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
