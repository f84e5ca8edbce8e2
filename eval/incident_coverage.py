"""Incident interval coverage (used by ``eval/workflows.py``): how often `parallax incident`'s
95 % intervals cover the planted effect, and how wide they are, per world size and survey share.

The estimand is the planted *expected* effect on the treated routes (``demo/workflows.py``):
extra poor answers = poor answers expected with the incident minus without it, lost
conversions = conversions expected without it minus with it — not the realised counts, whose
chance (which customers answered, which bought) the interval must carry. Worlds the command
calls "too thin" give no interval: they are counted apart, neither covered nor missed.
Target: coverage ≥ 90 % over the measured worlds, for both quantities. Beside each width, the
floor: the width the observed count's chance alone gives (the counterfactual known exactly).
"""

from __future__ import annotations

import math
from collections import defaultdict

from parallax.numbers import Interval, ci, fmt

TARGET_COVERAGE = 0.90
BANDS = ((0, 4), (5, 9), (10, 19), (20, 49), (50, None))


def incident_score(truth: dict, inc: dict) -> dict:
    """One world: estimate, interval, width and coverage for both quantities."""
    p, c = inc["poor_responses"] or {}, inc["conversions"] or {}
    poor = _one(p.get("extra") or {}, truth["expected_extra_poor_responses"],
                truth["extra_poor_responses"], p and (p["observed"], p["exposure"], 0.0))
    conv = _one(c.get("lost") or {}, truth["expected_lost_conversions"],
                truth["lost_conversions"], c and (c["observed"], c["sessions"], 0.0))
    realised = truth["extra_poor_responses"]
    err = ((poor["estimate"] - realised) / realised
           if poor["estimate"] is not None and realised else None)
    return {"verdict": inc["verdict"], "responses": inc["responses"],
            "sessions": (inc["conversions"] or {}).get("sessions"), "notes": inc["notes"],
            "poor": poor, "lost_conversions": conv,
            # the counterfactual's own accuracy: estimate against the realised extra
            "relative_error_realised": err}


def _one(d: dict, planted: float, realised: float, counts) -> dict:
    if not d or d.get("estimate") is None:
        return {"estimate": None, "ci": None, "truth": planted, "truth_realised": realised,
                "covers": None, "width": None}
    from parallax.correlate.counterfactual import extra_interval

    lo, hi = d["ci_low"], d["ci_high"]
    floor = extra_interval(*counts, 0.0)
    return {"estimate": d["estimate"], "ci": [lo, hi], "truth": planted,
            "truth_realised": realised, "covers": lo <= planted <= hi, "width": hi - lo,
            "floor_width": floor[1] - floor[0], "covers_realised": lo <= realised <= hi}


def coverage_summary(results: list[dict]) -> dict:
    """Coverage and mean width per (sessions, survey share) cell, per band of answers in the
    window, and over all worlds."""
    cells: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        cells[f"{r['sessions']} sessions, survey share {r['survey_share']:g}"].append(r)
    for lo, hi in BANDS:  # thin windows wherever they come from
        band = [r for r in results if lo <= r["incident"]["responses"] <= (hi or math.inf)]
        if band:
            cells[f"{lo}{'+' if hi is None else f'-{hi}'} answers in the window"] = band
    out = {name: _cell(rs) for name, rs in cells.items()}
    out["all"] = _cell(results)
    return out


def _cell(rs: list[dict]) -> dict:
    doc = {"worlds": len(rs),
           "too_thin": sum(r["incident"]["verdict"] == "too thin" for r in rs),
           "mean_responses": sum(r["incident"]["responses"] for r in rs) / max(len(rs), 1)}
    # a world's conversions do not depend on the survey share: count each (seed, size) once
    once = list({(r["seed"], r["sessions"]): r for r in reversed(rs)}.values())
    for key, among in (("poor", rs), ("lost_conversions", once)):
        got = [r["incident"][key] for r in among if r["incident"][key]["covers"] is not None]
        n = len(got)
        doc[key] = {"measured": n, "covered": sum(g["covers"] for g in got),
                    "coverage": sum(g["covers"] for g in got) / n if n else None,
                    "mean_width": sum(g["width"] for g in got) / n if n else None,
                    "mean_floor_width": sum(g["floor_width"] for g in got) / n if n else None,
                    "mean_truth": sum(g["truth"] for g in got) / n if n else None,
                    "mean_estimate": sum(g["estimate"] for g in got) / n if n else None}
    return doc


def coverage_met(summary: dict) -> bool:
    every = summary["all"]
    return all(every[k]["coverage"] is not None and every[k]["coverage"] >= TARGET_COVERAGE
               for k in ("poor", "lost_conversions"))


def world_line(r: dict) -> str:
    i = r["incident"]

    def one(d: dict, what: str) -> str:
        if d["estimate"] is None:
            return f"{what} –"
        return (f"{what} {ci(Interval.around(d['estimate'], d['ci']), 'num1')} vs planted "
                f"{d['truth']:.1f} {'covered' if d['covers'] else 'MISSED'}")

    return (f"incident [{i['verdict']}, {i['responses']} answers]: "
            f"{one(i['poor'], 'extra poor')}; {one(i['lost_conversions'], 'lost conversions')}")


def print_summary(summary: dict) -> None:
    print("\nincident intervals (95 %) against the planted expected effect:")
    for name, c in summary.items():
        p, lc = c["poor"], c["lost_conversions"]
        print(f"  {name:34} worlds {c['worlds']:3} (too thin {c['too_thin']}, "
              f"{c['mean_responses']:.1f} answers in the window): extra poor covered "
              f"{p['covered']}/{p['measured']} ({fmt(p['coverage'], 'pct')}), mean width "
              f"{fmt(p['mean_width'], 'num1')} (floor {fmt(p['mean_floor_width'], 'num1')}, "
              f"truth {fmt(p['mean_truth'], 'num1')}); lost conversions covered {lc['covered']}/"
              f"{lc['measured']} ({fmt(lc['coverage'], 'pct')}), mean width "
              f"{fmt(lc['mean_width'], 'num1')} (floor {fmt(lc['mean_floor_width'], 'num1')}, "
              f"truth {fmt(lc['mean_truth'], 'num1')})")
