"""Route learning for ``ingest traces --to-parquet``: the lake learns templates from the new
spans as local ingest learns them, and keeps its stored routes in line with them.

Local ingest (``connectors/route_learning.py``) teaches templates from each load's spans that
carry both ``http.route`` and a concrete path (``models/routes/teach_load.sql``), folds them
into ``route_templates`` (``seen_paths.sql``, the Python match, ``learn.sql``) and re-routes
every stored row the new templates move. In the lake the same files run where the data is:

- the teaching query (``teach_load.sql``) is transpiled to Spark (``portable.query_to_spark``)
  and run over the load's new spans: it groups them into the distinct (http.route, concrete
  path) pairs, which are few (one per route and distinct path), and only those reach the
  driver;
- the pairs are folded into the lake's ``route_templates`` in a scratch DuckDB database with
  the canonical schema, by ``route_learning.learn_seen`` (``seen_paths.sql``, ``learn.sql``):
  the same counts, first and last seen, written form and example; ``declare.sql`` syncs the
  ``[routes] templates`` rows, and with ``[routes] learn = false`` the learned rows are
  forgotten, as local ingest's ``prepare`` does;
- when the templates changed, the lake's stored rows are re-routed as ``reroute`` does:
  ``values.sql`` over the lake's Parquet (four columns, read by DuckDB on the driver) gives the
  distinct raw values, each is routed once in Python, and the day partitions holding a row
  that moves are read whole into the scratch database, updated by ``apply.sql`` and written
  to the staging folder, for the caller to swap in with the load (``lake.swap_days``).

A load that teaches nothing new changes no template and re-routes nothing: a file ingested
again changes no file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from parallax.connectors.routes import RouteNormalizer
from parallax.lake import TABLES, day_folder, write_table

__all__ = ["ROUTED", "Templates", "learn_templates", "stage_reroute", "teaching_pairs"]

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


@dataclass(frozen=True)
class Templates:
    learned: list[str]  # the learned templates the lake holds after the load
    changed: bool  # route_templates differs from the lake's (rows or counts)
    moved: bool  # its set of templates differs: stored routes may move


def learn_templates(lake: Path, pairs: pa.Table | None, norm: RouteNormalizer,
                    scratch: Path, target: Path) -> Templates:
    """Fold ``pairs`` (``teaching_pairs``; None: nothing to teach) into the lake's
    route_templates as local ingest does, in a scratch database at ``scratch``; when the table
    changes, write it under ``target/route_templates`` (as ``export --parquet`` writes it)."""
    from parallax.connectors.route_learning import learn_seen, run_routes_sql, stored_templates
    from parallax.db import connect

    con = connect(scratch)
    try:
        rows = ds.dataset(lake / "route_templates", format="parquet").to_table()
        con.register("_lake_rows", rows)
        try:
            con.execute("INSERT INTO route_templates BY NAME SELECT * FROM _lake_rows")
            con.execute("CREATE TEMP TABLE lake_templates AS SELECT * FROM _lake_rows")
        finally:
            con.unregister("_lake_rows")
        # route_learning.prepare: the declared templates synced, learning off forgets
        run_routes_sql(con, "declare.sql", {"templates": list(norm.declared)})
        if not norm.learn:
            con.execute("DELETE FROM route_templates WHERE source = 'learned'")
        elif pairs is not None and pairs.num_rows:
            con.register("_pairs", pairs)
            try:
                con.execute("CREATE TEMP TABLE _route_seen AS SELECT * FROM _pairs")
            finally:
                con.unregister("_pairs")
            learn_seen(con, norm)
        [(changed,)] = con.execute(
            "SELECT count(*) > 0 FROM ((FROM route_templates EXCEPT ALL FROM lake_templates) "
            "UNION ALL (FROM lake_templates EXCEPT ALL FROM route_templates))").fetchall()
        [(moved,)] = con.execute(
            "SELECT count(*) > 0 FROM ((SELECT template, source FROM route_templates EXCEPT "
            "SELECT template, source FROM lake_templates) UNION ALL (SELECT template, source "
            "FROM lake_templates EXCEPT SELECT template, source FROM route_templates))"
        ).fetchall()
        if changed:
            write_table(con, "route_templates", None, target / "route_templates")
        return Templates(stored_templates(con), bool(changed), bool(moved))
    finally:
        con.close()


def stage_reroute(lake: Path, norm: RouteNormalizer, target: Path,
                  scratch: Path | None = None) -> dict[str, list]:
    """Write under ``target/<table>/day=…`` each day partition of the lake's routed tables
    that holds a row ``norm`` routes differently from how it is stored (the whole day, every
    row routed as ``route_learning.reroute`` would leave it); the days written, per table.
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
            new = norm(raw)
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
