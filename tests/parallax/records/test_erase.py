"""`parallax erase`: one person's rows gone from every table, the erasure logged by pseudonym
only, and a re-ingest of the same files does not bring them back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from parallax.cli import run
from parallax.connectors.privacy import Pseudonymizer, load_key

USER = "cust-100029"  # a customer of the demo world (seed 7): in its spans and sessions


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("erase")
    db = root / "w.duckdb"
    assert run(["--db", str(db), "demo", "--sessions", "400", "--out", str(root / "out")]) == 0
    return db, root / "out"


def _copy(world, tmp_path) -> Path:
    db, _ = world
    for suffix in ("", ".key"):
        shutil.copy(f"{db}{suffix}", tmp_path / f"w.duckdb{suffix}")
    return tmp_path / "w.duckdb"


def _rows_of(db: Path, pseudonym: str, sessions: list[str]) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, cols in con.execute(
                "SELECT table_name, list(column_name) FROM duckdb_columns() "
                "WHERE column_name IN ('user_id', 'session_id') GROUP BY 1").fetchall():
            where = ["session_id IN (SELECT unnest($s))"] if "session_id" in cols else []
            where += ["user_id = $p"] if "user_id" in cols else []
            params = {k: v for k, v in (("s", sessions), ("p", pseudonym))
                      if f"${k}" in " ".join(where)}
            [(n,)] = con.execute(f'SELECT count(*) FROM "{table}" WHERE {" OR ".join(where)}',
                                 params).fetchall()
            out[table] = n
        return out
    finally:
        con.close()


def test_erase_deletes_everywhere_logs_by_pseudonym_and_keeps_them_out(world, tmp_path, capsys):
    db = _copy(world, tmp_path)
    pseudonym = Pseudonymizer(load_key(db))(USER)
    con = duckdb.connect(str(db), read_only=True)
    sessions = [s for (s,) in con.execute(
        "SELECT DISTINCT session_id FROM spans WHERE user_id = ?", [pseudonym]).fetchall()]
    con.close()
    before = _rows_of(db, pseudonym, sessions)
    assert sessions and before["spans"] > 0 and before["page_views"] > 0

    assert run(["--db", str(db), "erase", "--user", USER]) == 0
    out = capsys.readouterr().out
    assert f"erased user {pseudonym}" in out and USER not in out
    assert set(_rows_of(db, pseudonym, sessions).values()) == {0}

    con = duckdb.connect(str(db), read_only=True)
    [(kind, logged, rows)] = con.execute("SELECT kind, pseudonym, rows FROM erasures").fetchall()
    stones = con.execute("SELECT kind, count(*) FROM tombstones GROUP BY 1 ORDER BY 1").fetchall()
    con.close()
    assert (kind, logged) == ("user", pseudonym)
    assert json.loads(rows)["spans"] == before["spans"]
    assert stones == [("session", len(sessions)), ("user", 1)]
    assert USER.encode() not in db.read_bytes()  # the raw value is stored nowhere

    # Re-ingesting the old exports brings no row of theirs back; the skip is counted.
    _, files = world
    for kind, path in (("traces", "traces/spans.jsonl"),
                       ("analytics", "analytics/ga4_events.ndjson")):
        assert run(["--db", str(db), "ingest", kind, str(files / path)]) == 0
    assert set(_rows_of(db, pseudonym, sessions).values()) == {0}
    con = duckdb.connect(str(db), read_only=True)
    [(skipped,)] = con.execute("SELECT sum(rows) FROM erasure_skips").fetchall()
    con.close()
    assert skipped == before["spans"] + before["page_views"] + before["events"] + before[
        "sessions"]


def test_erase_by_session_and_one_line_refusals(world, tmp_path, capsys):
    db = _copy(world, tmp_path)
    con = duckdb.connect(str(db), read_only=True)
    [(session,)] = con.execute("SELECT session_id FROM feedback WHERE session_id IS NOT NULL "
                               "ORDER BY feedback_id LIMIT 1").fetchall()
    con.close()
    assert run(["--db", str(db), "erase", "--session", session]) == 0
    assert _rows_of(db, "-", [session])["feedback"] == 0
    capsys.readouterr()
    assert run(["--db", str(db), "erase"]) == 2
    assert run(["--db", str(db), "erase", "--user", "a", "--session", "b"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["parallax: error: erase: give exactly one of --user, --email or --session"] * 2


def test_a_person_still_in_the_receivers_spool_is_refused(world, tmp_path, capsys):
    db = _copy(world, tmp_path)
    spool = tmp_path / "w.duckdb.spool" / "traces"
    spool.mkdir(parents=True)
    (spool / "batch-1.jsonl").write_text(json.dumps({"enduser.id": USER}) + "\n")
    assert run(["--db", str(db), "erase", "--user", USER]) == 2
    assert "not loaded yet" in capsys.readouterr().err
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM erasures").fetchall() == [(0,)]
    con.close()
