"""``ingest analytics … --to-parquet DIR``: GA4 BigQuery-export NDJSON mapped on Spark, by the
native stage's own SQL, into the Parquet lake's ``events``, ``page_views`` and ``sessions``.

The mapping is ``models/stage/ga4_ndjson.sql``, transpiled by
``parallax.portable.stage_tables_to_spark`` (macros inlined, each temporary table a query, list
lambdas, list indexing, ``json_extract`` and ``concat`` in the Spark forms that compute what
DuckDB computes): one copy of the mapping for both engines. The Python it calls
(``_parallax_pseudonym``, ``_parallax_route``, ``_parallax_event_key``) is the very functions
DuckDB calls, registered as Arrow UDFs.

The stage's JSON-typed columns reach the SQL as DuckDB's JSON text: a scalar as the JSON text
of its variant (so a string keeps its quotes, a number none), an object or a list as the line
spells it (Spark's reader hands a nested value read as text over minified, in its keys' order:
a variant would sort them).

The load SQL (``models/load/events.sql``, ``page_views.sql``, ``sessions.sql``) updates rows in
place, which a folder of Parquet files cannot; its rules are applied here to the day partitions
the files touch, read with their neighbours: events and page views deduplicated by event key
(first copy in the file wins; a key the lake holds is skipped), GA4 composite sessions renamed
to the shared session id their other events carry (in the files or in the lake within a day),
click paths renumbered in every touched session, sessions merged (earliest start, latest end,
the stored attributes first, converted by any, revenue from the deduplicated purchases). Only
the day partitions whose rows change are written: into a staging folder, then each swapped in
by renames; a failure puts back the ones already swapped, so the lake stays as it was. The
lake's ``web_vitals`` rows of the days the new events and page views can change (GA4's Core
Web Vitals events, routed by the page views) are recomputed by ``lake_vitals.stage_vitals`` over
the staged days and swapped in with them.

Routes as the other lake ingests keep them (``lake_routes.LakeRoutes``): the lake's templates
are brought in line with the settings before the mapping; when the lake's routes were computed
under another fingerprint, the stored rows the merge reads are re-routed before it merges
them, and the other stored days whose rows move are rewritten by ``stage_reroute`` and swapped
in with the merged ones (``route_templates`` and ``route_state`` replaced whole).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from parallax.connectors.base import ParseContext
from parallax.connectors.routes import RouteNormalizer
from parallax.errors import IngestError, ParallaxError
from parallax.lake import add_to_ledger, day_folder, lake_load, stage_ledger, swap_days
from parallax.lake_routes import LakeRoutes, reroute_frame, stage_reroute, stored_pairs
from parallax.lake_vitals import INPUTS, stage_vitals

__all__ = ["AnalyticsLoad", "check_analytics_files", "stage_analytics", "to_parquet"]

_SQL = "stage/ga4_ndjson.sql"
_SOURCE = "ga4_file"  # the view the transpiled queries read instead of read_json(…)
NAME = "ga4-ndjson"
_TABLES = ("events", "page_views", "sessions")
# each table's time column (its day partition)
_TIME = {"events": "occurred_at", "page_views": "viewed_at", "sessions": "started_at"}


@dataclass(frozen=True)
class AnalyticsLoad:
    folder: Path
    files: int
    staged: dict[str, int]  # table -> rows the files' stage holds (before deduplication)
    added: dict[str, int]  # table -> rows new to the lake
    days: dict[str, int]  # table -> day partitions rewritten
    created: bool
    vitals: int = 0  # web_vitals day partitions rewritten (the vitals the new rows change)


def check_analytics_files(paths: Sequence[Path]) -> None:
    """Refuse, before Spark starts, a file --to-parquet does not map (GA4 NDJSON only)."""
    from parallax.lake_ingest import check_files

    check_files(paths, "analytics", NAME, "GA4 BigQuery-export NDJSON", "an analytics")


def _register_functions(spark: Any, ctx: ParseContext) -> None:
    """ga4_native's Python functions, as Spark Arrow UDFs."""
    from pyspark.sql import types as T
    from pyspark.sql.functions import arrow_udf

    from parallax.connectors.files import ga4_native as native
    from parallax.connectors.files.analytics_rows import mac_key
    from parallax.lake_ingest import _scalar

    text = T.StringType()
    pseudonym = native._distinct(ctx.pseudonymize)
    route = native._distinct(ctx.route)
    event_key = native._event_keys(mac_key(ctx.pseudonymize.key))

    def keys(a: pa.Array, b: pa.Array, c: pa.Array, d: pa.Array, e: pa.Array, f: pa.Array,
             g: pa.Array, h: pa.Array) -> pa.Array:
        return event_key(a, b, c, d, e, f, g, h)

    def pseudonym_lists(lists: pa.Array) -> pa.Array:
        # the stage's pseudonyms inside a list lambda, hoisted by the transpiler: one call
        # over every list's elements (offsets index the whole values array, slice or not)
        if isinstance(lists, pa.ChunkedArray):
            lists = lists.combine_chunks()
        mapped = pseudonym(lists.values)
        return pa.ListArray.from_arrays(lists.offsets, mapped, mask=lists.is_null())

    udfs: dict[str, tuple[Any, Any]] = {  # Any: the stubs' overloads know no 8-argument UDF
        "_parallax_pseudonym": (_scalar(pseudonym), text),
        "_parallax_pseudonym_list": (pseudonym_lists, T.ArrayType(text)),
        "_parallax_route": (_scalar(route), text),
        "_parallax_event_key": (keys, text),
    }
    for name, (fn, returns) in udfs.items():
        spark.udf.register(name, arrow_udf(fn, returns))


