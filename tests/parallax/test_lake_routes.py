"""The lake's route learning without a JVM (parallax.lake_routes): teaching pairs folded into
the lake's route_templates as local ingest folds them, stored days re-routed as local ingest
re-routes them, route_templates swapped whole, and the teaching query transpiled for Spark.
Spark's own run of it is tests/correlate/test_lake_routes.py."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from parallax.config import Config, RouteRule
from parallax.connectors.load import ingest_files
from parallax.connectors.route_learning import run_routes_sql
from parallax.db import connect
from parallax.lake import export_parquet, swap_days
from parallax.options import ingest_options
from tests.worlds import forget_spans, ingest_world

_ROUTED = {"spans": ("http_route", "trace_id, span_id, kind"), "page_views": ("url", "event_key"),
           "events": ("url", "event_key"), "feedback": ("page_url", "source, feedback_id")}


@dataclass(frozen=True)
class World:
    reference: Path  # local ingest of every file, exported
    before: Path  # the same without spans and learned templates (the rest re-routed), exported
    pairs: pa.Table  # what the trace file teaches (teach_load.sql on the local database)
    learned: list[str]
    db: Path  # the database of local ingest (its key is every load's)
    local: Path  # a copy of it as the reference was exported from it
    feedback: Path  # the world's survey export


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    """A shop of the world family whose slug routes only learned templates name."""
    from parallax.connectors.route_learning import stored_templates
    from parallax.demo import build_world
    from parallax.demo.family import draw_spec

    root = tmp_path_factory.mktemp("lake-routes")
    files = build_world(root / "files", seed=13, sessions=150, spec=draw_spec(13))
    db = root / "local.duckdb"
    con = connect(db)
    try:
        opts = ingest_world(con, files, db)
        export_parquet(con, root / "reference")
        con.close()
        shutil.copy(db, root / "reference.duckdb")
        con = connect(db)
        learned = stored_templates(con)
        [(load_id,)] = con.execute("SELECT DISTINCT load_id FROM spans").fetchall()
        run_routes_sql(con, "teach_load.sql", {"load_id": load_id})
        pairs = con.sql("SELECT * FROM _route_seen").to_arrow_table()
        forget_spans(con, opts.route)
        export_parquet(con, root / "before")
    finally:
        con.close()
    feedback, = files.feedback
    return World(root / "reference", root / "before", pairs, learned, db,
                 root / "reference.duckdb", feedback)


def _read(lake: Path, table: str, columns: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(f"SELECT {columns} FROM read_parquet(?, hive_partitioning = true, "
                       "union_by_name = true) ORDER BY ALL",
                       [str(lake / table / "**" / "*.parquet")]).fetchall()


def _routes(lake: Path, table: str) -> list[tuple]:
    raw, key = _ROUTED[table]
    return _read(lake, table, f"{key}, {raw}, route")


_TEMPLATES = "template, source, spans, written, example, first_seen, last_seen"


def _fold(lake: Path, pairs: pa.Table | None, settings, tmp_path: Path, name: str):
    """LakeRoutes over ``lake``: prepared (relearning would fail the test), ``pairs`` folded
    in, the changed tables staged under ``tmp_path/name``; (tables staged, normaliser, stale)."""
    from parallax.lake_routes import LakeRoutes

    con = connect(tmp_path / f"{name}.duckdb")
    try:
        routes = LakeRoutes(con, lake, settings)
        routes.prepare(lambda: pytest.fail("relearned from the stored spans"))
        norm = routes.learn(pairs)
        return routes.stage(tmp_path / name), norm, routes.stale
    finally:
        con.close()


def test_pairs_fold_into_the_templates_local_ingest_learned(world, tmp_path):
    from parallax.connectors.routes import RouteNormalizer

    assert "/c/{slug}" in world.learned
    whole, norm, stale = _fold(world.before, world.pairs, RouteNormalizer(), tmp_path, "s")
    assert whole == ["route_templates", "route_state"] and stale
    assert norm.learned == tuple(world.learned)
    assert (_read(tmp_path / "s", "route_templates", _TEMPLATES)
            == _read(world.reference, "route_templates", _TEMPLATES))
    # the state the reference's database recorded after the same load
    assert (_read(tmp_path / "s", "route_state", "name, value")
            == _read(world.reference, "route_state", "name, value"))


def test_nothing_taught_changes_nothing_and_learning_off_forgets(world, tmp_path):
    from parallax.connectors.routes import RouteNormalizer

    whole, _, stale = _fold(world.reference, None, RouteNormalizer(), tmp_path, "a")
    assert whole == [] and not stale and not (tmp_path / "a").exists()
    whole, norm, stale = _fold(world.reference, world.pairs, RouteNormalizer(learn=False),
                               tmp_path, "b")
    assert whole == ["route_templates", "route_state"] and stale and norm.learned == ()
    assert _read(tmp_path / "b", "route_templates", "source") == []  # nothing declared
    assert ("learn", "false") in _read(tmp_path / "b", "route_state", "name, value")
    whole, _, stale = _fold(world.before, None, RouteNormalizer(declared=("/c/:slug",)),
                            tmp_path, "c")
    assert stale and "route_templates" in whole
    assert _read(tmp_path / "c", "route_templates", "template, source, spans") == [
        ("/c/{slug}", "config", 0)]


def test_stored_days_are_rerouted_as_local_ingest_reroutes(world, tmp_path):
    """The page views, events and feedback of the lake without traces, re-routed with the
    learned templates, are the reference's; only the days holding a moved row are written."""
    from parallax.connectors.routes import RouteNormalizer
    from parallax.lake_routes import stage_reroute

    lake = tmp_path / "lake"
    shutil.copytree(world.before, lake)
    norm = RouteNormalizer().with_learned(world.learned)
    days = stage_reroute(lake, norm, tmp_path / "new")
    assert set(days) == {"page_views", "events", "feedback"}
    for table, changed in days.items():
        written = sorted(p.name for p in (tmp_path / "new" / table).iterdir())
        assert written == sorted(f"day={d}" for d in changed)
        held = [p for p in (lake / table).iterdir() if p.name.startswith("day=")]
        assert len(changed) <= len(held)
    swap_days(tmp_path / "new", lake, days, tmp_path / "old")
    for table in ("page_views", "events", "feedback"):
        assert _routes(lake, table) == _routes(world.reference, table), table
        assert (_read(lake, table, "* EXCLUDE (route)")
                == _read(world.before, table, "* EXCLUDE (route)")), table
    assert stage_reroute(lake, norm, tmp_path / "again") == {}  # nothing left to move


