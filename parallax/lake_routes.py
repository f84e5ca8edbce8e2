"""Routes in the lake ingests (``ingest traces|analytics|feedback --to-parquet``): the lake
keeps its templates and stored routes in line with the settings and with what its spans teach,
as local ingest keeps a database's (``connectors/route_learning.py``), with the same files.

The lake holds what a database holds: ``route_templates`` and ``route_state`` (the learn flag
and the normaliser's fingerprint the stored routes were computed with). ``LakeRoutes`` folds
them in a scratch DuckDB database with the canonical schema, on the driver:

- before the load (``prepare``): ``declare.sql`` syncs the ``[routes] templates`` rows; the
  learn flag turned off forgets the learned rows, turned on relearns from every span the lake
  holds (``teach_all.sql``: on Spark for the Spark ingests, ``stored_pairs``; by DuckDB over
  the span files for the feedback ingest, ``stored_pairs_local``);
- after the mapping of a trace load (``learn``): ``teach_load.sql``, transpiled to Spark
  (``portable.query_to_spark``), groups the load's new spans into distinct (http.route,
  concrete path) pairs, which are few, and only those reach the driver
  (``teaching_pairs``); ``route_learning.learn_seen`` (``seen_paths.sql``, the Python match,
  ``learn.sql``) folds them in: the same counts, first and last seen, written form and
  example;
- when the fingerprint of the normaliser the load leaves differs from the stored one (a
  template learned, forgotten or declared, ``[routes] rules`` changed, the normalisation
  itself changed; unknown for a lake written before it kept one), the stored rows are
  re-routed as ``route_learning.reroute`` does (``stage_reroute``): ``values.sql`` over the
  lake's Parquet (four columns, read by DuckDB on the driver) gives the distinct raw values,
  each is routed once in Python, and the day partitions holding a row that moves are read
  whole into a scratch database, updated by ``apply.sql`` and written to the staging folder;
- ``stage`` writes route_templates and route_state when they changed, for the caller to swap
  in whole with the load's day partitions (``lake.swap_days``).

A load under unchanged settings that teaches nothing new changes no template, no state and no
route: a file ingested again changes no file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from parallax.connectors.routes import RouteNormalizer
from parallax.lake import ROUTE_STATE, TABLES, day_folder, write_table

__all__ = ["ROUTED", "LakeRoutes", "lake_state", "stage_reroute", "stored_pairs",
           "stored_pairs_local", "teaching_pairs"]

# The tables whose route the normalisation derives, and the raw column it derives it from:
# what models/routes/values.sql reads and apply.sql writes.
ROUTED: Mapping[str, str] = {"spans": "http_route", "page_views": "url",
                             "feedback": "page_url", "events": "url"}
_PAIRS = ("raw", "concrete", "spans", "first_seen", "last_seen")  # teach_load.sql's columns


def teaching_pairs(spark: Any, spans: Any, load_id: str) -> pa.Table:
    """What the load's spans (a Spark DataFrame of canonical spans, every one of load
    ``load_id``) may teach: ``teach_load.sql`` on Spark, collected."""
    from parallax.db import read_sql
    from parallax.portable import query_to_spark

    view = f"_parallax_new_spans_{load_id.replace('-', '_')}"
    sql = query_to_spark(read_sql("models", "routes/teach_load.sql"), {"load_id": load_id},
                         tables={"spans": view})
    spans.createOrReplaceTempView(view)
    try:
        return spark.sql(sql).select(*_PAIRS).toArrow()
    finally:
        spark.catalog.dropTempView(view)


def stored_pairs(spark: Any, lake: Path) -> pa.Table:
    """What every span the lake holds may teach: ``teach_all.sql`` on Spark (what
    ``route_learning.prepare`` runs when learning is turned back on), collected."""
    from parallax.db import read_sql
    from parallax.portable import query_to_spark

    view = "_parallax_lake_spans"
    sql = query_to_spark(read_sql("models", "routes/teach_all.sql"), {},
                         tables={"spans": view})
    spark.read.parquet(str(lake / "spans")).drop("day").createOrReplaceTempView(view)
    try:
        return spark.sql(sql).select(*_PAIRS).toArrow()
    finally:
        spark.catalog.dropTempView(view)


def stored_pairs_local(lake: Path) -> pa.Table:
    """``stored_pairs`` without Spark: ``teach_all.sql`` by DuckDB on this machine, over the
    lake's span files (for ``ingest feedback --to-parquet``, which runs no Spark)."""
    from parallax.connectors.route_learning import run_routes_sql

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        files = [str(p) for p in sorted((lake / "spans").rglob("*.parquet"))]
        con.read_parquet(files, hive_partitioning=False, union_by_name=True) \
            .create_view("spans")
        run_routes_sql(con, "teach_all.sql")
        return con.sql(f"SELECT {', '.join(_PAIRS)} FROM _route_seen").to_arrow_table()
    finally:
        con.close()


