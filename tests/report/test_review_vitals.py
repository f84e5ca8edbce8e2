"""The review with Core Web Vitals (issue 22): each route's p75 vitals on its card, and poor
answers by each vital's rating with intervals — from `parallax demo --vitals`."""

from __future__ import annotations

import json

import pytest

from parallax.cli import run
from parallax.db import connect
from parallax.named_queries import run_query


@pytest.fixture(scope="module")
def vitals_demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vitals")
    db, html = tmp / "p.duckdb", tmp / "report.html"
    assert run(["--db", str(db), "demo", "--vitals", "--out", str(tmp / "demo"),
                "--sessions", "800"]) == 0
    assert run(["--db", str(db), "review", "--out", str(html)]) == 0
    return db, html.read_text()


def test_cards_show_p75_vitals_and_the_rating_plot(vitals_demo, capsys):
    db, html = vitals_demo
    assert html.count("Core Web Vitals p75</dt>") >= 8  # every route with measurements
    assert "Poor answers by the Core Web\n  Vitals rating" in html
    capsys.readouterr()
    assert run(["--db", str(db), "findings", "--format", "json"]) == 0
    found = {f["subject"]: f for f in json.loads(capsys.readouterr().out)
             if f["subject_kind"] == "route"}
    deals = found["/deals"]["delivered"]
    assert deals["vitals"]["CLS"]["p75"] > 0.1 and deals["vitals"]["CLS"]["good"] == 0.1
    assert any(b.startswith("CLS p75") for b in deals["breaches"])
    assert any(b.startswith("INP p75") for b in found["/compare"]["delivered"]["breaches"])
    assert not any(b.startswith(("CLS", "INP")) for b in found["/search"]["delivered"]["breaches"])


def test_vitals_bands_have_intervals_around_their_rates(vitals_demo):
    con = connect(vitals_demo[0], read_only=True)
    try:
        rows = run_query(con, "vitals_bands", {}).fetchall()
    finally:
        con.close()
    assert {r[0] for r in rows} == {"CLS", "INP", "LCP"}
    for _metric, order, rating, n, poor, rate, lo, hi in rows:
        assert rating == ("good", "needs improvement", "poor")[order - 1]
        assert 0 <= lo <= rate <= hi <= 1 and rate == pytest.approx(poor / n)