def test_a_whole_table_is_swapped_and_put_back_on_failure(tmp_path, monkeypatch):
    lake, new, old = tmp_path / "lake", tmp_path / "new", tmp_path / "old"
    for folder, text in ((lake / "route_templates", "old"), (new / "route_templates", "new"),
                         (lake / "events" / "day=2026-01-01", "a"),
                         (new / "events" / "day=2026-01-01", "b"),
                         (lake / "web_vital_thresholds", "c"),
                         (new / "web_vital_thresholds", "d")):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_text(text)
    rename = Path.rename

    def failing(self, target):
        if self == new / "web_vital_thresholds":
            raise OSError("disk full")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="disk full"):  # the last table cannot move in
        swap_days(new, lake, {"events": [date(2026, 1, 1)]}, old,
                  ["route_templates", "web_vital_thresholds"])
    for table, text in (("route_templates", "old"), ("events/day=2026-01-01", "a"),
                        ("web_vital_thresholds", "c")):
        assert (lake / table / "part-0.parquet").read_text() == text, table
    monkeypatch.setattr(Path, "rename", rename)
    swap_days(new, lake, {"events": [date(2026, 1, 1)]}, old, ["route_templates"])
    assert (lake / "route_templates" / "part-0.parquet").read_text() == "new"
    assert (lake / "events" / "day=2026-01-01" / "part-0.parquet").read_text() == "b"


def test_the_teaching_query_transpiles_for_spark():
    sqlglot = pytest.importorskip("sqlglot", reason="the spark extra (sqlglot) is not installed")
    from parallax.db import read_sql
    from parallax.portable import query_to_spark

    sql = query_to_spark(read_sql("models", "routes/teach_load.sql"), {"load_id": "L1"},
                         tables={"spans": "new_spans"})
    assert "FROM new_spans" in sql and "'L1'" in sql and "$" not in sql.replace("'$[", "")
    assert "'$[\\'http.route\\']', 'string'" in sql  # a key holding a dot: one key
    assert "CREATE" not in sql.upper()
    sqlglot.parse_one(sql, read="spark")


