"""The planted effects really are in the files, truth.json states them, and an end-to-end
load through the real parsers makes the three sources meet on session and route."""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict
from datetime import UTC, datetime

import orjson
import pytest

from parallax.connectors.load import ingest_files
from parallax.connectors.routes import normalize_route
from parallax.demo import DemoFiles, build_world
from parallax.demo.spec import INCIDENTS, ROUTES
from parallax.demo.survey import p_poor
from parallax.demo.world import simulate

VERDICTS = {"delivery", "design", "mixed", "silent", "inconclusive", "healthy"}


def _window(truth: dict, incident: str) -> tuple[int, int]:
    inc = next(i for i in truth["incidents"] if i["id"] == incident)
    return tuple(int(datetime.fromisoformat(inc[k]).timestamp() * 1e9) for k in ("starts", "ends"))


def test_delivery_routes_really_are_worse_in_the_spans(world, spans):
    truth = world[1]
    psp_start, psp_end = _window(truth, "psp-outage")
    inv = [_window(truth, i) for i in ("inventory-db-errors", "inventory-db-crash")]
    checkout = defaultdict(list)
    psp_fail = defaultdict(list)
    product_5xx = defaultdict(list)
    for _, s, a in spans:
        t = int(s["startTimeUnixNano"])
        if s["name"] == "documentLoad" and normalize_route(a["http.url"]) == "/checkout":
            inside = psp_start <= t < psp_end
            checkout[inside].append((int(s["endTimeUnixNano"]) - t) / 1e6)
        elif a.get("peer.service") == "payments.example-psp.com":
            psp_fail[psp_start <= t < psp_end].append(bool(s["status"]))
        elif s["kind"] == 2 and a["http.route"] == "/product/{id}":
            inside = any(lo <= t < hi for lo, hi in inv)
            product_5xx[inside].append(a["http.response.status_code"] == "503")
    p95 = {k: statistics.quantiles(v, n=20)[-1] for k, v in checkout.items()}
    assert p95[True] > 3 * p95[False]
    assert statistics.mean(psp_fail[True]) > 0.25 > 0.03 > statistics.mean(psp_fail[False])
    assert statistics.mean(product_5xx[True]) > 0.4 > 0.06 > statistics.mean(product_5xx[False])


def test_design_route_is_more_negative_with_normal_delivery(world, answers):
    measured = world[1]["measured"]["routes"]
    healthy = [measured[r] for r in ("/", "/search")]
    design = measured["/account/orders"]
    assert design["load_ms_p95"] < 1.2 * max(h["load_ms_p95"] for h in healthy)
    assert design["error_rate"] < 0.01
    poor = defaultdict(list)
    for a in answers:
        if a["Status"] == "IP Address":
            poor[normalize_route(a["page_url"])].append(int(a["Q1"]) <= 6)
    baseline = statistics.mean(poor["/"] + poor["/search"])
    assert statistics.mean(poor["/account/orders"]) > baseline + 0.1
    assert len(poor["/help/contact"]) < 20  # the inconclusive route
    assert statistics.mean(poor["/cart"]) > baseline + 0.15  # the mixed route


def test_silent_route_is_degraded_but_feedback_stays_at_baseline():
    """The silent route's maps failures are hidden by the fallback: the true poor probability
    of its page views is the same inside and outside the incident."""
    maps = next(i for i in INCIDENTS if i.id == "maps-degraded")
    starts, ends = (int(t.timestamp()) * 1_000_000 for t in (maps.starts, maps.ends))
    inside, outside, failed = [], [], defaultdict(list)
    for s in simulate(7, 3000):
        for pv in s.pages:
            if pv.route == "/store-locator":
                hit = starts <= pv.start_us < ends
                (inside if hit else outside).append(p_poor(pv, "desktop"))
                failed[hit].append(bool(pv.failed_deps))
    assert statistics.mean(failed[True]) > 0.35 > 0.05 > statistics.mean(failed[False])
    assert abs(statistics.mean(inside) - statistics.mean(outside)) < 0.03


def test_mobile_is_slower_and_more_negative(events, answers):
    load = defaultdict(list)
    for r in events:
        if r["event_name"] == "page_view":
            params = {p["key"]: p["value"] for p in r["event_params"]}
            load[r["device"]["category"]].append(int(params["page_load_ms"]["int_value"]))
    assert statistics.median(load["mobile"]) > 1.3 * statistics.median(load["desktop"])
    poor = defaultdict(list)
    for a in answers:
        if a["Status"] == "IP Address":
            poor[a["device"]].append(int(a["Q1"]) <= 6)
    assert statistics.mean(poor["mobile"]) > statistics.mean(poor["desktop"]) + 0.05


def test_failed_payments_cost_purchases(spans, events):
    failed = {a["session.id"] for _, s, a in spans
              if s["kind"] == 2 and a.get("app.payment.outcome") == "failed"}
    checkout = {a["session.id"] for _, s, a in spans
                if s["kind"] == 2 and a["http.route"] == "/checkout"}
    bought = set()
    for r in events:
        if r["event_name"] == "purchase":
            bought |= {p["value"]["string_value"] for p in r["event_params"]
                       if p["key"] == "session_id"}
    ok = checkout - failed
    assert len(failed) > 30
    assert len(bought & failed) / len(failed) < 0.5 * len(bought & ok) / len(ok)


