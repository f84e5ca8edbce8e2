"""The conversion model compares sessions that reached the conversion step, and a route's
lost conversions are what good delivery on that route would have won back."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from parallax.correlate.conversion import fit_conversion, reached_conversion
from parallax.correlate.frame import Frame
from parallax.correlate.settings import Settings


def test_only_sessions_that_reached_every_buyers_step_are_compared() -> None:
    routes = pl.DataFrame({
        "session_id": ["a", "a", "a", "b", "b", "b", "c", "c", "d"],
        "route": ["/", "/cart", "/checkout", "/search", "/cart", "/checkout", "/", "/cart", "/"],
    })
    # a and b bought; both visited /cart and /checkout (not / or /search).
    eligible = reached_conversion(routes, np.array(["a", "b"], dtype=object))
    assert sorted(eligible.to_list()) == ["a", "b"]
    # Nobody bought: no step is known, every session counts.
    assert sorted(reached_conversion(routes, np.array([], dtype=object)).to_list()) == list("abcd")


def _p(load_s):
    """Planted: conversion falls with ln(checkout load seconds)."""
    return 1.0 / (1.0 + np.exp(-(0.6 - 0.9 * np.log(load_s))))


def _world(n: int = 3000, seed: int = 5):
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:05d}" for i in range(n)], dtype=object)
    reached = rng.random(n) < 0.6
    slow = rng.random(n) < 0.3  # checkout took 6 s instead of 1.5 s
    p = np.where(reached, _p(np.where(slow, 6.0, 1.5)), 0.0)
    converted = (rng.random(n) < p).astype(float)
    rows = []
    for i, sid in enumerate(ids):
        rows.append((sid, "/", np.log(1.2), 0.0))
        if reached[i]:
            rows.append((sid, "/checkout", np.log(6.0 if slow[i] else 1.5), 0.0))
    routes = pl.DataFrame(rows, schema=["session_id", "route", "log_load_max", "error_any"],
                          orient="row").with_columns(
        pl.lit([], dtype=pl.List(pl.Struct({"peer": pl.String, "called": pl.Float64,
                                            "calls": pl.Float64, "failed": pl.Float64,
                                            "failed_served": pl.Float64, "ms": pl.Float64})))
        .alias("deps"))
    pages = np.where(reached, 2.0, 1.0)
    sessions = Frame(
        y=converted, cluster=ids, route=np.full(n, "", dtype=object),
        controls={"device": np.full(n, "desktop", dtype=object)},
        log_load=np.zeros(n), error=np.zeros(n), dep_called={}, dep_failed={},
        dep_failed_served={}, dep_ms={}, dep_calls={}, link=np.full(n, "", dtype=object),
        extra={"key": ids, "revenue": converted * 50.0, "pages": pages})
    return sessions, routes, reached, slow


def test_lost_conversions_recover_the_planted_loss() -> None:
    from parallax.correlate.conclude import _route_conversions

    sessions, routes, reached, slow = _world()
    model = fit_conversion(sessions, routes, Settings())
    assert model is not None and model.sessions == int(reached.sum())
    lost, revenue = _route_conversions(model, "/checkout", Settings())
    # Good delivery caps the checkout at 2.5 s: what the slow sessions would then have bought.
    truth = float((_p(2.5) - _p(6.0)) * (reached & slow).sum())
    assert lost.low <= truth <= lost.high
    assert lost.estimate == pytest.approx(truth, rel=0.35)
    assert revenue.estimate == pytest.approx(lost.estimate * 50.0)
    # The home page was never slow: good delivery there wins nothing back.
    home, _ = _route_conversions(model, "/", Settings())
    assert abs(home.estimate) < 1.0