def _traces_load(world: World, tmp_path: Path, monkeypatch,
                 spark) -> tuple[Path, dict]:
    """``ingest traces --to-parquet`` into a copy of the lake without traces, Spark's mapping
    and teaching query stood in for: the "mapped" spans are the reference's (routed as the
    load leaves them), what they teach the pairs local ingest learned from. Everything after
    (folding, re-routing the stored days, vitals, the swap) is the ingest's own."""
    import parallax.lake_ingest as lake_ingest
    from parallax.connectors.base import ParseContext

    lake = tmp_path / "lake"
    shutil.copytree(world.before, lake)

    def write_spans(spark, paths, lake_, staging, ctx, load_id, created, learn):
        days = []
        for folder in sorted((world.reference / "spans").glob("day=*")):
            shutil.copytree(folder, staging / "spans" / folder.name)
            days.append(date.fromisoformat(folder.name.removeprefix("day=")))
        rows = len(_read(world.reference, "spans", "span_id"))
        return rows, rows, days, learn(world.pairs)

    monkeypatch.setattr(lake_ingest, "_write_spans", write_spans)
    trace = tmp_path / "spans.jsonl"
    trace.write_text("{}\n")  # read by nothing: the mapping is stood in for
    opts = ingest_options(Config(), tmp_path / "w.duckdb")
    ctx = ParseContext(file=str(trace), pseudonymize=opts.pseudonymize, route=opts.route)
    return lake, {"spark": spark, "paths": [trace], "folder": lake, "ctx": ctx}


def _hashes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_a_trace_load_reroutes_the_stored_days_and_swaps_them_in(world, tmp_path,
                                                                monkeypatch,
                                                                stand_in_spark):
    import parallax.lake_ingest as lake_ingest

    lake, call = _traces_load(world, tmp_path, monkeypatch, stand_in_spark)
    monkeypatch.setattr(lake_ingest, "check_files", lambda paths: None)
    load = lake_ingest.to_parquet(**call)
    assert load.templates == len(world.learned) and load.rerouted
    assert (_read(lake, "route_templates", _TEMPLATES)
            == _read(world.reference, "route_templates", _TEMPLATES))
    for table in _ROUTED:
        assert _routes(lake, table) == _routes(world.reference, table), table
    assert _read(lake, "web_vitals", "*") == _read(world.reference, "web_vitals", "*")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    from parallax.connectors.load import file_sha256

    ledger = sorted((lake / "loads").glob("load-*.parquet"))
    assert len(ledger) == 1
    rows = _read(lake, "loads", "* EXCLUDE (load_id, started_at, finished_at)")
    trace = call["paths"][0]
    assert ("file", "traces", str(trace), file_sha256(trace), "otlp-jsonl", "ok", None,
            load.staged, load.added, 0, 0) in rows


def test_a_failed_swap_leaves_the_lake_as_it_was(world, tmp_path, monkeypatch,
                                                 stand_in_spark):
    """The last folder cannot move in (the route templates, after the re-routed days and the
    new spans): the lake keeps every file as it was, and the staging folder goes."""
    import parallax.lake_ingest as lake_ingest

    lake, call = _traces_load(world, tmp_path, monkeypatch, stand_in_spark)
    monkeypatch.setattr(lake_ingest, "check_files", lambda paths: None)
    before = _hashes(lake)
    rename = Path.rename

    def failing(self, target):
        if self.name == "route_templates" and self.parent.name == "changed":
            raise OSError("disk full")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="disk full"):
        lake_ingest.to_parquet(**call)
    monkeypatch.setattr(Path, "rename", rename)
    assert _hashes(lake) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


# The lake keeps the state a database keeps (route_state): a change of the settings between
# two lake loads brings it in line as local ingest's prepare() brings a database. Run here
# through `ingest feedback --to-parquet` (no Spark): the route path is the one the Spark
# ingests share (lake_routes.LakeRoutes); tests/correlate/test_lake_routes.py runs theirs.

# /c/<slug> rows are in all four routed tables of this world
_RULES = Config(route_rules=(RouteRule(match="^/c/", route="/category/{slug}"),))


def _local_sequence(world: World, tmp_path: Path, *configs: Config) -> Path:
    """Local ingest's answer: the reference's database given the survey export again under
    each of ``configs`` in turn, then exported."""
    tmp_path.mkdir(exist_ok=True)
    db = tmp_path / "local-seq.duckdb"
    shutil.copy(world.local, db)
    con = connect(db)
    try:
        for cfg in configs:
            ingest_files(con, "feedback", [world.feedback], ingest_options(cfg, world.db))
        export_parquet(con, tmp_path / "local-seq")
    finally:
        con.close()
    return tmp_path / "local-seq"


