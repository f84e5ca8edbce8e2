"""`incident` and `design-check` through the CLI on a small demo world: JSON on stdout, the
tracker's annotations loaded by `demo`, "too thin" said plainly, bad options in one line."""

from __future__ import annotations

import orjson
import pytest

from parallax.cli import run


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("wf")
    db = str(root / "w.duckdb")
    assert run(["--db", db, "demo", "--sessions", "600", "--out", str(root / "out")]) == 0
    return db


def test_demo_loads_the_tracker_and_findings_carry_it(small_demo, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", small_demo, "annotate", "list", "--format", "json"]) == 0
    ids = {a["id"] for a in orjson.loads(capsys.readouterr().out)}
    assert {"inventory-db-crash", "checkout-redesign", "psp-outage"} <= ids
    assert run(["--db", small_demo, "findings", "--format", "json"]) == 0
    docs = {(d["subject_kind"], d["subject"]): d for d in orjson.loads(capsys.readouterr().out)}
    checkout = {a["id"] for a in docs[("route", "/checkout")]["annotations"]}
    assert checkout == {"checkout-redesign", "checkout-backend-slow", "psp-outage"}
    assert {a["id"] for a in docs[("dependency", "inventory-db")]["annotations"]} == {
        "inventory-db-crash", "inventory-db-errors"}


def test_incident_json_and_table(small_demo, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", small_demo, "incident", "inventory-db-crash", "--format", "json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["dependency"] == "inventory-db" and set(doc["routes"]) == {"/cart",
                                                                          "/product/{id}"}
    assert doc["verdict"] in ("measured", "too thin")
    if doc["verdict"] == "too thin":
        assert doc["poor_responses"] is None and doc["reason"].startswith("too thin")
    assert run(["--db", small_demo, "incident", "--dependency", "inventory-db", "--start",
                "2026-10-08T17:00Z", "--end", "2026-10-08T22:00Z"]) == 0
    out = capsys.readouterr().out
    assert "verdict:" in out and "inventory-db" in out


def test_design_check_json(small_demo, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", small_demo, "design-check", "--route", "/checkout", "--changed-at",
                "2026-10-07", "--window", "7d", "--format", "json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["route"] == "/checkout" and doc["verdict"] in (
        "too thin", "no detectable effect", "hurt", "helped")
    assert doc["since"] == "2026-09-30T00:00:00Z" and "/checkout" not in doc["controls"]


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["incident", "--start", "2026-10-08", "--end", "2026-10-09"], 2, "say what the incident"),
    (["incident", "nope"], 2, "incident 'nope': no such annotation in the database (see "
     "`parallax annotate list`)"),
    (["incident", "--route", "/chekout", "--start", "2026-10-08", "--end", "2026-10-09"], 2,
     "--route '/chekout': no such route in the database (did you mean /checkout?)"),
    (["incident", "--dependency", "inventory-db", "--start", "now", "--end", "yesterday"],
     2, "--end 'yesterday' is not after --start 'now'"),
    (["design-check", "--route", "/checkout", "--changed-at", "2026-10-07", "--window", "2w"],
     2, "--window '2w'"),
    (["design-check", "--route", "/nowhere", "--changed-at", "2026-10-07"], 2,
     "--route '/nowhere': no such route in the database"),
    (["design-check", "--route", "/checkout", "--changed-at", "2026-10-07", "--control-routes",
      "/serch"], 2, "--control-routes '/serch': no such route in the database (did you mean "
     "/search?)"),
])
def test_errors_are_one_line(small_demo, args, code, needle, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", small_demo, *args]) == code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
