"""From the exposure tables to findings: fit, attribute, decide, word the evidence.

Imported by ``run.correlate`` in a background thread while the join model runs in SQL: it
pulls in scipy, which costs most of a second to import.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import duckdb
import numpy as np
from scipy.special import ndtr

from parallax.correlate.attribution import SubjectEffect, fit_models, subject_effects
from parallax.correlate.conversion import ConversionModel, fit_conversion
from parallax.correlate.dependencies import DependencyEffect, dependency_effects
from parallax.correlate.design import OTHER
from parallax.correlate.findings import Finding, Impact, SubjectKind, Verdict, evidence, odds
from parallax.correlate.frame import (
    SEGMENT_FACTORS,
    Delivery,
    Frame,
    read_responses,
    read_sessions,
)
from parallax.correlate.settings import Settings, Z
from parallax.correlate.verdicts import (
    bh_tested,
    degraded,
    dependency_verdict,
    design_remains,
    responses_needed,
    subject_verdict,
    unhappier,
)
from parallax.numbers import Interval

__all__ = ["conclude", "segment_findings"]

LINKS = ("session", "user", "route_time", "none")


def conclude(con: duckdb.DuckDBPyConnection, delivery: dict[tuple[str, str], Delivery],
             settings: Settings, *, frames_read: Callable[[], None] | None = None,
             ) -> tuple[list[Finding], int]:
    """Findings for every route, dependency and segment, and how many responses were modelled.
    ``frames_read`` is called (in another thread) once every frame has been read from ``con``:
    the rest does not touch the connection."""
    frame = read_responses(con)
    usable = (frame.link != "none") & np.isfinite(frame.log_load)
    fm = frame.take(usable)
    modelled = fm.n >= 2 * settings.min_level and 0 < fm.y.sum() < fm.n
    findings: list[Finding] = []
    route_effects: dict[str, SubjectEffect] = {}
    dep_effects: list[DependencyEffect] = []
    # The conversion model and the segment models share nothing with the route models but
    # the frames they read: they are fitted in a second thread meanwhile, the sessions read
    # there too (the route models do not touch the connection). numpy, scipy's solvers and
    # DuckDB release the GIL in their heavy parts, so on two cores the fits overlap; each
    # uses its own seeded generator, so the findings do not depend on the order. Once the
    # route models are fitted, the dependencies' effects (which only read them, as the
    # routes' effects do) are worked out in a third thread beside the routes' effects: the
    # route models' thread was the last to finish, with the other core idle meanwhile.
    with ThreadPoolExecutor(1) as pool, ThreadPoolExecutor(1) as side:
        conversion_job = pool.submit(_conversion, con, settings, frames_read)
        segments_job = pool.submit(segment_findings, fm, frame, settings) if modelled else None
        if modelled:
            models = fit_models(fm, "route", fm.route, fm.controls, settings, slopes=True)
            deps_job = side.submit(dependency_effects, models, delivery, fm.controls, settings)
            # the routes whose load makes the site's typical load: Core Web Vitals breaches
            # (layout shifts, slow input) say nothing about a route's load time
            healthy = {s for (k, s), d in delivery.items()
                       if k == "route" and not degraded(replace(d, vitals=()), settings)}
            route_effects = {e.subject: e
                             for e in subject_effects(models, settings, healthy=healthy)}
            dep_effects = deps_job.result()
        conversion = conversion_job.result()
        if segments_job is not None:
            findings += segments_job.result()
    routes = sorted({s for k, s in delivery if k == "route"} | set(frame.route.tolist())
                    - {"(unknown)"})
    findings += _route_findings(routes, route_effects, delivery, frame, conversion, settings)
    findings += _dependency_findings(dep_effects, delivery, conversion, settings)
    findings += _unmodelled_dependencies({e.subject for e in dep_effects}, delivery, frame,
                                         settings)
    return findings, fm.n


def _conversion(con: duckdb.DuckDBPyConnection, settings: Settings,
                frames_read: Callable[[], None] | None = None) -> ConversionModel | None:
    sessions, session_routes = read_sessions(con)  # the last frame read (responses: first)
    if frames_read is not None:
        frames_read()
    return fit_conversion(sessions, session_routes, settings)


def segment_findings(fm: Frame, frame: Frame, settings: Settings) -> list[Finding]:
    """Findings for the levels of every segment factor (device, country, customer segment,
    survey channel) with at least two levels of ``min_level`` modelled responses.

    Each factor is refitted in the route's place, with the route and the other factors as
    controls, and is its own false-discovery family. ``fm`` holds the modelled responses,
    ``frame`` all of them (counts and link coverage).
    """
    out: list[Finding] = []
    for name in SEGMENT_FACTORS:
        values = fm.controls.get(name)
        if values is None:
            continue
        if sum(c >= settings.min_level for c in Counter(values.tolist()).values()) < 2:
            continue
        others = {"route": fm.route, **{k: v for k, v in fm.controls.items() if k != name}}
        seg = fit_models(fm, name, values, others, settings)
        effects = [e for e in subject_effects(seg, settings, relative=True)
                   if e.subject not in ("(unknown)", OTHER)]
        out += _subject_findings("segment", effects, {}, frame, None, settings)
    return out


def _p_of(i: Interval) -> float:
    """Two-sided normal-approximation p-value of an interval's estimate being 0."""
    sd = (i.high - i.low) / (2 * Z)
    return float(2 * ndtr(-abs(i.estimate) / sd)) if sd > 0 else 1.0


