"""Did a design change help or hurt, or was the page just slow that week?

Difference in differences of poor feedback on the changed route against control routes,
before vs after the change, on the responses linked to what they got (the join model):

  naive       changed route only: poor ~ after                      (what a dashboard shows)
  DiD         poor ~ route + controls + after + changed×after       (the site-wide change out)
  adjusted    the DiD + log_load + error + fail:<dependency>        (delivery out as well)

Logistic regressions with standard errors clustered by user (``logit.fit_logit``); the design
matrix is ``design.build_design``'s, so controls and delivery mean what they mean in
``correlate``. The naive change splits, on the adjusted model, into a site-wide part (the
``after`` coefficient: what changed for every route, delivery held equal), a delivery part
(the changed route's mean delivery term after minus before) and what remains (the adjusted
estimate); the three add up to about the naive change. A placebo change halfway through the before
period tests the parallel-trends assumption. The verdict is read off the adjusted estimate's
interval, with the smallest effect it could have detected (80 % power).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
from scipy import stats
from scipy.special import expit

from parallax.correlate.attribution import delivery_columns
from parallax.correlate.design import build_design
from parallax.correlate.frame import Frame, read_responses
from parallax.correlate.logit import Estimate, fit_logit
from parallax.correlate.settings import Settings
from parallax.errors import ConfigError, NoDataError
from parallax.exposure import JoinSettings, build_exposure

__all__ = ["DesignCheck", "Effect", "design_check", "estimate"]

MIN_SIDE = 20  # modelled responses on the changed route before and after


@dataclass(frozen=True)
class Effect:
    """A change in log-odds of poor feedback and in poor-rate points (changed route, after)."""

    log_odds: Estimate
    points: tuple[float, float, float]  # estimate, ci_low, ci_high: share of responses
    parts: dict | None = None  # adjusted model: site_wide, delivery, remaining (log-odds)

    def to_json(self) -> dict:
        e = self.log_odds
        return {"odds_ratio": _span((e.estimate, e.ci_low, e.ci_high), math.exp),
                "log_odds": _r(e.estimate), "p_value": _r(e.p_value),
                "points": _span(self.points)}


@dataclass(frozen=True)
class DesignCheck:
    route: str
    changed_at: datetime
    since: datetime
    until: datetime
    controls: tuple[str, ...]
    verdict: str  # helped | hurt | no detectable effect | too thin
    n: dict  # responses modelled: changed before/after, controls before/after
    poor_rate: dict  # observed, same four cells
    naive: Effect | None
    did: Effect | None
    adjusted: Effect | None
    parts: dict  # naive = site_wide + delivery + remaining (log-odds)
    explained_share: float | None  # delivery part / naive change
    detectable: dict | None  # minimum detectable effect: odds ratio, points
    placebo: Effect | None
    parallel_trends: str
    evidence: str

    def to_json(self) -> dict:
        return {"route": self.route, "changed_at": _iso(self.changed_at),
                "since": _iso(self.since), "until": _iso(self.until),
                "controls": list(self.controls), "verdict": self.verdict, "n": self.n,
                "poor_rate": {k: _r(v) for k, v in self.poor_rate.items()},
                "naive": _j(self.naive), "did": _j(self.did), "adjusted": _j(self.adjusted),
                "parts": {k: _r(v) for k, v in self.parts.items()},
                "explained_share": _r(self.explained_share), "detectable": self.detectable,
                "placebo": _j(self.placebo), "parallel_trends": self.parallel_trends,
                "evidence": self.evidence}


def design_check(con: duckdb.DuckDBPyConnection, route: str, changed_at: datetime, *,
                 controls: list[str] | None = None, window: timedelta = timedelta(days=14),
                 settings: Settings | None = None, join: JoinSettings | None = None,
                 ) -> DesignCheck:
    s = settings or Settings()
    since, until = changed_at - window, changed_at + window
    build_exposure(con, join or JoinSettings(), since, until)
    frame = read_responses(con)
    times = np.array([t for _, t in con.execute(
        "SELECT response_key, submitted_at FROM exposure_responses ORDER BY response_key"
    ).fetchall()], dtype=object)
    usable = (frame.link != "none") & np.isfinite(frame.log_load)
    if not (frame.route == route).any():
        raise NoDataError(f"no responses on {route} between {_iso(since)} and {_iso(until)}")
    if controls is None:
        counts = {r: int(((frame.route == r) & usable).sum()) for r in set(frame.route.tolist())}
        controls = sorted(r for r, c in counts.items()
                          if r not in (route, "(unknown)") and c >= s.min_level)
    elif route in controls:
        raise ConfigError(f"--control-routes must not include the changed route {route}")
    if not controls:
        raise NoDataError("no control routes with responses in the window")
    f = frame.take(usable & np.isin(frame.route, [route, *controls]))
    after = np.array([t >= changed_at for t in times[usable & np.isin(
        frame.route, [route, *controls])]], dtype=float)
    treated = (f.route == route).astype(float)
    cells = {"changed_before": (treated == 1) & (after == 0),
             "changed_after": (treated == 1) & (after == 1),
             "controls_before": (treated == 0) & (after == 0),
             "controls_after": (treated == 0) & (after == 1)}
    n = {k: int(v.sum()) for k, v in cells.items()}
    rates = {k: (float(f.y[v].mean()) if v.any() else None) for k, v in cells.items()}
    if min(n.values()) < MIN_SIDE or f.y.min() == f.y.max():
        thin = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n.items())
        return DesignCheck(route, changed_at, since, until, tuple(controls), "too thin", n,
                           rates, None, None, None, {}, None, None, None, "not tested",
                           f"Too little feedback to judge the change on {route} ({thin} "
                           f"modelled responses; at least {MIN_SIDE} in each are needed).")
    rng = np.random.default_rng(s.seed)
    naive, did, adjusted = estimate(f, treated, after, s, rng)
    placebo = _placebo(f, times[usable & np.isin(frame.route, [route, *controls])],
                       treated, after, since, changed_at, rng, s)
    a = adjusted.log_odds
    verdict = ("hurt" if a.ci_low > 0 else "helped" if a.ci_high < 0
               else "no detectable effect")
    parts = {"naive": naive.log_odds.estimate, **adjusted.parts}
    share = (min(max(parts["delivery"] / parts["naive"], 0.0), 1.0)
             if parts["naive"] > 0 else None)
    mde = (stats.norm.ppf(1 - s.alpha / 2) + stats.norm.ppf(s.power)) * a.se
    base = rates["changed_after"] - adjusted.points[0]
    p0 = min(max(base, 1e-6), 1 - 1e-6)
    detectable = {"odds_ratio": _r(math.exp(mde)), "points": _r(
        float(expit(math.log(p0 / (1 - p0)) + mde)) - p0), "power": s.power, "alpha": s.alpha}
    trends = ("not tested (too few responses before the change)" if placebo is None else
              "doubtful: a placebo change halfway through the before period shows an effect"
              if placebo.log_odds.ci_low > 0 or placebo.log_odds.ci_high < 0 else
              "plausible: no placebo effect halfway through the before period")
    out = DesignCheck(route, changed_at, since, until, tuple(controls), verdict, n, rates,
                      naive, did, adjusted, parts, share, detectable, placebo, trends, "")
    return DesignCheck(**{**out.__dict__, "evidence": _evidence(out)})


def estimate(f: Frame, treated: np.ndarray, after: np.ndarray, s: Settings,
             rng: np.random.Generator | None = None) -> tuple[Effect, Effect, Effect]:
    """Naive before/after on the changed rows, the DiD, and the DiD adjusted for delivery.
    ``treated`` and ``after`` are 0/1 per row of ``f``."""
    rng = rng or np.random.default_rng(s.seed)
    return (_naive(f, treated == 1, after, rng, s), _did(f, treated, after, False, rng, s),
            _did(f, treated, after, True, rng, s))


def _estimate_points(fit, X: np.ndarray, col: int, rows: np.ndarray, rng, s: Settings,
                     ) -> tuple[float, float, float]:
    """Mean change in P(poor) over ``rows`` from the effect column (set to 0 for 'without')."""
    without = X.copy()
    without[:, col] = 0.0
    draws = np.vstack([fit.params, fit.draws(s.draws, rng)])
    diff = (fit.predict_draws(X[rows], draws) - fit.predict_draws(without[rows], draws))
    per = diff.mean(axis=1)
    return float(per[0]), float(np.percentile(per[1:], 2.5)), float(np.percentile(per[1:], 97.5))


def _naive(f: Frame, mine: np.ndarray, after: np.ndarray, rng, s: Settings) -> Effect:
    X = np.column_stack([np.ones(int(mine.sum())), after[mine]])
    fit = fit_logit(f.y[mine], X, ("const", "after"), f.cluster[mine])
    rows = after[mine] == 1
    return Effect(fit.contrast({"after": 1.0}), _estimate_points(fit, X, 1, rows, rng, s))


def _did(f: Frame, treated, after, adjust: bool, rng, s: Settings) -> Effect:
    extra = {"after": after, "changed:after": treated * after}
    if adjust:
        extra |= delivery_columns(f)
    d = build_design("route", f.route, f.controls, delivery=extra, min_level=s.min_level)
    fit = fit_logit(f.y, d.X, d.names, f.cluster)
    rows = (treated * after) == 1
    effect = fit.contrast({"changed:after": 1.0})
    parts = None
    if adjust:  # the naive change, split: site-wide time effect, delivery, what remains
        beta = {name: fit.params[i] for i, name in enumerate(fit.names)}
        cols = [c for c in delivery_columns(f) if c in beta]
        term = d.X[:, [d.column(c) for c in cols]] @ np.array([beta[c] for c in cols])
        mine = treated == 1
        parts = {"site_wide": float(beta.get("after", 0.0)),
                 "delivery": float(term[mine & (after == 1)].mean()
                                   - term[mine & (after == 0)].mean()),
                 "remaining": effect.estimate}
    return Effect(effect, _estimate_points(fit, d.X, d.column("changed:after"), rows, rng, s),
                  parts)


def _placebo(f: Frame, times, treated, after, since, changed_at, rng, s) -> Effect | None:
    before = after == 0
    if not before.any():
        return None
    first = min(t for t in times[before])
    mid = max(first, since) + (changed_at - max(first, since)) / 2
    fake = np.array([t >= mid for t in times[before]], dtype=float)
    sub = f.take(before)
    t = treated[before]
    sides = [((t == a) & (fake == b)).sum() for a in (0, 1) for b in (0, 1)]
    if min(sides) < MIN_SIDE // 2 or sub.y.min() == sub.y.max():
        return None
    try:
        return _did(sub, t, fake, True, rng, s)
    except ValueError:
        return None


def _evidence(c: DesignCheck) -> str:
    a, nv = c.adjusted, c.naive
    assert a is not None and nv is not None
    pts = (f"{nv.points[0]:+.0%} naive ({nv.points[1]:+.0%} to {nv.points[2]:+.0%}), "
           f"{a.points[0]:+.0%} once delivery and the site-wide change are accounted for "
           f"({a.points[1]:+.0%} to {a.points[2]:+.0%})")
    explained = ("" if c.explained_share is None
                 else f"; delivery explains {c.explained_share:.0%} of the naive change")
    head = {"hurt": f"The change on {c.route} hurt", "helped": f"The change on {c.route} helped",
            "no detectable effect": f"No detectable effect of the change on {c.route}"}[c.verdict]
    tail = ("" if c.verdict != "no detectable effect" or not c.detectable else
            f" It could have detected an odds ratio of {c.detectable['odds_ratio']:.2f} "
            f"(≈ {c.detectable['points']:+.0%} poor rate) with {c.detectable['power']:.0%} "
            "power.")
    return f"{head}: poor feedback {pts}{explained}.{tail} Parallel trends: {c.parallel_trends}."


def _j(e: Effect | None) -> dict | None:
    return e.to_json() if e is not None else None


def _span(t, fn=lambda x: x) -> dict:
    return {"estimate": _r(fn(t[0])), "ci_low": _r(fn(t[1])), "ci_high": _r(fn(t[2]))}


def _r(x):
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
