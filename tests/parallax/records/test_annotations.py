"""Annotations: `annotate add/list/import` through the CLI's error boundary, the tracker CSV
mapping (one clear line per bad row, all or nothing, re-import changes nothing), and how
findings pick up the annotations that touch their subject."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from parallax.cli import run
from parallax.correlate.findings import Finding, attach_annotations
from parallax.db import connect
from parallax.records.annotations import import_csv, list_annotations, make

TRACKER = """Incident ID,Type,Title,Service,Component,Page,Started At (UTC),Resolved At (UTC)
INC-1,Incident,db crashed,shop-api,inventory-db,,2026-10-08 17:00,2026-10-08 22:00
INC-2,Design change,new checkout,shop-api,,https://shop.example.com/Checkout?x=1,2026-10-07,
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARALLAX_DB", raising=False)
    monkeypatch.delenv("PARALLAX_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def _rows(db: str) -> list[tuple]:
    con = connect(db)
    try:
        return con.execute("SELECT id, kind, starts_at, ends_at, service, route, dependency, "
                           "source FROM annotations ORDER BY id").fetchall()
    finally:
        con.close()


def test_add_and_list_json(capsys) -> None:
    args = ["--db", "a.duckdb", "annotate", "add", "--kind", "deploy", "--service", "shop-api",
            "--route", "/Product/123", "--start", "2026-10-06T09:30", "--description", "v2"]
    assert run(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("stored: deploy-20261006T0930-")
    assert run(args) == 0 and capsys.readouterr().out.startswith("already there:")
    assert run(["--db", "a.duckdb", "annotate", "list", "--format", "json"]) == 0
    [doc] = orjson.loads(capsys.readouterr().out)
    assert doc["route"] == "/product/{id}" and doc["kind"] == "deploy"
    assert doc["starts_at"] == "2026-10-06T09:30:00Z" and doc["ends_at"] is None
    assert doc["source"] == "cli"


@pytest.mark.parametrize(("args", "needle"), [
    (["--kind", "outage", "--start", "2026-10-06"], "kind 'outage'"),
    (["--kind", "incident", "--start", "yesterday"], "'yesterday'"),
    (["--kind", "incident", "--start", "2026-10-06T10:00", "--end", "2026-10-06T09:00"],
     "before it starts"),
])
def test_add_refuses_bad_input_in_one_line(args, needle, capsys) -> None:
    assert run(["--db", "a.duckdb", "annotate", "add", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
    assert _rows("a.duckdb") == []


def test_import_maps_tracker_columns_and_reimport_changes_nothing(tmp_path, capsys) -> None:
    path = tmp_path / "tracker.csv"
    path.write_text(TRACKER)
    assert run(["--db", "a.duckdb", "annotate", "import", str(path)]) == 0
    assert "2 rows — 2 added, 0 updated, 0 unchanged" in capsys.readouterr().out
    before = _rows("a.duckdb")
    assert [(r[0], r[1], r[5], r[6]) for r in before] == [
        ("INC-1", "incident", None, "inventory-db"), ("INC-2", "design-change", "/checkout", None)]
    assert before[0][2] == datetime(2026, 10, 8, 17, tzinfo=UTC) and before[1][3] is None
    assert before[0][7] == "import:tracker.csv"
    assert run(["--db", "a.duckdb", "annotate", "import", str(path)]) == 0
    assert "0 added, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert _rows("a.duckdb") == before


def test_a_bad_row_fails_the_file_with_its_line_and_stores_nothing(tmp_path, capsys) -> None:
    path = tmp_path / "tracker.csv"
    path.write_text(TRACKER + "INC-3,Incident,broken,shop-api,,,not a time,\n")
    assert run(["--db", "a.duckdb", "annotate", "import", str(path)]) == 4
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "tracker.csv: line 4" in err and "'not a time'" in err
    assert _rows("a.duckdb") == []


def test_column_mapping_option(tmp_path, capsys) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("ref,when,what\nX-1,2026-10-06T10:00Z,something\n")
    assert run(["--db", "a.duckdb", "annotate", "import", str(path)]) == 4
    assert "--map starts_at=COLUMN" in capsys.readouterr().err
    assert run(["--db", "a.duckdb", "annotate", "import", str(path), "--map", "id=ref",
                "--map", "starts_at=when", "--kind", "deploy"]) == 0
    assert [(r[0], r[1]) for r in _rows("a.duckdb")] == [("X-1", "deploy")]


def _finding(kind: str, subject: str, delivered: dict) -> Finding:
    return Finding(subject_kind=kind, subject=subject, verdict="ok", n_responses=10,
                   delivered=delivered)


def test_findings_get_the_annotations_touching_their_subject(tmp_path) -> None:
    con = connect(tmp_path / "f.duckdb")
    path = tmp_path / "tracker.csv"
    path.write_text(TRACKER + "INC-0,Incident,site down,,,,2026-10-01 00:00,2026-10-01 01:00\n")
    import_csv(con, path)
    notes = list_annotations(con)
    con.close()
    findings = [
        _finding("route", "/product/{id}", {"related": ["inventory-db"], "service": "shop-api"}),
        _finding("route", "/checkout", {"related": ["psp"], "service": "shop-api"}),
        _finding("route", "/account", {"related": ["orders-db"], "service": "account-api"}),
        _finding("dependency", "inventory-db", {}),
        _finding("segment", "mobile", {}),
    ]
    week = (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC))
    got = {f.subject: [a["id"] for a in f.annotations]
           for f in attach_annotations(findings, notes, *week)}
    assert got == {"/product/{id}": ["INC-1"], "/checkout": ["INC-2"], "/account": [],
                   "inventory-db": ["INC-1"], "mobile": []}
    everything = {f.subject: [a["id"] for a in f.annotations]
                  for f in attach_annotations(findings, notes, None, None)}
    assert everything["mobile"] == ["INC-0"]  # site-wide, inside an open window
    assert everything["/product/{id}"] == ["INC-0", "INC-1"]
    late = attach_annotations(findings, notes, datetime(2026, 10, 9, tzinfo=UTC), None)
    assert [f.annotations for f in late] == [[]] * 5  # INC-1 ended, INC-2 happened before
    point = make(kind="deploy", starts_at=datetime(2026, 10, 8, tzinfo=UTC), service="shop-api")
    [f] = attach_annotations(findings[:1], [point], *week)
    assert f.to_json()["annotations"][0]["kind"] == "deploy"


def test_a_changed_row_is_updated_and_keeps_its_first_stored_time(tmp_path) -> None:
    con = connect(tmp_path / "u.duckdb")
    path = tmp_path / "tracker.csv"
    path.write_text(TRACKER)
    import_csv(con, path)
    [(first,)] = con.execute("SELECT created_at FROM annotations WHERE id = 'INC-1'").fetchall()
    path.write_text(TRACKER.replace("2026-10-08 22:00", "2026-10-08 23:30"))
    r = import_csv(con, path)
    assert (r.added, r.updated, r.unchanged) == (0, 1, 1)
    [(ends, created)] = con.execute(
        "SELECT ends_at, created_at FROM annotations WHERE id = 'INC-1'").fetchall()
    con.close()
    assert ends == datetime(2026, 10, 8, 23, 30, tzinfo=UTC) and created == first
