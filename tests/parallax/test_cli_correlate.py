"""``parallax correlate`` and ``parallax findings`` through the CLI's error boundary (`run`),
on a small demo world ingested once for the module."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import orjson
import pytest

from parallax.cli import run
from parallax.db import connect


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no parallax.toml of the developer's
    monkeypatch.delenv("PARALLAX_DB", raising=False)
    monkeypatch.delenv("PARALLAX_CONFIG", raising=False)
    monkeypatch.setenv("PARALLAX_KEY", "cli-test-key-0123456789abcdef")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def ingested(small_demo) -> Path:
    """A database holding a 1000-session demo world and one correlate run (closed), shared
    with the other tests of the session: these tests only read it, or copy it first."""
    return small_demo


def _stored(db_path: Path) -> tuple[str, list[dict]]:
    con = connect(db_path)
    try:
        [(run_id,)] = con.execute("SELECT run_id FROM correlate_runs ORDER BY created_at DESC "
                                  "LIMIT 1").fetchall()
        docs = [orjson.loads(d) for (d,) in con.execute(
            "SELECT doc FROM findings WHERE run_id = ?", [run_id]).fetchall()]
    finally:
        con.close()
    return run_id, docs


def _key(d: dict) -> tuple[str, str]:
    return d["subject_kind"], d["subject"]


def test_correlate_prints_the_findings_and_stores_a_run(ingested, tmp_path, capsys) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(ingested, db)
    assert run(["--db", str(db), "correlate"]) == 0
    out = capsys.readouterr().out
    run_id, docs = _stored(db)
    con = connect(db)
    [(responses,)] = con.execute("SELECT responses FROM correlate_runs WHERE run_id = ?",
                                 [run_id]).fetchall()
    con.close()
    assert f"correlate run {run_id}: {responses:,} responses" in out and responses > 200
    assert "routes" in out and "dependencies" in out and "poor (normal)" in out
    for d in docs:
        if d["subject_kind"] != "segment":
            assert d["subject"] in out, d["subject"]
    routes = [d for d in docs if d["subject_kind"] == "route"]
    assert len(routes) == 8
    for d in routes:  # the evidence of every route that needs attention follows the table
        assert (d["evidence"][:60] in out.replace("\n", " ")) == (d["verdict"] != "ok"), d


def test_evidence_lines_name_their_verdict(ingested, capsys) -> None:
    assert run(["--db", str(ingested), "findings"]) == 0
    out = capsys.readouterr().out
    _, docs = _stored(ingested)
    flagged = [d for d in docs if d["subject_kind"] != "segment" and d["verdict"] != "ok"]
    assert flagged and all(f"• [{d['verdict']}]" in out for d in flagged)


def test_correlate_min_responses_reaches_the_settings(ingested, tmp_path, capsys) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(ingested, db)
    assert run(["--db", str(db), "correlate", "--min-responses", "100000"]) == 0
    _, docs = _stored(db)
    # no dependency can be shown to cost feedback: each is judged on its delivery alone
    assert {d["verdict"] for d in docs if d["subject_kind"] == "dependency"} <= {"silent", "ok"}
    assert all(d["details"]["min_responses"] == 100000 for d in docs
               if d["subject_kind"] == "route")


def test_findings_json_is_the_stored_docs(ingested, capsys) -> None:
    assert run(["--db", str(ingested), "findings", "--format", "json"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    _, docs = _stored(ingested)
    assert sorted(printed, key=_key) == sorted(docs, key=_key) and len(printed) > 14
    kinds = [d["subject_kind"] for d in printed]
    assert kinds == sorted(kinds, key=("route", "dependency", "segment").index)  # review order


def test_findings_csv_has_dotted_columns(ingested, capsys) -> None:
    assert run(["--db", str(ingested), "findings", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    _, docs = _stored(ingested)
    assert len(rows) == len(docs)
    header = set(rows[0])
    assert {"subject_kind", "subject", "verdict", "impact.extra_poor_responses.estimate",
            "odds_ratio_raw.ci_low", "delivered.p75_ms", "link_coverage.session"} <= header
    assert not any(isinstance(d["impact"], dict) and "impact" in header for d in docs)
    by_key = {_key(d): d for d in docs}
    for r in rows:
        assert r["verdict"] == by_key[(r["subject_kind"], r["subject"])]["verdict"]


def test_findings_table_and_unknown_run(ingested, capsys) -> None:
    assert run(["--db", str(ingested), "findings"]) == 0
    assert "routes" in capsys.readouterr().out
    assert run(["--db", str(ingested), "findings", "--run", "nope"]) == 5  # nothing to read
    err = capsys.readouterr().err.strip()
    assert err.startswith("parallax: error: no findings yet") and "'nope'" in err
    assert run(["--db", str(ingested), "findings", "--format", "xml"]) == 2
    assert "--format 'xml'" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "says"), [
    (["findings"], "no findings yet"), (["drill", "route", "/cart"], "no findings yet"),
    (["drill", "session", "s1"], "no findings yet"), (["review"], "nothing to correlate")])
def test_no_findings_yet_is_one_line_and_exit_5_for_every_read_command(command, says, capsys,
                                                                        ) -> None:
    """The README's rule: nothing to analyse or read (no correlate run yet) is exit 5 (review
    correlates first: with nothing loaded there is nothing to correlate)."""
    connect("empty.duckdb").close()
    code = run(["--db", "empty.duckdb", *command])
    err = capsys.readouterr().err
    assert code == 5
    assert err.count("\n") == 1 and err.startswith(f"parallax: error: {says}")


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_bad_window_is_a_one_line_usage_error(flag, capsys) -> None:
    assert run(["--db", "x.duckdb", "correlate", flag, "notadate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"parallax: error: {flag} 'notadate'")
    assert not Path("x.duckdb").exists()  # rejected before the database is opened


def test_correlate_on_an_empty_database_is_one_line(capsys) -> None:
    connect("empty.duckdb").close()
    code = run(["--db", "empty.duckdb", "correlate"])
    err = capsys.readouterr().err
    assert code == 5 and err.count("\n") == 1
    assert err.startswith("parallax: error: nothing to correlate")


@pytest.mark.parametrize("args, message", [
    (["--engine", "spark"], "--tables goes with --engine spark"),
    (["--tables", "lake"], "--tables goes with --engine spark"),
    (["--engine", "polars"], "--engine 'polars': expected duckdb or spark"),
    (["--engine", "spark", "--tables", "no-such-folder"], "no-such-folder: no such folder"),
])
def test_correlate_engine_options_refused(tmp_path, capsys, args, message):
    assert run(["--db", str(tmp_path / "x.duckdb"), "correlate", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists()  # refused before anything is created
