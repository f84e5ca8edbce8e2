"""Self-selection evaluation (not a test): family worlds with planted self-selection, scored
against their planted truth.

    uv run python eval/selection.py                       # training family seeds 31..40
    uv run python eval/selection.py --held-out            # held-out seeds (fixed below)
    uv run python eval/selection.py --seeds 31 32 --sessions 3000 --json out.json

Each world is a family shop (``demo/family.py``) built with ``PlantedSelection()`` (the
generator's option, off by default): on half of the routes slow pages are likelier to be
answered (log-odds +1 per ln(load s / 2.5)), and one country answers with log-odds +1
whatever it was served. The survey's offers are written as GA4 ``survey_impression`` events.
Built, ingested and correlated from scratch in a temporary directory.

Per world:
- flags: a planted route flagged (``details.selection.selection``) / a route without planted
  selection flagged; the planted country flagged; dependencies flagged (none planted).
  Device levels are reported apart: no selection is planted on device, but every shop of the
  family lets unhappy customers answer more (``respond_if_poor``), and mobile customers are
  unhappier, so device answers differ through the outcome, which the model cannot see.
- bias of the delivery estimate: per route with at least 30 responses, the route's delivery
  part (mean log-odds of poor feedback above good delivery, ``delivery_log_odds``) unweighted
  and weighted, minus the planted mean over the OFFERED page views (``truth.selection``) —
  what the route's delivery costs everyone asked, not only those who chose to answer.

The held-out seeds are fixed in the code before any figure of them was looked at; nothing in
the method (trim percentiles, load cap, grace) is tuned on them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from verdicts import loaded_world

TRAINING = range(31, 41)
# Fixed 2026-12-06 (issue 21) before any world of them was built: never to be tuned on.
HELD_OUT = range(9401, 9421)
MIN_RESPONSES = 30


def evaluate(seed: int, sessions: int | None) -> dict:
    from parallax.correlate import correlate
    from parallax.demo import build_world
    from parallax.demo.family import draw_spec
    from parallax.demo.selection import PlantedSelection

    spec = draw_spec(seed)
    size = sessions or spec.notes.get("sessions", 3000)
    with tempfile.TemporaryDirectory() as tmp:
        files = build_world(Path(tmp) / "world", seed=seed, sessions=size, spec=spec,
                            selection=PlantedSelection())
        with loaded_world(tmp, files) as con:
            t0 = time.perf_counter()
            run = correlate(con)
            seconds = time.perf_counter() - t0
            truth = json.loads(files.truth.read_text())["selection"]
    return {**score(truth, [f.to_json() for f in run.findings]), "seed": seed,
            "sessions": size, "correlate_s": seconds, "run": run.selection}


def score(truth: dict, findings: list[dict]) -> dict:
    planted = set(truth["routes"])
    flags = {"planted_route": [0, 0], "other_route": [0, 0], "country": [0, 0],
             "dependency": [0, 0], "device": [0, 0]}
    bias: list[dict] = []
    for f in findings:
        sel = (f.get("details") or {}).get("selection")
        if not sel:
            continue
        kind, subject = f["subject_kind"], f["subject"]
        key = ("planted_route" if subject in planted else "other_route") if kind == "route" \
            else "country" if kind == "segment" and subject == truth["country"] \
            else "device" if kind == "segment" and subject in ("mobile", "desktop") \
            else "dependency" if kind == "dependency" else None
        if key is not None and sel.get("q_value") is not None:  # in the FDR family
            flags[key][0] += bool(sel["selection"])
            flags[key][1] += 1
        est = sel.get("delivery_log_odds")
        planted_part = truth["delivery_part"].get(subject, {}).get("offered_mean")
        if (kind == "route" and est and planted_part is not None
                and f["n_responses"] >= MIN_RESPONSES):
            bias.append({"route": subject, "planted": subject in planted,
                         "unweighted": est["unweighted"]["estimate"] - planted_part,
                         "weighted": est["weighted"]["estimate"] - planted_part,
                         "answered_gap": (truth["delivery_part"][subject]["answered_mean"]
                                          or 0.0) - planted_part})
    return {"flags": flags, "bias": bias}


def summarise(results: list[dict]) -> dict:
    flags = {k: [sum(r["flags"][k][i] for r in results) for i in (0, 1)]
             for k in results[0]["flags"]} if results else {}
    rows = [b for r in results for b in r["bias"]]

    def stat(sel, field) -> dict:
        xs = [b[field] for b in rows if sel(b)]
        return {"routes": len(xs), "mean": statistics.fmean(xs) if xs else None,
                "sd": statistics.stdev(xs) if len(xs) > 1 else None,
                "mean_abs": statistics.fmean(abs(x) for x in xs) if xs else None}

    def shift(sel) -> dict:
        """Weighted minus unweighted on the same route: what the weights alone moved."""
        xs = [b["weighted"] - b["unweighted"] for b in rows if sel(b)]
        return {"mean": statistics.fmean(xs) if xs else None,
                "se": statistics.stdev(xs) / len(xs) ** 0.5 if len(xs) > 1 else None}

    def world_range(sel, field) -> list[float] | None:
        """The lowest and highest mean bias of one world (how much a single shop varies)."""
        means = [statistics.fmean(b[field] for b in r["bias"] if sel(b)) for r in results
                 if any(sel(b) for b in r["bias"])]
        return [min(means), max(means)] if means else None

    groups = {"all": lambda b: True, "planted": lambda b: b["planted"],
              "other": lambda b: not b["planted"]}
    return {"worlds": len(results), "flags": flags,
            "bias": {g: {f: stat(sel, f) for f in ("unweighted", "weighted", "answered_gap")}
                     for g, sel in groups.items()},
            "shift": {g: shift(sel) for g, sel in groups.items()},
            "world_range": {g: {f: world_range(sel, f) for f in ("unweighted", "weighted")}
                            for g, sel in groups.items()}}


def _sd(stat: dict) -> str:
    """The spread over routes (one route's bias is the noisy unit, not the mean)."""
    return "n/a" if stat["sd"] is None else f"{stat['sd']:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=None)
    ap.add_argument("--held-out", action="store_true", help=f"seeds {HELD_OUT.start}.."
                    f"{HELD_OUT.stop - 1}, fixed before any was looked at")
    ap.add_argument("--sessions", type=int, default=None,
                    help="sessions per world (default: each shop's own size)")
    ap.add_argument("--json", help="write the results as JSON to this path")
    args = ap.parse_args(argv)
    chosen = list(HELD_OUT) if args.held_out else (args.seeds or list(TRAINING))
    if not args.held_out and set(chosen) & set(HELD_OUT):
        ap.error("those seeds are held out: use --held-out to report them, never to tune")
    results = []
    for seed in chosen:
        r = evaluate(seed, args.sessions)
        results.append(r)
        f = r["flags"]
        b = r["bias"]

        def mb(k: str, b=b) -> float:
            return statistics.fmean(abs(x[k]) for x in b) if b else float("nan")

        print(f"seed {seed:5} sessions {r['sessions']:5}: flagged planted routes "
              f"{f['planted_route'][0]}/{f['planted_route'][1]}, other routes "
              f"{f['other_route'][0]}/{f['other_route'][1]}, country {f['country'][0]}/"
              f"{f['country'][1]}, dependencies {f['dependency'][0]}/{f['dependency'][1]}; "
              f"mean |bias| of the delivery part unweighted {mb('unweighted'):.3f} → weighted "
              f"{mb('weighted'):.3f} ({len(b)} routes); correlate {r['correlate_s']:.1f} s",
              flush=True)
    summary = summarise(results)
    print(f"\n{summary['worlds']} worlds{' (held out)' if args.held_out else ''}:")
    for k, (hit, of) in summary["flags"].items():
        print(f"  flagged {k}: {hit}/{of}")
    for g, stats in summary["bias"].items():
        u, w, a = stats["unweighted"], stats["weighted"], stats["answered_gap"]
        if u["routes"]:
            print(f"  delivery part bias ({g} routes, {u['routes']}): unweighted mean "
                  f"{u['mean']:+.3f} (sd {_sd(u)}) |{u['mean_abs']:.3f}|, weighted "
                  f"{w['mean']:+.3f} (sd {_sd(w)}) |{w['mean_abs']:.3f}|; planted "
                  f"answered-vs-offered gap {a['mean']:+.3f}")
            sh, wr = summary["shift"][g], summary["world_range"][g]
            se = "n/a" if sh["se"] is None else f"{sh['se']:.3f}"
            print(f"    weighted minus unweighted, route by route: {sh['mean']:+.3f} (se {se}); "
                  "mean bias of one world: unweighted "
                  f"{wr['unweighted'][0]:+.3f} to {wr['unweighted'][1]:+.3f}, weighted "
                  f"{wr['weighted'][0]:+.3f} to {wr['weighted'][1]:+.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "worlds": results},
                                              indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
