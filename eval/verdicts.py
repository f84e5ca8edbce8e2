"""Verdict evaluation (not a test): worlds over seeds, scored against their planted truth.

    uv run python eval/verdicts.py --family --seeds 1..20        # the world family (tuning)
    uv run python eval/verdicts.py --family --held-out           # held-out family seeds (range 4)
    uv run python eval/verdicts.py                               # the demo world, seeds 1-5
    uv run python eval/verdicts.py --seeds 1 2 --sizes 3000 --json -

``--family`` draws a different shop per seed (``demo/family.py``: route table and names,
framework placeholder styles, which routes and dependencies carry which truth, effect sizes,
sample sizes, consent gaps, missing sources, time zones); without it every seed is the demo
shop. Each world is built, ingested and correlated from scratch in a temporary directory.

Per world: verdict accuracy over routes and dependencies, per-class recall, delivery-caused
routes called "design" (must be 0), how often the adjusted odds ratio's 95 % interval covers
the planted design effect (routes with at least 30 responses; the planted effect is the
route's log-odds against a normal route at good delivery — ``truth.design_at_good_delivery``),
and the share of page views and responses that landed on one of the shop's route templates.

The held-out family seeds (``HELD_OUT_RANGES``) are fixed in the code: the method is changed
looking at training seeds only (1..100), and the held-out figures are reported separately.
Range 1 was fixed before any tuning and scored once; range 2 was fixed then, before the method
was changed again, and scored at the end of that change. Range 3 (40 shops) was fixed before
the next change and scored after it; range 4 (40 shops) was fixed before the change after that
and scored after it. Range 5 (40 shops, 9501..9540; 9401..9420 are ``eval/selection.py``'s) was
fixed before the change to the design-effect interval that followed, and is the one reported now.
Range 6 (40 shops, 9601..9640) is fixed, unscored, for the next change to the method.

``--without browser`` drops the browser's documentLoad spans; ``--without analytics`` loads no
GA4 export. ``--effect-scale F`` multiplies the demo's planted feedback effects by F (expected
verdicts unchanged, so a weaker world can honestly score lower).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import NormalDist
from typing import Any

from parallax.correlate.findings import VERDICTS
from parallax.correlate.settings import Z
from parallax.numbers import fmt

TARGET_ACCURACY = 0.93
# Family seeds never looked at while changing the method. The first range was scored once
# (session of 2026-12-06) and showed mixed recall below target; the second was fixed right
# then, before the method was changed again on training seeds alone, and was scored after;
# the third was fixed (2026-12-06, before any further change) once both had been seen; the
# fourth was fixed (second session of 2026-12-06) before any change made after range 3 was scored.
HELD_OUT_RANGES = {"1": range(9001, 9031), "2": range(9101, 9131), "3": range(9201, 9241),
                   "4": range(9301, 9341), "5": range(9501, 9541), "6": range(9601, 9641)}
HELD_OUT = frozenset(s for r in HELD_OUT_RANGES.values() for s in r)  # never to be tuned on
CLASSES = VERDICTS  # the findings' own vocabulary


def seeds(text: list[str]) -> list[int]:
    """``1 2 5``, ``1..20`` or a mix."""
    out: list[int] = []
    for part in text:
        lo, _, hi = part.partition("..")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def world_spec(seed: int, family: bool, scale: float = 1.0, vitals: bool = False):
    from parallax.demo.family import draw_spec
    from parallax.demo.spec import DEMO
    from parallax.demo.vitals import with_vitals

    spec = draw_spec(seed) if family else DEMO
    spec = with_vitals(spec) if vitals else spec
    if scale == 1.0:
        return spec
    feedback = {k: v * scale if k in ("log_load_s", "error_seen", "dependency_failure", "mobile")
                else v for k, v in spec.feedback.items()}
    routes = {k: dataclasses.replace(r, design=r.design * scale) for k, r in spec.routes.items()}
    return dataclasses.replace(spec, feedback=feedback, routes=routes)


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


@contextmanager
def loaded_world(tmp: str, files: Any,
                 kinds: Iterable[str] = ("traces", "feedback", "analytics")) -> Iterator[Any]:
    """A fresh database in ``tmp`` holding the world's files of ``kinds`` (a demo.DemoFiles),
    as the evaluations load it; closed on exit."""
    from parallax.config import Config
    from parallax.connectors.load import ingest_files
    from parallax.db import connect
    from parallax.options import ingest_options

    db = Path(tmp) / "p.duckdb"
    con = connect(db)
    try:
        opts = ingest_options(Config(), db)
        for kind, paths in files.by_kind(kinds):
            ingest_files(con, kind, paths, opts)
        yield con
    finally:
        con.close()


def evaluate(seed: int, sessions: int | None, scale: float = 1.0, without: str | None = None,
             family: bool = False, vitals: bool = False, keep: Path | None = None) -> dict:
    """One world's scores. ``keep``: a folder where the loaded database and the world's truth
    are kept and found again (a second run only correlates: method changes, same data)."""
    from parallax.demo import build_world

    spec = world_spec(seed, family, scale, vitals)
    size = sessions or spec.notes.get("sessions", 3000)
    name = (f"{'family' if family else 'demo'}-{seed}-{size}-x{scale}-{without or 'all'}"
            f"{'-vitals' if vitals else ''}")
    if keep is not None and (keep / name / "truth.json").exists():
        from parallax.db import connect

        con = connect(keep / name / "p.duckdb")
        try:
            return _scored(con, json.loads((keep / name / "truth.json").read_text()), seed,
                           size, family)
        finally:
            con.close()
    with tempfile.TemporaryDirectory() as tmp:
        files = build_world(Path(tmp) / "world", seed=seed, sessions=size, spec=spec)
        if without == "browser":
            for path in files.traces:
                _drop_browser_spans(path)
        kinds = (k for k in ("traces", "feedback", "analytics") if k != without)
        truth = json.loads(files.truth.read_text())
        with loaded_world(tmp, files, kinds) as con:
            out = _scored(con, truth, seed, size, family)
        if keep is not None:  # the truth last: its presence says the database is whole
            (keep / name).mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(tmp) / "p.duckdb", keep / name / "p.duckdb")
            (keep / name / "truth.json").write_text(json.dumps(truth))
    return out


def _scored(con: Any, truth: dict, seed: int, size: int, family: bool) -> dict:
    from parallax.correlate import correlate

    t0 = time.perf_counter()
    run = correlate(con)
    seconds = time.perf_counter() - t0
    on_template = _on_template(con, set(truth["expected"]["routes"]))
    out = score(truth, [f.to_json() for f in run.findings], seed, size, seconds)
    if "vitals" in truth:
        out["vitals"] = vitals_checks(truth["vitals"], [f.to_json() for f in run.findings])
    return {**out, **on_template, "family": family}


def vitals_checks(planted: dict, findings: list[dict]) -> dict:
    """The two planted Core Web Vitals cases: the layout-shift route is ``delivery`` with CLS
    its largest delivery driver; the slow-input route is ``silent`` with an INP breach."""
    got = {f["subject"]: f for f in findings if f["subject_kind"] == "route"}
    out = {}
    if planted.get("cls_route"):
        f = got.get(planted["cls_route"], {})
        drivers = (f.get("details") or {}).get("delivery_drivers") or [{}]
        out["cls"] = {"route": planted["cls_route"], "verdict": f.get("verdict"),
                      "driver": drivers[0].get("driver"),
                      "right": f.get("verdict") == "delivery"
                      and drivers[0].get("driver") == "vital:CLS"}
    if planted.get("inp_route"):
        f = got.get(planted["inp_route"], {})
        breaches = (f.get("delivered") or {}).get("breaches") or []
        out["inp"] = {"route": planted["inp_route"], "verdict": f.get("verdict"),
                      "right": f.get("verdict") == "silent"
                      and any(b.startswith("INP p75") for b in breaches)}
    return out


def _on_template(con, templates: set[str]) -> dict:
    """Shares of page views and responses whose route is one of the shop's templates."""
    out = {}
    for name, table in (("page_views_on_template", "page_views"),
                        ("responses_on_template", "feedback")):
        rows = con.execute(f"SELECT route, count(*) FROM {table} GROUP BY route").fetchall()
        total = sum(n for _, n in rows)
        out[name] = sum(n for r, n in rows if r in templates) / total if total else None
    return out


