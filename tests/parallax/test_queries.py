"""Named queries (`parallax query`) and ad-hoc read-only SQL (`parallax sql`)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from parallax.cli import run
from parallax.db import connect, read_query, sandboxed
from parallax.named_queries import list_queries, load_query, run_query

SHIPPED = {"worst_routes", "detractor_paths", "dependency_budget", "link_coverage"}


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory):
    """A copy of the shared demo database (conftest.demo_db: `parallax demo`, 1,500 sessions)
    and its pseudonym key, in a folder of its own (the sandbox tests list the folder)."""
    tmp = tmp_path_factory.mktemp("queries")
    path = tmp / "p.duckdb"
    for suffix in ("", ".key"):
        source = Path(f"{demo_db}{suffix}")
        if source.exists():
            shutil.copy(source, f"{path}{suffix}")
    return path


def test_every_query_says_what_it_answers_and_types_its_parameters() -> None:
    queries = {q.name: q for q in list_queries()}
    assert set(queries) >= SHIPPED
    for q in queries.values():
        assert len(q.description) > 20, q.name
        for p in q.params:
            assert f"${p.name}" in q.sql
    assert [(p.name, p.type, p.default) for p in load_query("detractor_paths").params] == [
        ("limit", "INTEGER", "10"), ("min_responses", "INTEGER", "3"), ("steps", "INTEGER", "4")]


def test_shipped_queries_answer_from_the_demo(db) -> None:
    con = connect(db)
    try:
        worst = run_query(con, "worst_routes", {"limit": "3"}).fetchall()
        gaps = [r[5] for r in worst]
        assert len(worst) == 3 and gaps == sorted(gaps, reverse=True)
        budget = run_query(con, "dependency_budget", {"slo": "0.999"}).fetchall()
        assert {r[0] for r in budget} >= {"inventory-db", "payments.example-psp.com"}
        failure_pct, used = next((r[3], r[4]) for r in budget if r[0] == "inventory-db")
        assert used == pytest.approx(failure_pct / 100 / 0.001 * 100, rel=0.01)
        coverage = run_query(con, "link_coverage", {}).fetchall()
        assert coverage[0][0] == "(all routes)"
        assert coverage[0][1] == sum(row[1] for row in coverage[1:])
        for row in coverage:  # session, user, route_time, none
            assert sum(row[2:6]) == pytest.approx(100, abs=0.5)
        # Every demo route is served by a span naming its http.route: all on a template.
        assert coverage[0][7:] == (100.0, 100.0)
        paths = run_query(con, "detractor_paths", {"min_responses": "1", "steps": "2"}).fetchall()
        assert paths and all(len(p[0].split(" > ")) <= 2 for p in paths)
        assert all(p[2] <= p[1] for p in paths)
    finally:
        con.close()


def test_query_command_formats(db, tmp_path, capsys) -> None:
    assert run(["--db", str(db), "query", "--list"]) == 0
    assert "worst_routes" in capsys.readouterr().out
    assert run(["--db", str(db), "query", "worst_routes", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and set(rows[0]) >= {"route", "verdict", "gap_points"}
    assert run(["--db", str(db), "query", "link_coverage", "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert table[0].keys() >= {"route", "responses", "session_pct"}
    out = tmp_path / "w.parquet"
    assert run(["--db", str(db), "query", "worst_routes", "--format", "parquet",
                "--out", str(out)]) == 0
    assert pq.read_table(out).num_rows == len(rows)


@pytest.mark.parametrize("argv, words", [
    (["query", "no_such"], "no query named 'no_such'"),
    (["query", "worst_routes", "--param", "limit=x"], "--param limit='x' is not a valid INTEGER"),
    (["query", "worst_routes", "--param", "nope=1"], "unknown parameter(s) nope"),
    (["query", "worst_routes", "--format", "parquet"], "add --out"),
    (["sql", "DELETE FROM spans"], "read-only"),
    (["sql", "SELECT nope FROM spans"], "nope"),
])
def test_bad_queries_are_one_line(db, capsys, argv, words) -> None:
    assert run(["--db", str(db), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and words in err


def test_sql_is_read_only_and_answers(db, capsys) -> None:
    assert run(["--db", str(db), "sql", "SELECT count(*) AS n FROM spans", "--format",
                "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["n"] > 0
    run(["--db", str(db), "sql", "DELETE FROM spans"])
    capsys.readouterr()
    assert run(["--db", str(db), "sql", "SELECT count(*) AS n FROM spans", "--format",
                "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [row]  # nothing was deleted


# --- the sandbox (issue 16): user SQL reaches nothing outside the database --------------------

@pytest.fixture
def other_db(tmp_path):
    """Another database, which no statement of `parallax sql` may write."""
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    con.close()
    return path


def _other_rows(path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM t").fetchall()
    finally:
        con.close()


REFUSED = [
    "SELECT content FROM read_text('{key}')",
    "SELECT * FROM read_blob('{key}')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_blob('{db}')",  # the database's own bytes (and WAL): erased rows linger
    "SELECT * FROM glob('{tmp}/*')",
    "COPY (SELECT 1) TO '{out}'",
    "COPY spans TO '{out}' (FORMAT csv)",
    "EXPORT DATABASE '{tmp}/export'",
    "ATTACH '{other}' AS o (READ_ONLY false)",
    "ATTACH '{other}' AS o (READ_ONLY false); INSERT INTO o.t VALUES (2)",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET lock_configuration",
    "SELECT 1; COPY (SELECT 1) TO '{out}'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'",
    "CREATE TEMP TABLE x AS SELECT 1",
    "SELECT * FROM 'https://example.com/x.csv'",
]


@pytest.mark.parametrize("template", REFUSED)
def test_sql_refuses_what_reaches_outside_the_database(db, other_db, tmp_path, capsys,
                                                       template) -> None:
    key = db.with_name(db.name + ".key")
    assert key.is_file()
    out = tmp_path / "written.csv"
    before = sorted(p.name for p in db.parent.iterdir())
    statement = template.format(key=key, db=db, tmp=tmp_path, out=out, other=other_db)
    assert run(["--db", str(db), "sql", statement]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("parallax: error: sql: ") and "\n" not in err, err
    assert "Traceback" not in captured.err
    assert key.read_text().strip() not in captured.out + captured.err
    assert not out.exists() and not (tmp_path / "export").exists()
    assert _other_rows(other_db) == [(1,)]
    assert sorted(p.name for p in db.parent.iterdir()) == before


@pytest.mark.parametrize("template", [t for t in REFUSED if ";" not in t and "TEMP" not in t])
def test_the_sandbox_itself_refuses_them(db, other_db, tmp_path, template) -> None:
    """Below the one-SELECT check, DuckDB's configuration refuses each statement too (all
    but a temporary table, which lives in memory and goes with the connection)."""
    key = db.with_name(db.name + ".key")
    out = tmp_path / "written.csv"
    statement = template.format(key=key, db=db, tmp=tmp_path, out=out, other=other_db)
    with sandboxed(db) as con:
        with pytest.raises(duckdb.Error):
            con.execute(statement).fetchall()
        if "ATTACH" in statement:
            with pytest.raises(duckdb.Error):
                con.execute("INSERT INTO o.t VALUES (2)")
    assert not out.exists() and _other_rows(other_db) == [(1,)]


def test_the_sandbox_reads_the_database(db, tmp_path, capsys) -> None:
    with sandboxed(db) as con:
        assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
        assert con.execute("SELECT current_setting('lock_configuration')").fetchall() == [
            (True,)]
        assert read_query(con, "EXPLAIN SELECT count(*) FROM spans").fetchall()
        assert read_query(con, "SUMMARIZE spans").fetchall()
    out = tmp_path / "n.csv"  # --out is Parallax writing the rows, not the SQL
    assert run(["--db", str(db), "sql", "SELECT count(*) AS n FROM spans", "--format", "csv",
                "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == '"n"'
    assert run(["--db", str(tmp_path / "none.duckdb"), "sql", "SELECT 1"]) == 2
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


def test_every_named_query_runs_in_the_sandbox(db, capsys) -> None:
    for q in list_queries():
        params = [f"{p.name}=x" for p in q.params if p.required]
        argv = ["--db", str(db), "query", q.name, "--format", "json"]
        for p in params:
            argv += ["--param", p]
        assert run(argv) == 0, (q.name, capsys.readouterr().err)
        assert isinstance(json.loads(capsys.readouterr().out), list)