def _one_sided(estimate: float, p: float) -> float:
    """One-sided p-value of "above 0" from a two-sided one."""
    if p is None or p != p:  # NaN: not tested
        return p
    return p / 2 if estimate > 0 else 1 - p / 2


def _link_coverage(frame: Frame, rows: np.ndarray) -> dict:
    n = int(rows.sum())
    counts = Counter(frame.link[rows].tolist())
    return {k: (counts.get(k, 0) / n if n else None) for k in LINKS}


def _route_findings(routes, effects, delivery, frame, conversion, settings) -> list[Finding]:
    known = [effects[r] for r in routes if r in effects]
    out = _subject_findings("route", known, delivery, frame, conversion, settings)
    for route in routes:
        if route in effects:
            continue
        rows = frame.route == route
        n = int(rows.sum())
        d = delivery.get(("route", route))
        breaches = degraded(d, settings)
        verdict: Verdict = "silent" if breaches else "inconclusive"
        rest = frame.y[~rows]
        need = responses_needed(n, float(rest.mean()) if len(rest) else 0.0, len(rest), settings)
        out.append(_finish(Finding(
            subject_kind="route", subject=route, verdict=verdict, n_responses=n,
            n_sessions=d.sessions if d else None,
            poor_rate=float(frame.y[rows].mean()) if n else None,
            baseline_poor_rate=float(rest.mean()) if len(rest) else None,
            delivered=_delivered(d, breaches), link_coverage=_link_coverage(frame, rows),
            details={"n_modelled": 0, "responses_needed": need,
                     "min_responses": settings.min_responses,
                     "detectable_odds_ratio": settings.detectable_odds_ratio})))
    return out


