"""The end-to-end benchmark at a small size: Parallax's five commands and the reference script
both run and are timed, both accuracies are scored, and the script judges every route that got
at least 30 answers it could join by session id (and joins every such answer)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb

from parallax.demo.survey import respond
from parallax.demo.world import simulate

BENCH = Path(__file__).resolve().parents[2] / "bench"
SESSIONS, SEED = 600, 7


def test_end_to_end_small(tmp_path):
    out = tmp_path / "e2e.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "end_to_end.py"), "--sessions", str(SESSIONS),
         "--seed", str(SEED), "--keep", str(tmp_path / "work"), "--json", str(out),
         "--bytecode", "as-is"],  # no warm-up run: the harness is tested, not the speed
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ratio script / Parallax" in run.stdout
    res = json.loads(out.read_text())

    phases = res["phases"]
    assert {"ingest traces", "ingest feedback", "ingest analytics", "correlate", "findings",
            "reference script"} <= set(phases)
    assert all(p["ok"] and p["peak_rss_mib"] > 0 for k, p in phases.items() if k != "generate")
    assert res["parallax"]["seconds"] > 0 and res["reference"]["seconds"] > 0
    assert res["ratio_script_over_parallax"] > 0

    # The yardstick: DuckDB alone extracts the rows the loader stored from the same exports.
    con = duckdb.connect(str(tmp_path / "work" / "bench.duckdb"), read_only=True)
    try:
        stored = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("spans", "events", "page_views", "sessions")}
    finally:
        con.close()
    assert phases["DuckDB alone: traces"]["rows"] == {"native_spans": stored["spans"]}
    assert phases["DuckDB alone: analytics"]["rows"] == {
        f"native_{t}": stored[t] for t in ("events", "page_views", "sessions")}
    assert stored["spans"] > 1000 and stored["page_views"] > 100
    assert res["duckdb_alone"]["seconds"] > 0 and res["ratio_script_over_duckdb_alone"] > 0
    assert "DuckDB alone reading the same fields" in run.stdout

    acc = res["accuracy"]
    for key in ("parallax_routes", "parallax_routes_and_dependencies", "reference_routes"):
        assert 0.0 <= acc[key]["accuracy"] <= 1.0
    assert acc["reference_routes"]["subjects"] == len(acc["per_route"]) == 8

    # The answers the analyst's join can use: those that kept their session id.
    joinable = Counter(r.route for s in simulate(SEED, SESSIONS)
                       if (r := respond(s)) is not None and r.session_id is not None)
    assert acc["reference_responses_joined"] == sum(joinable.values())
    big = {route for route, n in joinable.items() if n >= 30}
    assert big  # at 600 sessions at least the product pages
    for route in big:
        row = acc["per_route"][route]
        assert row["reference_responses"] == joinable[route]
        assert row["reference"] not in ("inconclusive", "missing")
