"""``ingest feedback … --to-parquet DIR``: survey answers of every format local ingest reads,
merged into the Parquet lake's ``feedback`` by local ingest itself, without Spark.

Survey answers are small (tens of thousands of rows for a shop of a million sessions a day),
so they are mapped where they are read: a scratch DuckDB database with the canonical schema is
seeded with the lake's feedback (all of it: the merge looks a response's key up whatever its
day) and route templates, and the very ``ingest_files`` of ``ingest feedback --db`` loads the
files into it: one mapping, one merge (``models/load/feedback.sql``: the first copy of a
``(source, feedback_id)`` wins, a key already stored is skipped), the same pseudonyms with the
key ``--db`` would use. Only the day partitions whose rows changed are written, each whole, to
a staging folder and swapped in by renames (``lake.swap_days``); a failure puts the lake back.

Routes as the Spark ingests keep them (``lake_routes.LakeRoutes``): before the load the lake's
templates are brought in line with the settings (learning turned back on relearns from the
lake's spans, by DuckDB over their files); when the lake's routes were computed under another
fingerprint, local ingest's own ``prepare`` re-routes the feedback in the scratch database, and
the stored days of spans, page views and events whose rows move are rewritten, with the web
vitals they change, and swapped in with the rest (``route_templates`` and ``route_state``
replaced whole).

Rejected rows are kept with their reason, as local ingest keeps them: in ``DIR/rejects/``
(the columns of the database's ``rejects`` table, one file per command that rejected
something). A reject the lake already holds (same location, reason and raw record: what the
same file sent again rejects) is not added twice, so loading a file again changes no file.
A file local ingest refuses (unreadable, too many rejects) is refused in one line, and nothing
of any of the files is written.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from parallax.connectors.base import FileFormat
from parallax.connectors.load import FileSummary, IngestOptions, Progress, ingest_files
from parallax.errors import ConfigError
from parallax.lake import LEDGER, add_to_ledger, lake_load, swap_days, write_table
from parallax.lake_routes import LakeRoutes, stage_reroute, stored_pairs_local
from parallax.lake_vitals import INPUTS, stage_vitals

__all__ = ["FeedbackLoad", "to_parquet"]

_DAY = "CAST(timezone('UTC', submitted_at) AS DATE)"  # lake.TABLES: feedback by submitted_at


@dataclass(frozen=True)
class FeedbackLoad:
    folder: Path
    summaries: list[FileSummary]  # per file, as local ingest reports them
    added: int  # responses new to the lake
    days: int  # day partitions rewritten
    rejected: int  # rejected rows added to DIR/rejects
    created: bool
    rerouted: dict[str, int] = field(default_factory=dict)  # table -> day partitions re-routed


def to_parquet(paths: Sequence[Path], folder: Path, opts: IngestOptions, *,
               format: str | FileFormat | None = None,
               progress: Progress | None = None) -> FeedbackLoad:
    """Load feedback files (any format ``ingest feedback`` reads) into the lake at ``folder``
    (created, with every canonical table, if missing)."""
    folder = Path(folder)
    if not paths:
        raise ConfigError("no files to ingest")
    with lake_load(folder, ["feedback"]) as target:
        lake, staging = target.lake, target.staging
        new = staging / "new"
        with tempfile.TemporaryDirectory(prefix="parallax-feedback-") as tmp:
            con = _scratch(Path(tmp), lake)
            try:
                # the lake's templates in line with the settings, as prepare() brings a
                # database (learning turned back on relearns from the lake's spans, here);
                # local ingest's own prepare then re-routes the feedback held in the scratch
                # database if the lake's routes are stale
                routes = LakeRoutes(con, lake, opts.route)
                norm = routes.prepare(lambda: stored_pairs_local(lake))
                routes.hand_over()
                stale = routes.stale and not target.created
                summaries = ingest_files(con, "feedback", paths, opts, format=format,
                                         progress=progress)
                whole = routes.stage(new)
                changed, added = _changed_days(con)
                if changed:
                    con.execute(f"CREATE TEMP TABLE changed_feedback AS SELECT * FROM feedback "
                                f"WHERE {_DAY} IN (SELECT unnest(CAST($days AS DATE[]))) "
                                f"OR ($none AND submitted_at IS NULL)",
                                {"days": [d for d in changed if d is not None],
                                 "none": None in changed})
                    write_table(con, "changed_feedback", "submitted_at", new / "feedback")
                rejects = _new_rejects(con, lake, new / "rejects.parquet")
                # the other routed tables' days whose rows move (feedback's moved above),
                # and the vitals those change
                rerouted = (stage_reroute(lake, norm, new, Path(tmp) / "reroute.duckdb",
                                          tables=("spans", "page_views", "events"))
                            if stale else {})
                vitals = (stage_vitals(lake, {d for t in INPUTS for d in rerouted.get(t, [])},
                                       new, new=new, swapped=rerouted) if rerouted else [])
                # local ingest's own ledger rows (one a file), for a load that changes the lake
                ledger = None
                if changed or rejects or whole or rerouted or vitals:
                    ledger = new / "loads.parquet"
                    pq.write_table(con.sql(f"FROM {LEDGER} ORDER BY started_at, load_id")
                                   .to_arrow_table(), ledger)
            finally:
                con.close()
        moved_in = []
        try:
            if rejects:
                (lake / "rejects").mkdir(exist_ok=True)
                moved_in.append(lake / "rejects" / f"part-{uuid.uuid4().hex}.parquet")
                (new / "rejects.parquet").rename(moved_in[-1])
            if ledger is not None:
                moved_in.append(add_to_ledger(ledger, lake, summaries[0].load_id))
            swap_days(new, lake, {"feedback": changed, **rerouted, "web_vitals": vitals},
                      staging / "old", whole)
        except BaseException:
            for path in moved_in:
                path.unlink(missing_ok=True)
            raise
    return FeedbackLoad(folder, summaries, added, len(changed), rejects, target.created,
                        {t: len(d) for t, d in rerouted.items()})


def _scratch(tmp: Path, lake: Path) -> duckdb.DuckDBPyConnection:
    """A database with the canonical schema holding the lake's feedback (``LakeRoutes``
    adds its route templates and state)."""
    from parallax.db import connect

    con = connect(tmp / "feedback.duckdb")
    try:
        rows = ds.dataset(lake / "feedback", format="parquet", partitioning="hive").to_table()
        if "day" in rows.column_names:
            rows = rows.drop_columns(["day"])
        con.register("_lake_rows", rows)
        try:
            con.execute("INSERT INTO feedback BY NAME SELECT * FROM _lake_rows")
        finally:
            con.unregister("_lake_rows")
        # what the lake held, to find the days the load changed
        con.execute("CREATE TEMP TABLE lake_feedback AS SELECT * FROM feedback")
    except BaseException:
        con.close()
        raise
    return con


def _changed_days(con: duckdb.DuckDBPyConnection) -> tuple[list[date | None], int]:
    """The days whose rows differ from what the lake held (a row added, removed or changed
    counts for its day), and the responses added."""
    days = [d for (d,) in con.execute(
        f"SELECT DISTINCT {_DAY} FROM ((FROM feedback EXCEPT ALL FROM lake_feedback) "
        "UNION ALL (FROM lake_feedback EXCEPT ALL FROM feedback)) ORDER BY 1").fetchall()]
    [(added,)] = con.execute(
        "SELECT count(*) FROM feedback AS f WHERE NOT EXISTS (SELECT 1 FROM lake_feedback AS "
        "l WHERE l.source = f.source AND l.feedback_id = f.feedback_id)").fetchall()
    return days, added


def _new_rejects(con: duckdb.DuckDBPyConnection, lake: Path, target: Path) -> int:
    """Write the load's rejects the lake does not hold yet to ``target``; how many. Local
    ingest skips a reject its database recorded from a load of the same file content; the lake
    keeps no ledger of loads, so a reject it holds with the same location, reason and raw
    record (what the same content rejects again) is skipped instead."""
    held = lake / "rejects"
    if held.is_dir():
        con.register("_lake_rejects", ds.dataset(held, format="parquet").to_table())
    else:
        con.execute("CREATE TEMP VIEW _lake_rejects AS SELECT * FROM rejects LIMIT 0")
    rows = con.sql(
        "SELECT * FROM rejects AS r WHERE NOT EXISTS (SELECT 1 FROM _lake_rejects AS h "
        "WHERE h.location IS NOT DISTINCT FROM r.location AND h.reason = r.reason "
        "AND h.raw IS NOT DISTINCT FROM r.raw) ORDER BY load_id, file, location").to_arrow_table()
    if rows.num_rows:
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, target)
    return rows.num_rows
