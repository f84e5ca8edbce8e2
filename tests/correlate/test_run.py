"""``correlate`` end to end on the demo world: the findings contract, what is stored, verdicts
against the planted truth, and determinism."""

from __future__ import annotations

import math

import orjson
import pytest

from parallax.correlate import VERDICTS, Settings, correlate
from parallax.exposure import JoinSettings

CONTRACT = {"subject_kind", "subject", "verdict", "n_responses", "n_sessions", "poor_rate",
            "baseline_poor_rate", "odds_ratio_raw", "odds_ratio_adjusted", "explained_share",
            "p_value", "q_value", "delivered", "impact", "link_coverage", "evidence", "details",
            "annotations"}
IMPACT = {"extra_poor_responses", "nps_points", "lost_conversions", "revenue_at_risk"}
LINKS = {"session", "user", "route_time", "none"}


def _by_kind(run, kind: str) -> dict[str, dict]:
    docs = [f.to_json() for f in run.findings if f.subject_kind == kind]
    out = {d["subject"]: d for d in docs}
    assert len(out) == len(docs), f"a {kind} appears twice"
    return out


def test_findings_for_every_route_and_dependency(demo_run) -> None:
    expected = demo_run.truth["expected"]
    assert set(_by_kind(demo_run.run, "route")) == set(expected["routes"])
    assert len(expected["routes"]) == 8
    assert set(_by_kind(demo_run.run, "dependency")) == set(expected["dependencies"])
    assert len(expected["dependencies"]) == 6
    segments = _by_kind(demo_run.run, "segment")
    assert {"desktop", "mobile"} <= set(segments)
    assert {f.subject_kind for f in demo_run.run.findings} == {"route", "dependency", "segment"}


def test_every_finding_keeps_the_contract(demo_run) -> None:
    for f in demo_run.run.findings:
        doc = f.to_json()
        where = (doc["subject_kind"], doc["subject"])
        assert set(doc) == CONTRACT, where
        assert doc["verdict"] in VERDICTS, where
        assert set(doc["impact"]) == IMPACT, where
        assert isinstance(doc["evidence"], str) and len(doc["evidence"]) > 20, where
        assert orjson.loads(orjson.dumps(doc)) == doc  # plain JSON, no NaN
        for key in ("poor_rate", "baseline_poor_rate", "explained_share"):
            assert doc[key] is None or 0.0 <= doc[key] <= 1.0, (where, key)
        if doc["p_value"] is not None and doc["q_value"] is not None:
            assert doc["q_value"] >= doc["p_value"] - 1e-9, where  # BH never lowers a p
        ci = doc["odds_ratio_raw"]
        if ci is not None:
            assert ci["ci_low"] <= ci["estimate"] <= ci["ci_high"], where
        if doc["subject_kind"] != "dependency":
            assert set(doc["link_coverage"]) == LINKS, where


def test_route_impacts_are_consistent(demo_run) -> None:
    for route, doc in _by_kind(demo_run.run, "route").items():
        extra, nps = doc["impact"]["extra_poor_responses"], doc["impact"]["nps_points"]
        if extra is None:  # too few responses to model: no impact, says how many are needed
            assert doc["verdict"] in ("inconclusive", "silent") and doc["odds_ratio_raw"] is None
            continue
        assert nps is not None, route  # every demo response is an NPS answer
        modelled = doc["details"]["n_modelled"]  # the linked responses extra_poor sums over
        assert 0 < modelled <= doc["n_responses"], route
        assert nps["estimate"] == pytest.approx(extra["estimate"] * 100 / modelled, abs=1e-5)
        lost = doc["impact"]["lost_conversions"]
        assert lost is not None and lost["ci_low"] <= lost["estimate"] <= lost["ci_high"], route
        shares = doc["link_coverage"]
        assert math.isclose(sum(v for v in shares.values()), 1.0, abs_tol=1e-5), route