def lake_state(lake: Path) -> dict[str, tuple[str, Any]]:
    """The lake's route_state: name -> (value, updated_at); empty for a lake written before
    it kept one."""
    folder = lake / ROUTE_STATE
    if not folder.is_dir():
        return {}
    table = ds.dataset(folder, format="parquet").to_table()
    return {n: (v, u) for n, v, u in zip(table.column("name").to_pylist(),
                                         table.column("value").to_pylist(),
                                         table.column("updated_at").to_pylist(), strict=True)}


class LakeRoutes:
    """The lake's route templates and state brought in line with the settings before a lake
    ingest maps anything, as ``route_learning.prepare`` brings a database, then what the load
    teaches folded in, as ``after_load`` folds it: the one route path of the three
    ``--to-parquet`` ingests.

    ``con`` is a scratch database with the canonical schema (the feedback ingest's own, where
    its local ingest runs); its ``route_templates`` is seeded with the lake's. A lake written
    before it kept a ``route_state`` has no learn flag and no fingerprint: the flag is taken
    as the settings' (its learned templates are kept, or forgotten when learning is off), the
    fingerprint as unknown, so the stored routes are checked (``stage_reroute`` writes a day
    only when one of its rows moves) and the state recorded."""

    def __init__(self, con: duckdb.DuckDBPyConnection, lake: Path,
                 settings: RouteNormalizer) -> None:
        self.con, self.lake, self.settings = con, lake, settings
        rows = ds.dataset(lake / "route_templates", format="parquet").to_table()
        con.register("_lake_rows", rows)
        try:
            con.execute("INSERT INTO route_templates BY NAME SELECT * FROM _lake_rows")
            con.execute("CREATE TEMP TABLE lake_templates AS SELECT * FROM _lake_rows")
        finally:
            con.unregister("_lake_rows")
        self.stored = lake_state(lake)
        self.norm = settings

    @property
    def learning(self) -> str:
        return "true" if self.settings.learn else "false"

    def prepare(self, teach_all: Callable[[], pa.Table]) -> RouteNormalizer:
        """route_learning.prepare on the scratch templates: the declared ones synced; the
        learn flag changed: the learned ones forgotten, and relearned from every stored span
        when learning is turned on (``teach_all``: ``stored_pairs`` or ``stored_pairs_local``,
        called only then). The normaliser to map the files with."""
        from parallax.connectors.route_learning import run_routes_sql

        run_routes_sql(self.con, "declare.sql", {"templates": list(self.settings.declared)})
        was = self.stored.get("learn", (None, None))[0]
        turned = was is not None and was != self.learning
        if turned or not self.settings.learn:
            self.con.execute("DELETE FROM route_templates WHERE source = 'learned'")
        if turned and self.settings.learn:
            self.learn(teach_all())
        return self._current()

    def learn(self, pairs: pa.Table | None) -> RouteNormalizer:
        """Fold teaching pairs (``teaching_pairs``' columns; None: nothing to teach) into the
        templates as local ingest does; the normaliser with what they leave learned."""
        from parallax.connectors.route_learning import learn_seen

        if self.settings.learn and pairs is not None and pairs.num_rows:
            self.con.register("_pairs", pairs)
            try:
                self.con.execute("CREATE TEMP TABLE _route_seen AS SELECT * FROM _pairs")
            finally:
                self.con.unregister("_pairs")
            learn_seen(self.con, self.settings)
        return self._current()

    def _current(self) -> RouteNormalizer:
        from parallax.connectors.route_learning import stored_templates

        self.norm = self.settings.with_learned(stored_templates(self.con))
        return self.norm

    @property
    def learned(self) -> list[str]:
        from parallax.connectors.route_learning import stored_templates

        return stored_templates(self.con)

    def hand_over(self) -> None:
        """Record in the scratch database's route_state what local ingest's ``prepare`` must
        find there to do the rest itself, for a load run by local ingest (feedback): the
        learn flag of the settings (the templates are in line with them already) and the
        fingerprint the lake's rows were routed with (none when unknown), so that it
        re-routes the rows it holds when, and only when, the lake's are stale."""
        self.con.execute(f"DELETE FROM {ROUTE_STATE}")
        rows = [["learn", self.learning]]
        if (stored := self.stored.get("fingerprint")) is not None:
            rows.append(["fingerprint", stored[0]])
        self.con.executemany(f"INSERT INTO {ROUTE_STATE} VALUES (?, ?, now())", rows)

    @property
    def stale(self) -> bool:
        """The stored routes were computed under another fingerprint (or an unknown one):
        ``stage_reroute`` them with ``norm``, as ``route_learning.reroute`` does."""
        return self.stored.get("fingerprint", (None, None))[0] != self.norm.fingerprint()

    def stage(self, target: Path) -> list[str]:
        """Write under ``target`` route_templates and route_state if they differ from the
        lake's (as ``export --parquet`` writes them); the tables written, for ``swap_days``
        to replace whole."""
        con = self.con
        [(changed,)] = con.execute(
            "SELECT count(*) > 0 FROM ((FROM route_templates EXCEPT ALL FROM lake_templates) "
            "UNION ALL (FROM lake_templates EXCEPT ALL FROM route_templates))").fetchall()
        whole = []
        if changed:
            write_table(con, "route_templates", None, target / "route_templates")
            whole.append("route_templates")
        state = {"learn": self.learning, "fingerprint": self.norm.fingerprint()}
        if any(self.stored.get(n, (None, None))[0] != v for n, v in state.items()):
            # a value kept keeps its time, as route_learning's _state leaves it
            con.execute(f"DELETE FROM {ROUTE_STATE}")
            con.executemany(f"INSERT INTO {ROUTE_STATE} VALUES (?, ?, coalesce(?, now()))",
                            [[n, v, self.stored[n][1] if self.stored.get(n, (None,))[0] == v
                              else None] for n, v in state.items()])
            write_table(con, ROUTE_STATE, None, target / ROUTE_STATE)
            whole.append(ROUTE_STATE)
        return whole


