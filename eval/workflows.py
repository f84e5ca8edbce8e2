"""Workflow evaluation (not a test): `parallax incident` and `parallax design-check` on demo
worlds over seeds and sizes, scored against the planted truth (``truth.json`` → workflows).

    uv run python eval/workflows.py                 # seeds 1-5 x 3000, 6000, 12000 sessions
    uv run python eval/workflows.py --seeds 1 2 --sizes 3000 --json -

Incident (``inventory-db-crash``, five hours of a failing database): the estimated extra poor
answers against the truth — poor answers received minus those expected had it not happened
(the same sessions replayed without it; ``demo/workflows.py``). Target: within ±25 %.
Design change (``checkout-redesign``, true effect 0, the payment provider's outage the same
week): target "no detectable effect" with an adjusted interval covering 0 while the naive
before/after interval does not — for poor feedback and for conversion (the demo's purchase
model has no design term, ``demo/world.py``: the planted conversion effect is 0 as well).
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

TOLERANCE = 0.25


def evaluate(seed: int, sessions: int) -> dict:
    from parallax.annotations import import_csv
    from parallax.config import Config
    from parallax.connectors.load import ingest_files
    from parallax.correlate.design_check import design_check
    from parallax.correlate.incident import incident_impact
    from parallax.db import connect
    from parallax.demo import build_world
    from parallax.options import ingest_options

    with tempfile.TemporaryDirectory() as tmp:
        files = build_world(Path(tmp) / "world", seed=seed, sessions=sessions)
        truth = json.loads(files.truth.read_text())["workflows"]
        db = Path(tmp) / "p.duckdb"
        con = connect(db)
        try:
            opts = ingest_options(Config(), db)
            for kind in ("traces", "feedback", "analytics"):
                ingest_files(con, kind, list(getattr(files, kind)), opts)
            import_csv(con, files.annotations[0])
            t0 = time.perf_counter()
            inc = incident_impact(con, id=truth["incident"]["id"]).to_json()
            t1 = time.perf_counter()
            change = truth["design_change"]
            dc = design_check(con, change["route"], datetime.fromisoformat(change["at"]))
            t2 = time.perf_counter()
        finally:
            con.close()
    return score(truth, inc, dc.to_json(), seed, sessions, t1 - t0, t2 - t1)


def score(truth: dict, inc: dict, dc: dict, seed: int, sessions: int, inc_s: float,
          dc_s: float) -> dict:
    t = truth["incident"]
    extra = (inc["poor_responses"] or {}).get("extra") or {}
    est = extra.get("estimate")
    err = (est - t["extra_poor_responses"]) / t["extra_poor_responses"] if est is not None \
        else None
    lost = (inc["conversions"] or {}).get("lost") or {}
    adj, naive = dc["adjusted"] or {}, dc["naive"] or {}

    def covers(d: dict, x: float) -> bool | None:
        return None if not d else d["ci_low"] <= x <= d["ci_high"]

    adj_or, naive_or = adj.get("odds_ratio"), naive.get("odds_ratio")
    return {
        "seed": seed, "sessions": sessions, "incident_s": round(inc_s, 2),
        "design_check_s": round(dc_s, 2),
        "incident": {"verdict": inc["verdict"], "truth": t["extra_poor_responses"],
                     "estimate": est, "ci": [extra.get("ci_low"), extra.get("ci_high")],
                     "relative_error": err,
                     "within_tolerance": err is not None and abs(err) <= TOLERANCE,
                     "ci_covers_truth": covers(extra, t["extra_poor_responses"]),
                     "responses": inc["responses"], "lost_conversions_truth":
                         t["lost_conversions"], "lost_conversions": lost.get("estimate"),
                     "lost_conversions_ci": [lost.get("ci_low"), lost.get("ci_high")]},
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


def _or(o: dict | None) -> str:
    return "–" if not o else f"{o['estimate']:.2f} ({o['ci_low']:.2f} to {o['ci_high']:.2f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 6000, 12000])
    ap.add_argument("--json", help="write the results as JSON to this path ('-' = stdout)")
    args = ap.parse_args(argv)
    results = []
    for size in args.sizes:
        for seed in args.seeds:
            r = evaluate(seed, size)
            results.append(r)
            i, d, c = r["incident"], r["design"], r["conversion"]
            est = "–" if i["estimate"] is None else (
                f"{i['estimate']:.1f} ({i['ci'][0]:.1f} to {i['ci'][1]:.1f}), error "
                f"{i['relative_error']:+.0%}")
            print(f"seed {seed:3} sessions {size:6}: incident truth {i['truth']:.1f}, estimate "
                  f"{est} [{i['verdict']}]; design {d['verdict']}, adjusted OR "
                  f"{_or(d['adjusted_or'])}, naive OR {_or(d['naive_or'])}, delivery explains "
                  f"{d['explained_share'] or 0:.0%}; conversion {c['verdict']} "
                  f"({c.get('comparison')}), adjusted OR {_or(c.get('adjusted_or'))}, naive OR "
                  f"{_or(c.get('naive_or'))}, delivery explains "
                  f"{c.get('explained_share') or 0:.0%}, placebo {c.get('placebo')}", flush=True)
    n = len(results)
    summary = {
        "worlds": n,
        "incident_within_25pct": sum(r["incident"]["within_tolerance"] for r in results),
        "incident_ci_covers_truth": sum(bool(r["incident"]["ci_covers_truth"])
                                        for r in results),
        "incident_mean_abs_error": sum(abs(r["incident"]["relative_error"] or 0)
                                       for r in results) / max(n, 1),
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
    print(f"\n{n} worlds: incident extra poor answers within ±25 % of truth in "
          f"{summary['incident_within_25pct']}/{n} (mean |error| "
          f"{summary['incident_mean_abs_error']:.0%}; interval covers truth "
          f"{summary['incident_ci_covers_truth']}/{n}); design change: 'no detectable effect' "
          f"{summary['design_no_effect']}/{n}, naive interval excludes 0 "
          f"{summary['design_naive_excludes_zero']}/{n}, both targets "
          f"{summary['design_target_met']}/{n}; conversion: 'no detectable effect' "
          f"{summary['conversion_no_effect']}/{n}, naive interval excludes 0 "
          f"{summary['conversion_naive_excludes_zero']}/{n}, target "
          f"{summary['conversion_target_met']}/{n}, placebo doubtful "
          f"{summary['conversion_placebo_doubtful']}/{n}")
    if args.json:
        doc = json.dumps({"summary": summary, "worlds": results}, indent=2)
        (sys.stdout.write(doc + "\n") if args.json == "-" else Path(args.json).write_text(doc))
    ok = (summary["incident_within_25pct"] == n and summary["design_target_met"] == n
          and summary["conversion_target_met"] == n)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
