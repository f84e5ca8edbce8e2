"""Route learning in ``ingest traces --to-parquet``: on a shop of the world family whose slug
routes only learned templates name (``/c/{slug}``, ``/journal/{post}``), the lake after the
trace file is what local ingest and ``export --parquet`` give: the same route templates, the
same routes in spans, and page views, events and feedback loaded before the traces re-routed
as local ingest re-routes them. Learning off forgets and re-routes as local ingest does; on
again, it relearns from the lake's spans on Spark; a rule added before a GA4 load re-routes
the stored rows as local ingest does."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from parallax.config import Config, RouteRule
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.lake import export_parquet
from parallax.options import ingest_options
from tests.worlds import forget_spans, ingest_world

from .test_lake_ingest import _context

# the raw column each routed table derives its route from, and the row's key
_ROUTED = {"spans": ("http_route", "trace_id, span_id, kind"), "page_views": ("url", "event_key"),
           "events": ("url", "event_key"), "feedback": ("page_url", "source, feedback_id")}


# The lake keeps route_state, as a database does: a change of [routes] settings between two
# lake loads brings its templates and stored routes in line as local ingest's prepare() does.
_RULES = Config(route_rules=(RouteRule(match="^/c/", route="/category/{slug}"),))


@dataclass(frozen=True)
class RoutedLake:
    files: Path  # the world's files
    db: Path  # local ingest of every file (its key is the lake's too)
    reference: Path  # that database exported
    before: Path  # the database without its spans and what they taught, exported
    lake: Path  # a copy of ``before`` with the trace file added by --to-parquet
    load: object  # that load (parallax.lake_ingest.LakeLoad)
    trace: Path


@pytest.fixture(scope="module")
def routed(spark, tmp_path_factory) -> RoutedLake:
    from parallax.demo import build_world
    from parallax.demo.family import draw_spec
    from parallax.lake_ingest import to_parquet

    root = tmp_path_factory.mktemp("routed-lake")
    files = build_world(root / "files", seed=13, sessions=150, spec=draw_spec(13))
    db = root / "local.duckdb"
    con = connect(db)
    try:
        opts = ingest_world(con, files, db)
        export_parquet(con, root / "reference")
    finally:
        con.close()
    # The same database as if the traces had never come: page views, events and feedback
    # routed without the templates the spans taught (prepare re-routes them).
    shutil.copy(db, root / "before.duckdb")
    con = connect(root / "before.duckdb")
    try:
        forget_spans(con, opts.route)
        export_parquet(con, root / "before")
    finally:
        con.close()
    shutil.copytree(root / "before", root / "lake")
    trace, = files.traces
    load = to_parquet(spark, [trace], root / "lake", _context(db, trace))
    return RoutedLake(root / "files", db, root / "reference", root / "before", root / "lake",
                      load, trace)


def _read(lake: Path, table: str, columns: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(f"SELECT {columns} FROM read_parquet(?, hive_partitioning = true, "
                       f"union_by_name = true) ORDER BY ALL",
                       [str(lake / table / "**" / "*.parquet")]).fetchall()


def _routes(lake: Path, table: str) -> list[tuple]:
    raw, key = _ROUTED[table]
    return _read(lake, table, f"{key}, {raw}, route, day")


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _local_after(routed: RoutedLake, tmp_path: Path, loads: list[tuple[str, Path, Config]]
                 ) -> Path:
    """Local ingest's answer: the routed lake's database given ``loads`` (kind, file,
    settings) in turn, then exported."""
    db = tmp_path / "local-after.duckdb"
    shutil.copy(routed.db, db)
    con = connect(db)
    try:
        for kind, file, cfg in loads:
            ingest_files(con, kind, [file], ingest_options(cfg, routed.db))
        export_parquet(con, tmp_path / "local-after")
    finally:
        con.close()
    return tmp_path / "local-after"


def _assert_as_local(lake: Path, local: Path) -> None:
    columns = "template, source, spans, written, example, first_seen, last_seen"
    assert _read(lake, "route_templates", columns) == _read(local, "route_templates", columns)
    assert _read(lake, "route_state", "name, value") == _read(local, "route_state",
                                                              "name, value")
    for table in _ROUTED:
        assert _routes(lake, table) == _routes(local, table), table
    assert _read(lake, "web_vitals", "*") == _read(local, "web_vitals", "*")


def test_the_world_needs_learned_templates(routed):
    """Otherwise the parity below proves nothing: the file teaches templates, and without
    them the stored rows and the spans land on other routes."""
    from parallax.connectors.routes import RouteNormalizer

    learned = [t for t, source in _read(routed.reference, "route_templates", "template, source")
               if source == "learned"]
    assert "/c/{slug}" in learned
    for table in ("page_views", "events", "feedback"):
        assert _routes(routed.before, table) != _routes(routed.reference, table), table
    plain = RouteNormalizer()
    spans = _read(routed.reference, "spans", "http_route, route")
    assert any(raw is not None and plain(raw) != route for raw, route in spans)


def test_the_lake_learns_and_reroutes_as_local_ingest(routed):
    columns = "template, source, spans, written, example, first_seen, last_seen"
    assert (_read(routed.lake, "route_templates", columns)
            == _read(routed.reference, "route_templates", columns))
    for table in _ROUTED:
        assert _routes(routed.lake, table) == _routes(routed.reference, table), table
    assert _read(routed.lake, "web_vitals", "*") == _read(routed.reference, "web_vitals", "*")
    # the state the database recorded: the learn flag, the fingerprint of what it learned
    assert (_read(routed.lake, "route_state", "name, value")
            == _read(routed.reference, "route_state", "name, value"))
    assert routed.load.added == routed.load.staged > 0
    assert set(routed.load.rerouted) == {"page_views", "events", "feedback"}


def test_the_load_is_in_the_lakes_ledger_as_local_ingest_records_it(routed):
    """One row added to DIR/loads, with local ingest's file, hash, format and counts."""
    columns = "kind, file, sha256, format, status, rows_read, rows_loaded, rows_duplicate, " \
              "rows_rejected"
    added = (set(_read(routed.lake, "loads", f"load_id, {columns}"))
             - set(_read(routed.before, "loads", f"load_id, {columns}")))
    local = duckdb.connect(str(routed.db), read_only=True)
    want = local.execute(f"SELECT {columns} FROM loads WHERE kind = 'traces'").fetchall()
    assert [row[1:] for row in added] == want and want[0][5] == routed.load.staged


