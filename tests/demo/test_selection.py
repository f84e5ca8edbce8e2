"""Planted self-selection is an option: off, nothing of it is drawn or written; on, only the
survey answers, the truth and a file of offers of its own change."""

from __future__ import annotations

import hashlib
import math

import orjson

from parallax.demo import build_world
from parallax.demo.family import draw_spec
from parallax.demo.selection import OFFERS, PlantedSelection, plan


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_option_changes_no_other_file_and_off_writes_nothing(tmp_path):
    spec = draw_spec(4)
    off = build_world(tmp_path / "off", seed=4, sessions=400, spec=spec)
    on = build_world(tmp_path / "on", seed=4, sessions=400, spec=spec,
                     selection=PlantedSelection())
    for a, b in ((off.traces, on.traces), (off.annotations, on.annotations),
                 (off.analytics, on.analytics[:len(off.analytics)])):
        assert [_digest(p) for p in a] == [_digest(p) for p in b]
    assert not (tmp_path / "off" / OFFERS).exists()
    assert "selection" not in orjson.loads(off.truth.read_bytes())
    truth = orjson.loads(on.truth.read_bytes())
    assert OFFERS in truth["files"]["analytics"]
    assert on.analytics[-1].name == "ga4_survey_offers.ndjson"
    again = build_world(tmp_path / "again", seed=4, sessions=400, spec=spec)
    assert _digest(again.feedback[0]) == _digest(off.feedback[0])  # deterministic, unchanged
    assert _digest(again.truth) == _digest(off.truth)


def test_offers_are_ga4_events_and_answers_carry_their_offer_time(tmp_path):
    files = build_world(tmp_path, seed=7, sessions=600, selection=PlantedSelection())
    rows = [orjson.loads(line) for line in (tmp_path / OFFERS).read_bytes().splitlines()]
    assert {r["event_name"] for r in rows} == {"survey_impression"}
    params = {p["key"] for p in rows[0]["event_params"]}
    assert {"session_id", "survey_id", "page_location", "ga_session_id"} <= params
    truth = orjson.loads(files.truth.read_bytes())["selection"]
    per_route = truth["delivery_part"].values()
    assert len(rows) == sum(r["offered"] for r in per_route)
    assert sum(r["answered"] for r in per_route) == orjson.loads(
        files.truth.read_bytes())["counts"]["responses"]


def test_slow_pages_on_planted_routes_are_likelier_to_be_answered():
    spec = draw_spec(31)
    chosen = plan(31, spec, PlantedSelection(load_log_odds=1.0, segment_log_odds=0.5))
    shift = chosen.shift()
    route = next(iter(chosen.routes))
    other = next(r for r in spec.routes if r not in chosen.routes)

    class PV:  # the two fields the shift reads
        def __init__(self, route, load_ms):
            self.route, self.load_ms = route, load_ms

    class V:
        def __init__(self, country):
            self.country = country

    stranger = next(p.country for p in spec.places if p.country != chosen.country) if len(
        {p.country for p in spec.places}) > 1 else None
    if stranger is not None:
        assert shift(PV(route, 5000), V(stranger)) == math.log(2.0)
        assert shift(PV(other, 5000), V(stranger)) == 0.0
    assert shift(PV(other, 1000), V(chosen.country)) == 0.5
