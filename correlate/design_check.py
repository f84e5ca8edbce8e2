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
interval, with the smallest effect it could have detected (80 % power). The engine is
``did``'s; the same check on sessions' conversion is ``design_conversion``'s, reported beside
(``conversion``) with its own verdict — the poor-feedback fields are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np

from parallax.correlate.design_conversion import ConversionCheck, conversion_check
from parallax.correlate.did import Effect, detectable, estimate, placebo, rnd, trends_text
from parallax.correlate.frame import read_responses
from parallax.correlate.settings import Settings
from parallax.errors import ConfigError, NoDataError
from parallax.exposure import JoinSettings, build_exposure

__all__ = ["DesignCheck", "Effect", "design_check", "estimate"]

MIN_SIDE = 20  # modelled responses on the changed route before and after


@dataclass(frozen=True)
class DesignCheck:
    route: str
    changed_at: datetime
    since: datetime
    until: datetime
    controls: tuple[str, ...]
    verdict: str  # helped | hurt | no detectable effect | too thin (poor feedback)
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
    conversion: ConversionCheck | None = None  # the same check on sessions' conversion

    def to_json(self) -> dict:
        return {"route": self.route, "changed_at": _iso(self.changed_at),
                "since": _iso(self.since), "until": _iso(self.until),
                "controls": list(self.controls), "verdict": self.verdict, "n": self.n,
                "poor_rate": {k: rnd(v) for k, v in self.poor_rate.items()},
                "naive": _j(self.naive), "did": _j(self.did), "adjusted": _j(self.adjusted),
                "parts": {k: rnd(v) for k, v in self.parts.items()},
                "explained_share": rnd(self.explained_share), "detectable": self.detectable,
                "placebo": _j(self.placebo), "parallel_trends": self.parallel_trends,
                "evidence": self.evidence,
                "conversion": self.conversion.to_json() if self.conversion else None}


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
    conv = conversion_check(con, route, changed_at, since, controls, s)
    keep = usable & np.isin(frame.route, [route, *controls])
    f = frame.take(keep)
    after = np.array([t >= changed_at for t in times[keep]], dtype=float)
    treated = (f.route == route).astype(float)
    cells = {"changed_before": (treated == 1) & (after == 0),
             "changed_after": (treated == 1) & (after == 1),
             "controls_before": (treated == 0) & (after == 0),
             "controls_after": (treated == 0) & (after == 1)}
    n = {k: int(v.sum()) for k, v in cells.items()}
    rates = {k: (float(f.y[v].mean()) if v.any() else None) for k, v in cells.items()}
    if min(n.values()) < MIN_SIDE or f.y.min() == f.y.max():
        thin = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n.items())
        out = DesignCheck(route, changed_at, since, until, tuple(controls), "too thin", n,
                          rates, None, None, None, {}, None, None, None, "not tested",
                          f"Too little feedback to judge the change on {route} ({thin} "
                          f"modelled responses; at least {MIN_SIDE} in each are needed).", conv)
        return DesignCheck(**{**out.__dict__, "evidence": _with_conversion(out.evidence, conv)})
    rng = np.random.default_rng(s.seed)
    naive, did, adjusted = estimate(f, treated, after, s, rng)
    plac = placebo(f, times[keep], treated, after, since, changed_at, s, rng)
    a = adjusted.log_odds
    verdict = ("hurt" if a.ci_low > 0 else "helped" if a.ci_high < 0
               else "no detectable effect")
    parts = {"naive": naive.log_odds.estimate, **(adjusted.parts or {})}
    share = (min(max(parts["delivery"] / parts["naive"], 0.0), 1.0)
             if parts["naive"] > 0 else None)
    after_rate = rates["changed_after"]
    assert after_rate is not None  # every cell has at least MIN_SIDE responses here
    mde = detectable(a.se, after_rate - adjusted.points[0], s)
    out = DesignCheck(route, changed_at, since, until, tuple(controls), verdict, n, rates,
                      naive, did, adjusted, parts, share, mde, plac,
                      trends_text(plac, "responses"), "", conv)
    return DesignCheck(**{**out.__dict__, "evidence": _with_conversion(_evidence(out), conv)})


def _with_conversion(text: str, conv: ConversionCheck | None) -> str:
    return text if conv is None else f"{text} {conv.evidence}"


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


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
