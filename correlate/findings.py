"""Findings: the stable JSON contract (docs/findings.md) and the sentence both sides read."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the statistics modules are heavy to import; findings are read without them
    from parallax.annotations import Annotation
    from parallax.correlate.attribution import Interval
    from parallax.correlate.logit import Estimate

__all__ = ["VERDICTS", "Finding", "attach_annotations", "evidence", "odds", "span"]

VERDICTS = ("delivery", "design", "mixed", "silent", "inconclusive", "ok")


@dataclass(frozen=True)
class Finding:
    subject_kind: str  # route | dependency | segment
    subject: str
    verdict: str
    n_responses: int
    n_sessions: int | None
    poor_rate: float | None
    baseline_poor_rate: float | None
    odds_ratio_raw: dict | None  # {estimate, ci_low, ci_high}
    odds_ratio_adjusted: dict | None
    explained_share: float | None
    p_value: float | None  # the excess (route, segment) or the harm (dependency)
    q_value: float | None
    delivered: dict
    impact: dict  # extra_poor_responses, nps_points, lost_conversions, revenue_at_risk
    link_coverage: dict
    evidence: str = ""
    details: dict = field(default_factory=dict)  # explained_share_ci, adjusted p/q, needs…
    annotations: list = field(default_factory=list)  # overlapping incidents, deploys, changes

    def to_json(self) -> dict[str, Any]:
        return _clean(asdict(self))


def attach_annotations(findings: Iterable[Finding], annotations: Iterable[Annotation],
                       since: datetime | None, until: datetime | None) -> list[Finding]:
    """Each finding with the annotations that touch its subject within the run window.

    Route: annotations on the route, on a dependency it calls, or on its service without a
    route. Dependency: annotations on it. Segment: site-wide ones only (no route, service or
    dependency). Site-wide annotations go with every finding.
    """
    window = [a for a in annotations if a.overlaps(since, until)]
    out = []
    for f in findings:
        hits = [a.to_json() for a in window if _touches(a, f)]
        out.append(replace(f, annotations=hits) if hits else f)
    return out


def _touches(a: Annotation, f: Finding) -> bool:
    if a.route is None and a.service is None and a.dependency is None:
        return True
    if f.subject_kind == "route":
        if a.route is not None:
            return a.route == f.subject
        if a.dependency is not None:
            return a.dependency in (f.delivered.get("related") or ())
        return a.service == f.delivered.get("service")
    return f.subject_kind == "dependency" and a.dependency == f.subject


def odds(e: Estimate | None) -> dict | None:
    """A log-odds estimate as an odds ratio with its interval."""
    if e is None or math.isnan(e.estimate):
        return None
    return {"estimate": _exp(e.estimate), "ci_low": _exp(e.ci_low), "ci_high": _exp(e.ci_high)}


def span(i: Interval | None, scale: float = 1.0) -> dict | None:
    if i is None:
        return None
    return {"estimate": i.estimate * scale, "ci_low": i.ci_low * scale,
            "ci_high": i.ci_high * scale}


def _exp(x: float) -> float:
    return math.exp(min(max(x, -50.0), 50.0))


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _num(d: dict | None, digits: int = 0) -> str:
    if not d or d.get("estimate") is None:
        return "–"
    return f"{d['estimate']:.{digits}f} ({d['ci_low']:.{digits}f} to {d['ci_high']:.{digits}f})"


def _above(d: dict | None, level: float) -> bool:
    """The whole interval lies above ``level``."""
    return bool(d and d.get("ci_low") is not None and d["ci_low"] > level)


def _established(d: dict | None, level: float, q: float | None, alpha: float) -> bool:
    """Above ``level`` and surviving the false discovery rate (a one-sided q below alpha)."""
    return bool(d and d.get("estimate") is not None and d["estimate"] > level and (
        q is not None and q < alpha))


DRIVERS = {"vital:CLS": "layout shifts (CLS)", "vital:INP": "slow responses to input (INP)",
           "vital:LCP": "slow largest contentful paint (LCP)"}


def _driver(det: dict) -> str:
    """"mainly <vital>; " — when a Core Web Vital is the delivery problem adding most to the
    excess, more than all the others together (details.delivery_drivers). Load, errors and
    failures are already named by the breaches the sentence cites."""
    parts = [(p["driver"], p["log_odds"]) for p in det.get("delivery_drivers") or ()]
    positive = sum(v for _, v in parts if v > 0)
    if not parts or not parts[0][0].startswith("vital:") or parts[0][1] <= positive / 2:
        return ""
    return f"mainly {DRIVERS.get(parts[0][0], parts[0][0])}; "


def evidence(f: Finding) -> str:
    """One plain sentence (or two) a marketer and an SRE both understand.

    Every comparative word is chosen by the numbers it cites, never by the verdict alone:
    "unhappier" only when the cited poor rate is above the cited normal, "remains" only with
    an adjusted odds ratio whose interval is above 1, "costs" only with an interval of extra
    poor responses above 0 (tests/correlate/test_evidence.py checks each claim)."""
    d, imp, det = f.delivered, f.impact, f.details
    where = f"on {f.subject}" if f.subject_kind == "route" else (
        f"among {f.subject}" if f.subject_kind == "segment" else f"behind {f.subject}")
    normal = "among other customers" if f.subject_kind == "segment" else (
        "expected on the site's normal route")
    breaches = "; ".join(d.get("breaches") or []) or "delivery within thresholds"
    if f.subject_kind == "dependency":
        return _dependency_evidence(f, breaches)
    if f.n_responses == 0:
        if f.verdict == "silent":
            return (f"Delivery {where} is degraded ({breaches}) and no customer feedback is "
                    f"about it yet: an IT issue to fix before it shows in feedback.")
        return f"No feedback {where} yet ({breaches})."
    if f.verdict in ("inconclusive", "silent") and f.n_responses < det.get("min_responses", 0):
        need = det.get("responses_needed")
        more = (f"about {max(need - f.n_responses, 0)} more responses are needed to detect "
                f"odds of poor feedback {det.get('detectable_odds_ratio', 2):g}x higher"
                if need else "far more responses are needed to tell")
        lead = (f"Delivery {where} is degraded ({breaches}), but too little feedback to tell "
                if f.verdict == "silent" else f"Too little feedback {where}: ")
        return f"{lead}{f.n_responses} responses; {more}."
    higher = (f.poor_rate is not None and f.baseline_poor_rate is not None
              and f.poor_rate > f.baseline_poor_rate)
    rates = (f"{_pct(f.poor_rate)} of {f.n_responses} responses were poor "
             f"vs {_pct(f.baseline_poor_rate)} {normal}")
    mood = (f"Customers {where} are unhappier ({rates})" if higher
            else f"Customers {where} are no unhappier ({rates})")
    share = f.explained_share
    adjusted = f.odds_ratio_adjusted
    alpha = det.get("alpha", 0.05)
    remains = _established(adjusted, 1.0, det.get("q_value_adjusted"), alpha)
    harm = _established(det.get("delivery_part_log_odds"), 0.0, det.get("q_value_delivery"), alpha)
    if f.subject_kind == "segment" and f.verdict in ("delivery", "design", "mixed"):
        part = ("at equal delivery: not a delivery problem" if f.verdict == "design" and remains
                else "partly because they are served worse" if f.verdict == "mixed"
                else "because they are served worse")
        return (f"{mood} {part}: delivery explains {_pct(share)} of the gap (adjusted odds ratio "
                f"{_num(adjusted, 2)} at equal delivery).")
    if f.verdict == "delivery" and higher and harm:
        return (f"{mood}, and its own delivery explains {_pct(share)} of that excess "
                f"({_driver(det)}{breaches}). Fix delivery, not the design: ≈ "
                f"{_num(imp.get('extra_poor_responses'))} poor responses and "
                f"{_num(imp.get('lost_conversions'), 1)} lost conversions.")
    if f.verdict in ("design", "mixed") and remains:
        q_design = f"q = {det.get('q_value_adjusted'):.2g}"
        tail = (f"delivery explains {_pct(share)} of the excess ({breaches}) and the rest "
                f"remains at good delivery (adjusted odds ratio {_num(adjusted, 2)}, "
                f"{q_design}): fix delivery and review the design." if f.verdict == "mixed"
                and harm else
                f"the excess remains at good delivery (adjusted odds ratio {_num(adjusted, 2)}, "
                f"{q_design}; {breaches}): a design or content problem, not a delivery one.")
        return f"{mood}; {tail}" if higher else (
            f"{mood} as delivered, but at equal delivery they would be: {tail}")
    raw = f"raw odds ratio {_num(f.odds_ratio_raw, 2)}"
    if f.verdict in ("silent", "ok") and higher and f.p_value is not None and (
            f.p_value / 2 < det.get("alpha", 0.05)):
        # unhappier by the one-sided check, but not a discovery across the subjects tested
        # a subject below min_responses is not in the family: it has no q-value to cite
        survives = ("does not survive the false discovery rate across the subjects tested "
                    f"(q = {f.q_value:.2g})" if f.q_value is not None else
                    f"rests on fewer than {det.get('min_responses', 30)} responses, too few to "
                    "be tested")
        excess = (f"customers {where} are slightly unhappier ({rates}; {raw}), an excess that "
                  f"{survives}")
        if f.verdict == "silent":
            return (f"Delivery {where} is degraded ({breaches}) and {excess}: an IT issue to "
                    f"fix before it shows in feedback.")
        tail = "" if f.subject_kind == "segment" else f"; {breaches}"
        return f"{excess[0].upper()}{excess[1:]}{tail}."
    if f.verdict == "silent":
        return (f"Delivery {where} is degraded ({breaches}) but customers are not measurably "
                f"unhappier ({rates}; {raw}): an IT issue to fix before it shows in feedback.")
    if f.verdict == "ok":
        tail = "" if f.subject_kind == "segment" else f" and {breaches}"
        return f"No measurable excess of poor feedback {where} ({rates}; {raw}){tail}."
    return (f"Inconclusive {where}: {rates}; the data cannot yet separate delivery from design "
            f"(raw odds ratio {_num(f.odds_ratio_raw, 2)}).")


def _dependency_evidence(f: Finding, breaches: str) -> str:
    imp, d = f.impact, f.delivered
    routes = ", ".join(d.get("routes") or []) or "no page load"
    extra = imp.get("extra_poor_responses")
    head = f"{f.subject} (called on {routes}; {breaches})"
    if f.n_responses == 0:
        state = ("is degraded and no customer feedback links to it: an IT issue to fix"
                 if f.verdict == "silent" else "is healthy; no customer feedback links to it")
        return f"{head} {state}."
    if f.verdict == "delivery" and _above(extra, 0.0):
        compare = (f" ({_pct(f.poor_rate)} poor among its {f.n_responses} responses, "
                   f"{_pct(f.baseline_poor_rate)} had it been healthy)"
                   if (f.poor_rate or 0) > (f.baseline_poor_rate or 0) else "")
        return (f"{head} costs ≈ {_num(extra)} poor responses{compare} and "
                f"{_num(imp.get('lost_conversions'), 1)} lost conversions.")
    if f.verdict == "silent":
        return (f"{head} is degraded but no material effect on feedback is measured "
                f"(≈ {_num(extra, 1)} poor responses among its {f.n_responses}): customers do "
                f"not see it (yet).")
    return (f"{head}: no material effect on feedback ({_num(extra, 1)} poor responses among its "
            f"{f.n_responses}).")
