"""The incident counterfactual's interval: it carries the observed count's own chance (wider
with fewer answers, never narrower than that chance alone), covers the expected effect at the
nominal rate over simulated draws, and learns only from the window's world (left_out)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from parallax.correlate.counterfactual import Scope, counterfactual, extra_interval, left_out
from parallax.records.annotations import Annotation

HOURS = np.array([1, .6, .4, .3, .3, .5, 1, 2, 3, 3.5, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5.5,
                  5.5, 4.5, 3, 2])


def _draw(rng, scale: float, p0: float = 0.03, p1: float = 0.15):
    """Seven days of hourly page loads, then a five-hour window where the rate is ``p1``;
    returns the series and the planted expected effect Σ page loads × (p1 − p0)."""
    n = 7 * 24 + 5
    pages = rng.poisson(scale * np.tile(HOURS, 8)[:n]).astype(float)
    window = np.arange(n) >= n - 5
    poor = rng.binomial(pages.astype(int), np.where(window, p1, p0)).astype(float)
    return poor, pages, ~window, window, float((pages[window] * (p1 - p0)).sum())


@pytest.mark.parametrize(("n", "p1", "e0", "sd"), [(100, 0.05, 1.5, 0.8), (1000, 0.03, 10, 3.3)])
def test_the_interval_covers_the_expected_effect_at_the_nominal_rate(n, p1, e0, sd) -> None:
    """Observed ~ Binomial(n, p1), the counterfactual's estimate ~ Normal(E0, sd): the 95 %
    interval covers n·p1 − E0 about 95 % of the time — from five expected answers up."""
    rng = np.random.default_rng(3)
    truth, hits, draws = n * p1 - e0, 0, 300
    for _ in range(draws):
        lo, hi = extra_interval(rng.binomial(n, p1), n, rng.normal(e0, sd), sd)
        hits += lo <= truth <= hi
    assert 0.92 <= hits / draws <= 0.985  # honest, and not absurdly wide either


def test_the_observed_counts_chance_is_in_the_interval() -> None:
    """With the counterfactual known exactly (sd 0) the interval is the observed count's
    own: about ± 2 √y, skewed right at a handful of answers, never a point."""
    lo, hi = extra_interval(5, 200, 2.0, 0.0)
    assert lo < 3.0 - 2.0 < 3.0 + 2.0 < hi  # wider than ± 2 around the estimate 3
    assert hi - 3.0 > 3.0 - lo  # a count's chance is skewed: more room above
    assert extra_interval(0, 200, 2.0, 0.0)[1] > -2.0  # none observed: still some above


def test_fewer_answers_give_a_relatively_wider_interval() -> None:
    """The same incident seen through ten times fewer page loads (answers): the interval,
    relative to the effect, widens — and it is never narrower than the observed count's
    binomial chance alone (what the old counterfactual-only interval left out)."""
    rng = np.random.default_rng(11)
    rel = {}
    for scale in (40.0, 4.0):
        poor, pages, pre, window, truth = _draw(rng, scale)
        cf = counterfactual(poor, pages, pre, window, None)
        y, n = cf.observed, cf.exposure
        assert cf.extra[2] - cf.extra[1] > 2 * 1.96 * math.sqrt(y * (1 - y / n)) > 0
        rel[scale] = (cf.extra[2] - cf.extra[1]) / truth
    assert rel[4.0] > 2 * rel[40.0]


def test_the_series_interval_covers_the_planted_effect_over_draws() -> None:
    """End to end through the structural model: thin windows (≈ 2-4 answers expected with
    the incident) and fuller ones; the planted expected effect is covered in most draws."""
    rng = np.random.default_rng(5)
    hits = total = 0
    for scale in (6.0, 40.0):
        for _ in range(10):
            poor, pages, pre, window, truth = _draw(rng, scale)
            cf = counterfactual(poor, pages, pre, window, None)
            hits += cf.extra[1] <= truth <= cf.extra[2]
            total += 1
    assert hits >= 18  # of 20 (19 when written); the old counterfactual-only interval: 1


T0 = datetime(2026, 10, 8, 17, tzinfo=UTC)


def _note(id: str, start_h: float, end_h: float, route: str | None = None,
          dependency: str | None = None) -> Annotation:
    return Annotation(id, "incident", T0 + timedelta(hours=start_h), T0 + timedelta(hours=end_h),
                      None, route, dependency, None)


def test_only_bins_of_the_windows_world_are_learnt_from() -> None:
    """An outage on the way to the conversion that started 30 h before the window and outlasts
    it: only the bins inside it describe the window's world. An earlier incident on the
    routes: its bins are left out. One on an unrelated route: ignored."""
    k = np.arange(-72, 5)
    notes = [_note("psp", -30, 40, dependency="psp"), _note("db-old", -60, -50, "/product"),
             _note("maps", -20, -10, "/store-locator"), _note("me", 0, 5, "/product")]
    scope = Scope(frozenset({"/product", "/checkout"}), frozenset({"psp"}), None)
    out, ongoing = left_out(k, T0, 60, T0 + timedelta(hours=5), notes, "me", scope)
    assert ongoing == ("psp",)
    kept = k[~out & (k < 0)]
    assert kept.min() == -30 and kept.max() == -1 and len(kept) == 30
    narrow = Scope(frozenset({"/product"}), frozenset(), None)  # the psp outage is not on it
    out, ongoing = left_out(k, T0, 60, T0 + timedelta(hours=5), notes, "me", narrow)
    assert ongoing == () and set(k[out]) == set(range(-60, -50))