def test_only_the_days_with_a_moved_row_are_rewritten(routed):
    """A day partition of a re-routed table is rewritten only when a row of it moved."""
    before, after = _hashes(routed.before), _hashes(routed.lake)
    for table in ("page_views", "events", "feedback"):
        moved = {day for *_, day in set(_routes(routed.before, table))
                 - set(_routes(routed.reference, table))}
        days = {p.split("/")[1] for p in before if p.startswith(f"{table}/day=")}
        kept = {d for d in days if d.removeprefix("day=") not in {str(m) for m in moved}}
        assert moved and len(moved) == routed.load.rerouted[table]
        for path, digest in before.items():
            if path.startswith(table) and path.split("/")[1] in kept:
                assert after.get(path) == digest, path


def test_ingesting_the_file_again_changes_no_file(routed, spark):
    from parallax.lake_ingest import to_parquet

    before = _hashes(routed.lake)
    again = to_parquet(spark, [routed.trace], routed.lake, _context(routed.db, routed.trace))
    assert again.staged > 0 and again.added == 0 and again.rerouted == {}
    assert _hashes(routed.lake) == before


def test_learning_off_forgets_and_on_relearns_as_local_ingest(routed, spark, tmp_path):
    """[routes] learn = false: local ingest of every file gives no learned template and the
    routes of the settings alone; the lake that had learned them, given the file again, ends
    the same (the learned rows forgotten, the stored rows re-routed back). Learning on again
    (and a rule added), the file once more: the lake relearns from the spans it holds."""
    from parallax.lake_ingest import to_parquet

    off = Config(route_learn=False)
    con = connect(tmp_path / "off.duckdb")
    try:
        opts = ingest_options(off, routed.db)  # the lake's key
        for kind in ("traces", "feedback", "analytics"):
            ingest_files(con, kind, sorted((routed.files / kind).iterdir()), opts)
        export_parquet(con, tmp_path / "local-off")
    finally:
        con.close()
    shutil.copytree(routed.lake, tmp_path / "lake")
    load = to_parquet(spark, [routed.trace], tmp_path / "lake",
                      _context(routed.db, routed.trace, off))
    assert load.added == 0 and load.templates == 0 and load.rerouted
    local = _read(tmp_path / "local-off", "route_templates", "template, source, spans")
    assert not [r for r in local if r[1] == "learned"]
    assert _read(tmp_path / "lake", "route_templates", "template, source, spans") == local
    for table in _ROUTED:
        assert _routes(tmp_path / "lake", table) == _routes(tmp_path / "local-off", table), table

    # On again, with a rule added: the lake relearns from every span it holds (teach_all.sql
    # on Spark), as local ingest relearns from its database's, and re-routes by the rule.
    con = connect(tmp_path / "off.duckdb")
    try:
        ingest_files(con, "traces", [routed.trace], ingest_options(_RULES, routed.db))
        export_parquet(con, tmp_path / "local-on")
    finally:
        con.close()
    load = to_parquet(spark, [routed.trace], tmp_path / "lake",
                      _context(routed.db, routed.trace, _RULES))
    assert load.added == 0 and load.templates > 0 and load.rerouted
    _assert_as_local(tmp_path / "lake", tmp_path / "local-on")


def test_changed_rules_reroute_the_stored_rows_in_a_ga4_load(routed, spark, tmp_path):
    """The GA4 file again under a new rule, into the lake the trace load left: the days the
    merge reads and every other stored day whose rows the rule moves are re-routed."""
    from parallax.lake_analytics import to_parquet

    ga4 = next((routed.files / "analytics").iterdir())
    shutil.copytree(routed.lake, tmp_path / "lake")
    load = to_parquet(spark, [ga4], tmp_path / "lake", _context(routed.db, ga4, _RULES))
    assert load.added["events"] == 0
    assert {"spans", "feedback"} <= set(load.days) and load.days["page_views"] > 0
    local = _local_after(routed, tmp_path, [("analytics", ga4, _RULES)])
    assert any(r[-2] == "/category/{slug}" for r in _routes(local, "page_views"))
    _assert_as_local(tmp_path / "lake", local)