def _lake_load(world: World, lake: Path, cfg: Config):
    from parallax.lake_feedback import to_parquet

    return to_parquet([world.feedback], lake, ingest_options(cfg, world.db))


def _assert_as_local(lake: Path, local: Path) -> None:
    assert _read(lake, "route_templates", _TEMPLATES) == _read(local, "route_templates",
                                                               _TEMPLATES)
    assert _read(lake, "route_state", "name, value") == _read(local, "route_state",
                                                              "name, value")
    for table in _ROUTED:
        assert _routes(lake, table) == _routes(local, table), table
    assert _read(lake, "web_vitals", "*") == _read(local, "web_vitals", "*")


def test_changed_rules_reroute_the_lakes_stored_rows_as_local_ingest(world, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(world.reference, lake)
    local = _local_sequence(world, tmp_path, _RULES)
    assert any(r[-1] == "/category/{slug}" for r in _routes(local, "page_views"))
    load = _lake_load(world, lake, _RULES)
    assert load.added == 0 and load.days > 0  # nothing new, the stored answers moved
    assert set(load.rerouted) == {"spans", "page_views", "events"}
    _assert_as_local(lake, local)
    # the same file under the same settings again: every file as it was
    before = _hashes(lake)
    again = _lake_load(world, lake, _RULES)
    assert again.days == 0 and again.rerouted == {} and _hashes(lake) == before


def test_learning_off_forgets_and_on_relearns_from_the_stored_spans(world, tmp_path):
    """[routes] learn = false, then true again: the lake forgets its learned templates, then
    learns them again from every span it holds (teach_all.sql by DuckDB over its span files),
    with local ingest's counts, first and last seen, written forms and examples."""
    lake = tmp_path / "lake"
    shutil.copytree(world.reference, lake)
    off, on = Config(route_learn=False), Config()
    _lake_load(world, lake, off)
    forgot = _local_sequence(world, tmp_path / "off", off)
    assert not [r for r in _read(forgot, "route_templates", "source") if r[0] == "learned"]
    _assert_as_local(lake, forgot)
    _lake_load(world, lake, on)
    relearned = _local_sequence(world, tmp_path / "on", off, on)
    assert {t for t, s in _read(relearned, "route_templates", "template, source")
            if s == "learned"} == set(world.learned)
    _assert_as_local(lake, relearned)


def test_a_lake_without_route_state_is_checked_and_the_state_recorded(world, tmp_path):
    """A lake written before it kept route_state: its routes are checked (none moves here, so
    no day is written) and the state recorded; loading again then changes no file."""
    lake = tmp_path / "lake"
    shutil.copytree(world.reference, lake)
    shutil.rmtree(lake / "route_state")
    before = _hashes(lake)
    load = _lake_load(world, lake, Config())
    assert load.days == 0 and load.rerouted == {} and load.added == 0
    after = _hashes(lake)
    assert {p: b for p, b in after.items() if p in before} == before
    assert {p.split("/")[0] for p in set(after) - set(before)} == {"route_state", "loads"}
    assert (_read(lake, "route_state", "name, value")
            == _read(world.reference, "route_state", "name, value"))
    again = _hashes(lake)
    _lake_load(world, lake, Config())
    assert _hashes(lake) == again


def test_a_trace_load_into_a_lake_without_route_state_records_it(world, tmp_path, monkeypatch,
                                                                 stand_in_spark):
    """The traces ingest's own path on a lake written before it kept route_state: the stored
    routes checked and moved as local ingest moved them, and the state recorded."""
    import parallax.lake_ingest as lake_ingest

    lake, call = _traces_load(world, tmp_path, monkeypatch, stand_in_spark)
    shutil.rmtree(lake / "route_state")
    monkeypatch.setattr(lake_ingest, "check_files", lambda paths: None)
    load = lake_ingest.to_parquet(**call)
    assert set(load.rerouted) == {"page_views", "events", "feedback"}
    for table in _ROUTED:
        assert _routes(lake, table) == _routes(world.reference, table), table
    assert (_read(lake, "route_state", "name, value")
            == _read(world.reference, "route_state", "name, value"))
