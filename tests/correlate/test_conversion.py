"""The conversion model compares sessions that reached the conversion step, and a route's
lost conversions are what good delivery on that route would have won back."""

from __future__ import annotations

import numpy as np
import pytest

from parallax.correlate.conversion import conversion_step, fit_conversion, reached_conversion
from parallax.correlate.frame import Frame, RouteRows
from parallax.correlate.settings import Settings


def _routes(session, route, log_load_max=None, error_any=None, deps=()) -> RouteRows:
    """RouteRows from columns (``session``: the session's row in its frame; ``route``: names,
    None unknown); ``deps``: (row, peer, failed, failed_served, ms, calls)."""
    n = len(session)
    names = sorted({r for r in route if r is not None}) + ([None] if None in route else [])
    calls = list(zip(*deps, strict=True)) if deps else [[]] * 6
    peers = sorted(set(calls[1]))
    return RouteRows(
        np.array(session, dtype=np.int64),
        np.array([names.index(r) for r in route], dtype=np.int64),
        np.array(names, dtype=object),
        np.full(n, np.nan) if log_load_max is None else np.asarray(log_load_max, dtype=float),
        np.full(n, np.nan) if error_any is None else np.asarray(error_any, dtype=float),
        np.array(calls[0], dtype=np.int64),
        np.array([peers.index(p) for p in calls[1]], dtype=np.int64),
        np.array(peers, dtype=object),
        {k: np.array(v, dtype=float)
         for k, v in zip(("failed", "failed_served", "ms", "calls"), calls[2:], strict=True)})


def test_only_sessions_that_reached_every_buyers_step_are_compared() -> None:
    # sessions a, b, c, d are rows 0-3 of their frame
    routes = _routes([0, 0, 0, 1, 1, 1, 2, 2, 3],
                     ["/", "/cart", "/checkout", "/search", "/cart", "/checkout", "/", "/cart",
                      "/"])
    # a and b bought; both visited /cart and /checkout (not / or /search).
    bought = np.array([True, True, False, False])
    assert reached_conversion(routes, bought).tolist() == [True, True, False, False]
    assert routes.route_names[conversion_step(routes, bought)].tolist() == ["/cart", "/checkout"]
    # Nobody bought: no step is known, every session with a page counts (e has none).
    nobody = np.zeros(5, dtype=bool)
    assert reached_conversion(routes, nobody).tolist() == [True, True, True, True, False]


def test_a_step_on_an_unknown_route_is_reached_by_no_session() -> None:
    # every buyer's visits include a page of unknown route: no session can be shown to reach it
    routes = _routes([0, 0, 1, 1, 2], [None, "/checkout", None, "/checkout", "/"])
    assert not reached_conversion(routes, np.array([True, True, False])).any()


def test_route_rows_keep_their_calls_when_taken_in_another_order() -> None:
    routes = _routes([0, 1, 2], ["/", "/cart", "/"], [0.1, 0.2, 0.3], [0.0, 1.0, np.nan],
                     deps=[(0, "db", 1.0, 1.0, 30.0, 2.0), (1, "psp", 0.0, 0.0, 90.0, 1.0),
                           (2, "db", 0.0, 0.0, 10.0, 1.0)])
    taken = routes.take(np.array([2, 0]))
    assert taken.session.tolist() == [2, 0]
    assert taken.route.tolist() == ["/", "/"]
    assert taken.log_load_max.tolist() == [0.3, 0.1]
    # b's call went with b; c's call is now on row 0, a's on row 1
    calls = zip(taken.dep_row.tolist(), taken.peer_names[taken.peer_code].tolist(),
                taken.deps["ms"].tolist(), strict=True)
    assert sorted(calls) == [(0, "db", 10.0), (1, "db", 30.0)]


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
    for i in range(n):
        rows.append((i, "/", np.log(1.2), 0.0))
        if reached[i]:
            rows.append((i, "/checkout", np.log(6.0 if slow[i] else 1.5), 0.0))
    routes = _routes(*(list(c) for c in zip(*rows, strict=True)))
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
