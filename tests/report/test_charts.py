"""The plots' layout rules: small multiples fill whole rows, annotation labels get a line each
above the error-rate plot and point left late in the window, the forest plot reads findings, the
Core Web Vitals plot draws a panel per vital measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parallax.correlate.findings import Finding
from parallax.numbers import Interval
from parallax.report.charts import annotation_lanes, forest, grid_columns, poor_by_vital

T0 = datetime(2026, 10, 5, tzinfo=UTC)


def test_grid_columns_leave_no_empty_cell_when_they_can() -> None:
    assert [grid_columns(n) for n in (1, 2, 3, 4, 6, 8, 9, 12)] == [1, 2, 3, 4, 3, 4, 3, 4]
    assert grid_columns(7) == 4 and grid_columns(5) == 4  # primes: the widest rows


def test_annotation_labels_have_a_line_each_and_late_ones_point_left() -> None:
    notes = [{"id": "b", "kind": "incident", "starts_at": T0 + timedelta(days=6)},
             {"id": "a", "kind": "deploy", "starts_at": T0 + timedelta(days=1)},
             {"id": "c", "kind": "incident", "starts_at": T0 + timedelta(days=1)}]
    lanes = annotation_lanes(notes, T0, T0 + timedelta(days=7))
    assert [m["label"] for m in lanes] == ["deploy: a", "incident: c", "incident: b"]
    assert len({m["y"] for m in lanes}) == 3 and all(m["y"] < 0 for m in lanes)
    assert [m["align"] for m in lanes] == ["left", "left", "right"]


def test_forest_draws_the_findings_with_intervals_only() -> None:
    docs = [Finding(subject_kind="route", subject="/cart", verdict="delivery", n_responses=40,
                    odds_ratio_adjusted=Interval(1.25, 0.75, 2.0)),
            Finding(subject_kind="dependency", subject="pricing-service", verdict="delivery",
                    n_responses=40)]
    svg = forest(docs)
    assert svg and svg.startswith("<svg") and "route /cart" in svg
    assert "pricing-service" not in svg
    assert forest(docs[1:]) is None


def test_poor_by_vital_draws_a_panel_per_vital_and_nothing_without_vitals() -> None:
    rows = [{"metric": m, "rating_order": i, "rating": r, "responses": n, "poor": p,
             "poor_rate": p / n, "ci_low": 0.1, "ci_high": 0.9}
            for m, i, r, n, p in (("CLS", 1, "good", 40, 10), ("CLS", 3, "poor", 12, 8),
                                  ("INP", 2, "needs improvement", 20, 5))]
    svg = poor_by_vital(rows)
    assert svg and svg.startswith("<svg")
    assert ">CLS<" in svg and ">INP<" in svg and ">LCP<" not in svg  # one panel per vital
    assert poor_by_vital([]) is None  # a database without vitals: no plot in the review
