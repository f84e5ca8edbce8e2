"""The planted Core Web Vitals cases (demo/vitals.py): the demo and every family shop are byte
for byte what they were before vitals existed; a world with vitals adds two pages with their
planted truth and the measurements, and keeps every other route's truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from parallax.demo import build_world
from parallax.demo.family import draw_spec
from parallax.demo.spec import DEMO
from parallax.demo.vitals import THRESHOLDS, page_vitals, with_vitals

# sha256 of every file, built by the code before vitals existed (commit 4e6b820): the demo at
# seed 3 and family shop 31, 400 sessions each.
BEFORE = {
    "demo": {
        "analytics/ga4_events.ndjson":
            "3a3a97712ca7f34554d368cc1b45ab9e1230e74bdab8c3005003042b5e27971f",
        "annotations/incidents.csv":
            "ff48c4d6833411e8bf8fc9faaca1b5fbbbee21d24450cde47bdc87e22034a763",
        "contact-centre/ctr.jsonl":
            "fc84a05bfca4a31ca5fd0d0cdb66fc5e292ad59741ebab94338496a7b322007e",
        "feedback/qualtrics_export.csv":
            "9e88988ab0216bedf19a0095831ed281fbb939c81f6aab4bfce355c2be26f8b4",
        "traces/spans.jsonl": "afa480357bb458c2ce9a8f919163202167b4570ff5ca7296d2ade5a01c47262e",
        "truth.json": "a6bff8a1ddc218a0e2bf3545e5e8e71a3add5f7b6747dd5274d2f1bbfab59033",
    },
    "family": {
        "analytics/ga4_events.ndjson":
            "ad356a2a023621d04753cca2cebcdd900ea01047df70de111545b558601e73e6",
        "annotations/incidents.csv":
            "8de9bcfa04dce6a8f96c3e87416eea243cbeca70d171aa7e2a14f0d4d6b7c3ca",
        "feedback/qualtrics_export.csv":
            "8718c3c94bfb77ef13de38bb0fb22e76e8a0f6fb93af04592f0eb714cad15d93",
        "traces/spans.jsonl": "da2fc1fe7c7edc2a1758b305820ec9d9ac6cc41a894c18ef3458dbead3e5d552",
        "truth.json": "05566534366c1d0ddaa4e8e67b14faee3271932c4212536e4ec317f1f992aaff",
    },
}
VITAL_EVENTS = {"LCP", "CLS", "INP"}


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("name", "spec", "seed"), [("demo", DEMO, 3),
                                                    ("family", draw_spec(31), 31)])
def test_worlds_without_vitals_are_byte_identical_to_before(tmp_path, name, spec, seed):
    build_world(tmp_path / "w", seed=seed, sessions=400, spec=spec)
    assert _digests(tmp_path / "w") == BEFORE[name]


def test_a_world_with_vitals_adds_two_planted_pages_and_their_measurements(tmp_path):
    plain = build_world(tmp_path / "plain", seed=3, sessions=400, spec=DEMO)
    files = build_world(tmp_path / "vitals", seed=3, sessions=400, spec=with_vitals(DEMO))
    truth, before = (json.loads(f.truth.read_text()) for f in (files, plain))
    routes = truth["expected"]["routes"]
    assert {r: v["verdict"] for r, v in routes.items() if r not in ("/deals", "/compare")} == {
        r: v["verdict"] for r, v in before["expected"]["routes"].items()}  # truths kept
    assert (routes["/deals"]["verdict"], routes["/compare"]["verdict"]) == ("delivery", "silent")
    assert truth["vitals"]["expected"] == {"/deals": "delivery", "/compare": "silent"}
    rows = [json.loads(line) for line in files.analytics[0].read_text().splitlines()]
    assert {r["event_name"] for r in rows} >= VITAL_EVENTS | {"page_view"}
    vitals = [r for r in rows if r["event_name"] in VITAL_EVENTS]
    params = [{p["key"]: next(iter(p["value"].values())) for p in r["event_params"]}
              for r in vitals]
    by_id: dict[str, list[dict]] = {}
    for r, p in zip(vitals, params, strict=True):
        by_id.setdefault(p["metric_id"], []).append({**p, "at": int(r["event_timestamp"]),
                                                     "name": r["event_name"]})
    cls_reports = [sorted(v, key=lambda p: p["at"]) for v in by_id.values()
                   if v[0]["name"] == "CLS"]
    assert cls_reports and all(len(v) == 2 for v in cls_reports)  # a delta, then the value
    for first, last in cls_reports:
        assert last["metric_value"] == pytest.approx(first["metric_value"]
                                                     + last["metric_delta"], abs=1e-3)


def test_planted_vitals_per_route():
    spec = with_vitals(DEMO)
    draws: dict[str, dict[str, list[float]]] = {}
    for i in range(3000):
        route = ("/deals", "/compare", "/cart")[i % 3]
        for metric, value in page_vitals(spec, route, f"{i:032x}", 1500.0).items():
            draws.setdefault(route, {}).setdefault(metric, []).append(value)

    def p75(route: str, metric: str) -> float:
        values = sorted(draws[route][metric])
        return values[int(0.75 * len(values))]

    assert p75("/deals", "CLS") > THRESHOLDS["CLS"][0] >= p75("/cart", "CLS")
    assert (p75("/compare", "INP") > THRESHOLDS["INP"][1] > THRESHOLDS["INP"][0]
            >= p75("/deals", "INP"))
    assert max(draws["/cart"]["LCP"]) < 1500.0  # LCP within the page's load
    assert page_vitals(DEMO, "/", "0" * 32, 1500.0) == {}  # no plan, no vitals