def score(truth: dict, findings: list[dict], seed: int, sessions: int, seconds: float) -> dict:
    expected = {("route", k): v for k, v in truth["expected"]["routes"].items()}
    expected |= {("dependency", k): v for k, v in truth["expected"]["dependencies"].items()}
    got = {(f["subject_kind"], f["subject"]): f for f in findings}
    rows, covered, coverable, misses, errors = [], 0, 0, [], []
    power = {"design": [0.0, 0], "mixed": [0.0, 0]}
    for key, exp in sorted(expected.items()):
        want = "ok" if exp["verdict"] == "healthy" else exp["verdict"]
        f = got.get(key)
        verdict = f["verdict"] if f else "missing"
        rows.append({"kind": key[0], "subject": key[1], "expected": want, "got": verdict})
        odds = (f or {}).get("odds_ratio_adjusted")
        if key[0] == "route" and odds and f["n_responses"] >= 30:
            coverable += 1
            effect = exp.get("design_effect_at_good_delivery", exp.get("design_effect", 0.0))
            hit = odds["ci_low"] <= math.exp(effect) <= odds["ci_high"]
            covered += hit
            estimate = {"subject": key[1], "expected": want, "got": verdict,
                        "planted_log_odds": effect, "n_responses": f["n_responses"],
                        "log_odds": [math.log(odds[k]) for k in ("estimate", "ci_low", "ci_high")]}
            errors.append(estimate)
            if not hit:  # which intervals miss, and on which side, tells bias from width
                misses.append(estimate)
            if want in power:
                power[want][0] += _power(effect, odds, f["details"]["alpha"])
                power[want][1] += 1
    right = sum(r["expected"] == r["got"] for r in rows)
    return {
        "seed": seed, "sessions": sessions, "correlate_s": round(seconds, 2),
        "accuracy": right / len(rows), "right": right, "subjects": len(rows),
        "by_class": {c: [sum(r["got"] == c for r in rows if r["expected"] == c),
                         sum(r["expected"] == c for r in rows)] for c in CLASSES},
        "delivery_called_design": sum(r["expected"] == "delivery" and r["got"] == "design"
                                      for r in rows if r["kind"] == "route"),
        "ci_covers_design_effect": covered, "ci_coverable": coverable, "ci_misses": misses,
        "design_estimates": errors,  # every coverable route: planted against estimated
        "design_part_power": power,
        "wrong": [r for r in rows if r["expected"] != r["got"]],
    }


