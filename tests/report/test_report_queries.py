"""The queries behind the review's plots agree with the join model they summarise."""

from __future__ import annotations

import math

import pytest

from parallax.db import connect
from parallax.named_queries import run_query


@pytest.fixture(scope="module")
def con(reviewed):
    c = connect(reviewed.db, read_only=True)
    yield c
    c.close()


def _rows(con, name, **params):
    return run_query(con, name, params).to_arrow_table().to_pylist()


def test_latency_bands_count_directly_linked_responses_with_wilson_intervals(con) -> None:
    bands = _rows(con, "latency_bands")
    [(n,)] = con.execute("SELECT count(*) FROM exposure_responses WHERE link IN "
                         "('session', 'user') AND load_ms IS NOT NULL").fetchall()
    assert sum(b["responses"] for b in bands) == n
    for b in bands:
        p, k = b["poor_rate"], b["responses"]
        assert b["ci_low"] <= p <= b["ci_high"]
        z = 1.959964
        centre = (p + z * z / (2 * k)) / (1 + z * z / k)
        half = z * math.sqrt(p * (1 - p) / k + z * z / (4 * k * k)) / (1 + z * z / k)
        assert b["ci_low"] == pytest.approx(centre - half, abs=1e-4)
        assert b["ci_high"] == pytest.approx(centre + half, abs=1e-4)
    # the planted world: slower pages, more poor answers
    assert bands[0]["poor_rate"] < bands[-1]["poor_rate"]


def test_apdex_follows_its_definition(con) -> None:
    got = {r["route"]: r["apdex"] for r in _rows(con, "apdex", t_ms=1000.0)}
    pages = con.execute("SELECT route, load_ms, error_seen FROM exposure_pages "
                        "WHERE route IS NOT NULL AND load_ms IS NOT NULL").fetchall()
    for route, apdex in got.items():
        mine = [(ms, err) for r, ms, err in pages if r == route]
        sat = sum(1 for ms, err in mine if not err and ms <= 1000)
        tol = sum(1 for ms, err in mine if not err and 1000 < ms <= 4000)
        assert apdex == pytest.approx((sat + tol / 2) / len(mine))
        assert 0 <= apdex <= 1


def test_histogram_and_timeline_account_for_every_page_load(con) -> None:
    [(pages,)] = con.execute("SELECT count(*) FROM exposure_pages WHERE route IS NOT NULL "
                             "AND load_ms IS NOT NULL").fetchall()
    hist = _rows(con, "latency_histogram")
    assert sum(r["pages"] for r in hist) == pages
    for route in {r["route"] for r in hist}:
        assert sum(r["share"] for r in hist if r["route"] == route) == pytest.approx(1.0)
    [(all_pages, errors)] = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE error_seen) FROM exposure_pages "
        "WHERE route IS NOT NULL").fetchall()
    line = _rows(con, "error_timeline", bucket_minutes=60)
    assert sum(r["pages"] for r in line) == all_pages
    assert sum(r["errors"] for r in line) == errors
