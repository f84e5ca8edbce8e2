"""The lake's web_vitals rows recomputed from its events, spans and page views (lake_vitals.py):
a world with Core Web Vitals (GA4 vital events; OpenTelemetry browser spans added to its
database) loaded locally and exported is the reference; vitals rebuilt from nothing equal the
export's in every column, a recompute of some days touches no other day's file, a run with
nothing to change writes nothing, and a load's staged folders (swapped day folders, added
files) are read in place of / beside the lake's. No Spark."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.demo import build_world
from parallax.demo.spec import DEMO
from parallax.demo.vitals import with_vitals
from parallax.lake import export_parquet
from parallax.lake_vitals import lake_days, refresh_vitals, stage_vitals, vitals_view_sql
from parallax.options import ingest_options


def _otel_vitals(con: duckdb.DuckDBPyConnection) -> None:
    """Browser spans carrying vitals (both spellings the view reads) in three sessions that
    have page views: one without a route (routed by its page view), one reported twice (the
    last report wins)."""
    sessions = [s for (s,) in con.execute(
        "SELECT session_id FROM page_views GROUP BY session_id ORDER BY session_id LIMIT 3"
    ).fetchall()]
    at = [t for (t,) in con.execute(
        "SELECT max(viewed_at) + INTERVAL 5 SECOND FROM page_views WHERE session_id = ANY(?) "
        "GROUP BY session_id ORDER BY session_id", [sessions]).fetchall()]
    rows = [
        ("t1", "s1", sessions[0], at[0], "web-vital",
         '{"browser.web_vital.name": "LCP", "browser.web_vital.value": 3100.0, '
         '"browser.web_vital.id": "v1-1"}'),
        ("t2", "s2", sessions[1], at[1], "CLS", '{"cls.value": 0.05, "cls.id": "v1-2"}'),
        ("t2", "s3", sessions[1], at[1] + timedelta(seconds=30), "CLS",
         '{"cls.value": 0.31, "cls.id": "v1-2"}'),
        ("t3", "s4", sessions[2], at[2], "INP", '{"inp.value": 90, "inp.rating": "good"}'),
    ]
    for trace, span, session, started, name, attributes in rows:
        con.execute("INSERT INTO spans (trace_id, span_id, name, kind, started_at, is_error, "
                    "session_id, attributes, source, load_id) "
                    "VALUES (?, ?, ?, 'internal', ?, false, ?, ?, 'otlp-jsonl', 'l-otel')",
                    [trace, span, name, started, session, attributes])


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The export of a 400-session demo world with vitals (seed 3), loaded locally."""
    root = tmp_path_factory.mktemp("lake-vitals")
    files = build_world(root / "files", seed=3, sessions=400, spec=with_vitals(DEMO))
    con = connect(root / "w.duckdb")
    try:
        opts = ingest_options(Config(), root / "w.duckdb")
        for kind, paths in files.by_kind(("traces", "analytics")):
            ingest_files(con, kind, paths, opts)
        _otel_vitals(con)
        export_parquet(con, root / "lake")
    finally:
        con.close()
    return root / "lake"


def _rows(lake: Path) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute("SELECT * FROM read_parquet(?, hive_partitioning = true) "
                       "ORDER BY ALL", [str(lake / "web_vitals" / "**" / "*.parquet")]
                       ).fetchall()


def _types(lake: Path) -> list[tuple]:
    return [r[:2] for r in duckdb.connect().execute(
        "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)",
        [str(lake / "web_vitals" / "**" / "*.parquet")]).fetchall()]