def test_run_and_findings_are_stored(demo_run) -> None:
    con, run = demo_run.con, demo_run.run
    [(responses, modelled, coverage, parameters)] = con.execute(
        "SELECT responses, modelled, link_coverage, parameters FROM correlate_runs "
        "WHERE run_id = ?", [run.run_id]).fetchall()
    assert (responses, modelled) == (run.coverage.responses, run.modelled)
    assert 0 < modelled <= responses
    assert orjson.loads(coverage) == dict(run.coverage.by_link)
    params = orjson.loads(parameters)
    assert params["correlate"] == Settings().as_dict()
    assert params["join"] == orjson.loads(orjson.dumps(JoinSettings().__dict__))
    rows = con.execute("SELECT subject_kind, subject, verdict, n_responses, evidence, doc "
                       "FROM findings WHERE run_id = ?", [run.run_id]).fetchall()
    assert len(rows) == len(run.findings)
    stored = {(k, s): (v, n, ev, orjson.loads(doc)) for k, s, v, n, ev, doc in rows}
    for f in run.findings:
        assert stored[(f.subject_kind, f.subject)] == (f.verdict, f.n_responses, f.evidence,
                                                       f.to_json())


def test_links_cover_most_responses(demo_run) -> None:
    cov = demo_run.run.coverage
    assert cov.responses == sum(cov.by_link.values()) > 500
    assert set(cov.by_link) <= LINKS and cov.share("session") > 0.5
    assert demo_run.run.modelled >= cov.responses - cov.by_link.get("none", 0) - 5


def test_verdicts_match_the_planted_truth(demo_run) -> None:
    expected = demo_run.truth["expected"]
    scored = []
    for kind, family in (("route", "routes"), ("dependency", "dependencies")):
        got = _by_kind(demo_run.run, kind)
        for subject, truth in expected[family].items():
            want = "ok" if truth["verdict"] == "healthy" else truth["verdict"]
            scored.append((kind, subject, want, got[subject]["verdict"]))
            if kind == "route" and want == "delivery":
                assert got[subject]["verdict"] != "design", (subject, got[subject]["evidence"])
    wrong = [s for s in scored if s[2] != s[3]]
    # At this size (3,000 sessions) a delivery verdict needs the route's customers to be
    # measurably unhappier: in this seed /product/{id}'s excess is not (its failures are
    # confined to 2.5 days), so it may read silent; eval/verdicts.py scores seeds 1-5.
    assert len(wrong) <= 2, wrong
    assert all(g in ("silent", "delivery", "mixed") for *_, w, g in wrong if w != "ok"), wrong


def test_same_data_same_findings_one_run_per_call(demo_run) -> None:
    con = demo_run.con
    [(before,)] = con.execute("SELECT count(*) FROM correlate_runs").fetchall()
    again = correlate(con)
    [(after,)] = con.execute("SELECT count(*) FROM correlate_runs").fetchall()
    assert after == before + 1 and again.run_id != demo_run.run.run_id
    [(n,)] = con.execute("SELECT count(*) FROM findings WHERE run_id = ?",
                         [again.run_id]).fetchall()
    assert n == len(again.findings)
    first = {(f.subject_kind, f.subject): f.to_json() for f in demo_run.run.findings}
    second = {(f.subject_kind, f.subject): f.to_json() for f in again.findings}
    assert {k: d["verdict"] for k, d in second.items()} == {
        k: d["verdict"] for k, d in first.items()}
    assert second == first  # the draws are seeded: every number repeats


def test_the_run_keeps_how_much_landed_on_a_route_template(demo_run) -> None:
    [(doc,)] = demo_run.con.execute("SELECT route_templates FROM correlate_runs WHERE run_id = ?",
                                    [demo_run.run.run_id]).fetchall()
    kept = orjson.loads(doc)
    cov = demo_run.run.coverage
    assert kept == {"responses": cov.responses, "responses_on_template": cov.responses_on_template,
                    "page_views": cov.page_views,
                    "page_views_on_template": cov.page_views_on_template}
    assert 0 < kept["responses_on_template"] <= kept["responses"]  # the demo's routes are all
    assert kept["page_views_on_template"] / kept["page_views"] > 0.99  # learned from its spans


def test_the_statistics_modules_are_imported_once_in_the_background() -> None:
    from parallax.correlate import run as run_module

    first, second = run_module.load_statistics(), run_module.load_statistics()
    assert first == second  # the same futures: one importing thread per process
    assert [f.result(timeout=120).__name__ for f in first] == list(run_module.STATISTICS)
