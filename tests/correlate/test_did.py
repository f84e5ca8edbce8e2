"""The DiD engine on sessions: control sessions, delivery passed as columns, a before/after
when every session is treated, the placebo and the detectable effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.special import expit

from parallax.correlate.design_conversion import _top
from parallax.correlate.did import detectable, estimate, placebo
from parallax.correlate.frame import Frame
from parallax.correlate.settings import Settings

S = Settings(draws=200)
AT = datetime(2026, 10, 7, tzinfo=UTC)


def _sessions(effect: float, seed: int, n: int = 6000, share_treated: float = 0.5):
    """Converted ~ load on the changed route (slowed after the change) + a design effect."""
    rng = np.random.default_rng(seed)
    treated = (rng.random(n) < share_treated).astype(float)
    times = np.array([AT + timedelta(hours=float(h)) for h in rng.uniform(-96, 96, n)],
                     dtype=object)
    after = np.array([t >= AT for t in times], dtype=float)
    load = rng.normal(0.5, 0.4, n) + 1.2 * treated * after
    elsewhere = rng.normal(0.3, 0.3, n)
    logit = 1.0 - 0.9 * load * treated - 0.3 * elsewhere + effect * treated * after
    y = (rng.random(n) < expit(logit)).astype(float)
    route = np.where(treated == 1, "/checkout", "(control sessions)").astype(object)
    device = rng.choice(np.array(["mobile", "desktop"], dtype=object), n)
    zeros = np.zeros(n)
    f = Frame(y, np.array([f"u{i}" for i in range(n)], dtype=object), route,
              {"device": device}, zeros, zeros, {}, {}, {}, {}, {},
              np.full(n, "", dtype=object), {})
    delivery = {"log_load": load * treated, "log_load_elsewhere": elsewhere}
    return f, treated, after, times, delivery


@pytest.mark.parametrize("seed", [1, 2])
def test_a_slowdown_on_the_changed_route_is_not_a_lost_conversion(seed) -> None:
    f, treated, after, _, delivery = _sessions(0.0, seed)
    naive, did, adjusted = estimate(f, treated, after, S, delivery=delivery)
    assert naive.log_odds.ci_high < -0.5 and did is not None and did.log_odds.ci_high < 0
    assert adjusted.log_odds.ci_low < 0 < adjusted.log_odds.ci_high
    assert adjusted.parts["delivery"] == pytest.approx(-0.9 * 1.2, abs=0.3)
    assert adjusted.parts["site_wide"] is not None


def test_a_real_conversion_effect_is_found() -> None:
    f, treated, after, _, delivery = _sessions(-0.7, 3)
    _, _, adjusted = estimate(f, treated, after, S, delivery=delivery)
    assert adjusted.log_odds.ci_high < -0.3 and adjusted.log_odds.ci_low > -1.2
    assert adjusted.points[2] < 0


def test_without_control_sessions_it_is_a_before_after_at_equal_delivery() -> None:
    f, treated, after, times, delivery = _sessions(0.0, 4, share_treated=1.0)
    naive, did, adjusted = estimate(f, treated, after, S, delivery=delivery)
    assert did is None and adjusted.parts["site_wide"] is None
    assert naive.log_odds.ci_high < 0 < adjusted.log_odds.ci_high
    assert adjusted.log_odds.ci_low < 0
    p = placebo(f, times, treated, after, AT - timedelta(days=4), AT, S,
                np.random.default_rng(0), delivery=delivery)
    assert p is not None and p.log_odds.ci_low < 0 < p.log_odds.ci_high


def test_detectable_drop_and_rise() -> None:
    drop, rise = detectable(0.2, 0.5, S, sign=-1.0), detectable(0.2, 0.5, S)
    assert drop["odds_ratio"] == pytest.approx(1 / rise["odds_ratio"], rel=1e-4)
    assert drop["points"] < 0 < rise["points"] and drop["odds_ratio"] < 0.6


def test_top_per_session() -> None:
    at = np.array([0, 0, 1, 2])
    values = np.array([0.5, 1.5, np.nan, 0.2])
    here = np.array([True, False, True, False])
    assert _top(values, at, here, 4, fill="median_or_zero").tolist() == [0.5, 0.5, 0.0, 0.0]
    assert _top(values, at, ~here, 4, fill="median").tolist() == [1.5, 0.85, 0.2, 0.85]
    assert _top(values, at, np.ones(4, bool), 4, fill=0.0).tolist() == [1.5, 0.0, 0.2, 0.0]