def _power(effect: float, odds: dict, alpha: float) -> float:
    """The chance a one-sided test at ``alpha`` finds the planted design effect, given the
    standard error the method itself reports (read off its interval): what the data allow,
    whatever the rule. BH only lowers it, so summed over routes it bounds the recall an
    unbiased method can expect — it tells a method's misses from the data's thinness."""
    se = (math.log(odds["ci_high"]) - math.log(odds["ci_low"])) / (2 * Z)
    return 1.0 - NormalDist().cdf(NormalDist().inv_cdf(1.0 - alpha) - effect / se) if se else 1.0


def summarise(results: list[dict]) -> dict:
    right = sum(r["right"] for r in results)
    total = sum(r["subjects"] for r in results)
    recall = {}
    for c in CLASSES:
        hit = sum(r["by_class"][c][0] for r in results)
        n = sum(r["by_class"][c][1] for r in results)
        recall[c] = {"right": hit, "of": n, "recall": hit / n if n else None}
    confusion = Counter(f"{w['expected']}→{w['got']}" for r in results for w in r["wrong"])

    def mean(key: str) -> float | None:
        vals = [r[key] for r in results if r.get(key) is not None]
        return sum(vals) / len(vals) if vals else None

    return {
        "worlds": len(results), "accuracy": right / total if total else None,
        "right": right, "subjects": total, "recall": recall,
        "delivery_called_design": sum(r["delivery_called_design"] for r in results),
        "ci_coverage": (sum(r["ci_covers_design_effect"] for r in results)
                        / max(1, sum(r["ci_coverable"] for r in results))),
        "page_views_on_template": mean("page_views_on_template"),
        "responses_on_template": mean("responses_on_template"),
        "confusion": dict(confusion.most_common()),
        # interval misses by planted class and side: "above" = the whole interval lies above
        # the planted design effect (the design part overstated), "below" = understated
        "ci_misses": dict(Counter(
            f"{m['expected']} {'above' if m['log_odds'][1] > m['planted_log_odds'] else 'below'}"
            for r in results for m in r["ci_misses"]).most_common()),
        "target_accuracy": TARGET_ACCURACY,
        # expected detections of the design part (see _power), per planted class
        "design_part_power": {c: [round(sum(r["design_part_power"][c][0] for r in results), 1),
                                  sum(r["design_part_power"][c][1] for r in results)]
                              for c in ("design", "mixed")},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", action="store_true", help="a different shop per seed")
    ap.add_argument("--seeds", nargs="+", default=None, help="e.g. 1 2 3 or 1..20")
    ap.add_argument("--held-out", choices=sorted(HELD_OUT_RANGES), nargs="?", const="5",
                    help="a held-out family seed range: 1 = 9001..9030, 2 = 9101..9130, "
                         "3 = 9201..9240, 4 = 9301..9340, 5 = 9501..9540, "
                         "6 = 9601..9640 (default 5, the one reported; 6 is kept unscored "
                         "for the next change to the method)")
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="sessions per world (family default: each shop's own size)")
    ap.add_argument("--effect-scale", type=float, default=1.0,
                    help="multiply the planted feedback effects (robustness check)")
    ap.add_argument("--without", choices=("browser", "analytics"),
                    help="leave a source out: browser documentLoad spans, or the GA4 export")
    ap.add_argument("--vitals", action="store_true",
                    help="plant the Core Web Vitals cases (demo/vitals.py) and check them")
    ap.add_argument("--keep", type=Path, default=None,
                    help="keep each world's loaded database in this folder and reuse it when "
                         "it is there (only correlate runs again)")
    ap.add_argument("--json", help="write the results as JSON to this path ('-' = stdout)")
    args = ap.parse_args(argv)
    if args.held_out:
        chosen = list(HELD_OUT_RANGES[args.held_out])
        args.family = True
    else:
        chosen = seeds(args.seeds) if args.seeds else (list(range(1, 21)) if args.family
                                                       else [1, 2, 3, 4, 5])
        if args.family and set(chosen) & set(HELD_OUT):
            ap.error("those seeds are held out: use --held-out to report them, never to tune")
    sizes = args.sizes or ([None] if args.family else [3000, 6000])
    results = []
    for size in sizes:
        for seed in chosen:
            r = evaluate(seed, size, args.effect_scale, args.without, args.family, args.vitals,
                         args.keep)
            results.append(r)
            wrong = ", ".join(f"{w['subject']} {w['expected']}→{w['got']}" for w in r["wrong"])
            tpl = r["responses_on_template"]
            print(f"seed {seed:5} sessions {r['sessions']:6}: accuracy {r['accuracy']:.0%} "
                  f"({r['right']}/{r['subjects']}), delivery→design {r['delivery_called_design']}"
                  f", CI covers design effect {r['ci_covers_design_effect']}/{r['ci_coverable']}"
                  + (f", responses on a template {tpl:.0%}" if tpl is not None else "")
                  + f", correlate {r['correlate_s']:.1f} s"
                  + "".join(f"; {k.upper()} {c['route']} {c['verdict']}"
                            f"{' ✓' if c['right'] else ' ✗'}"
                            for k, c in (r.get("vitals") or {}).items())
                  + (f"; wrong: {wrong}" if wrong else ""),
                  flush=True)
    summary = {**summarise(results), "family": args.family, "held_out": args.held_out,
               "seeds": chosen, "effect_scale": args.effect_scale, "without": args.without}
    recall = ", ".join(f"{c} {v['right']}/{v['of']}" for c, v in summary["recall"].items()
                       if v["of"])
    print(f"\n{summary['worlds']} worlds{' (held out)' if args.held_out else ''}: accuracy "
          f"{summary['accuracy']:.1%} ({summary['right']}/{summary['subjects']}; target "
          f"{TARGET_ACCURACY:.0%}); recall {recall}; delivery-caused routes called design: "
          f"{summary['delivery_called_design']} (must be 0); design-effect CI coverage "
          f"{summary['ci_coverage']:.0%}; page views / responses on a template route "
          f"{fmt(summary['page_views_on_template'], 'pct1')} / "
          f"{fmt(summary['responses_on_template'], 'pct1')}")
    power = summary["design_part_power"]
    print("design part detectable at the method's own standard errors (expected detections "
          "by a one-sided test at the planted effect; bounds recall): "
          + ", ".join(f"{c} {x} of {n}" for c, (x, n) in power.items() if n))
    checks = [c for r in results for c in (r.get("vitals") or {}).items()]
    for kind in ("cls", "inp"):
        cases = [c for k, c in checks if k == kind]
        if cases:
            print(f"planted {kind.upper()} case right in {sum(c['right'] for c in cases)}/"
                  f"{len(cases)} worlds")
    if summary["ci_misses"]:
        print("design-effect intervals that miss the planted effect: " + ", ".join(
            f"{k} ×{v}" for k, v in summary["ci_misses"].items()))
    if summary["confusion"]:
        print("mistakes: " + ", ".join(f"{k} ×{v}" for k, v in summary["confusion"].items()))
    if args.json:
        doc = json.dumps({"summary": summary, "worlds": results}, indent=2)
        (sys.stdout.write(doc + "\n") if args.json == "-" else Path(args.json).write_text(doc))
    ok = summary["accuracy"] >= TARGET_ACCURACY and summary["delivery_called_design"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
