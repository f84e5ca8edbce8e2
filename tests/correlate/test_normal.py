"""The site's normal: which routes make it (normal.consensus) and the reference they give."""

from __future__ import annotations

import numpy as np
import pytest

from parallax.correlate.normal import consensus, reference
from parallax.correlate.settings import Settings
from parallax.errors import ConfigError


def _levels(rng: np.random.Generator, truth: list[float], sd: float, draws: int = 2000):
    """Estimated levels (truth plus one draw of noise) and parameter draws around them."""
    point = np.array(truth) + rng.normal(0.0, sd, len(truth))
    return point, point + rng.normal(0.0, sd, (draws, len(truth)))


def test_routes_plainly_apart_leave_the_normal_and_noise_stays() -> None:
    rng = np.random.default_rng(3)
    truth = [0.0, 0.0, 0.0, 0.0, 0.0, 1.4, 1.6, -1.5]  # five alike, two design, one silent
    point, draws = _levels(rng, truth, 0.15)
    kept = consensus(point, draws, np.ones(len(truth), dtype=bool), 3.0)
    assert kept.tolist() == [True] * 5 + [False] * 3
    assert consensus(point, draws, np.ones(len(truth), dtype=bool), 0.0).all()


def test_a_candidate_set_is_never_cut_below_three() -> None:
    point = np.array([0.0, 2.0, 4.0, 6.0])
    draws = point + np.random.default_rng(0).normal(0.0, 0.01, (500, 4))
    kept = consensus(point, draws, np.ones(4, dtype=bool), 3.0)
    assert kept.sum() >= 3


def test_routes_outside_the_candidates_never_join() -> None:
    rng = np.random.default_rng(5)
    point, draws = _levels(rng, [0.0] * 6, 0.1)
    candidates = np.array([True, True, True, True, False, False])
    assert not consensus(point, draws, candidates, 3.0)[~candidates].any()


def test_the_normal_of_alike_routes_is_not_pulled_toward_the_design_routes() -> None:
    """Over many shops with five alike routes and three design routes, the plain median sits
    above the alike routes' level; the consensus normal does not."""
    rng = np.random.default_rng(11)
    plain, trimmed = [], []
    for _ in range(200):
        point, draws = _levels(rng, [0.0] * 5 + [1.2, 1.3, 1.5], 0.25, draws=200)
        every = np.ones(8, dtype=bool)
        plain.append(reference(point, draws, np.ones(8), False, every)[0])
        trimmed.append(reference(point, draws, np.ones(8), False,
                                 consensus(point, draws, every, 3.0))[0])
    assert np.mean(plain) > 0.15
    assert abs(np.mean(trimmed)) < 0.08


def test_a_negative_band_is_refused() -> None:
    with pytest.raises(ConfigError, match="normal_band"):
        Settings.from_mapping({"normal_band": -1})
