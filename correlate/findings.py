"""Findings: the stable JSON contract (docs/findings.md), its verdict vocabulary, and the
sentence both sides read."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from parallax.numbers import Interval, ci, fmt

if TYPE_CHECKING:  # the statistics modules are heavy to import; findings are read without them
    from parallax.correlate.logit import Estimate
    from parallax.records.annotations import Annotation

__all__ = ["CAUSED", "REVIEW_ORDER", "VERDICTS", "Finding", "Impact", "Interval", "SubjectKind",
           "Verdict", "attach_annotations", "evidence", "odds"]

# The one verdict vocabulary: correlate decides these, commands, the review page and eval read
# them (docs/findings.md#verdicts).
Verdict = Literal["delivery", "design", "mixed", "silent", "inconclusive", "ok"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
# Worst first, as a review reads them; queries/findings.sql sorts the same way (tested).
REVIEW_ORDER: tuple[Verdict, ...] = ("delivery", "mixed", "design", "silent", "inconclusive",
                                     "ok")
CAUSED: tuple[Verdict, ...] = ("delivery", "mixed")  # delivery harms: what the review sums
SubjectKind = Literal["route", "dependency", "segment"]

# ``details`` keys holding an interval object (the other details are numbers, strings, lists).
_DETAIL_INTERVALS = ("delivery_part_log_odds", "odds_ratio_route_only")


@dataclass(frozen=True, kw_only=True)
class Impact:
    """Business impact, each an interval or None (docs/findings.md#impact)."""

    extra_poor_responses: Interval | None = None
    nps_points: Interval | None = None
    lost_conversions: Interval | None = None
    revenue_at_risk: Interval | None = None


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One subject's finding; ``to_json`` is the contract, field for field in this order."""

    subject_kind: SubjectKind
    subject: str
    verdict: Verdict
    n_responses: int
    n_sessions: int | None = None
    poor_rate: float | None = None
    baseline_poor_rate: float | None = None
    odds_ratio_raw: Interval | None = None
    odds_ratio_adjusted: Interval | None = None
    explained_share: float | None = None
    p_value: float | None = None  # the excess (route, segment) or the harm (dependency)
    q_value: float | None = None
    delivered: dict[str, Any] = field(default_factory=dict)
    impact: Impact = field(default_factory=Impact)
    link_coverage: dict[str, float | None] = field(default_factory=dict)
    evidence: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # explained_share_ci, p/q, needs…
    annotations: list[dict[str, Any]] = field(default_factory=list)  # incidents, deploys, …

    def to_json(self) -> dict[str, Any]:
        return {f.name: _clean(_plain(getattr(self, f.name))) for f in fields(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Finding:
        """A stored finding document read back into the contract (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        for k in ("odds_ratio_raw", "odds_ratio_adjusted"):
            values[k] = Interval.from_json(values.get(k))
        values["impact"] = Impact(**{f.name: Interval.from_json((doc.get("impact") or {})
                                                                .get(f.name))
                                     for f in fields(Impact)})
        details = dict(doc.get("details") or {})
        for k in _DETAIL_INTERVALS:
            if k in details:
                details[k] = Interval.from_json(details[k])
        values["details"] = details
        return cls(**values)


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


def odds(e: Estimate | None) -> Interval | None:
    """A log-odds estimate as an odds ratio with its interval."""
    if e is None or math.isnan(e.estimate):
        return None
    return Interval(_exp(e.estimate), _exp(e.ci_low), _exp(e.ci_high))


def _exp(x: float) -> float:
    return math.exp(min(max(x, -50.0), 50.0))


def _plain(v: Any) -> Any:
    """Contract types as JSON values: an interval as {estimate, ci_low, ci_high}."""
    if isinstance(v, Interval):
        return v.to_json()
    if isinstance(v, Impact):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _above(i: Interval | None, level: float) -> bool:
    """The whole interval lies above ``level``."""
    return i is not None and i.low > level


def _established(i: Interval | None, level: float, q: float | None, alpha: float) -> bool:
    """Above ``level`` and surviving the false discovery rate (a one-sided q below alpha)."""
    return i is not None and i.estimate > level and q is not None and q < alpha


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
    rates = (f"{fmt(f.poor_rate, 'pct')} of {f.n_responses} responses were poor "
             f"vs {fmt(f.baseline_poor_rate, 'pct')} {normal}")
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
        return (f"{mood} {part}: delivery explains {fmt(share, 'pct')} of the gap (adjusted "
                f"odds ratio {ci(adjusted, 'or')} at equal delivery).")
    if f.verdict == "delivery" and higher and harm:
        return (f"{mood}, and its own delivery explains {fmt(share, 'pct')} of that excess "
                f"({_driver(det)}{breaches}). Fix delivery, not the design: ≈ "
                f"{ci(imp.extra_poor_responses, 'int')} poor responses and "
                f"{ci(imp.lost_conversions, 'num1')} lost conversions.")
    if f.verdict in ("design", "mixed") and remains:
        q_design = f"q = {det.get('q_value_adjusted'):.2g}"
        tail = (f"delivery explains {fmt(share, 'pct')} of the excess ({breaches}) and the "
                f"rest remains at good delivery (adjusted odds ratio {ci(adjusted, 'or')}, "
                f"{q_design}): fix delivery and review the design." if f.verdict == "mixed"
                and harm else
                f"the excess remains at good delivery (adjusted odds ratio {ci(adjusted, 'or')}, "
                f"{q_design}; {breaches}): a design or content problem, not a delivery one.")
        return f"{mood}; {tail}" if higher else (
            f"{mood} as delivered, but at equal delivery they would be: {tail}")
    raw = f"raw odds ratio {ci(f.odds_ratio_raw, 'or')}"
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
            f"({raw}).")


def _dependency_evidence(f: Finding, breaches: str) -> str:
    imp, d = f.impact, f.delivered
    routes = ", ".join(d.get("routes") or []) or "no page load"
    extra = imp.extra_poor_responses
    head = f"{f.subject} (called on {routes}; {breaches})"
    if f.n_responses == 0:
        state = ("is degraded and no customer feedback links to it: an IT issue to fix"
                 if f.verdict == "silent" else "is healthy; no customer feedback links to it")
        return f"{head} {state}."
    if f.verdict == "delivery" and _above(extra, 0.0):
        compare = (f" ({fmt(f.poor_rate, 'pct')} poor among its {f.n_responses} responses, "
                   f"{fmt(f.baseline_poor_rate, 'pct')} had it been healthy)"
                   if (f.poor_rate or 0) > (f.baseline_poor_rate or 0) else "")
        return (f"{head} costs ≈ {ci(extra, 'int')} poor responses{compare} and "
                f"{ci(imp.lost_conversions, 'num1')} lost conversions.")
    if f.verdict == "silent":
        return (f"{head} is degraded but no material effect on feedback is measured "
                f"(≈ {ci(extra, 'num1')} poor responses among its {f.n_responses}): customers do "
                f"not see it (yet).")
    return (f"{head}: no material effect on feedback ({ci(extra, 'num1')} poor responses among "
            f"its {f.n_responses}).")
