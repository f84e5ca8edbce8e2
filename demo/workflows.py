"""The planted truth of the SRE and marketing workflows, and the incident tracker's export.

- ``incident_truth``: what the short ``inventory-db-crash`` cost on the routes calling the
  dependency during the window. The planted effect (``expected_extra_poor_responses``, what an
  interval must cover) is the poor answers *expected* with the incident minus those expected
  without it: every session on the site in the window is replayed without that incident
  (``world.counterfactual``) and, page by page, P(shown the survey there) × P(poor) ×
  P(answers | poor) is summed for both — no noise of its own beyond the replayed load times,
  and none of the chance in who answered. ``extra_poor_responses`` is the realised version:
  poor answers actually received minus those expected without. Lost conversions likewise, over
  the analytics (consenting) sessions that touched those routes in the window — every such
  session, whether or not it went on to reach the checkout: conversions expected without the
  incident minus those expected with it (``expected_lost_conversions``, the planted effect),
  or minus those that happened (``lost_conversions``).
- ``design_truth``: the checkout redesign's true effect (0) and what a naive before/after sees.
- ``write_tracker``: every incident and the design change as an incident-tracker CSV export.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from parallax.demo.spec import DEMO, DesignChange, Incident, WorldSpec
from parallax.demo.survey import Response, p_poor
from parallax.demo.world import Session, counterfactual

__all__ = ["design_truth", "incident_truth", "workflows_truth", "write_tracker"]

MARGIN_US = 2 * 3600 * 1_000_000  # sessions starting this long before a window may reach it


def _us(dt) -> int:
    return int(dt.timestamp()) * 1_000_000


def _expected_poor(s: Session, routes: set[str], lo: int, hi: int, spec: WorldSpec,
                   survey_share: float = 1.0) -> float:
    """Expected poor answers from pages on ``routes`` viewed in [lo, hi)."""
    weights = [spec.routes[p.route].survey_weight for p in s.pages]
    total = sum(weights)
    shown = spec.survey["show_probability"] * survey_share
    return sum(shown * w / total * p_poor(p, s.visitor.device, spec)
               * spec.survey["respond_if_poor"]
               for p, w in zip(s.pages, weights, strict=True)
               if p.route in routes and lo <= p.start_us < hi)


def _p_purchase(s: Session, spec: WorldSpec) -> float:
    """P(the session buys): every checkout view whose charge went through gets one chance."""
    c, miss, errors = spec.conversion, 1.0, False
    for p in s.pages:
        errors |= p.error_seen
        if spec.routes[p.route].role == "checkout" and not p.visible_failure:
            logit = (c["intercept"] + c["log_load_s"] * math.log(p.load_ms / 1000)
                     + c["error_seen_in_session"] * errors)
            miss *= 1.0 - 1.0 / (1.0 + math.exp(-logit))
    return 1.0 - miss


def incident_truth(inc: Incident, sessions: Sequence[Session],
                   responses: Sequence[Response], survey_share: float = 1.0,
                   spec: WorldSpec = DEMO) -> dict:
    lo, hi = _us(inc.starts), _us(inc.ends)
    routes = {t for t, r in spec.routes.items() if any(d == inc.dependency for d, _ in r.deps)}
    others = tuple(i for i in spec.incidents if i.id != inc.id)
    near = [s for s in sessions if lo - MARGIN_US <= s.start_us < hi]
    replay = [counterfactual(s, len(sessions), others, spec) for s in near]
    in_window = [r for r in responses if r.route in routes and lo <= r.ended_us < hi]
    poor = sum(r.poor for r in in_window)
    exp1 = sum(_expected_poor(s, routes, lo, hi, spec, survey_share) for s in near)
    exp0 = sum(_expected_poor(s, routes, lo, hi, spec, survey_share) for s in replay)
    touched = [i for i, s in enumerate(near) if s.ga4 and any(
        p.route in routes and lo <= p.start_us < hi for p in s.pages)]
    bought = sum(near[i].purchase is not None for i in touched)
    conv0 = sum(_p_purchase(replay[i], spec) for i in touched)
    conv1 = sum(_p_purchase(near[i], spec) for i in touched)
    revenue = [s.purchase.revenue for s in sessions if s.purchase]
    mean_revenue = sum(revenue) / len(revenue) if revenue else 0.0
    return {
        "id": inc.id, "dependency": inc.dependency, "routes": sorted(routes),
        "starts": inc.starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends": inc.ends.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "responses": len(in_window), "poor_responses": poor,
        "expected_poor_responses_without": round(exp0, 3),
        "extra_poor_responses": round(poor - exp0, 3),
        "expected_extra_poor_responses": round(exp1 - exp0, 3),
        "sessions": len(touched), "conversions": bought,
        "expected_conversions_without": round(conv0, 3),
        "lost_conversions": round(conv0 - bought, 3),
        "expected_conversions_with": round(conv1, 3),
        "expected_lost_conversions": round(conv0 - conv1, 3),
        "lost_revenue_eur": round((conv0 - bought) * mean_revenue, 2),
        "definition": "expected_extra_poor_responses (the planted effect) = poor answers "
                      "expected on the routes calling the dependency during the window with "
                      "the incident minus without it (the same sessions replayed); "
                      "extra_poor_responses = those received minus expected without; lost "
                      "conversions alike, over analytics sessions touching those routes in "
                      "the window, reached the checkout or not",
    }


def design_truth(change: DesignChange, responses: Sequence[Response]) -> dict:
    at = _us(change.at)
    mine = [r for r in responses if r.route == change.route]
    before = [r for r in mine if r.ended_us < at]
    after = [r for r in mine if r.ended_us >= at]

    def rate(rs: list[Response], attr: str) -> float | None:
        return round(sum(getattr(r, attr) for r in rs) / len(rs), 4) if rs else None

    return {
        "id": change.id, "route": change.route,
        "at": change.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "true_effect_log_odds": change.effect,
        "description": change.description, "concurrent": list(change.concurrent),
        "expected_verdict": "no detectable effect",
        "responses_before": len(before), "responses_after": len(after),
        "poor_rate_before": rate(before, "poor"), "poor_rate_after": rate(after, "poor"),
        "mean_true_p_poor_before": rate(before, "p_poor"),
        "mean_true_p_poor_after": rate(after, "p_poor"),
    }


def workflows_truth(sessions: Sequence[Session], responses: Sequence[Response],
                    survey_share: float = 1.0, spec: WorldSpec = DEMO) -> dict:
    out = {}
    crash = next((i for i in spec.incidents if i.id == spec.cost_incident), None)
    if crash is not None:
        out["incident"] = incident_truth(crash, sessions, responses, survey_share, spec)
    if spec.design_changes:
        out["design_change"] = design_truth(spec.design_changes[0], responses)
    return out


TRACKER_COLUMNS = ("Incident ID", "Type", "Title", "Service", "Component", "Page",
                   "Started At (UTC)", "Resolved At (UTC)", "Severity", "Status")


def write_tracker(path: Path, spec: WorldSpec = DEMO) -> None:
    """The incidents and the design change as an incident tracker exports them."""
    svc = next(iter(r.service for r in spec.routes.values()))
    rows: list[tuple[str, ...]] = [(i.id, "Incident", i.description, svc, i.dependency, "",
             i.starts.strftime("%Y-%m-%d %H:%M"), i.ends.strftime("%Y-%m-%d %H:%M"),
             "SEV1" if i.fail_rate >= 0.5 else "SEV2", "Resolved") for i in spec.incidents]
    rows += [(s.id, "Incident", s.description, spec.routes[s.route].service, "", s.route,
              s.starts.strftime("%Y-%m-%d %H:%M"), s.ends.strftime("%Y-%m-%d %H:%M"), "SEV3",
              "Resolved") for s in spec.slowdowns]
    rows += [(c.id, "Design change", c.description, spec.routes[c.route].service, "", c.route,
              c.at.strftime("%Y-%m-%d %H:%M"), "", "", "Released") for c in spec.design_changes]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(TRACKER_COLUMNS)
        rows.sort(key=lambda r: (r[6], r[0]))
        w.writerows(rows)
