"""exposure_pages is incremental: folding loads in one by one gives exactly the full build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.demo import build_world
from parallax.exposure import JoinSettings, refresh_pages
from parallax.options import ingest_options

PAGES = ("SELECT page_key, trace_id, event_key, session_id, user_id, route, service, started_at, "
         "load_ms, load_source, server_ms, error_seen, "
         "list_sort(list_transform(deps, lambda x: x.peer || ':' || x.calls::VARCHAR || ':' || "
         "x.failed::VARCHAR)) FROM exposure_pages ORDER BY page_key")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    build_world(out, seed=3, sessions=400)
    return out


def _split_traces(world: Path, tmp: Path) -> list[Path]:
    """The OTLP lines split in two files: browser spans first, backend spans later, so one
    trace's page load arrives across two loads."""
    browser, backend = [], []
    for line in (world / "traces" / "spans.jsonl").read_text().splitlines():
        doc = json.loads(line)
        for rs in doc["resourceSpans"]:
            svc = next(a["value"]["stringValue"] for a in rs["resource"]["attributes"]
                       if a["key"] == "service.name")
            (browser if svc == "web-frontend" else backend).append(
                json.dumps({"resourceSpans": [rs]}))
    paths = [tmp / "browser.jsonl", tmp / "backend.jsonl"]
    for path, lines in zip(paths, (browser, backend), strict=True):
        path.write_text("\n".join(lines) + "\n")
    return paths


def test_loads_folded_one_by_one_equal_the_full_build(world, tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    opts = ingest_options(Config(), tmp_path / "p.duckdb")
    settings = JoinSettings()
    browser, backend = _split_traces(world, tmp_path)
    steps = [("analytics", world / "analytics" / "ga4_events.ndjson"), ("traces", browser),
             ("feedback", world / "feedback" / "qualtrics_export.csv"), ("traces", backend)]
    modes = []
    for kind, path in steps:
        ingest_files(con, kind, [path], opts)
        # folded in however many sessions a load touches (each here touches most)
        modes.append(refresh_pages(con, settings, rebuild_share=None).mode)
    assert modes == ["full", "incremental", "incremental", "incremental"]
    assert refresh_pages(con, settings).mode == "current"
    incremental = con.execute(PAGES).fetchall()
    con.execute("DELETE FROM exposure_state")  # forget the state: the next refresh is full
    assert refresh_pages(con, settings).mode == "full"
    assert con.execute(PAGES).fetchall() == incremental
    # The backend spans made the browser's page loads whole (server time, dependencies):
    served = con.execute("SELECT count(*) FROM exposure_pages WHERE server_ms IS NOT NULL "
                         "AND load_source = 'browser'").fetchall()[0][0]
    assert served == len(incremental) > 0


def test_changed_settings_rebuild_in_full(world, tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    ingest_files(con, "traces", [world / "traces" / "spans.jsonl"],
                 ingest_options(Config(), tmp_path / "p.duckdb"))
    assert refresh_pages(con, JoinSettings()).mode == "full"
    assert refresh_pages(con, JoinSettings()).mode == "current"
    loose = JoinSettings(error_status=400)
    assert refresh_pages(con, loose).mode == "full"


def test_a_failed_refresh_leaves_the_previous_pages(world, tmp_path, monkeypatch) -> None:
    con = connect(tmp_path / "p.duckdb")
    opts = ingest_options(Config(), tmp_path / "p.duckdb")
    ingest_files(con, "analytics", [world / "analytics" / "ga4_events.ndjson"], opts)
    refresh_pages(con, JoinSettings())
    before = con.execute(PAGES).fetchall()
    ingest_files(con, "traces", [world / "traces" / "spans.jsonl"], opts)
    import parallax.exposure as exposure

    real = exposure._read
    monkeypatch.setattr(exposure, "_read", lambda name: real(name) + (
        "\nSELECT * FROM no_such_table" if name == "pages_scope.sql" else ""))
    with pytest.raises(Exception, match="no_such_table"):
        refresh_pages(con, JoinSettings(), rebuild_share=None)
    assert con.execute(PAGES).fetchall() == before
    monkeypatch.undo()
    assert refresh_pages(con, JoinSettings(), rebuild_share=None).mode == "incremental"



def test_a_load_touching_most_sessions_rebuilds_as_a_fold_would(world, tmp_path) -> None:
    """The analytics export of the traces' days touches every session: the refresh rebuilds
    the model whole, and gets the page loads folding it in gets. A load touching a few
    sessions is folded in."""
    pages, modes = [], []
    for name, share in (("rebuilt", 0.5), ("folded", None)):
        db = tmp_path / f"{name}.duckdb"
        if pages:  # one pseudonymisation key: the same event keys and user ids
            shutil.copy(tmp_path / "rebuilt.duckdb.key", tmp_path / f"{name}.duckdb.key")
        con = connect(db)
        opts = ingest_options(Config(), db)
        ingest_files(con, "traces", [world / "traces" / "spans.jsonl"], opts)
        assert refresh_pages(con, JoinSettings()).mode == "full"
        ingest_files(con, "analytics", [world / "analytics" / "ga4_events.ndjson"], opts)
        modes.append(refresh_pages(con, JoinSettings(), rebuild_share=share).mode)
        pages.append(con.execute(PAGES).fetchall())
        con.close()
    assert modes == ["full", "incremental"]
    assert pages[0] == pages[1] and len(pages[0]) > 0

    # a microsecond later, the first events of the export are new events of their sessions
    lines = (world / "analytics" / "ga4_events.ndjson").read_text().splitlines()[:12]
    later = [json.loads(line) for line in lines]
    for rec in later:
        rec["event_timestamp"] = str(int(rec["event_timestamp"]) + 1)
    few = tmp_path / "few.ndjson"
    few.write_text("".join(json.dumps(rec) + "\n" for rec in later))
    con = connect(tmp_path / "rebuilt.duckdb")
    [loaded] = ingest_files(con, "analytics", [few],
                            ingest_options(Config(), tmp_path / "rebuilt.duckdb"))
    assert loaded.rows_loaded == len(later)
    assert refresh_pages(con, JoinSettings()).mode == "incremental"
    folded = con.execute(PAGES).fetchall()
    con.execute("DELETE FROM exposure_state")
    assert refresh_pages(con, JoinSettings()).mode == "full"
    assert con.execute(PAGES).fetchall() == folded