def _read(spark: Any, paths: Sequence[Path], columns: dict[str, str]) -> Any:
    """The files as read_json reads them with ``columns``: JSON-typed values as DuckDB's JSON
    text (see the module docstring), the rest as text."""
    from pyspark.sql import functions as F

    from parallax.lake_ingest import spark_schema

    typed = spark_schema(columns)  # JSON as VARIANT: a scalar's type is kept
    as_text = typed.replace(" VARIANT", " STRING")  # a nested value as the line spells it
    lines = spark.read.text([str(p) for p in paths]).where(F.trim("value") != "")
    options = {"mode": "FAILFAST"}
    both = lines.select(F.from_json("value", typed, options).alias("v"),
                        F.from_json("value", as_text, options).alias("s"))
    kinds = spark.createDataFrame([], typed).schema
    return both.select(*[_json_text(F.col("v")[f.name], F.col("s")[f.name], f.dataType)
                         .alias(f.name) for f in kinds.fields])


def _json_text(variant: Any, text: Any, kind: Any) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from parallax.lake_ingest import _has_variant

    if isinstance(kind, T.VariantType):
        scalar = F.to_json(variant)
        nested = F.substring(scalar, 1, 1).isin("{", "[")
        # DuckDB reads a JSON null into a JSON column as SQL NULL
        return (F.when(scalar == F.lit("null"), F.lit(None))
                .when(nested, text).otherwise(scalar))
    if isinstance(kind, T.ArrayType) and _has_variant(kind):
        return F.transform(variant, lambda x, i: _json_text(x, text[i], kind.elementType))
    if isinstance(kind, T.StructType) and _has_variant(kind):
        inner = F.struct(*[_json_text(variant.getField(f.name), text.getField(f.name),
                                      f.dataType).alias(f.name) for f in kind.fields])
        return F.when(variant.isNull(), F.lit(None)).otherwise(inner)
    return variant


