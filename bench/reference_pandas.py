"""The yardstick for ``bench/end_to_end.py``: the script a competent analyst would write without
Parallax to answer the same question ("which pages make customers unhappy, and is it delivery
or design?") from the same files. Standalone: stdlib json/csv, pandas and statsmodels only.

    python bench/reference_pandas.py --traces DIR --feedback DIR --analytics DIR --json OUT

What it does:
- traces: every ``*.jsonl`` / ``*.json`` under DIR, OTLP/JSON (Collector file exporter lines,
  ``resourceSpans`` → ``scopeSpans`` → ``spans``). A page view is a browser ``documentLoad``
  span (load ms = its duration; URL path from ``http.url``); its trace's SERVER span gives
  ``http.route`` and the status code (5xx = error seen); a CLIENT span in the trace that failed
  (status ERROR or a 5xx answer) is a dependency failure. Traces with a SERVER span but no
  browser span count as page views too (load = the server span's duration).
- feedback: every ``*.csv`` under DIR, a Qualtrics export (3 header rows; the third names the
  time zone). Survey previews are dropped, poor = NPS 0-6. Each answer is joined to its
  session by the embedded ``session_id`` and to the latest page view of that session at the
  answer's page URL path that started before the survey was shown (``merge_asof``); answers
  without a session id, or with no such page view, are dropped. The route is that page view's
  ``http.route``.
- analytics (optional): every ``*.ndjson`` / ``*.json`` under DIR, GA4 BigQuery-export rows;
  ``page_view`` events give each route's traffic (page views, sessions) for the report, routed
  by their ``trace_id`` param, else by URL path as seen in the traces.
- per route with at least 30 joined answers, one statsmodels logistic regression
  poor ~ ln(load s) + error seen + dependency failure + mobile (the export's device column).
  A flag with fewer than 5 of either value on the route, or a copy of an earlier term, is
  left out; on separation the least varying term is dropped and the fit retried. Verdict:
  ``delivery`` when a delivery coefficient is positive with p < 0.05 and the route's poor
  rate is above the site's; ``design`` when the route's poor rate is above the rest of the
  site's (one-sided two-proportion z-test, p < 0.05) and no delivery coefficient is; else
  ``ok``. Fewer than 30 answers: ``inconclusive``.

What it does not do (what Parallax does and an afternoon's script does not): recover answers
without a session id (by user, or by route and time), learn route templates for URLs never
seen with an ``http.route``, separate the delivery part of a route's excess from a design part
(so no ``mixed``), notice degraded delivery customers do not see (no ``silent``), judge
dependencies, adjust for multiple testing, or deduplicate re-delivered files.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.proportion import proportions_ztest

MIN_RESPONSES = 30
ALPHA = 0.05
DELIVERY = ("log_load_s", "error", "dep_failure")


def _attrs(kvs: list[dict]) -> dict:
    """OTLP key/value list → dict (``intValue`` is a string in OTLP/JSON)."""
    out = {}
    for kv in kvs:
        (kind, v), = kv["value"].items() if kv["value"] else (("", None),)
        out[kv["key"]] = int(v) if kind == "intValue" else v
    return out


def _files(folder: str | None, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix in suffixes) if folder else []


def read_traces(folder: str) -> pd.DataFrame:
    """One row per page view: trace, session, path, start ns, load ms, route, error, dep fail."""
    loads, servers, failed = [], {}, set()
    for path in _files(folder, (".jsonl", ".json")):
        with open(path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                for rs in json.loads(line).get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        for s in ss.get("spans", []):
                            name, kind, tid = s["name"], s.get("kind"), s["traceId"]
                            if name == "documentLoad":
                                a = _attrs(s["attributes"])
                                start = int(s["startTimeUnixNano"])
                                loads.append((tid, a.get("session.id"),
                                              urlsplit(a.get("http.url", "")).path or "/", start,
                                              (int(s["endTimeUnixNano"]) - start) / 1e6))
                            elif kind == 2:
                                a = _attrs(s["attributes"])
                                if "http.route" in a:
                                    start = int(s["startTimeUnixNano"])
                                    servers[tid] = (a["http.route"], a.get("session.id"),
                                                    a.get("url.path", a["http.route"]), start,
                                                    (int(s["endTimeUnixNano"]) - start) / 1e6,
                                                    a.get("http.response.status_code", 200))
                            elif kind == 3:
                                code = s.get("status", {}).get("code", 0)
                                if code == 2 or (code == 0 and _attrs(s["attributes"]).get(
                                        "http.response.status_code", 0) >= 500):
                                    failed.add(tid)
    pv = pd.DataFrame(loads, columns=["trace_id", "session_id", "path", "start_ns", "load_ms"])
    srv = pd.DataFrame([(t, *v) for t, v in servers.items()],
                       columns=["trace_id", "route", "s_session", "s_path", "s_start",
                                "s_ms", "status"])
    pv = srv.merge(pv, on="trace_id", how="outer")
    for col, alt in (("session_id", "s_session"), ("path", "s_path"), ("start_ns", "s_start"),
                     ("load_ms", "s_ms")):
        pv[col] = pv[col].fillna(pv[alt])
    pv["error"] = (pv["status"].fillna(200) >= 500).astype(int)
    pv["dep_failure"] = pv["trace_id"].isin(failed).astype(int)
    pv["start_ns"] = pv["start_ns"].astype("int64")
    return pv.drop(columns=["s_session", "s_path", "s_start", "s_ms", "status"])


def read_feedback(folder: str) -> pd.DataFrame:
    frames = []
    for path in _files(folder, (".csv",)):
        with open(path, newline="", encoding="utf-8-sig") as f:
            head = [next(csv.reader(f)) for _ in range(3)]
        zone = json.loads(head[2][head[0].index("StartDate")]).get("timeZone", "UTC")
        df = pd.read_csv(path, skiprows=[1, 2], dtype=str, keep_default_na=False)
        df = df[(df["Status"] != "Survey Preview") & (df["Q1"] != "")]
        shown = pd.to_datetime(df["StartDate"]).dt.tz_localize(zone, ambiguous="NaT")
        frames.append(pd.DataFrame({
            "session_id": df["session_id"].replace("", np.nan),
            "path": df["page_url"].map(lambda u: urlsplit(u).path or "/"),
            "shown_ns": shown.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64"),
            "poor": (df["Q1"].astype(int) <= 6).astype(int),
            "mobile": (df["device"] == "mobile").astype(int)}))
    return pd.concat(frames, ignore_index=True)


def read_traffic(folder: str | None, pv: pd.DataFrame) -> pd.DataFrame:
    """Page views and sessions per route from GA4 ``page_view`` events."""
    by_trace = dict(zip(pv["trace_id"], pv["route"], strict=True))
    by_path = dict(zip(pv["path"], pv["route"], strict=True))
    rows = []
    for path in _files(folder, (".ndjson", ".json")):
        with open(path, "rb") as f:
            for line in f:
                e = json.loads(line)
                if e.get("event_name") != "page_view":
                    continue
                p = {kv["key"]: next(iter(kv["value"].values()), None)
                     for kv in e.get("event_params", [])}
                route = by_trace.get(p.get("trace_id")) or by_path.get(
                    urlsplit(p.get("page_location") or "").path)
                rows.append((route, p.get("session_id") or e.get("user_pseudo_id")))
    df = pd.DataFrame(rows, columns=["route", "session"])
    return df.groupby("route").agg(page_views=("session", "size"), sessions=("session", "nunique"))


def join(pv: pd.DataFrame, fb: pd.DataFrame) -> pd.DataFrame:
    """Each answer → the latest page view of its session at its URL path before it was shown."""
    fb = fb.dropna(subset=["session_id"]).sort_values("shown_ns")
    views = pv.dropna(subset=["session_id", "route"]).sort_values("start_ns")
    out = pd.merge_asof(fb, views, left_on="shown_ns", right_on="start_ns",
                        by=["session_id", "path"], direction="backward")
    out = out.dropna(subset=["route", "load_ms"])
    out["log_load_s"] = np.log(out["load_ms"].clip(lower=1) / 1000)
    return out


def verdict(route_rows: pd.DataFrame, rest: pd.DataFrame, site_rate: float) -> dict:
    n, poor = len(route_rows), int(route_rows["poor"].sum())
    out = {"responses": n, "poor_rate": round(poor / n, 4) if n else None}
    if n < MIN_RESPONSES:
        return {**out, "verdict": "inconclusive"}
    cols = []  # a term enters if it varies (a flag: 5+ of each value) and is not a copy
    for c in (*DELIVERY, "mobile"):
        x = route_rows[c]
        varies = x.nunique() > 1 if c == "log_load_s" else min(x.sum(), n - x.sum()) >= 5
        if varies and not any(x.equals(route_rows[k]) for k in cols):
            cols.append(c)
    coef, pval = {}, {}
    while cols:
        try:
            fit = sm.Logit(route_rows["poor"], sm.add_constant(route_rows[cols].astype(float)),
                           ).fit(disp=0, maxiter=100)
            coef, pval = fit.params.to_dict(), fit.pvalues.to_dict()
            break
        except Exception:  # separation or a singular design: drop the rarest column, retry
            cols.remove(min(cols, key=lambda c: route_rows[c].std()))
    delivery = [c for c in DELIVERY if coef.get(c, 0) > 0 and pval.get(c, 1) < ALPHA]
    _, p_design = proportions_ztest([poor, int(rest["poor"].sum())], [n, len(rest)],
                                    alternative="larger") if len(rest) else (0, 1.0)
    if delivery and poor / n > site_rate:
        v = "delivery"
    elif p_design < ALPHA and not delivery:
        v = "design"
    else:
        v = "ok"
    return {**out, "verdict": v, "delivery_terms": delivery,
            "p_above_rest": None if math.isnan(p_design) else round(float(p_design), 6),
            "coefficients": {k: round(float(v), 4) for k, v in coef.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", required=True)
    ap.add_argument("--feedback", required=True)
    ap.add_argument("--analytics")
    ap.add_argument("--json", required=True, type=Path)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # convergence chatter: the p-values tell

    pv = read_traces(args.traces)
    fb = read_feedback(args.feedback)
    traffic = read_traffic(args.analytics, pv) if args.analytics else None
    joined = join(pv, fb)
    site_rate = joined["poor"].mean()
    routes = {}
    for route, rows in joined.groupby("route"):
        routes[route] = verdict(rows, joined[joined["route"] != route], site_rate)
        if traffic is not None and route in traffic.index:
            routes[route].update(traffic.loc[route].astype(int).to_dict())
    doc = {"routes": {r: d["verdict"] for r, d in sorted(routes.items())},
           "details": routes, "page_views": len(pv), "responses": len(fb),
           "responses_joined": len(joined), "site_poor_rate": round(float(site_rate), 4)}
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    for r, d in sorted(routes.items()):
        print(f"{r:28} {d['verdict']:13} n={d['responses']:5} poor={d['poor_rate']}")
    print(f"{len(joined)} of {len(fb)} answers joined to a page view; site poor rate "
          f"{site_rate:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
