"""Attribution on simulated responses with planted causes: a route whose only problem is
errors (delivery), a route whose design puts customers off (design), three normal routes."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from scipy.special import expit

from parallax.correlate.attribution import SubjectEffect, fit_models, subject_effects
from parallax.correlate.frame import Frame
from parallax.correlate.settings import Settings

N_PER_ROUTE = 600
ROUTES = ("/", "/search", "/product", "/errors", "/design")
BETA = {"const": -1.6, "log_load": 0.8, "error": 1.6, "mobile": 0.3}
DESIGN = {"/design": 1.0}  # planted log-odds shift of the design, nothing else wrong there
ERROR_RATE = {"/errors": 0.3}  # elsewhere 2 %
SETTINGS = Settings()


def _eta(log_load: np.ndarray, error: np.ndarray, mobile: np.ndarray,
         route: np.ndarray) -> np.ndarray:
    shift = np.array([DESIGN.get(r, 0.0) for r in route])
    return (BETA["const"] + BETA["log_load"] * log_load + BETA["error"] * error
            + BETA["mobile"] * mobile + shift)


def _frame(**columns) -> Frame:
    """A Frame with no dependencies: every per-dependency (dict) field left empty."""
    empty = {f.name: {} for f in fields(Frame) if f.name not in columns}
    return Frame(**columns, **empty)


def simulate(seed: int) -> tuple[Frame, np.ndarray]:
    """The frame, plus each row's true expected extra poor (actual minus good delivery)."""
    rng = np.random.default_rng(seed)
    route = np.repeat(np.array(ROUTES, dtype=object), N_PER_ROUTE)
    n = len(route)
    mobile = rng.random(n) < 0.45
    log_load = rng.normal(np.log(1.4), 0.3, n) + 0.2 * mobile  # mobile renders slower
    error = (rng.random(n) < np.array([ERROR_RATE.get(r, 0.02) for r in route])).astype(float)
    eta = _eta(log_load, error, mobile, route)
    y = (rng.random(n) < expit(eta)).astype(float)
    good = _eta(np.minimum(log_load, np.log(SETTINGS.good_load_ms / 1000)), np.zeros(n), mobile,
                route)
    frame = _frame(
        y=y, cluster=np.array([f"u{i // 2}" for i in range(n)], dtype=object), route=route,
        controls={"device": np.where(mobile, "mobile", "desktop").astype(object)},
        log_load=log_load, error=error, link=np.full(n, "session", dtype=object))
    return frame, expit(eta) - expit(good)


@pytest.fixture(scope="module")
def world() -> tuple[Frame, np.ndarray]:
    return simulate(7)


@pytest.fixture(scope="module")
def effects(world) -> dict[str, SubjectEffect]:
    frame = world[0]
    models = fit_models(frame, "route", frame.route, frame.controls, SETTINGS)
    assert models.design_b.names[-2:] == ("log_load", "error")
    return {e.subject: e for e in subject_effects(models, SETTINGS)}


def _covers(lo: float, hi: float, x: float) -> bool:
    return lo <= x <= hi


def test_every_route_gets_an_effect_with_its_counts(world, effects) -> None:
    frame = world[0]
    assert set(effects) == set(ROUTES)
    for route, e in effects.items():
        rows = frame.route == route
        assert (e.factor, e.n, e.n_poor) == ("route", N_PER_ROUTE, int(frame.y[rows].sum()))
        assert e.poor_rate == pytest.approx(frame.y[rows].mean())
        assert e.method == "mle"


def test_errors_only_route_is_explained_by_delivery(effects) -> None:
    e = effects["/errors"]
    assert e.raw.ci_low > 0  # customers there are unhappier…
    assert e.delivery_part.low > 0  # …delivery explains it…
    assert _covers(e.adjusted.ci_low, e.adjusted.ci_high, 0.0)  # …and nothing remains
    assert e.explained_share is not None and e.explained_share.estimate > 0.7
    assert 0.0 <= e.explained_share.low <= e.explained_share.estimate


