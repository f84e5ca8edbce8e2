"""`design-check` through the CLI: conversion beside poor feedback in JSON and table; the
findings table lists the tracker's annotations."""

from __future__ import annotations

import orjson
import pytest

from parallax.cli import run


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("dc")
    db = str(root / "w.duckdb")
    assert run(["--db", db, "demo", "--sessions", "1200", "--out", str(root / "out")]) == 0
    return db


def test_design_check_reports_conversion(demo_db, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", demo_db, "design-check", "--route", "/checkout", "--changed-at",
                "2026-10-07", "--format", "json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    c = doc["conversion"]
    assert doc["verdict"] in ("no detectable effect", "too thin")  # poor feedback, unchanged
    assert c["verdict"] in ("no detectable effect", "too thin")
    assert c["comparison"] == "before/after" and "/checkout" in c["unit"]
    assert c["n"]["changed_before"] > 0 and c["n"]["changed_after"] > 0
    if c["verdict"] != "too thin":
        assert c["naive"]["odds_ratio"]["estimate"] < 1 and c["adjusted"] is not None
        assert "Conversion of" in doc["evidence"]
    assert run(["--db", demo_db, "design-check", "--route", "/checkout", "--changed-at",
                "2026-10-07"]) == 0
    out = capsys.readouterr().out
    assert out.index("verdict:") < out.index("conversion verdict:")
    assert "sessions (conversion rate)" in out


def test_findings_table_lists_annotations(demo_db, capsys) -> None:
    capsys.readouterr()
    assert run(["--db", demo_db, "findings"]) == 0
    out = capsys.readouterr().out
    assert "annotations: " in out
    line = next(x for x in out.splitlines() if "/checkout:" in x and "(incident)" in x)
    assert "checkout-redesign (design-change)" in line and "psp-outage (incident)" in line
