"""Contact-centre evaluation (not a test): `parallax contacts metrics` and `parallax contacts
drivers` on demo worlds over seeds, scored against the planted truth (``truth.json`` →
``contact_centre``, written by ``demo/contact_truth.py``).

    uv run python eval/contacts.py                  # seeds 1-5, 3000 sessions
    uv run python eval/contacts.py --seeds 1 2 --sessions 6000 --json -

- FCR and AHT (all contacts and per reason): must equal the truth exactly (to 1e-6), computed
  from the simulated calls with the same definitions.
- Call drivers (24 h window): per truth row, does the 95 % Newcombe interval of the excess
  share cover ``expected_excess_share`` (the risk difference the planted process produces
  between the exposed and the clean sessions)? ``caused_excess_share`` (the part the row's own
  failures cause) is shown beside it: where failures come together the two differ, and the
  observational excess tracks the first.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def evaluate(seed: int, sessions: int) -> dict:
    from parallax.config import Config
    from parallax.connectors.load import ingest_files
    from parallax.contacts import contact_metrics
    from parallax.db import connect
    from parallax.demo import build_world
    from parallax.drivers import call_drivers
    from parallax.exposure import JoinSettings, refresh_pages
    from parallax.options import ingest_options

    with tempfile.TemporaryDirectory() as tmp:
        files = build_world(Path(tmp) / "world", seed=seed, sessions=sessions)
        truth = json.loads(files.truth.read_text())["contact_centre"]
        db = Path(tmp) / "p.duckdb"
        con = connect(db)
        try:
            opts = ingest_options(Config(), db)
            for kind in ("traces", "analytics", "interactions"):
                ingest_files(con, kind, list(getattr(files, kind)), opts)
            refresh_pages(con, JoinSettings())
            fcr_days = truth["metrics"]["fcr_days"]
            got = {m.group: m for m in contact_metrics(con, by="all", fcr_days=fcr_days)}
            got |= {m.group: m for m in contact_metrics(con, by="reason", fcr_days=fcr_days)}
            drivers = call_drivers(con, window_s=truth["drivers"]["window_s"],
                                   good_load_ms=truth["drivers"]["good_load_ms"])
        finally:
            con.close()
    metrics = []
    for group, t in [("all", truth["metrics"]["all"]), *truth["metrics"]["by_reason"].items()]:
        m = got.get(group)
        metrics.append({"group": group, "fcr_truth": t["fcr"], "aht_truth": t["aht_s"],
                        "fcr": m and m.fcr, "aht_s": m and m.aht_s,
                        "exact": m is not None and _same(m.fcr, t["fcr"])
                        and _same(m.aht_s, t["aht_s"])})
    index = {(d.reason, d.route, d.dependency): d for d in drivers}
    rows = []
    for t in truth["drivers"]["rows"]:
        d = index.get((t["reason"], t["route"], t["dependency"]))
        ci = d.excess_ci if d else None
        rows.append({**{k: t[k] for k in ("reason", "route", "dependency", "shows",
                                          "expected_excess_share", "caused_excess_share")},
                     "estimate": d and d.excess, "ci": ci,
                     "covers": bool(ci and ci[0] <= t["expected_excess_share"] <= ci[1])})
    return {"seed": seed, "sessions": sessions, "metrics": metrics, "drivers": rows}


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--sessions", type=int, default=3000)
    ap.add_argument("--json", help="write the results as JSON to this path ('-' = stdout)")
    args = ap.parse_args(argv)
    results = []
    for seed in args.seeds:
        r = evaluate(seed, args.sessions)
        results.append(r)
        m = r["metrics"][0]
        print(f"seed {seed:3}: FCR {m['fcr']:.4f} (truth {m['fcr_truth']:.4f}), AHT "
              f"{m['aht_s']:.2f} s (truth {m['aht_truth']:.2f}); metrics exact in "
              f"{sum(x['exact'] for x in r['metrics'])}/{len(r['metrics'])} groups", flush=True)
        for d in r["drivers"]:
            est = "–" if d["estimate"] is None else (
                f"{d['estimate']:+.3f} ({d['ci'][0]:+.3f} … {d['ci'][1]:+.3f})")
            print(f"    {d['reason']:13} {d['route']:15} {d['dependency'] or '—':25} truth "
                  f"{d['expected_excess_share']:+.3f} (caused {d['caused_excess_share']:+.3f})"
                  f"  estimate {est}  {'covers' if d['covers'] else 'MISSES'}")
    n_rows = sum(len(r["drivers"]) for r in results)
    summary = {"worlds": len(results),
               "metrics_exact": sum(all(m["exact"] for m in r["metrics"]) for r in results),
               "driver_rows": n_rows,
               "driver_ci_covers": sum(d["covers"] for r in results for d in r["drivers"])}
    print(f"\n{summary['worlds']} worlds: FCR and AHT exact in {summary['metrics_exact']}; "
          f"driver interval covers the expected excess in "
          f"{summary['driver_ci_covers']}/{n_rows} rows")
    if args.json:
        doc = json.dumps({"summary": summary, "worlds": results}, indent=2)
        (sys.stdout.write(doc + "\n") if args.json == "-" else Path(args.json).write_text(doc))
    return 0 if summary["metrics_exact"] == summary["worlds"] else 1


if __name__ == "__main__":
    sys.exit(main())