def _files(folder: Path) -> dict[str, int]:
    """Every file and folder under ``folder``, with its mtime (a file's)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns if p.is_file() else 0
            for p in folder.rglob("*")}


def _copy(exported: Path, tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(exported, lake)
    return lake


def test_the_world_has_vitals_of_every_kind_over_several_days(exported):
    rows = _rows(exported)
    assert len(rows) > 50
    sources = {r[6] for r in rows}
    assert {"ga4-ndjson", "otlp-jsonl"} <= sources
    otel = {r[7]: r for r in rows if r[6] == "otlp-jsonl"}
    assert otel["v1-2"][3] == pytest.approx(0.31)  # the later report
    assert all(r[1] is not None for r in otel.values())  # routed by their page views
    assert len(lake_days(exported, ["web_vitals"])) >= 2


def test_vitals_rebuilt_from_nothing_equal_the_export(exported, tmp_path):
    lake = _copy(exported, tmp_path)
    shutil.rmtree(lake / "web_vitals")
    written = refresh_vitals(lake)
    assert written == sorted(lake_days(exported, ["web_vitals"]))
    assert _types(lake) == _types(exported)
    assert _rows(lake) == _rows(exported)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".vitals")]


def test_a_run_with_nothing_to_change_writes_nothing(exported, tmp_path):
    lake = _copy(exported, tmp_path)
    before = _files(lake)
    assert refresh_vitals(lake) == []
    assert _files(lake) == before


def test_some_days_recomputed_leave_the_other_days_files_alone(exported, tmp_path):
    lake = _copy(exported, tmp_path)
    days = sorted(lake_days(exported, ["web_vitals"]))
    day = days[len(days) // 2]
    shutil.rmtree(lake / "web_vitals" / f"day={day}")
    before = _files(lake)
    assert refresh_vitals(lake, [day]) == [day]  # its neighbours are recomputed, unchanged
    after = _files(lake)
    mine = f"web_vitals/day={day}/"
    assert {k: v for k, v in after.items()
            if not k.startswith(mine) and k != mine.rstrip("/")} == before
    assert any(k.startswith(mine) for k in after)
    assert _rows(lake) == _rows(exported)


def test_a_loads_staged_folders_are_read_in_place_of_and_beside_the_lake(exported, tmp_path):
    """The days' events as an ingest stages them: a swapped-in day folder (analytics) and
    files added beside the lake's (traces). The lake holds neither yet, nor any vitals."""
    lake = _copy(exported, tmp_path)
    days = sorted(lake_days(exported, ["web_vitals"]))
    # the spans added on a day the browser spans' vitals were measured
    added_day = next(r[-1] for r in _rows(exported) if r[6] == "otlp-jsonl")
    swapped_day = days[0] if days[0] != added_day else days[-1]
    new, added = tmp_path / "new", tmp_path / "added"
    (new / "events").mkdir(parents=True)
    (lake / "events" / f"day={swapped_day}").rename(new / "events" / f"day={swapped_day}")
    (added / "spans" / f"day={added_day}").mkdir(parents=True)
    for part in (lake / "spans" / f"day={added_day}").glob("*.parquet"):
        part.rename(added / "spans" / f"day={added_day}" / part.name)
    shutil.rmtree(lake / "web_vitals")
    target = tmp_path / "target"
    written = stage_vitals(lake, [swapped_day, added_day], target, new=new,
                           swapped={"events": [swapped_day]}, added=added)
    near = {d + timedelta(days=k) for d in (swapped_day, added_day) for k in (-1, 0, 1)}
    assert set(written) == near & set(days)  # the other neighbours hold no vitals
    want = [r for r in _rows(exported) if r[-1] in near]
    assert want and _rows(target) == want


def test_the_view_is_the_migrations_own():
    sql = vitals_view_sql()
    assert sql.lstrip().startswith("--") and "ASOF LEFT JOIN page_views" in sql
    assert sql.count("CREATE VIEW") == 1 and "web_vital_thresholds" in sql


def _traces_load(exported: Path, tmp_path: Path, monkeypatch,
                 spark) -> tuple[Path, dict]:
    """``ingest traces --to-parquet`` with Spark's mapping stood in for: the lake holds the
    export without the spans of the day the browser spans' vitals were measured (its vitals
    recomputed without them), and the "mapped" spans are that day's exported files, written
    where the Spark job writes them. Everything after the mapping is the ingest's own."""
    import parallax.lake_ingest as lake_ingest
    from parallax.connectors.base import ParseContext

    lake = _copy(exported, tmp_path)
    day = next(r[-1] for r in _rows(exported) if r[6] == "otlp-jsonl")
    held = tmp_path / "held"
    (lake / "spans" / f"day={day}").rename(held)
    refresh_vitals(lake)
    assert _rows(lake) != _rows(exported)  # the browser spans' vitals are gone

    def write_spans(spark, paths, lake_, staging, ctx, load_id, created, learn):
        target = staging / "spans" / f"day={day}"
        target.mkdir(parents=True)
        for part in held.glob("*.parquet"):
            shutil.copy(part, target / part.name)
        # the lake holds the templates these spans taught already: nothing new to learn
        return 1, 1, [day], learn(None)

    monkeypatch.setattr(lake_ingest, "_write_spans", write_spans)
    trace = exported.parent / "files" / "traces" / "spans.jsonl"
    opts = ingest_options(Config(), exported.parent / "w.duckdb")
    ctx = ParseContext(file=str(trace), pseudonymize=opts.pseudonymize, route=opts.route)
    return lake, {"spark": spark, "paths": [trace], "folder": lake, "ctx": ctx}


def test_a_trace_load_brings_its_browser_spans_vitals(exported, tmp_path, monkeypatch,
                                                     stand_in_spark):
    from parallax.lake_ingest import to_parquet

    lake, call = _traces_load(exported, tmp_path, monkeypatch, stand_in_spark)
    load = to_parquet(**call)
    assert load.vitals >= 1 and not load.created
    assert call["spark"].conf.values == {}  # the session's settings put back
    assert _rows(lake) == _rows(exported)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_failed_vitals_swap_takes_the_new_spans_back(exported, tmp_path, monkeypatch,
                                                       stand_in_spark):
    import parallax.lake_ingest as lake_ingest

    lake, call = _traces_load(exported, tmp_path, monkeypatch, stand_in_spark)
    before = _files(lake)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(lake_ingest, "swap_days", broken)
    with pytest.raises(OSError, match="disk full"):
        lake_ingest.to_parquet(**call)
    assert _files(lake) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