def test_design_route_keeps_its_excess_after_delivery(effects) -> None:
    e = effects["/design"]
    assert e.adjusted.ci_low > 0
    assert _covers(e.adjusted.ci_low, e.adjusted.ci_high, DESIGN["/design"])
    assert _covers(e.delivery_part.low, e.delivery_part.high, 0.0) or abs(
        e.delivery_part.estimate) < 0.1
    assert e.explained_share is not None and e.explained_share.estimate < 0.2


def test_normal_routes_show_no_excess(effects) -> None:
    for route in ("/", "/search", "/product"):
        e = effects[route]
        assert _covers(e.adjusted.ci_low, e.adjusted.ci_high, 0.0), route
        assert abs(e.raw.estimate) < 0.5, route


@pytest.mark.parametrize("route", ["/errors", "/design", "/search"])
def test_extra_poor_interval_covers_the_planted_truth(world, effects, route) -> None:
    frame, extra = world
    true_extra = float(extra[frame.route == route].sum())
    e = effects[route].extra_poor
    assert e.low <= e.estimate <= e.high
    assert _covers(e.low, e.high, true_extra), (route, true_extra, e)


def test_the_errors_route_costs_far_more_than_the_design_route(world, effects) -> None:
    # /errors: ~30 % error pages at +1.6 log-odds; /design: delivery as everywhere else
    assert effects["/errors"].extra_poor.low > effects["/design"].extra_poor.high


def test_same_frame_same_draws(world, effects) -> None:
    frame = world[0]
    again = subject_effects(fit_models(frame, "route", frame.route, frame.controls, SETTINGS),
                            SETTINGS)
    assert {e.subject: e for e in again} == effects


def test_segments_are_measured_against_the_rest_of_the_site(world) -> None:
    # mobile: pages 0.2 ln-seconds slower (delivery part 0.8 × 0.2 against desktop) and a
    # planted +0.3 log-odds at equal delivery
    frame = world[0]
    device = frame.controls["device"]
    m = fit_models(frame, "device", device, {"route": frame.route}, SETTINGS)
    seg = {e.subject: e for e in subject_effects(m, SETTINGS, relative=True)}
    mobile, desktop = seg["mobile"], seg["desktop"]
    part = BETA["log_load"] * 0.2
    assert mobile.delivery_part.low > 0
    assert _covers(mobile.delivery_part.low, mobile.delivery_part.high, part)
    assert mobile.adjusted.ci_low > 0
    assert _covers(mobile.adjusted.ci_low, mobile.adjusted.ci_high, BETA["mobile"])
    assert desktop.delivery_part.high < 0 and desktop.explained_share is None
    assert mobile.baseline_poor_rate == pytest.approx(frame.y[device == "desktop"].mean())
    assert mobile.explained_share is not None
    assert 0.1 < mobile.explained_share.estimate < 0.7  # planted: 0.16 / (0.16 + 0.3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distinct_rows_are_numpys_unique_rows(seed) -> None:
    """The impact sums weight each distinct design row by its count: the same rows, order and
    counts as np.unique gives, whatever the ties (dummies, rounded values, signed zeros)."""
    from parallax.correlate.attribution import distinct_rows

    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 2, (600, 12)).astype(float),
                         np.round(rng.normal(size=(600, 3)), 1)])
    X = np.vstack([X, X[rng.integers(0, 600, 300)]])
    X[rng.integers(0, 900, 40), 13] = -0.0
    rows, counts = distinct_rows(X)
    want_rows, want_counts = np.unique(X, axis=0, return_counts=True)
    assert len(rows) < len(X)  # there were repeats to fold
    assert np.array_equal(rows, want_rows) and np.array_equal(counts, want_counts)
    X[5, 2] = np.nan
    rows, counts = distinct_rows(X)
    want_rows, want_counts = np.unique(X, axis=0, return_counts=True)
    assert np.array_equal(rows, want_rows, equal_nan=True)
    assert np.array_equal(counts, want_counts)
