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

__all__ = ["ConversionModel", "conversion_step", "dependency_columns", "fit_conversion",
           "reached_conversion"]

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
    """None when there is nothing to model (no sessions with pages, or no conversions).
    ``routes``' rows name their sessions by row of ``sessions`` (``read_sessions``)."""
    keep = reached_conversion(routes, sessions.y > 0) & (sessions.extra["pages"] > 0)
    s = sessions.take(keep)
    if s.n < 50 or s.y.min() == s.y.max():
        return None
    position = np.cumsum(keep) - 1  # a session's row in s
    mine = np.flatnonzero(keep[routes.session])
    at = position[routes.session[mine]]
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
    visited = {}
    for code in _sorted_codes(routes.route_names, np.unique(routes.route_code)):
        col = np.zeros(s.n)
        col[rows["session"][routes.route_code == code]] = 1.0
        visited[f"visited={routes.route_names[code]}"] = col
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


def _sorted_codes(names: np.ndarray, codes: np.ndarray) -> list[int]:
    """``codes`` in the order of their names (as ``sorted`` orders the names)."""
    return [int(c) for _, c in sorted(zip(names[codes].tolist(), codes.tolist(), strict=True))]


def conversion_step(routes: RouteRows, converted: np.ndarray) -> np.ndarray:
    """The codes of the routes every converting session (``converted``: per session of the
    frame) visited: the funnel's necessary steps."""
    bought = converted[routes.session]
    n_buyers = np.unique(routes.session[bought]).size
    if not n_buyers:
        return np.zeros(0, dtype=np.int64)
    # (session, route) pairs are unique: a route's rows among the buyers are its buyers
    per_route = np.bincount(routes.route_code[bought], minlength=len(routes.route_names))
    return np.flatnonzero(per_route == n_buyers)


def reached_conversion(routes: RouteRows, converted: np.ndarray) -> np.ndarray:
    """Per session of the frame (``converted``: the converting ones): did it reach the step
    where conversion happens?

    The routes every converting session visited are the funnel's necessary steps; a session
    that never reached them could not convert. Comparing it with those that did would read
    "never got to checkout" as an effect of delivery — and separate the model perfectly.
    """
    necessary = conversion_step(routes, converted)
    reached = np.zeros(len(converted), dtype=bool)
    if not necessary.size:  # no step known: every session with a route row
        reached[routes.session] = True
        return reached
    # an unknown (NULL) route is never matched as a step: a session cannot be shown to have
    # visited it, so no session reaches a step list that holds it
    known = np.array([name is not None for name in routes.route_names.tolist()], dtype=bool)
    step = np.isin(routes.route_code, necessary) & known[routes.route_code]
    counts = np.bincount(routes.session[step], minlength=len(converted))
    return counts == necessary.size


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
    names = []
    for code in _sorted_codes(routes.peer_names, np.unique(routes.peer_code)):
        peer = routes.peer_names[code]
        names.append(peer)
        sel = routes.peer_code == code
        at = routes.dep_row[sel]
        for prefix, column in (("fail", "failed_served"), ("failed", "failed"), ("ms", "ms"),
                               ("calls", "calls")):
            arr = np.zeros(routes.n)
            values = routes.deps[column][sel]
            arr[at] = np.where(np.isnan(values), 0.0, values)
            rows[f"{prefix}:{peer}"] = arr
    return names
