"""Contact-centre evaluation (not a test): `parallax contacts metrics` and `parallax contacts
drivers` on demo worlds over seeds, scored against the planted truth (``truth.json`` →
``contact_centre``, written by ``demo/contact_truth.py``).

    uv run python eval/contacts.py                  # seeds 1-5, 3000 sessions
    uv run python eval/contacts.py --seeds 1 2 --sessions 6000 --json -

- Metrics (all contacts and per reason): FCR, AHT per record and per customer contact,
  abandonment over queued records and over inbound contacts must equal the truth exactly (to
  1e-6), computed from the simulated calls with the same definitions.
- Call drivers (24 h window, 7-day FCR window): per truth row (reason × failure subject), do
  the 95 % intervals of ``avoidable_contacts`` and ``attributable_share`` cover the planted
  ``caused_contacts`` (the calls the subject's failures started, counted call by call,
  anonymous callers, retries and repeats included) and its share of the reason's contacts?
  Rows with caused contacts are the criterion; rows where the planted process causes none show
  what the observational comparison picks up. And is the top driver the subject whose
  failures caused the most contacts?

The method was tuned on seeds 1-5; seeds 11-15 were held out and run once (docs/contacts.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from verdicts import loaded_world

COVERAGE = 0.9  # target share of caused-contact rows whose intervals cover the truth


def evaluate(seed: int, sessions: int) -> dict:
    from parallax.contacts.drivers import call_drivers
    from parallax.contacts.metrics import contact_metrics
    from parallax.demo import build_world
    from parallax.exposure import JoinSettings, refresh_pages

    with tempfile.TemporaryDirectory() as tmp:
        files = build_world(Path(tmp) / "world", seed=seed, sessions=sessions)
        truth = json.loads(files.truth.read_text())["contact_centre"]
        with loaded_world(tmp, files, ("traces", "analytics", "interactions")) as con:
            refresh_pages(con, JoinSettings())
            fcr_days = truth["metrics"]["fcr_days"]
            got, alt = ({m.group: m for by in ("all", "reason")
                         for m in contact_metrics(con, by=by, fcr_days=fcr_days, **kw)}
                        for kw in ({}, {"aht": "contact", "abandonment": "inbound"}))
            drivers = call_drivers(con, window_s=truth["drivers"]["window_s"],
                                   good_load_ms=truth["drivers"]["good_load_ms"],
                                   fcr_days=truth["drivers"]["fcr_days"])
    metrics = []
    for group, t in [("all", truth["metrics"]["all"]), *truth["metrics"]["by_reason"].items()]:
        m, a = got.get(group), alt.get(group)
        metrics.append({"group": group, "fcr_truth": t["fcr"], "aht_truth": t["aht_s"],
                        "fcr": m and m.fcr, "aht_s": m and m.aht_s,
                        "exact": m is not None and a is not None and _same(m.fcr, t["fcr"])
                        and _same(m.aht_s, t["aht_s"])
                        and _same(m.abandonment_rate, t["abandonment_queued"])
                        and _same(a.aht_s, t["aht_contact_s"])
                        and _same(a.abandonment_rate, t["abandonment_inbound"])})
    index = {(d.reason, d.subject_kind, d.subject): d for d in drivers}
    rows = []
    for t in truth["drivers"]["rows"]:
        d = index.get((t["reason"], t["subject_kind"], t["subject"]))
        rows.append({**{k: t[k] for k in ("reason", "subject_kind", "subject", "shows",
                                          "caused_contacts", "attributable_share",
                                          "reason_contacts")},
                     "avoidable": d and d.avoidable_contacts, "avoidable_ci": d and d.avoidable_ci,
                     "share": d and d.attributable_share,
                     "share_ci": d and d.attributable_share_ci,
                     "excess_rate": d and d.excess_rate,
                     "reason_contacts_seen": d and d.reason_contacts,
                     "covers": _covers(d and d.avoidable_ci, t["caused_contacts"]),
                     "share_covers": _covers(d and d.attributable_share_ci,
                                             t["attributable_share"])})
    top_truth = max(truth["drivers"]["rows"], key=lambda t: t["caused_contacts"])
    top = {"truth": [top_truth["subject_kind"], top_truth["subject"]],
           "found": drivers and [drivers[0].subject_kind, drivers[0].subject]}
    top["same"] = top["truth"] == top["found"]
    return {"seed": seed, "sessions": sessions, "metrics": metrics, "drivers": rows, "top": top}


def _covers(ci: tuple[float, float] | None, truth: float) -> bool:
    return bool(ci) and ci[0] - 1e-9 <= truth <= ci[1] + 1e-9


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
            est = "–" if d["avoidable"] is None else (
                f"{d['avoidable']:6.1f} ({d['avoidable_ci'][0]:6.1f} … "
                f"{d['avoidable_ci'][1]:6.1f}), share {d['share']:.3f} "
                f"({d['share_ci'][0]:.3f} … {d['share_ci'][1]:.3f})")
            print(f"    {d['reason']:13} {d['subject']:25} caused {d['caused_contacts']:4} "
                  f"(share {d['attributable_share']:.3f})  estimate {est}  "
                  f"{'covers' if d['covers'] else 'MISSES'}"
                  f"{'' if d['share_covers'] else ' (share MISSES)'}")
        print(f"    top driver: {r['top']['found']} (truth {r['top']['truth']})")
    n_rows = sum(len(r["drivers"]) for r in results)
    caused = [d for r in results for d in r["drivers"] if d["caused_contacts"]]
    summary = {"worlds": len(results),
               "metrics_exact": sum(all(m["exact"] for m in r["metrics"]) for r in results),
               "driver_rows": n_rows,
               "avoidable_covers": sum(d["covers"] for r in results for d in r["drivers"]),
               "share_covers": sum(d["share_covers"] for r in results for d in r["drivers"]),
               "caused_rows": len(caused),
               "caused_avoidable_covers": sum(d["covers"] for d in caused),
               "caused_share_covers": sum(d["share_covers"] for d in caused),
               "top_driver_right": sum(r["top"]["same"] for r in results)}
    print(f"\n{summary['worlds']} worlds: metrics exact in {summary['metrics_exact']}; "
          f"rows with caused contacts: interval covers the caused contacts in "
          f"{summary['caused_avoidable_covers']}/{len(caused)}, the attributable share in "
          f"{summary['caused_share_covers']}/{len(caused)}; all rows: "
          f"{summary['avoidable_covers']}/{n_rows} and {summary['share_covers']}/{n_rows}; "
          f"top driver right in {summary['top_driver_right']}/{summary['worlds']}")
    if args.json:
        doc = json.dumps({"summary": summary, "worlds": results}, indent=2)
        (sys.stdout.write(doc + "\n") if args.json == "-" else Path(args.json).write_text(doc))
    # 95 % intervals miss now and then by design: the criterion is their coverage over the
    # rows with caused contacts (at least COVERAGE), as for the incident intervals.
    caused_n = max(1, summary["caused_rows"])
    ok = (summary["metrics_exact"] == summary["worlds"] == summary["top_driver_right"]
          and summary["caused_avoidable_covers"] / caused_n >= COVERAGE
          and summary["caused_share_covers"] / caused_n >= COVERAGE)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