def _subject_findings(kind: SubjectKind, effects: list[SubjectEffect], delivery, frame: Frame,
                      conversion: ConversionModel | None, settings: Settings) -> list[Finding]:
    """Each part is judged on its own, within its family (BH across the subjects): the excess
    customers report (raw), the design part (adjusted: what remains at good delivery) and the
    delivery part (routes: what the route's own delivery adds, at the route's own slope;
    segments: how much worse they are served than the rest). The two parts are directional
    questions — is there a design excess, does delivery harm? — so their p-values are
    one-sided."""
    ns = [e.n for e in effects]
    p_adj = [_one_sided(e.adjusted.estimate, e.adjusted.p_value) for e in effects]
    p_harm = [_one_sided(e.delivery_part.estimate, _p_of(e.delivery_part)) for e in effects]
    q_raw, q_adj, q_harm = (bh_tested(ps, ns, settings)
                            for ps in ([e.raw.p_value for e in effects], p_adj, p_harm))
    limit = np.log(settings.detectable_odds_ratio)
    out = []
    for e, qr, qa, qh, pa, ph in zip(effects, q_raw, q_adj, q_harm, p_adj, p_harm, strict=True):
        d = delivery.get(("route", e.subject)) if kind == "route" else None
        breaches = degraded(d, settings)
        harm = (qh is not None and qh < settings.alpha
                and (kind != "route" or e.extra_poor.estimate >= settings.material_rate * e.n))
        # A part counts when it is above zero and survives the false discovery rate. The
        # excess customers report is a check of direction, not a discovery of its own: the
        # route's customers are unhappier than the site's normal (one-sided, at alpha) and
        # the poor rate is above the normal it is cited against (the evidence sentence says
        # "unhappier" only then). Harm without it is no delivery verdict.
        slow = d is not None and d.p75_ms is not None and d.p75_ms > settings.page_load_p75_ms
        remains = design_remains(qa, harm, slow, settings)
        excess = unhappier(e.raw, e.poor_rate, e.baseline_poor_rate, settings)
        unexplained = excess and qr is not None and qr < settings.alpha
        share = e.explained_share.estimate if e.explained_share else None
        powered = e.raw.ci_high < limit
        verdict = subject_verdict(e.n, excess, remains, harm, powered, breaches, settings,
                                  unexplained=unexplained)
        rows = (frame.route == e.subject) if kind == "route" else (
            frame.controls[e.factor] == e.subject)
        n_rest = int((~rows).sum())
        nps = bool(rows.any()) and bool((frame.extra["metric"][rows] == "nps").all())
        impact = Impact(extra_poor_responses=e.extra_poor,
                        nps_points=e.extra_poor.scaled(100.0 / e.n) if nps else None)
        if conversion is not None and kind == "route":
            lost, revenue = _route_conversions(conversion, e.subject, settings)
            impact = replace(impact, lost_conversions=lost, revenue_at_risk=revenue)
        details = {
            "factor": e.factor, "fit": e.method, "n_modelled": e.n,
            "explained_share_ci": ([e.explained_share.low, e.explained_share.high]
                                   if e.explained_share else None),
            "delivery_part_log_odds": e.delivery_part,
            "p_value_adjusted": pa, "q_value_adjusted": qa,
            "p_value_delivery": ph, "q_value_delivery": qh,
            "delivery_drivers": [{"driver": k, "log_odds": v} for k, v in e.drivers],
            "odds_ratio_route_only": odds(e.route_only),
            "min_responses": settings.min_responses, "alpha": settings.alpha,
            "detectable_odds_ratio": settings.detectable_odds_ratio,
            "responses_needed": (responses_needed(e.n, e.baseline_poor_rate, n_rest, settings)
                                 if verdict == "inconclusive" else None),
        }
        out.append(_finish(Finding(
            subject_kind=kind, subject=e.subject, verdict=verdict, n_responses=int(rows.sum()),
            n_sessions=d.sessions if d else None, poor_rate=float(frame.y[rows].mean()),
            baseline_poor_rate=e.baseline_poor_rate, odds_ratio_raw=odds(e.raw),
            odds_ratio_adjusted=odds(e.adjusted), explained_share=share,
            p_value=e.raw.p_value, q_value=qr, delivered=_delivered(d, breaches),
            impact=impact, link_coverage=_link_coverage(frame, rows), details=details)))
    return out