def reroute_frame(spark: Any, rows: Any, norm: RouteNormalizer, column: str) -> Any:
    """``rows`` (a Spark DataFrame of a routed table) with the route of each value of its raw
    ``column`` as ``norm`` gives it (as ``apply.sql`` sets it; a row without one keeps its
    route): the distinct values routed once, on the driver."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    raws = [r for (r,) in rows.select(column).where(F.col(column).isNotNull())
            .distinct().collect()]
    routes = spark.createDataFrame([(r, norm(r)) for r in raws], T.StructType([
        T.StructField(column, T.StringType()), T.StructField("_route", T.StringType())]))
    names = rows.columns
    return (rows.join(F.broadcast(routes), column, "left")
            .withColumn("route", F.when(F.col(column).isNotNull(), F.col("_route"))
                        .otherwise(F.col("route")))
            .select(*names))


def stage_reroute(lake: Path, norm: RouteNormalizer, target: Path,
                  scratch: Path | None = None,
                  tables: Sequence[str] = tuple(ROUTED)) -> dict[str, list]:
    """Write under ``target/<table>/day=…`` each day partition of the lake's routed
    ``tables`` that holds a row ``norm`` routes differently from how it is stored (the whole
    day, every row routed as ``route_learning.reroute`` would leave it); the days written,
    per table.
    The days are read into a DuckDB database at ``scratch`` (None: in memory), which spills
    what does not fit in memory to disk: a day of spans can be larger than the driver's
    memory."""
    from parallax.connectors.arrays import strings  # pa.table of lists imports pandas
    from parallax.connectors.route_learning import run_routes_sql
    from parallax.db import read_sql

    if scratch is not None:
        scratch.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(scratch) if scratch is not None else ":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        files = {t: sorted((lake / t).rglob("*.parquet")) for t in ROUTED}
        for table in ROUTED:  # every row, its day from the folder name
            dated = [str(p) for p in files[table] if p.parent.name.startswith("day=")]
            if dated:
                con.read_parquet(dated, hive_partitioning=True, union_by_name=True) \
                    .create_view(table)
            else:  # an empty table: the export's one file of its columns
                con.read_parquet(str(files[table][0])).limit(0) \
                    .create_view(f"_{table}_cols")
                con.execute(f"CREATE VIEW {table} AS SELECT *, NULL::DATE AS day "
                            f"FROM _{table}_cols")
        changes: dict[tuple[str, str], str | None] = {}
        for tbl, raw, route in con.execute(read_sql("models", "routes/values.sql")).fetchall():
            new = norm(raw) if tbl in tables else route
            if new != route:
                changes[(tbl, raw)] = new
        if not changes:
            return {}
        con.register("_route_frame", pa.table({
            "tbl": strings([k[0] for k in changes]), "raw": strings([k[1] for k in changes]),
            "route": strings(list(changes.values()))}))
        con.execute("CREATE TEMP TABLE _route_map AS SELECT * FROM _route_frame")
        con.unregister("_route_frame")
        days: dict[str, list[date | None]] = {}
        for table, raw in ROUTED.items():
            found = con.execute(
                f"SELECT DISTINCT t.day FROM {table} AS t JOIN _route_map AS m "  # noqa: S608
                f"ON m.tbl = '{table}' AND t.{raw} = m.raw "
                "WHERE t.route IS DISTINCT FROM m.route").fetchall()
            days[table] = sorted((d for (d,) in found), key=lambda d: (d is None, d))
        # The days' rows whole, as tables of the names apply.sql updates (table and column
        # names come from ROUTED, never from input).
        for table in ROUTED:
            con.execute(f"DROP VIEW {table}")
            folders = {day_folder(d) for d in days[table]}
            chosen = [str(p) for p in files[table] if p.parent.name in folders]
            rel = con.read_parquet(chosen or [str(files[table][0])], hive_partitioning=False,
                                   union_by_name=True)
            rel = rel if chosen else rel.limit(0)
            rel.create_view(f"_{table}_rows")
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _{table}_rows")
        run_routes_sql(con, "apply.sql")
        for table in ROUTED:
            if days[table]:
                column = TABLES[table]
                assert column is not None  # the routed tables are partitioned by day
                write_table(con, table, column, target / table)
        return {t: d for t, d in days.items() if d}
    finally:
        con.close()
