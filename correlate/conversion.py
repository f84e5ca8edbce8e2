"""Lost conversions and revenue at risk: the delivery model on sessions instead of responses.

Unit: an analytics session with at least one page load that reached the step where
conversion happens (every route all converting sessions visited). Outcome: converted. Features: the
session's slowest page (ln seconds), any error page, per dependency any failure the page
survived; controls: device, country, segment, ln(pages) and which routes the session visited
(the funnel stage — a session that reached checkout both converts more and meets more of
checkout's delivery; comparing within stages keeps that from reading as "slow converts").
A subject's lost conversions: predicted conversions had its delivery been good, minus
predicted conversions as delivered, over the sessions it touched. Revenue at risk: lost
conversions times the mean revenue of a converting session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit

from parallax.correlate.design import build_design
from parallax.correlate.frame import Frame, RouteRows
from parallax.correlate.logit import LogitFit, fit_logit
from parallax.correlate.settings import Settings, Z
from parallax.numbers import Interval

__all__ = ["ConversionModel", "dependency_columns", "fit_conversion", "reached_conversion"]

RowEdit = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class ConversionModel:
    fit: LogitFit
    names: tuple[str, ...]
    rows: dict[str, np.ndarray]  # per session-route row: session index, route, features
    sessions: int
    revenue_per_conversion: float
    controls: np.ndarray  # the non-delivery part of the design (fixed under counterfactuals)
    fill_load: float  # sessions without any load time get the median

    def _design(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        fails = self.names[2:len(self.names) - self.controls.shape[1]]
        return _session_design(rows, fails, self.sessions, self.controls, self.fill_load)

    @cached_property
    def _actual(self) -> np.ndarray:
        """The design as delivered: the same for every subject's counterfactual."""
        return self._design(self.rows)[:, list(self.fit.keep)]

    def lost(self, touched: np.ndarray, edit: RowEdit) -> tuple[Interval, Interval]:
        """Lost conversions and revenue over sessions ``touched`` had ``edit`` been true.

        The interval is the delta method's (first order in the coefficients): at a few
        hundred thousand sessions, parameter draws would cost seconds per subject.
        """
        actual = self._actual[touched]
        cf = self._design(edit(dict(self.rows)))[touched][:, list(self.fit.keep)]
        p_a, p_cf = expit(actual @ self.fit.params), expit(cf @ self.fit.params)
        point = float((p_cf - p_a).sum())
        grad = cf.T @ (p_cf * (1 - p_cf)) - actual.T @ (p_a * (1 - p_a))
        half = Z * float(np.sqrt(max(grad @ self.fit.cov @ grad, 0.0)))
        conv = Interval(point, point - half, point + half)
        r = self.revenue_per_conversion
        return conv, Interval(point * r, (point - half) * r, (point + half) * r)


