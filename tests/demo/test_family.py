"""The world family: a different shop per seed, drawn deterministically, whose planted truth
covers every verdict class and whose files carry the shop's own names and framework."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import orjson

from parallax.demo import build_world
from parallax.demo.family import draw_spec
from parallax.demo.truth import design_at_good_delivery

PLACEHOLDER_STYLES = re.compile(r":\w+|\{\w+(?::int)?\}|<(?:int:)?\w+>|\[\w+\]")


def test_same_seed_same_shop_other_seed_other_shop() -> None:
    a, b, c = draw_spec(3), draw_spec(3), draw_spec(4)
    assert a == b
    assert set(a.routes) != set(c.routes) or a.tz != c.tz or a.site != c.site


def test_the_family_varies_names_frameworks_zones_and_truth() -> None:
    specs = [draw_spec(s) for s in range(1, 41)]
    templates = Counter(t for s in specs for t in s.routes)
    assert len(templates) >= 25  # many different route tables, not one shop renamed
    assert len({s.tz for s in specs}) >= 5
    styles = {m.group(0)[0] for s in specs for r in s.routes.values()
              for m in PLACEHOLDER_STYLES.finditer(r.route_attr)}
    assert styles >= {":", "{", "<", "["}
    classes = Counter(r.verdict for s in specs for r in s.routes.values())
    assert all(classes[c] >= 10 for c in ("delivery", "design", "silent", "ok")), classes
    assert classes["mixed"] >= 20 and classes["inconclusive"] >= 15, classes
    callers = Counter(d.caller for s in specs for d in s.dependencies.values())
    assert callers["browser"] >= 15 and callers["worker"] >= 10, callers
    assert any(not s.browser_spans for s in specs) and any(not s.analytics for s in specs)
    assert {s.semconv for s in specs} == {"old", "new"}


def test_planted_truth_is_consistent() -> None:
    for seed in range(1, 41):
        spec = draw_spec(seed)
        for t, r in spec.routes.items():
            if r.verdict in ("ok", "delivery"):
                assert r.design == 0.0, (seed, t)
            if r.verdict in ("design", "mixed"):
                assert r.design >= 0.7, (seed, t)
            if r.verdict == "silent" and r.load_slope == 0.0:  # tolerant: below normal at
                assert design_at_good_delivery(spec, t) < 0, (seed, t)  # good delivery
            for dep, _ in r.deps:  # a healthy route calls no degraded dependency
                if r.verdict in ("ok", "design", "inconclusive"):
                    assert spec.dependencies[dep].verdict == "ok", (seed, t, dep)


def test_a_family_world_is_written_in_the_shops_own_spelling(tmp_path) -> None:
    spec = draw_spec(5)
    files = build_world(tmp_path / "w", seed=5, sessions=300, spec=spec)
    truth = orjson.loads(files.truth.read_bytes())
    assert truth["time_zone"] == spec.tz and truth["site"] == spec.site
    assert set(truth["expected"]["routes"]) == set(spec.routes)
    routes = set()
    for line in files.traces[0].read_bytes().splitlines():
        for rs in orjson.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in s["attributes"]}
                    if "http.route" in attrs:
                        routes.add(attrs["http.route"])
    assert routes <= {r.route_attr for r in spec.routes.values()}
    spelled = [r for t, r in spec.routes.items() if r.route_attr != t]  # e.g. /p/:sku
    assert spelled and all(r.route_attr in routes and r.template not in routes for r in spelled)
    header = files.feedback[0].read_text(encoding="utf-8").splitlines()[2]
    assert spec.tz in header  # the Qualtrics ImportId row names the survey's time zone
    again = build_world(tmp_path / "again", seed=5, sessions=300, spec=draw_spec(5))
    assert hashlib.sha256(again.traces[0].read_bytes()).digest() == \
        hashlib.sha256(files.traces[0].read_bytes()).digest()
