"""`parallax design-check`: a difference in differences that a concurrent slowdown does not
fool (synthetic, known zero effect), that finds a real effect, and the demo's checkout — on
poor feedback and on conversion."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from scipy.special import expit

from parallax.correlate.design_check import design_check, estimate
from parallax.correlate.frame import Frame
from parallax.correlate.settings import Settings
from parallax.exposure import JoinSettings, build_exposure

S = Settings(draws=200)


def _frame(effect: float, seed: int, n: int = 6000) -> tuple[Frame, np.ndarray, np.ndarray]:
    """Three routes; after the change the changed route's pages are much slower."""
    rng = np.random.default_rng(seed)
    route = rng.choice(np.array(["/a", "/b", "/c"], dtype=object), n)
    after = (rng.random(n) < 0.5).astype(float)
    treated = (route == "/a").astype(float)
    log_load = rng.normal(0.5, 0.4, n) + 1.0 * treated * after  # e^1: 2.7x slower
    device = rng.choice(np.array(["mobile", "desktop"], dtype=object), n)
    logit = -1.5 + 1.2 * log_load + 0.4 * (device == "mobile") + effect * treated * after
    y = (rng.random(n) < expit(logit)).astype(float)
    zeros = np.zeros(n)
    frame = Frame(y, np.array([f"u{i % (n // 2)}" for i in range(n)], dtype=object), route,
                  {"device": device}, log_load, zeros, {}, {}, {}, {}, {},
                  np.full(n, "session", dtype=object), {})
    return frame, treated, after


@pytest.mark.parametrize("seed", [1, 2])
def test_a_zero_effect_under_a_concurrent_slowdown_is_not_blamed_on_the_design(seed) -> None:
    naive, did, adjusted = estimate(*_frame(0.0, seed), S)
    assert naive.log_odds.ci_low > 0.5  # the naive before/after blames the design
    assert did.log_odds.ci_low > 0  # so does a DiD that ignores delivery
    assert adjusted.log_odds.ci_low < 0 < adjusted.log_odds.ci_high
    assert abs(adjusted.log_odds.estimate) < 0.3
    parts = adjusted.parts
    assert parts["delivery"] == pytest.approx(1.2, abs=0.3)
    assert parts["site_wide"] + parts["delivery"] + parts["remaining"] == pytest.approx(
        naive.log_odds.estimate, abs=0.3)


def test_a_real_design_effect_is_found_beside_the_slowdown() -> None:
    _, _, adjusted = estimate(*_frame(0.8, 3), S)
    assert adjusted.log_odds.ci_low > 0.3 and adjusted.log_odds.ci_high < 1.3
    assert adjusted.points[1] > 0


def test_the_demo_checkout_redesign(demo_run) -> None:
    truth = demo_run.truth["workflows"]["design_change"]
    try:
        r = design_check(demo_run.con, "/checkout", datetime(2026, 10, 7, tzinfo=UTC),
                         settings=S)
    finally:  # the fixture's connection holds the full-window join model for other tests
        build_exposure(demo_run.con, JoinSettings())
    assert truth["true_effect_log_odds"] == 0.0
    assert r.verdict in ("no detectable effect", "too thin")
    assert r.verdict == "no detectable effect"
    assert r.adjusted.log_odds.ci_low < 0 < r.adjusted.log_odds.ci_high
    assert r.naive.log_odds.estimate > r.adjusted.log_odds.estimate
    assert r.parts["delivery"] > 0 and 0 < r.explained_share <= 1
    assert r.detectable["odds_ratio"] > 1 and "/checkout" not in r.controls
    assert r.n["changed_before"] + r.n["changed_after"] <= truth["responses_before"] + \
        truth["responses_after"]
    assert "No detectable effect" in r.evidence and r.placebo is not None
    doc = r.to_json()
    assert doc["verdict"] == r.verdict and doc["naive"]["odds_ratio"]["estimate"] > 1


def test_the_demo_checkout_redesign_on_conversion(demo_run) -> None:
    """No conversion effect is planted (the purchase model has no design term); the slowdown
    and the payment outage halve conversion, which a before/after blames on the design."""
    try:
        r = design_check(demo_run.con, "/checkout", datetime(2026, 10, 7, tzinfo=UTC),
                         settings=S)
    finally:
        build_exposure(demo_run.con, JoinSettings())
    c = r.conversion
    assert c is not None and c.verdict == "no detectable effect"
    # every conversion passes through /checkout: no unexposed sessions, a before/after
    assert c.comparison == "before/after" and c.did is None and "/checkout" in c.note
    assert c.n["controls_before"] == c.n["controls_after"] == 0
    assert c.naive.log_odds.ci_high < 0 and c.naive.points[2] < -0.1
    assert c.adjusted.log_odds.ci_low < 0 < c.adjusted.log_odds.ci_high
    assert c.parts["delivery"] < 0 and c.parts["site_wide"] is None
    assert 0.5 < c.explained_share <= 1 and c.detectable["odds_ratio"] < 1
    assert c.conversion_rate["changed_before"] > c.conversion_rate["changed_after"]
    doc = r.to_json()["conversion"]
    assert doc["verdict"] == c.verdict and doc["did"] is None
    assert doc["naive"]["odds_ratio"]["ci_high"] < 1 < doc["adjusted"]["odds_ratio"]["ci_high"]
    assert "Conversion of" in r.evidence and r.evidence.startswith("No detectable effect")
