"""A healthy dependency, row by row: each call within budget (k calls get k budgets), a
route-and-time row's saving weighted by how often the window's pages called it, its error
pages and served failures gone — and failure odds read only from directly linked pages."""

from __future__ import annotations

import numpy as np
import pytest

from parallax.correlate.attribution import fit_models
from parallax.correlate.dependencies import dependency_effects, healthy_dependency
from parallax.correlate.frame import Frame
from parallax.correlate.settings import Settings

N = 600


def _frame(seed: int = 3) -> Frame:
    rng = np.random.default_rng(seed)
    called = np.ones(N)
    calls = np.ones(N)
    ms = rng.lognormal(np.log(250), 0.3, N)
    failed = (rng.random(N) < 0.1).astype(float)
    error = failed * (rng.random(N) < 0.5)  # half the failures became error pages
    link = np.full(N, "session", dtype=object)
    # Row 0: two calls on one page, 1,000 ms in all. Row 1: a route-and-time window where half
    # the pages called it, 900 ms per calling page. Row 2: a failure that became an error page.
    called[1], ms[0], calls[0], ms[1], link[1] = 0.5, 1000.0, 2.0, 900.0, "route_time"
    failed[2], error[2] = 1.0, 1.0
    load_ms = 1200.0 + called * ms + rng.normal(0, 100, N)
    load_ms[0], load_ms[1] = 3000.0, 2000.0
    y = (rng.random(N) < 0.2 + 0.3 * error + 0.2 * (load_ms > 1800)).astype(float)
    served = failed * (1 - error)
    return Frame(
        y=y, cluster=np.array([f"u{i}" for i in range(N)], dtype=object),
        route=np.where(np.arange(N) % 2, "/pay", "/home").astype(object),
        controls={"device": np.full(N, "desktop", dtype=object)},
        log_load=np.log(load_ms / 1000.0), error=error, dep_called={"pay": called},
        dep_failed={"pay": failed}, dep_failed_served={"pay": served}, dep_ms={"pay": ms},
        dep_calls={"pay": calls}, link=link, extra={"metric": np.full(N, "nps", dtype=object)})


@pytest.fixture(scope="module")
def models():
    f = _frame()
    return fit_models(f, "route", f.route, f.controls, Settings())


def test_each_call_gets_its_budget_and_windows_are_weighted(models) -> None:
    b = models.design_b
    healthy = healthy_dependency(models, "pay", 300.0)
    load = np.exp(healthy[:, b.column("log_load")]) * 1000
    assert load[0] == pytest.approx(3000 - (1000 - 2 * 300))  # two calls, two budgets
    assert load[1] == pytest.approx(2000 - 0.5 * (900 - 300))  # half the pages called it
    assert healthy[2, b.column("error")] == 0.0  # the error page it caused is gone
    assert healthy[:, b.column("fail:pay")].sum() == 0.0  # and every served failure
    fast = models.frame.dep_ms["pay"] < 300
    fast[:3] = False
    np.testing.assert_allclose(healthy[fast, b.column("log_load")],
                               b.X[fast, b.column("log_load")])  # within budget: unchanged


def test_failure_odds_come_from_directly_linked_pages_only(models) -> None:
    f = models.frame
    [effect] = dependency_effects(models, {}, f.controls, Settings())
    assert effect.subject == "pay" and effect.n == N
    assert effect.raw is not None and effect.adjusted is not None
    # Make the only route-and-time row "fail" at a tiny rate: the odds must not move.
    f.dep_failed["pay"][1] = 0.003
    [again] = dependency_effects(models, {}, f.controls, Settings())
    assert again.raw.estimate == pytest.approx(effect.raw.estimate)
