"""Verdict evaluation (not a test): demo worlds over seeds and sizes, scored against their
planted truth.

    uv run python eval/verdicts.py                          # seeds 1-5 x 3000 and 6000 sessions
    uv run python eval/verdicts.py --seeds 1 2 --sizes 3000 --json -

Per world: verdict accuracy over routes and dependencies (truth "healthy" = verdict "ok"),
delivery-caused routes called "design" (must be 0), and how often the adjusted odds ratio's
95 % interval covers the planted design effect (routes with enough responses; the planted
effect is relative to the site's normal, which is design effect 0 in the demo). Each world is
built, ingested and correlated from scratch in a temporary directory.

``--without browser`` drops the browser's documentLoad spans (page load times then come from
GA4's timing, or the server span); ``--without analytics`` loads no GA4 export (no sessions,
no conversions). Same truth, fewer sources — the way many real installations look.

``--effect-scale F`` multiplies every planted effect on feedback (the delivery slopes, the
device effect and the routes' design effects) by F — worlds the engine was not built on. The
expected verdicts stay those planted at F = 1, so a weaker world can honestly score lower
(a small effect may become "inconclusive"); "delivery→design" must stay 0 at any F.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import sys
import tempfile
import time
from pathlib import Path

TARGET_ACCURACY = 0.90


@contextlib.contextmanager
def effect_scale(factor: float):
    """Scale the planted feedback effects in place (the demo modules share these objects)."""
    from parallax.demo import spec

    feedback, routes = dict(spec.FEEDBACK), dict(spec.ROUTES)
    for key in ("log_load_s", "error_seen", "dependency_failure", "mobile"):
        spec.FEEDBACK[key] *= factor
    for key, route in routes.items():
        spec.ROUTES[key] = dataclasses.replace(route, design=route.design * factor)
    try:
        yield
    finally:
        spec.FEEDBACK.update(feedback)
        spec.ROUTES.update(routes)


def _drop_browser_spans(path: Path) -> None:
    """Keep only the backend's resource spans (service.name other than the browser's)."""
    lines = []
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        kept = [rs for rs in doc["resourceSpans"]
                if not any(a["key"] == "service.name"
                           and a["value"].get("stringValue") == "web-frontend"
                           for a in rs["resource"]["attributes"])]
        if kept:
            lines.append(json.dumps({"resourceSpans": kept}))
    path.write_text("\n".join(lines) + "\n")


def evaluate(seed: int, sessions: int, scale: float = 1.0, without: str | None = None) -> dict:
    from parallax.config import Config
    from parallax.connectors.load import ingest_files
    from parallax.correlate import correlate
    from parallax.db import connect
    from parallax.demo import build_world
    from parallax.options import ingest_options

    with tempfile.TemporaryDirectory() as tmp, effect_scale(scale):
        files = build_world(Path(tmp) / "world", seed=seed, sessions=sessions)
        db = Path(tmp) / "p.duckdb"
        con = connect(db)
        try:
            opts = ingest_options(Config(), db)
            if without == "browser":
                for path in files.traces:
                    _drop_browser_spans(path)
            for kind in ("traces", "feedback", "analytics"):
                if kind != without:
                    ingest_files(con, kind, list(getattr(files, kind)), opts)
            t0 = time.perf_counter()
            run = correlate(con)
            seconds = time.perf_counter() - t0
        finally:
            con.close()
        truth = json.loads(files.truth.read_text())
    return score(truth, [f.to_json() for f in run.findings], seed, sessions, seconds)


def score(truth: dict, findings: list[dict], seed: int, sessions: int, seconds: float) -> dict:
    expected = {("route", k): v for k, v in truth["expected"]["routes"].items()}
    expected |= {("dependency", k): v for k, v in truth["expected"]["dependencies"].items()}
    got = {(f["subject_kind"], f["subject"]): f for f in findings}
    rows, covered, coverable = [], 0, 0
    for key, exp in sorted(expected.items()):
        want = "ok" if exp["verdict"] == "healthy" else exp["verdict"]
        f = got.get(key)
        verdict = f["verdict"] if f else "missing"
        rows.append({"kind": key[0], "subject": key[1], "expected": want, "got": verdict})
        odds = (f or {}).get("odds_ratio_adjusted")
        if key[0] == "route" and odds and f["n_responses"] >= 30:
            coverable += 1
            planted = math.exp(exp.get("design_effect", 0.0))
            covered += odds["ci_low"] <= planted <= odds["ci_high"]
    right = sum(r["expected"] == r["got"] for r in rows)
    return {
        "seed": seed, "sessions": sessions, "correlate_s": round(seconds, 2),
        "accuracy": right / len(rows), "right": right, "subjects": len(rows),
        "delivery_called_design": sum(r["expected"] == "delivery" and r["got"] == "design"
                                      for r in rows),
        "ci_covers_design_effect": covered, "ci_coverable": coverable,
        "wrong": [r for r in rows if r["expected"] != r["got"]],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 6000])
    ap.add_argument("--effect-scale", type=float, default=1.0,
                    help="multiply the planted feedback effects (robustness check)")
    ap.add_argument("--without", choices=("browser", "analytics"),
                    help="leave a source out: browser documentLoad spans, or the GA4 export")
    ap.add_argument("--json", help="write the results as JSON to this path ('-' = stdout)")
    args = ap.parse_args(argv)
    results = []
    for size in args.sizes:
        for seed in args.seeds:
            r = evaluate(seed, size, args.effect_scale, args.without)
            results.append(r)
            wrong = ", ".join(f"{w['subject']} {w['expected']}→{w['got']}" for w in r["wrong"])
            print(f"seed {seed:3} sessions {size:6}: accuracy {r['accuracy']:.0%} "
                  f"({r['right']}/{r['subjects']}), delivery→design {r['delivery_called_design']}"
                  f", CI covers design effect {r['ci_covers_design_effect']}/{r['ci_coverable']}"
                  f", correlate {r['correlate_s']:.1f} s" + (f"; wrong: {wrong}" if wrong else ""),
                  flush=True)
    right = sum(r["right"] for r in results)
    total = sum(r["subjects"] for r in results)
    summary = {
        "worlds": len(results), "accuracy": right / total,
        "delivery_called_design": sum(r["delivery_called_design"] for r in results),
        "ci_coverage": (sum(r["ci_covers_design_effect"] for r in results)
                        / max(1, sum(r["ci_coverable"] for r in results))),
        "target_accuracy": TARGET_ACCURACY, "effect_scale": args.effect_scale,
        "without": args.without,
    }
    print(f"\n{summary['worlds']} worlds: accuracy {summary['accuracy']:.1%} (target "
          f"{TARGET_ACCURACY:.0%}), delivery-caused routes called design: "
          f"{summary['delivery_called_design']} (must be 0), design-effect CI coverage "
          f"{summary['ci_coverage']:.0%}")
    if args.json:
        doc = json.dumps({"summary": summary, "worlds": results}, indent=2)
        (sys.stdout.write(doc + "\n") if args.json == "-" else Path(args.json).write_text(doc))
    ok = summary["accuracy"] >= TARGET_ACCURACY and summary["delivery_called_design"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
