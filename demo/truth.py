"""truth.json: what was planted and what the generated data measures, side by side.

``expected`` says per route and per dependency which verdict the attribution engine should
reach (at the default size) and why; ``models`` holds the true coefficients; ``measured``
is computed from the simulated world itself (not from parsing the files), so a test can check
that the files carry the planted effects and an evaluation can score the engine.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta

from parallax.demo.spec import DEMO, WorldSpec
from parallax.demo.survey import Response
from parallax.demo.world import Session

__all__ = ["design_at_good_delivery", "truth"]

GOOD_LOAD_S = 2.5  # "good delivery" (Core Web Vitals' LCP target) the design effect is read at


def design_at_good_delivery(spec: WorldSpec, template: str) -> float:
    """The route's log-odds of poor feedback against a route with the site's normal design and
    slope, both at good delivery (2.5 s, no errors): the design effect an engine can measure.
    Equal to the planted ``design`` when the route's load slope is the site's."""
    r = spec.routes[template]
    return r.design + spec.feedback["log_load_s"] * (r.load_slope - 1.0) * math.log(GOOD_LOAD_S)


def truth(seed: int, sessions: Sequence[Session], responses: Sequence[Response],
          previews: int, files: dict[str, list[str]], spec: WorldSpec = DEMO) -> dict:
    return {
        "generator": "parallax.demo" if spec.name == "demo" else f"parallax.demo.{spec.name}",
        "seed": seed,
        "sessions": len(sessions),
        "window": {"start": _iso(spec.start), "end": _iso(spec.start + timedelta(days=spec.days))},
        "site": spec.site,
        "time_zone": spec.tz,
        "files": files,
        "keys": {
            "session": "span attribute session.id = GA4 event param session_id = Qualtrics "
                       "embedded data session_id",
            "trace": "GA4 page_view param trace_id = OTLP traceId of the page view",
            "user": "span attribute enduser.id = GA4 user_id = Qualtrics embedded data user_id",
            "route": "documentLoad http.url / server http.route / GA4 page_location / "
                     "Qualtrics page_url normalise to the same route",
        },
        "expected": {
            "routes": {t: {"verdict": r.verdict, "why": r.why, "service": r.service,
                           "dependencies": [d for d, _ in r.deps], "design_effect": r.design,
                           "design_effect_at_good_delivery": round(
                               design_at_good_delivery(spec, t), 6),
                           "load_slope": r.load_slope, "role": r.role,
                           "http_route": r.route_attr}
                       for t, r in spec.routes.items()},
            "dependencies": {n: {"verdict": d.verdict, "why": d.why, "on_failure": d.on_failure,
                                 "caller": d.caller}
                             for n, d in spec.dependencies.items()},
            "verdict_names": "delivery | design | mixed | silent | inconclusive; healthy = no "
                             "finding",
        },
        "models": {
            "feedback": {
                "kind": "logistic", "outcome": "poor = NPS 0-6 (Q1_NPS_GROUP 1, detractor)",
                "unit": "the page view where the in-page survey was shown",
                "features": {
                    "log_load_s": "ln(documentLoad duration in seconds)",
                    "error_seen": "the page's server span returned 5xx",
                    "dependency_failure": "a dependency failure shown to the customer "
                                          "(on_failure = failure_page)",
                    "mobile": "device category mobile",
                    "design_effect": "per route, see expected.routes",
                },
                "coefficients": dict(spec.feedback),
            },
            # Outcome-dependent answering shifts the intercept among respondents by
            # ln(P(answer | poor) / P(answer | not poor)); the slopes stay as planted.
            "survey": {**spec.survey, "respondent_intercept_shift": round(math.log(
                spec.survey["respond_if_poor"] / spec.survey["respond_if_not_poor"]), 4),
                "page_weights": {t: r.survey_weight for t, r in spec.routes.items()}},
            "confounder": {"device": {k: dict(v) for k, v in spec.devices.items()},
                           "note": "mobile renders slower and answers more negatively at equal "
                           "delivery; mobile visits the store locator twice as often on entry"},
            "conversion": {**spec.conversion,
                           "unit": "a checkout page view whose charge succeeded"},
        },
        "incidents": [{**{k: v for k, v in asdict(i).items() if k not in ("starts", "ends")},
                       "starts": _iso(i.starts), "ends": _iso(i.ends)} for i in spec.incidents],
        "counts": _counts(sessions, responses, previews),
        "measured": {"routes": _routes(sessions, responses, spec),
                     "dependencies": _deps(sessions, spec)},
        **({"world": dict(spec.notes)} if spec.notes else {}),
    }


def _counts(sessions: Sequence[Session], responses: Sequence[Response], previews: int) -> dict:
    pages = [pv for s in sessions for pv in s.pages]
    buys = [s.purchase for s in sessions if s.purchase]
    return {
        "sessions": len(sessions), "page_views": len(pages),
        "spans": sum(len(pv.spans) for pv in pages) + sum(len(s.side) for s in sessions),
        "ga4_sessions": sum(s.ga4 for s in sessions),
        "sessions_without_analytics_consent": sum(not s.ga4 for s in sessions),
        "responses": len(responses), "survey_previews": previews,
        "responses_without_session_id": sum(r.session_id is None for r in responses),
        "poor_responses": sum(r.poor for r in responses),
        "purchases": len(buys), "revenue_eur": round(sum(p.revenue for p in buys), 2),
    }


def _routes(sessions: Sequence[Session], responses: Sequence[Response], spec: WorldSpec) -> dict:
    by_route: dict[str, list] = defaultdict(list)
    for s in sessions:
        for pv in s.pages:
            by_route[pv.route].append(pv)
    answers: dict[str, list[Response]] = defaultdict(list)
    for r in responses:
        answers[r.route].append(r)
    out = {}
    for template in spec.routes:
        pvs, rs = by_route.get(template, []), answers.get(template, [])
        loads = sorted(pv.load_ms for pv in pvs)
        out[template] = {
            "page_views": len(pvs),
            "load_ms_p50": _pct(loads, 0.5), "load_ms_p95": _pct(loads, 0.95),
            "error_rate": _rate(sum(pv.error_seen for pv in pvs), len(pvs)),
            "dependency_failure_rate": _rate(sum(bool(pv.failed_deps) for pv in pvs), len(pvs)),
            "visible_failure_rate": _rate(sum(pv.visible_failure for pv in pvs), len(pvs)),
            "responses": len(rs),
            "poor_rate": _rate(sum(r.poor for r in rs), len(rs)),
            "mean_true_p_poor": _rate(sum(r.p_poor for r in rs), len(rs)),
            "mobile_share_of_responses": _rate(sum(r.device == "mobile" for r in rs), len(rs)),
        }
    return out


def _deps(sessions: Sequence[Session], spec: WorldSpec) -> dict:
    calls: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for s in sessions:
        for span in (*(x for pv in s.pages for x in pv.spans), *s.side):
            if span.kind == 3:
                attrs = dict(span.attrs)
                peer = attrs.get("peer.service") or attrs["server.address"]
                ms = (span.end_ns - span.start_ns) / 1e6
                calls[peer].append((ms, span.error is not None))
    out = {}
    for name in spec.dependencies:
        c = calls.get(name, [])
        durations = sorted(d for d, _ in c)
        out[name] = {"calls": len(c), "failure_rate": _rate(sum(f for _, f in c), len(c)),
                     "duration_ms_p50": _pct(durations, 0.5),
                     "duration_ms_p95": _pct(durations, 0.95)}
    return out


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def _rate(num: float, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
