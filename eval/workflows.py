"""Workflow evaluation (not a test): `parallax incident` and `parallax design-check` on demo
worlds over seeds, sizes and survey shares, scored against the planted truth (``truth.json`` →
workflows).

    uv run python eval/workflows.py                 # seeds 1-5 x 3000, 6000, 12000 sessions
    uv run python eval/workflows.py --seeds 1 2 --sizes 3000 --json -
    uv run python eval/workflows.py --incident-only --seeds 1 2 3 4 5 6 7 8 9 10 \
        --sizes 1500 3000 6000 12000                # interval coverage (incident_coverage.py)
    uv run python eval/workflows.py --incident-only --sizes 3000 --survey-share 0.3
    uv run python eval/workflows.py --family --seeds 1..30      # the world family's outages
    uv run python eval/workflows.py --family --held-out         # held-out family seeds

Incident (``inventory-db-crash``, five hours of a failing database): how often the 95 %
intervals of the extra poor answers and the lost conversions cover the planted expected effect
(``eval/incident_coverage.py``; target ≥ 90 % for both), their widths, and the point estimate
against the realised extra poor answers (poor answers received minus those expected without
the incident: the counterfactual's own accuracy). ``--survey-share`` shows the survey to that
share of the sessions it would reach (the demo's knob): thin windows of a handful of answers.
Design change (``checkout-redesign``, true effect 0, the payment provider's outage the same
week): target "no detectable effect" with an adjusted interval covering 0 while the naive
before/after interval does not — for poor feedback and for conversion (the demo's purchase
model has no design term, ``demo/world.py``: the planted conversion effect is 0 as well).
Tune on seeds 1-10; seeds 11-20 are held out.

``--family`` runs the incident part on the world family (``demo/family.py``; each shop at its
own size unless ``--sizes`` is given): a few hours of one troubled dependency failing outright,
in shops whose routes, names, time zones and effects differ per seed. Shops without such an
outage are skipped, and so are shops where no page load met the outage (`parallax incident`
"nothing to measure"; counted in the summary). ``--held-out`` runs the family's held-out
seeds (``verdicts.HELD_OUT``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from incident_coverage import (
    coverage_met,
    coverage_summary,
    incident_score,
    print_summary,
    world_line,
)
from verdicts import HELD_OUT, HELD_OUT_RANGES, loaded_world, seeds

from parallax.numbers import ci

TOLERANCE = 0.25


def evaluate(seed: int, sessions: int | None, survey_share: float = 1.0,
             design: bool = True, family: bool = False) -> dict | None:
    from parallax.correlate.design_check import design_check
    from parallax.correlate.incident import incident_impact
    from parallax.demo import build_world
    from parallax.demo.family import draw_spec
    from parallax.demo.spec import DEMO
    from parallax.errors import NoDataError
    from parallax.records.annotations import import_csv

    spec = draw_spec(seed) if family else DEMO
    if spec.cost_incident is None:
        return None
    sessions = sessions or spec.notes.get("sessions", 3000)
    with tempfile.TemporaryDirectory() as tmp:
        files = build_world(Path(tmp) / "world", seed=seed, sessions=sessions,
                            survey_share=survey_share, spec=spec)
        truth = json.loads(files.truth.read_text())["workflows"]
        with loaded_world(tmp, files) as con:
            import_csv(con, files.annotations[0])
            t0 = time.perf_counter()
            try:
                inc = incident_impact(con, id=truth["incident"]["id"]).to_json()
            except NoDataError as exc:  # no page load met the outage: nothing to cost out
                return {"seed": seed, "sessions": sessions, "no_exposure": str(exc)}
            t1 = time.perf_counter()
            change = truth.get("design_change")
            dc = (design_check(con, change["route"], datetime.fromisoformat(change["at"]))
                  .to_json() if design and change else None)
            t2 = time.perf_counter()
    out = {"seed": seed, "sessions": sessions, "survey_share": survey_share,
           "incident_s": round(t1 - t0, 2), "incident": incident_score(truth["incident"], inc)}
    if dc is not None:
        out.update(score(truth, dc), design_check_s=round(t2 - t1, 2))
    return out


def score(truth: dict, dc: dict) -> dict:
    adj, naive = dc["adjusted"] or {}, dc["naive"] or {}

    def covers(d: dict, x: float) -> bool | None:
        return None if not d else d["ci_low"] <= x <= d["ci_high"]

    adj_or, naive_or = adj.get("odds_ratio"), naive.get("odds_ratio")
    return {
        "design": {"verdict": dc["verdict"], "adjusted_or": adj_or, "naive_or": naive_or,
                   "did_or": (dc["did"] or {}).get("odds_ratio"),
                   "adjusted_covers_zero": covers(adj_or, 1.0) if adj_or else None,
                   "naive_excludes_zero": (not covers(naive_or, 1.0)) if naive_or else None,
                   "explained_share": dc["explained_share"],
                   "detectable_or": (dc["detectable"] or {}).get("odds_ratio"),
                   "placebo": dc["parallel_trends"],
                   "target_met": dc["verdict"] == "no detectable effect"
                   and bool(adj_or and covers(adj_or, 1.0))
                   and bool(naive_or and not covers(naive_or, 1.0))},
        "conversion": _conversion(truth["design_change"], dc.get("conversion"), covers),
    }


def _conversion(change: dict, c: dict | None, covers) -> dict:
    """The design check on conversion against its planted effect (0 unless truth says)."""
    true = change.get("true_conversion_effect_log_odds", 0.0)
    if not c:
        return {"verdict": None, "truth_log_odds": true, "target_met": False}
    adj, naive = (c["adjusted"] or {}).get("odds_ratio"), (c["naive"] or {}).get("odds_ratio")
    want = "no detectable effect" if true == 0 else ("helped" if true > 0 else "hurt")
    return {"verdict": c["verdict"], "comparison": c["comparison"], "truth_log_odds": true,
            "sessions": c["n"]["changed_before"] + c["n"]["changed_after"],
            "adjusted_or": adj, "naive_or": naive,
            "adjusted_points": (c["adjusted"] or {}).get("points"),
            "naive_points": (c["naive"] or {}).get("points"),
            "adjusted_covers_truth": covers(adj, math.exp(true)) if adj else None,
            "naive_excludes_zero": (not covers(naive, 1.0)) if naive else None,
            "explained_share": c["explained_share"],
            "detectable_or": (c["detectable"] or {}).get("odds_ratio"),
            "placebo": c["parallel_trends"],
            "target_met": c["verdict"] == want and bool(adj and covers(adj, math.exp(true)))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", default=None, help="e.g. 1 2 3 or 1..20")
    ap.add_argument("--sizes", type=int, nargs="+", default=None)
    ap.add_argument("--family", action="store_true",
                    help="the world family's outages instead of the demo's crash")
    ap.add_argument("--held-out", choices=sorted(HELD_OUT_RANGES), nargs="?", const="5",
                    help="a held-out family seed range (verdicts.HELD_OUT_RANGES; default 5)")
    ap.add_argument("--survey-share", type=float, nargs="+", default=[1.0],
                    help="show the survey to this share of the sessions (thin windows)")
    ap.add_argument("--incident-only", action="store_true", help="skip the design check")
    ap.add_argument("--json", help="write the results as JSON to this path ('-' = stdout)")
    args = ap.parse_args(argv)
    family = args.family or bool(args.held_out)
    chosen = list(HELD_OUT_RANGES[args.held_out]) if args.held_out else (
        seeds(args.seeds) if args.seeds else (list(range(1, 21)) if family else [1, 2, 3, 4, 5]))
    if family and not args.held_out and set(chosen) & set(HELD_OUT):
        ap.error("those seeds are held out: use --held-out to report them, never to tune")
    sizes = args.sizes or ([None] if family else [3000, 6000, 12000])
    results, skipped = [], []
    for share in args.survey_share:
        for size in sizes:
            for seed in chosen:
                r = evaluate(seed, size, share, design=not args.incident_only, family=family)
                if r is None:
                    continue
                if "no_exposure" in r:
                    skipped.append(r)
                    print(f"seed {seed:5} sessions {r['sessions']:6} share {share:g}: skipped, "
                          f"{r['no_exposure']}", flush=True)
                    continue
                results.append(r)
                line = (f"seed {seed:5} sessions {r['sessions']:6} share {share:g}: "
                        f"{world_line(r)}")
                if "design" in r:
                    d, c = r["design"], r["conversion"]
                    line += (f"; design {d['verdict']}, adjusted OR "
                             f"{ci(d['adjusted_or'], 'or')}, "
                             f"naive OR {ci(d['naive_or'], 'or')}, delivery explains "
                             f"{d['explained_share'] or 0:.0%}; conversion {c['verdict']} "
                             f"({c.get('comparison')}), adjusted OR "
                             f"{ci(c.get('adjusted_or'), 'or')}, naive OR "
                             f"{ci(c.get('naive_or'), 'or')}, delivery explains "
                             f"{c.get('explained_share') or 0:.0%}, placebo {c.get('placebo')}")
                print(line, flush=True)
    n = len(results)
    errors = [r["incident"]["relative_error_realised"] for r in results
              if r["incident"]["relative_error_realised"] is not None]
    coverage = coverage_summary(results)
    summary = {
        "worlds": n, "skipped_no_exposure": len(skipped), "incident_coverage": coverage,
        "incident_within_25pct_of_realised": sum(abs(e) <= TOLERANCE for e in errors),
        "incident_mean_abs_error_realised": sum(map(abs, errors)) / max(len(errors), 1),
    }
    designed = [r for r in results if "design" in r]
    if designed:
        summary.update(_design_summary(designed))
    print_summary(coverage)
    print(f"\nextra poor answers against the realised extra: within ±25 % in "
          f"{summary['incident_within_25pct_of_realised']}/{len(errors)} measured worlds "
          f"(mean |error| {summary['incident_mean_abs_error_realised']:.0%})")
    if designed:
        m = len(designed)
        print(f"design change: 'no detectable effect' {summary['design_no_effect']}/{m}, naive "
              f"interval excludes 0 {summary['design_naive_excludes_zero']}/{m}, both targets "
              f"{summary['design_target_met']}/{m}; conversion: 'no detectable effect' "
              f"{summary['conversion_no_effect']}/{m}, naive interval excludes 0 "
              f"{summary['conversion_naive_excludes_zero']}/{m}, target "
              f"{summary['conversion_target_met']}/{m}, placebo doubtful "
              f"{summary['conversion_placebo_doubtful']}/{m}")
    if args.json:
        doc = json.dumps({"summary": summary, "worlds": results}, indent=2)
        (sys.stdout.write(doc + "\n") if args.json == "-" else Path(args.json).write_text(doc))
    ok = coverage_met(coverage) and all(
        r["design"]["target_met"] and r["conversion"]["target_met"] for r in designed)
    return 0 if ok else 1


def _design_summary(results: list[dict]) -> dict:
    return {
        "design_target_met": sum(r["design"]["target_met"] for r in results),
        "design_no_effect": sum(r["design"]["verdict"] == "no detectable effect"
                                for r in results),
        "design_naive_excludes_zero": sum(bool(r["design"]["naive_excludes_zero"])
                                          for r in results),
        "conversion_target_met": sum(r["conversion"]["target_met"] for r in results),
        "conversion_no_effect": sum(r["conversion"]["verdict"] == "no detectable effect"
                                    for r in results),
        "conversion_naive_excludes_zero": sum(bool(r["conversion"].get("naive_excludes_zero"))
                                              for r in results),
        "conversion_placebo_doubtful": sum(str(r["conversion"].get("placebo")).startswith(
            "doubtful") for r in results),
    }


if __name__ == "__main__":
    sys.exit(main())
