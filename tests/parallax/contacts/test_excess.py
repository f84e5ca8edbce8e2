"""The driver intervals: close to Newcombe's for yes/no outcomes, and covering the true
excess of counts (a first contact and its repeats) about as often as they claim."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from parallax.contacts.excess import CountMean, excess_interval, mean_interval, product_interval


def _group(y: np.ndarray) -> CountMean:
    return CountMean(len(y), float(y.sum()), float((y * y).sum()))


def _yes_no(a: int, n: int) -> CountMean:
    return _group(np.r_[np.ones(a), np.zeros(n - a)])


def test_yes_no_outcomes_give_newcombes_interval() -> None:
    for a1, n1, a0, n0 in ((30, 200, 10, 400), (3, 40, 7, 25), (8, 10, 0, 20)):
        lo, hi = confint_proportions_2indep(a1, n1, a0, n0, method="newcomb", compare="diff")
        assert excess_interval(_yes_no(a1, n1), _yes_no(a0, n0)) == pytest.approx(
            (lo, hi), abs=1e-9)


def test_no_events_and_empty_groups() -> None:
    none = CountMean(50, 0, 0)
    low, high = mean_interval(none)
    assert low == 0.0 and 0.05 < high < 0.1  # about 3.84 / 50: not "exactly zero"
    twice = mean_interval(CountMean(50, 10, 20))  # five sessions made two contacts each
    assert twice[0] < 0.2 < twice[1] and twice[1] - twice[0] > 0.2
    assert mean_interval(CountMean(0, 0, 0)) is None
    assert excess_interval(none, CountMean(0, 0, 0)) is None


def test_count_excess_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(20261)
    hits, runs = 0, 2000
    for _ in range(runs):  # a contact with 1 + a repeat half the time: overdispersed counts
        y1 = rng.binomial(1, 0.3, 120) * (1 + rng.binomial(1, 0.5, 120))
        y0 = rng.binomial(1, 0.05, 200) * (1 + rng.binomial(1, 0.5, 200))
        lo, hi = excess_interval(_group(y1), _group(y0))
        hits += lo <= (0.3 - 0.05) * 1.5 <= hi
    assert 0.93 <= hits / runs <= 0.98


def test_product_covers_the_caused_count_of_all_sessions() -> None:
    """Linked sessions give the rate; anonymous ones made contacts nobody saw."""
    rng = np.random.default_rng(7)
    hits, runs = 0, 1000
    for _ in range(runs):
        caused = rng.binomial(1, 0.2, 300)  # 300 sessions met the failure; 100 are linked
        base = rng.binomial(1, 0.05, 300)
        y1 = (caused + base)[:100]
        y0 = rng.binomial(1, 0.05, 150)
        g1, g0 = _group(y1), _group(y0)
        rate = g1.mean - g0.mean
        lo, hi = product_interval(rate, excess_interval(g1, g0), 300, 200, g1.dispersion)
        hits += lo <= caused.sum() <= hi
    assert 0.93 <= hits / runs <= 0.99