def test_truth_states_every_expected_verdict(world):
    truth = world[1]
    routes, deps = truth["expected"]["routes"], truth["expected"]["dependencies"]
    assert len(routes) == 8 and len(deps) == 6
    assert {r["verdict"] for r in routes.values()} == VERDICTS
    assert {d["verdict"] for d in deps.values()} <= VERDICTS
    assert truth["models"]["feedback"]["coefficients"]["mobile"] > 0
    assert truth["models"]["survey"]["respond_if_poor"] > \
        truth["models"]["survey"]["respond_if_not_poor"]
    assert [i["id"] for i in truth["incidents"]] == [
        "psp-outage", "inventory-db-errors", "maps-degraded", "inventory-db-crash"]
    assert truth["window"] == {"start": "2026-10-05T00:00:00Z", "end": "2026-10-12T00:00:00Z"}
    assert datetime(2026, 10, 5, tzinfo=UTC).timestamp() * 1e9 <= _window(truth, "psp-outage")[0]


def _ingest(con, opts, files: DemoFiles) -> None:
    opts = dataclasses.replace(opts, options={**opts.options, "session_param": "session_id"})
    for kind, paths in (("traces", files.traces), ("feedback", files.feedback),
                        ("analytics", files.analytics)):
        ingest_files(con, kind, list(paths), opts)


def test_end_to_end_the_three_sources_meet(world, con, opts):
    files, truth = world
    _ingest(con, opts, files)

    def one(sql: str):
        return con.execute(sql).fetchone()[0]

    assert one("SELECT count(*) FROM spans") == truth["counts"]["spans"]
    assert one("SELECT count(*) FROM feedback") == truth["counts"]["responses"]
    assert one("SELECT count(*) FROM sessions") == truth["counts"]["ga4_sessions"]
    assert one("SELECT count(*) FROM feedback WHERE user_id LIKE 'cust-%'") == 0
    assert one("SELECT count(*) FROM rejects") == truth["counts"]["survey_previews"]
    linked = one("""
        SELECT count(*) FROM feedback f
        WHERE f.session_id IN (SELECT session_id FROM sessions)
          AND f.session_id IN (SELECT session_id FROM spans WHERE session_id IS NOT NULL)""")
    assert linked / truth["counts"]["responses"] >= 0.6
    for table in ("feedback", "page_views", "spans"):
        routes = {r for (r,) in con.execute(f"SELECT DISTINCT route FROM {table}").fetchall()}
        assert set(ROUTES) <= routes, table
    met = one("""
        SELECT count(DISTINCT f.route) FROM feedback f
        WHERE f.route IN (SELECT route FROM page_views)
          AND f.route IN (SELECT route FROM spans WHERE kind = 'server')""")
    assert met == len(ROUTES)


def test_the_smallest_demo_loads_within_the_reject_limit(tmp_path, con, opts):
    """``parallax demo --sessions 100``: preview rows (rejected as not customer feedback) must
    not push the feedback file over the loader's 1 % reject-rate limit."""
    files = build_world(tmp_path, sessions=100)
    _ingest(con, opts, files)
    truth = orjson.loads(files.truth.read_bytes())
    assert truth["counts"]["survey_previews"] == 0
    got = con.execute("SELECT count(*) FROM feedback").fetchone()[0]
    assert got == truth["counts"]["responses"] > 0


def test_the_workflows_truth_and_the_tracker_export(world, con):
    """The short crash costs poor answers that would not have come without it; the redesign's
    planted effect is 0 while its route's feedback worsens; the tracker export loads."""
    from parallax.records.annotations import import_csv, list_annotations

    files, truth = world
    inc, change = truth["workflows"]["incident"], truth["workflows"]["design_change"]
    assert inc["routes"] == ["/cart", "/product/{id}"] and inc["responses"] >= 8
    assert inc["poor_responses"] > inc["expected_poor_responses_without"] + 2
    assert inc["extra_poor_responses"] == pytest.approx(
        inc["poor_responses"] - inc["expected_poor_responses_without"], abs=1e-3)
    assert 0 < inc["expected_extra_poor_responses"] < inc["responses"]
    assert inc["lost_conversions"] > 0
    assert inc["expected_lost_conversions"] == pytest.approx(
        inc["expected_conversions_without"] - inc["expected_conversions_with"], abs=2e-3)
    assert inc["expected_conversions_with"] < 0.6 * inc["expected_conversions_without"]
    assert change["true_effect_log_odds"] == 0.0
    assert change["mean_true_p_poor_after"] > change["mean_true_p_poor_before"] + 0.1
    assert files.annotations[0].name == "incidents.csv"
    result = import_csv(con, files.annotations[0])
    assert (result.rows, result.added) == (6, 6)
    notes = {a.id: a for a in list_annotations(con)}
    assert notes["checkout-redesign"].kind == "design-change"
    assert notes["checkout-redesign"].route == "/checkout"
    assert notes["inventory-db-crash"].dependency == "inventory-db"
    assert import_csv(con, files.annotations[0]).unchanged == 6


def test_a_replayed_session_only_changes_where_the_incident_was():
    from parallax.demo.spec import INCIDENTS
    from parallax.demo.world import counterfactual

    crash = next(i for i in INCIDENTS if i.id == "inventory-db-crash")
    others = tuple(i for i in INCIDENTS if i is not crash)
    lo, hi = (int(t.timestamp()) * 1_000_000 for t in (crash.starts, crash.ends))
    sessions = simulate(7, 600)
    same = changed = 0
    for s in sessions:
        replay = counterfactual(s, 600, others)
        hit = any(lo <= p.start_us < hi and "inventory-db" in p.failed_deps for p in s.pages)
        if not hit:
            assert replay.pages == s.pages and replay.purchase == s.purchase
            same += 1
        else:
            assert (replay.visitor.session_id, replay.visitor.device) == (
                s.visitor.session_id, s.visitor.device)
            assert replay.pages[0].start_us == s.pages[0].start_us
            assert replay.pages != s.pages
            changed += 1
    assert same > 500 and changed > 0
