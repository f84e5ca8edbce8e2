"""`parallax incident`: the counterfactual on synthetic series with a known jump (and none),
and end to end on the demo world's planted database crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from parallax.correlate.incident import counterfactual, incident_impact
from parallax.errors import ConfigError, NoDataError

HOURS = np.array([1, .6, .4, .3, .3, .5, 1, 2, 3, 3.5, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5.5,
                  5.5, 4.5, 3, 2])


def _series(rate_during: float, seed: int, shock: np.ndarray | None = None):
    """Seven days of hourly page loads with a daily cycle, then a five-hour window."""
    rng = np.random.default_rng(seed)
    n = 7 * 24 + 5
    pages = rng.poisson(40 * np.tile(HOURS, 8)[:n]).astype(float)
    rate = np.full(n, 0.03) * (1.0 if shock is None else shock)
    window = np.arange(n) >= n - 5
    rate[window] = rate_during
    poor = rng.binomial(pages.astype(int), rate).astype(float)
    expected = float((pages[window] * (0.03 if shock is None else 0.03 * shock[window])).sum())
    return poor, pages, ~window, window, expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_known_jump_is_measured_and_its_interval_covers_the_truth(seed) -> None:
    poor, pages, pre, window, expected = _series(0.15, seed)
    cf = counterfactual(poor, pages, pre, window, None)
    truth = poor[window].sum() - expected  # realised poor minus expected without the jump
    low, high = cf.extra[1], cf.extra[2]
    assert cf.observed == poor[window].sum()
    assert low <= truth <= high
    assert low > 0 and abs(cf.extra[0] - truth) / truth < 0.2
    assert cf.model == "constant level"  # no drift: the random walk does not earn its keep


def test_no_jump_gives_an_interval_around_zero() -> None:
    poor, pages, pre, window, _ = _series(0.03, 4)
    cf = counterfactual(poor, pages, pre, window, None)
    assert cf.extra[1] < 0 < cf.extra[2]


def test_other_routes_join_the_model_when_they_track_a_common_shock() -> None:
    rng = np.random.default_rng(5)
    n = 7 * 24 + 5
    shock = np.exp(np.cumsum(rng.normal(0, 0.15, n)))  # a drifting level all routes share
    shock = np.clip(shock / shock.mean(), 0.2, 5.0)
    poor, pages, pre, window, expected = _series(0.0, 5, shock)
    poor[window] = rng.binomial(pages[window].astype(int), 0.03 * shock[window] + 0.1)
    other_pages = rng.poisson(400 * np.tile(HOURS, 8)[:n]).astype(float)
    other = rng.binomial(other_pages.astype(int), 0.03 * shock) / np.maximum(other_pages, 1)
    with_x = counterfactual(poor, pages, pre, window, other)
    assert with_x.model == "local level + other routes"  # the level drifts, the others follow
    alone = counterfactual(poor, pages, pre, window, None)
    assert alone.model == "local level"
    truth = poor[window].sum() - expected
    assert with_x.extra[1] <= truth <= with_x.extra[2]
    assert alone.extra[1] <= truth <= alone.extra[2]


CRASH = (datetime(2026, 10, 8, 17, tzinfo=UTC), datetime(2026, 10, 8, 22, tzinfo=UTC))


def test_the_demo_database_crash(demo_run) -> None:
    r = incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[0], ends=CRASH[1])
    truth = demo_run.truth["workflows"]["incident"]
    assert r.verdict == "measured" and set(r.routes) == set(truth["routes"])
    assert r.responses == truth["responses"] and r.poor.observed == truth["poor_responses"]
    est, low, high = r.poor.extra
    assert low > 0 and 0.5 * truth["extra_poor_responses"] < est < 2 * \
        truth["extra_poor_responses"]
    assert r.poor_rate > r.poor_rate_before + 0.3
    assert r.nps_points is not None and r.nps_points[0] == pytest.approx(100 * est / r.responses)
    dep = next(d for d in r.delivery if d["subject"] == "inventory-db")
    assert dep["degraded"] and dep["during"]["failure_rate"] > 0.8 > 0.1 > \
        dep["before"]["failure_rate"]
    assert not next(d for d in r.delivery if d["subject"] == "pricing-service")["degraded"]
    assert {s["level"] for s in r.segments if s["factor"] == "device"} <= {"mobile", "desktop"}
    doc = r.to_json()
    assert doc["poor_responses"]["extra"]["estimate"] == pytest.approx(est, abs=1e-5)


def test_too_thin_and_nothing_to_measure(demo_run) -> None:
    start = datetime(2026, 10, 5, 2, tzinfo=UTC)  # the first night: no pre-period at all
    thin = incident_impact(demo_run.con, route="/checkout", starts=start,
                           ends=start + timedelta(hours=4))
    assert thin.verdict == "too thin" and thin.poor is None and "pre-period" in thin.reason
    with pytest.raises(NoDataError, match="no page loads touched no-such-db"):
        incident_impact(demo_run.con, dependency="no-such-db", starts=CRASH[0], ends=CRASH[1])
    with pytest.raises(ConfigError):
        incident_impact(demo_run.con, dependency="inventory-db", starts=CRASH[1], ends=CRASH[0])
    with pytest.raises(ConfigError, match="no annotation"):
        incident_impact(demo_run.con, id="INC-404")