def _dependency_findings(effects: list[DependencyEffect], delivery, conversion, settings,
                         ) -> list[Finding]:
    q = bh_tested([e.p_value for e in effects], [e.n for e in effects], settings)
    out = []
    for e, qv in zip(effects, q, strict=True):
        d = delivery.get(("dependency", e.subject))
        breaches = degraded(d, settings)
        material = e.extra_poor.estimate >= settings.material_rate * e.n
        harmful = material and e.extra_poor.low > 0 and qv is not None and qv < settings.alpha
        impact = Impact(extra_poor_responses=e.extra_poor)
        if conversion is not None:
            lost, revenue = _dependency_conversions(conversion, e.subject, d, settings)
            impact = replace(impact, lost_conversions=lost, revenue_at_risk=revenue)
        delivered = _delivered(d, breaches)
        delivered["routes"] = list(e.routes)
        out.append(_finish(Finding(
            subject_kind="dependency", subject=e.subject,
            verdict=dependency_verdict(e.n, harmful, breaches, settings), n_responses=e.n,
            n_sessions=d.sessions if d else None, poor_rate=e.poor_rate,
            baseline_poor_rate=e.healthy_poor_rate, odds_ratio_raw=odds(e.raw),
            odds_ratio_adjusted=odds(e.adjusted), p_value=e.p_value, q_value=qv,
            delivered=delivered, impact=impact,
            details={"baseline": "predicted poor rate had the dependency been healthy"})))
    return out


def _unmodelled_dependencies(modelled: set[str], delivery, frame: Frame, settings: Settings,
                             ) -> list[Finding]:
    """Every dependency the traces show is a subject, even when no modelled response met it
    (an async job with no customer link, a beacon on pages nobody answered from): its verdict
    rests on its delivered figures alone — silent when degraded, else ok."""
    out = []
    for (kind, peer), d in sorted(delivery.items()):
        if kind != "dependency" or peer in modelled:
            continue
        breaches = degraded(d, settings)
        delivered = {**_delivered(d, breaches), "routes": list(d.related)}
        out.append(_finish(Finding(
            subject_kind="dependency", subject=peer,
            verdict=dependency_verdict(0, False, breaches, settings), n_responses=0,
            n_sessions=d.sessions, delivered=delivered,
            details={"baseline": "no modelled response met it: judged on delivery alone"})))
    return out


def _route_conversions(c: ConversionModel, route: str, s: Settings):
    on = c.rows["route"] == route
    touched = np.zeros(c.sessions, dtype=bool)
    touched[c.rows["session"][on]] = True
    cap = np.log(s.good_load_ms / 1000.0)

    def edit(rows: dict) -> dict:
        rows["log_load"] = np.where(on, np.minimum(rows["log_load"], cap), rows["log_load"])
        rows["error"] = np.where(on, 0.0, rows["error"])
        for k in list(rows):
            if k.startswith("fail:"):
                rows[k] = np.where(on, 0.0, rows[k])
        return rows

    return c.lost(touched, edit)


def _dependency_conversions(c: ConversionModel, peer: str, d: Delivery | None, s: Settings):
    if f"ms:{peer}" not in c.rows:
        return None, None
    called = c.rows[f"ms:{peer}"] > 0
    touched = np.zeros(c.sessions, dtype=bool)
    touched[c.rows["session"][called]] = True
    own = d.ok_median_ms if d and d.ok_median_ms is not None else np.inf
    budget = min(s.dependency_good_ms, own)

    def edit(rows: dict) -> dict:
        calls = np.maximum(rows[f"calls:{peer}"], 1.0)
        saved = np.maximum(0.0, rows[f"ms:{peer}"] - calls * budget)
        load = np.exp(rows["log_load"]) * 1000.0
        rows["log_load"] = np.log(np.maximum(load - saved, 1.0) / 1000.0)
        caused = rows[f"failed:{peer}"] > rows[f"fail:{peer}"]
        rows["error"] = np.where(caused, 0.0, rows["error"])
        rows[f"fail:{peer}"] = np.zeros_like(rows[f"fail:{peer}"])
        return rows

    return c.lost(touched, edit)


def _delivered(d: Delivery | None, breaches: list[str]) -> dict:
    if d is None:
        return {"breaches": breaches}
    return {"pages": d.pages, "calls": d.calls, "p50_ms": d.p50_ms, "p75_ms": d.p75_ms,
            "p95_ms": d.p95_ms, "error_rate": d.error_rate,
            "dependency_failure_rate": d.dependency_failure_rate, "service": d.service,
            "related": list(d.related), "breaches": breaches,
            "vitals": {m: {"p75": p75, "good": good, "unit": unit}
                       for m, p75, good, unit in d.vitals}}


def _finish(f: Finding) -> Finding:
    return replace(f, evidence=evidence(f))