def stage_analytics(spark: Any, paths: Sequence[Path], ctx: ParseContext, load_id: str,
                    canonical: dict[str, Any]) -> dict[str, Any]:
    """The files' staged events, page views and sessions (ga4_ndjson.sql's stage tables) as
    Spark DataFrames with the columns and types of ``canonical`` (table -> Spark schema);
    events carry ``_rowid`` (file order)."""
    from pyspark.sql import functions as F

    from parallax.connectors.files.ga4_native import stage_params
    from parallax.db import read_sql
    from parallax.portable import stage_tables_to_spark

    # no file: Spark reads it (_read)
    stage = stage_tables_to_spark(read_sql("models", _SQL), stage_params(ctx, load_id),
                                  _SOURCE)
    _read(spark, paths, stage.columns).createOrReplaceTempView(_SOURCE)
    _register_functions(spark, ctx)
    out: dict[str, Any] = {}
    for statement in stage.statements:
        assert statement.table is not None
        df = spark.sql(statement.sql)
        if statement.table == "stage_events":
            # Materialised once: the Python functions run once per event, and the tables
            # below read it (its _rowid is then fixed).
            df = df.localCheckpoint()
        df.createOrReplaceTempView(statement.table)
        out[statement.table.removeprefix("stage_")] = df
    result = {}
    for table, df in out.items():
        schema = canonical[table]
        extra = [F.col("_rowid")] if table == "events" else []
        result[table] = df.select(*[F.col(f.name).cast(f.dataType).alias(f.name)
                                    for f in schema.fields], *extra)
    return result