def fit_conversion(sessions: Frame, routes: RouteRows, settings: Settings,
                   ) -> ConversionModel | None:
    """None when there is nothing to model (no sessions with pages, or no conversions)."""
    keys = sessions.extra["key"]
    eligible = reached_conversion(routes, keys[sessions.y > 0])
    s = sessions.take(np.fromiter((k in eligible for k in keys.tolist()), bool, len(keys))
                      & (sessions.extra["pages"] > 0))
    if s.n < 50 or s.y.min() == s.y.max():
        return None
    index = {k: i for i, k in enumerate(s.extra["key"].tolist())}
    ids = routes.session_id.tolist()
    mine = np.flatnonzero(np.fromiter((k in index for k in ids), bool, len(ids)))
    at = np.array([index[ids[i]] for i in mine.tolist()], dtype=np.int64)
    order = np.argsort(at, kind="stable")  # sessions in order, for the max per session
    routes = routes.take(mine[order])
    rows = {
        "session": at[order],
        "route": routes.route,
        "log_load": routes.log_load_max,
        "error": np.where(np.isnan(routes.error_any), 0.0, routes.error_any),
    }
    rows["log_load"] = np.where(np.isnan(rows["log_load"]), -np.inf, rows["log_load"])
    peers = dependency_columns(routes, rows)
    visited = {f"visited={r}": np.zeros(s.n) for r in sorted(set(rows["route"].tolist()))}
    for name, col in visited.items():
        col[rows["session"][rows["route"] == name.split("=", 1)[1]]] = 1.0
    ctrl = build_design("visited", np.full(s.n, "all", dtype=object),
                        {**s.controls}, delivery={**visited, "log_pages": np.log(s.extra["pages"])},
                        min_level=settings.min_level)
    fail_names = [f"fail:{p}" for p in peers if rows[f"fail:{p}"].any()]
    names = ("log_load", "error", *fail_names, *ctrl.names)
    finite = np.isfinite(rows["log_load"])
    fill = float(np.median(rows["log_load"][finite])) if finite.any() else 0.0
    X = _session_design(rows, fail_names, s.n, ctrl.X, fill)
    fit = fit_logit(s.y, X, names, s.cluster)
    converted = s.y > 0
    revenue = float(s.extra["revenue"][converted].mean()) if converted.any() else 0.0
    return ConversionModel(fit, names, rows, s.n, revenue, ctrl.X, fill)


def reached_conversion(routes: RouteRows, converted: np.ndarray) -> set:
    """Sessions that reached the step where conversion happens.

    The routes every converting session visited are the funnel's necessary steps; a session
    that never reached them could not convert. Comparing it with those that did would read
    "never got to checkout" as an effect of delivery — and separate the model perfectly.
    """
    buyers = set(converted.tolist())
    visits = list(zip(routes.session_id.tolist(), routes.route.tolist(), strict=True))
    bought = [(k, r) for k, r in visits if k in buyers]
    n_buyers = len({k for k, _ in bought})
    necessary: set = set()
    if n_buyers:
        per_route: dict = {}
        for k, r in bought:
            per_route.setdefault(r, set()).add(k)
        necessary = {r for r, ks in per_route.items() if len(ks) == n_buyers}
    if not necessary:
        return {k for k, _ in visits}
    # an unknown (NULL) route is never matched as a step: a session cannot be shown to have
    # visited it, so no session reaches a step list that holds it
    per_session: dict = {}
    for k, r in visits:
        if r is not None and r in necessary:
            per_session.setdefault(k, set()).add(r)
    return {k for k, rs in per_session.items() if len(rs) == len(necessary)}


def _session_design(rows: dict[str, np.ndarray], fails, n: int, controls: np.ndarray,
                    fill_load: float) -> np.ndarray:
    """Session features: the max over the session's route rows (rows sorted by session)."""
    idx = rows["session"]
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]]) if len(idx) else idx

    def top(values: np.ndarray, empty: float) -> np.ndarray:
        out = np.full(n, empty)
        if len(idx):
            out[idx[starts]] = np.maximum.reduceat(values, starts)
        return out

    load = top(rows["log_load"], -np.inf)
    load[~np.isfinite(load)] = fill_load
    cols = [load, top(rows["error"], 0.0), *(top(rows[name], 0.0) for name in fails)]
    return np.column_stack([*cols, controls])


def dependency_columns(routes: RouteRows, rows: dict[str, np.ndarray]) -> list[str]:
    """Per dependency: fail (served), failed and ms columns aligned with the route rows."""
    peers = routes.deps["peer"]
    names = sorted(set(peers.tolist()))
    for peer in names:
        sel = peers == peer
        at = routes.dep_row[sel]
        for prefix, column in (("fail", "failed_served"), ("failed", "failed"), ("ms", "ms"),
                               ("calls", "calls")):
            arr = np.zeros(routes.n)
            values = routes.deps[column][sel]
            arr[at] = np.where(np.isnan(values), 0.0, values)
            rows[f"{prefix}:{peer}"] = arr
    return names