# Spark's optimiser collapses the stage's chain of projections into one, inlining each
# column's (macro-expanded) expression wherever it is read: planning then takes longer and the
# generated code outgrows what the JVM compiles. Kept apart, each step is computed once.
_CONF = {"spark.sql.optimizer.excludedRules":
         "org.apache.spark.sql.catalyst.optimizer.CollapseProject",
         "spark.sql.codegen.wholeStage": "false",
         "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}
_KEYS = {"events": "event_key", "page_views": "event_key", "sessions": "session_id"}
_OWN_SOURCES = ("ga4-ndjson", "snowplow-tsv", "snowplow-json")  # load/events.sql's


def to_parquet(spark: Any, paths: Sequence[Path], folder: Path,
               ctx: ParseContext) -> AnalyticsLoad:
    """Map GA4 NDJSON files on Spark and merge their events, page views and sessions into
    the lake at ``folder`` (created, with every canonical table, if missing)."""
    from parallax.db import connect
    from parallax.spark_engine import job_settings

    # Spark resolves a relative path against the JVM's working folder, which need not be
    # this process's (a session already running: a notebook's, or one started elsewhere)
    folder, paths = Path(folder).absolute(), [Path(p).absolute() for p in paths]
    check_analytics_files(paths)
    started = datetime.now(UTC)
    load_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with lake_load(folder, _TABLES) as target:
        lake, staging = target.lake, target.staging
        new = staging / "new"
        staging.mkdir(exist_ok=True)
        routes = LakeRoutes(connect(staging / "routes.duckdb"), lake, ctx.route)
        try:
            with job_settings(spark, _CONF):
                # the lake's templates in line with the settings before anything is mapped
                norm = routes.prepare(lambda: stored_pairs(spark, lake))
                ctx = replace(ctx, route=norm)
                stale = routes.stale and not target.created
                staged, added, days = _merge(spark, paths, lake, new, ctx, load_id,
                                             norm if stale else None)
            whole = routes.stage(new)
        finally:
            routes.con.close()
        if stale:  # the stored rows the settings route elsewhere, beyond the merged days
            _add_rerouted(stage_reroute(lake, norm, staging / "routes",
                                        staging / "reroute.duckdb"),
                          staging / "routes", new, days)
        # The vitals of the days the new events and page views (and re-routed rows) change,
        # computed over the lake as the swap below leaves it and swapped in with the rest (one
        # failure: no change).
        vitals = stage_vitals(lake, {d for t in INPUTS for d in days.get(t, [])}, new,
                              new=new, swapped=days)
        # the ledger's row, for a load that changes the lake
        from parallax.lake_ingest import ledger_row

        ledger = (stage_ledger([ledger_row(load_id, "analytics", paths, NAME, started,
                                           staged["events"], added["events"])],
                               staging / "loads.parquet")
                  if vitals or whole or any(days.values()) else None)
        moved = add_to_ledger(ledger, lake, load_id) if ledger is not None else None
        try:
            swap_days(new, lake, {**days, "web_vitals": vitals}, staging / "old", whole)
        except BaseException:
            if moved is not None:
                moved.unlink(missing_ok=True)
            raise
    return AnalyticsLoad(folder, len(paths), staged, added,
                         {t: len(d) for t, d in days.items()}, target.created, len(vitals))


def _add_rerouted(rerouted: dict[str, list], source: Path, target: Path,
                  days: dict[str, list]) -> None:
    """The re-routed days (``stage_reroute`` under ``source``) join the merged ones under
    ``target``, all but the days the merge wrote: it read those whole, re-routed, and added
    the files' rows to them."""
    for table, changed in rerouted.items():
        kept = days.setdefault(table, [])
        for day in changed:
            if day not in kept:
                (target / table).mkdir(parents=True, exist_ok=True)
                (source / table / day_folder(day)).rename(target / table / day_folder(day))
                kept.append(day)


def _merge(spark: Any, paths: Sequence[Path], lake: Path, target: Path, ctx: ParseContext,
           load_id: str, reroute: RouteNormalizer | None = None
           ) -> tuple[dict[str, int], dict[str, int], dict[str, list]]:
    """Write, under ``target/<table>/day=…``, every day partition the files change (whole);
    (rows staged, rows added, days written) per table. ``reroute``: the stored routes are
    stale, and the stored rows read are routed with it (as local ingest's ``prepare``
    re-routes them before the load)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    stored = {t: _with_day(spark.read.parquet(str(lake / t))) for t in _TABLES}
    canonical = {t: df.drop("day").schema for t, df in stored.items()}
    try:
        stage = stage_analytics(spark, paths, ctx, load_id, canonical)
        staged = {t: df.localCheckpoint() for t, df in stage.items()}
        counts = {t: df.count() for t, df in staged.items()}
        if counts["events"] == 0:
            raise IngestError(f"{', '.join(map(str, paths))}: no events; nothing was written")
        lo, hi = staged["events"].agg(F.min("occurred_at"), F.max("occurred_at")).first()
        day = F.expr("INTERVAL 1 DAY")
        lo_t, hi_t = F.lit(lo) - day, F.lit(hi) + day
        # the stored rows the load can touch: the days around the files' (a GA4 session spans
        # at most a midnight), read whole; the load SQL looks no further either
        near = {t: df.where(F.col("day").between(F.to_date(lo_t), F.to_date(hi_t)))
                .localCheckpoint() for t, df in stored.items()}
        columns = {t: canonical[t].fieldNames() for t in _TABLES}

        def fresh(table: str, order: list) -> Any:
            # load/events.sql, page_views.sql: the first copy of a key in the files, unless
            # the lake holds it (looked up within a day of the files' rows)
            key, time = _KEYS[table], _TIME[table]
            first = Window.partitionBy(key).orderBy(*order)
            rows = (staged[table].withColumn("_n", F.row_number().over(first))
                    .where("_n = 1").drop("_n", "_rowid"))
            known = near[table].where(F.col(time).between(lo_t, hi_t)).select(key)
            return rows.join(known, key, "left_anti").select(*columns[table])

        new_events = fresh("events", [F.col("session_id").asc_nulls_last(), "_rowid"])
        new_views = fresh("page_views", [F.col("session_id").asc_nulls_last()])
        alias = _aliases(staged["events"], near["events"], load_id)
        # the stored rows as the load finds them: re-routed first when the routes are stale
        # (compared with near[…] below, a day whose rows only moved is written too)
        kept = {t: near[t].select(*columns[t]) for t in ("events", "page_views")}
        if reroute is not None:
            kept = {t: reroute_frame(spark, df, reroute, "url") for t, df in kept.items()}
        events = _renamed(kept["events"].unionByName(new_events), alias)
        views = _renamed(kept["page_views"].unionByName(new_views), alias)
        touched = (_renamed(staged["page_views"].select("session_id"), alias).distinct()
                   .withColumn("_touched", F.lit(True)))
        path = Window.partitionBy("session_id").orderBy("viewed_at", "event_key")
        views = (views.join(touched, "session_id", "left")
                 .withColumn("seq", F.when(F.col("_touched"), F.row_number().over(path))
                             .otherwise(F.col("seq")))
                 .drop("_touched"))
        sessions = _sessions(staged["sessions"], near["sessions"].select(*columns["sessions"]),
                             alias, events)
        final = {"events": events, "page_views": views, "sessions": sessions}
        added, days = {}, {}
        for table in _TABLES:
            rows = (final[table].select(*[F.col(f.name).cast(f.dataType)
                                          for f in canonical[table].fields])
                    .withColumn("day", F.to_date(_TIME[table])).localCheckpoint())
            changed = _changed_days(near[table], rows, _KEYS[table], columns[table])
            days[table] = changed
            added[table] = rows.join(near[table].select(_KEYS[table]), _KEYS[table],
                                     "left_anti").count()
            if changed:
                (rows.where(F.col("day").isin(changed)).write.partitionBy("day")
                 .parquet(str(target / table)))
        return counts, added, days
    except ParallaxError:
        raise
    except Exception as exc:  # Spark's errors: the mapping refused the file, or I/O
        from parallax.lake_ingest import refusal

        raise refusal(exc, paths, "analytics") from None


def _with_day(df: Any) -> Any:
    """A table as read, with its day partition (an empty table is one file, no day folder)."""
    from pyspark.sql import functions as F

    return df if "day" in df.columns else df.withColumn("day", F.lit(None).cast("date"))


def _own_session(properties: Any) -> Any:
    from pyspark.sql import functions as F

    return F.coalesce(F.get_json_object(properties, "$.ga4_session"),
                      F.get_json_object(properties, "$.snowplow_session"))


def _aliases(staged: Any, stored: Any, load_id: str) -> Any:
    """load/events.sql's _session_alias: each GA4 composite session of the files → the
    smallest shared session id its events carry, in the files or stored within a day."""
    from pyspark.sql import functions as F

    mine = staged.select(_own_session(F.col("properties")).alias("own_session"),
                         "session_id", "occurred_at")
    lo, hi = (mine.where("own_session IS NOT NULL")
              .agg(F.min("occurred_at"), F.max("occurred_at")).first())
    pairs = mine.select("own_session", "session_id")
    if lo is not None:
        day = F.expr("INTERVAL 1 DAY")
        pairs = pairs.unionByName(
            stored.where(F.col("occurred_at").between(F.lit(lo) - day, F.lit(hi) + day))
            .where(F.col("source").isin(*_OWN_SOURCES))
            .where(F.col("load_id") != F.lit(load_id))
            .where(~F.col("session_id").rlike(r"^(?:[0-9a-f]{32}\.[0-9]+)$"))
            .select(_own_session(F.col("properties")).alias("own_session"), "session_id"))
    owns = mine.select("own_session").where("own_session IS NOT NULL").distinct()
    return (pairs.join(owns, "own_session", "left_semi")
            .where(F.col("session_id") != F.col("own_session"))
            .groupBy("own_session").agg(F.min("session_id").alias("shared"))
            .localCheckpoint())


def _renamed(df: Any, alias: Any) -> Any:
    from pyspark.sql import functions as F

    names = df.columns
    return (df.join(alias.withColumnRenamed("own_session", "session_id"), "session_id", "left")
            .withColumn("session_id", F.coalesce("shared", "session_id")).select(*names))


def _sessions(staged: Any, stored: Any, alias: Any, events: Any) -> Any:
    """load/sessions.sql on the stored sessions near the files: staged ones (and stored ones
    under a composite id now aliased) merged under their shared id, then revenue and converted
    of every touched session from its deduplicated purchase events."""
    from pyspark.sql import functions as F

    named = alias.withColumnRenamed("own_session", "session_id")
    incoming = (staged.withColumn("converted", F.coalesce("converted", F.lit(False)))
                .withColumn("revenue", F.coalesce("revenue", F.lit(0.0)))
                .unionByName(stored.join(named.select("session_id"), "session_id", "left_semi"))
                .join(named, "session_id", "left")
                .withColumn("_key", F.coalesce("shared", "session_id"))
                # any_value(): a row under the shared id itself before one renamed into it
                .withColumn("_rank", (F.col("session_id") != F.col("_key")).cast("int")))
    attrs = ["user_id", "device", "country", "segment", "source", "load_id"]
    merged = (incoming.groupBy("_key").agg(
        *[F.min(F.when(F.col(c).isNotNull(), F.struct("_rank", c)))[c].alias(c)
          for c in attrs],
        F.min("started_at").alias("started_at"), F.max("ended_at").alias("ended_at"),
        F.bool_or("converted").alias("converted"), F.max("revenue").alias("revenue"))
        .withColumnRenamed("_key", "session_id"))
    kept = stored.join(named.select("session_id"), "session_id", "left_anti")
    m, s = merged.alias("m"), kept.alias("s")
    both = s.join(m, "session_id", "full_outer")

    def first(c: str) -> Any:
        return F.coalesce(F.col(f"s.{c}"), F.col(f"m.{c}"))

    upsert = both.select(
        "session_id", first("user_id").alias("user_id"),
        F.least(F.col("s.started_at"), F.col("m.started_at")).alias("started_at"),
        F.greatest(F.col("s.ended_at"), F.col("m.ended_at")).alias("ended_at"),
        first("device").alias("device"), first("country").alias("country"),
        first("segment").alias("segment"),
        (F.coalesce(F.col("s.converted"), F.lit(False))
         | F.coalesce(F.col("m.converted"), F.lit(False))).alias("converted"),
        F.greatest(F.col("s.revenue"), F.col("m.revenue")).alias("revenue"),
        first("source").alias("source"),
        first("load_id").alias("load_id"))
    touched = merged.select("session_id")
    purchases = (events.where((F.col("name") == "purchase") & (F.col("source") == NAME))
                 .join(touched, "session_id", "left_semi")
                 .withColumn("tx", F.coalesce(F.get_json_object("properties", "$.transaction_id"),
                                              F.col("event_key")))
                 .withColumn("r", F.coalesce(F.expr(
                     "try_cast(get_json_object(properties, '$.revenue') AS DOUBLE)"),
                     F.lit(0.0)))
                 .groupBy("session_id", "tx").agg(F.max("r").alias("r"))
                 .groupBy("session_id").agg(F.sum("r").alias("_revenue")))
    return (upsert.join(purchases, "session_id", "left")
            .withColumn("converted", F.when(F.col("_revenue").isNotNull(), F.lit(True))
                        .otherwise(F.col("converted")))
            .withColumn("revenue", F.coalesce("_revenue", "revenue"))
            .drop("_revenue"))


def _changed_days(before: Any, after: Any, key: str, columns: list[str]) -> list:
    """The days whose rows differ between ``before`` and ``after`` (each with its ``day``):
    a row added, removed, or with any column changed, counts for its old and its new day."""
    from pyspark.sql import functions as F

    b = before.select(*[F.col(c).alias(f"b_{c}") for c in [*columns, "day"]])
    a = after.select(*[F.col(c).alias(f"a_{c}") for c in [*columns, "day"]])
    joined = b.join(a, F.col(f"b_{key}") == F.col(f"a_{key}"), "full_outer")
    same = F.lit(True)
    for c in [*columns, "day"]:
        same = same & F.col(f"b_{c}").eqNullSafe(F.col(f"a_{c}"))
    diff = joined.where(~same)
    days = {r[0] for r in diff.select("b_day").union(diff.select("a_day")).collect()}
    return sorted(d for d in days if d is not None)
