"""The scale benchmark's generation: the two knobs (extra INTERNAL spans, survey share) add
exactly what they say, and at their defaults the demo files do not change by a byte."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path

import orjson
import pytest

from parallax.demo import DemoFiles, build_world
from parallax.errors import ConfigError

_SPEC = importlib.util.spec_from_file_location(
    "correlate_scale", Path(__file__).resolve().parents[2] / "bench" / "correlate_scale.py")
scale = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = scale  # dataclasses look their module up while the class is built
_SPEC.loader.exec_module(scale)


def _sha(files: DemoFiles) -> dict[str, str]:
    paths = (*files.traces, *files.feedback, *files.analytics, files.truth)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _spans(path: Path) -> list[tuple[str, dict]]:
    """(scope name, OTLP span) for every span in the file."""
    return [(ss["scope"]["name"], s) for line in path.read_bytes().splitlines()
            for rs in orjson.loads(line)["resourceSpans"] for ss in rs["scopeSpans"]
            for s in ss["spans"]]


def test_default_knobs_leave_the_files_byte_identical(tmp_path):
    plain = build_world(tmp_path / "a", seed=11, sessions=300)
    explicit = build_world(tmp_path / "b", seed=11, sessions=300, survey_share=1.0,
                           extra_spans=0)
    assert _sha(plain) == _sha(explicit)
    counts = orjson.loads(plain.truth.read_bytes())["counts"]
    assert "extra_spans_per_page_view" not in counts


def test_generation_adds_extra_spans_under_each_server_span(tmp_path):
    base = build_world(tmp_path / "base", sessions=300)
    p = scale.Plan(seed=7, sessions=300, extra_spans=3, survey_share=0.5)
    counts = scale.generate(tmp_path / "big", p)
    big = build_world(tmp_path / "big", sessions=300, survey_share=0.5, extra_spans=3)
    assert orjson.loads(big.truth.read_bytes())["counts"] == counts  # same call, same world
    before, after = _spans(base.traces[0]), _spans(big.traces[0])
    page_views = counts["page_views"]
    assert len(after) - len(before) == 3 * page_views
    assert counts["spans"] == len(after) and counts["extra_spans_per_page_view"] == 3

    # The original spans are untouched; the traffic itself (GA4) does not move at all.
    key = lambda s: (s["traceId"], s["spanId"])  # noqa: E731
    originals = {key(s): s for _, s in before}
    extras = [(scope, s) for scope, s in after if key(s) not in originals]
    assert len(extras) == 3 * page_views
    assert {key(s): s for _, s in after if key(s) in originals} == originals
    assert _sha(base)["ga4_events.ndjson"] == _sha(big)["ga4_events.ndjson"]

    servers = {key(s): s for _, s in before if s["kind"] == 2}
    children: dict[tuple[str, str], int] = {}
    for scope, s in extras:
        parent = servers[(s["traceId"], s["parentSpanId"])]
        assert s["kind"] == 1 and scope in ("shop_api", "account_api") and s["status"] == {}
        assert int(parent["startTimeUnixNano"]) <= int(s["startTimeUnixNano"])
        assert int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"])
        assert int(s["endTimeUnixNano"]) <= int(parent["endTimeUnixNano"])
        assert not {a["key"] for a in s["attributes"]} & {
            "http.route", "url.path", "peer.service", "server.address", "session.id"}
        children[key(parent)] = children.get(key(parent), 0) + 1
    assert len(servers) == page_views and set(children.values()) == {3}
    assert len({key(s) for _, s in after}) == len(after)  # ids stay unique


def test_survey_share_scales_the_answers(tmp_path):
    full = orjson.loads(build_world(tmp_path / "f", sessions=1000).truth.read_bytes())
    half = orjson.loads(build_world(tmp_path / "h", sessions=1000, survey_share=0.5)
                        .truth.read_bytes())
    assert 0.35 < half["counts"]["responses"] / full["counts"]["responses"] < 0.65
    assert half["counts"]["page_views"] == full["counts"]["page_views"]
    assert half["models"]["survey"]["survey_share"] == 0.5


def test_plan_meets_the_targets(tmp_path):
    # Up to 3000 sessions the calibration world is the very world built, so the rates are exact.
    p = scale.plan(1000, spans_target=60_000, responses_target=60, seed=7)
    assert p.extra_spans >= 1 and 0.0 < p.survey_share < 1.0
    counts = scale.generate(tmp_path, p)
    assert 60_000 <= counts["spans"] < 60_000 + counts["page_views"]  # rounded up, not more
    assert 30 <= counts["responses"] <= 90
    lavish = scale.plan(1000, spans_target=1000, responses_target=10**6)
    assert (lavish.extra_spans, lavish.survey_share) == (0, 1.0)


@pytest.mark.parametrize("knobs", [{"survey_share": 1.5}, {"survey_share": -0.1},
                                   {"survey_share": math.nan}, {"extra_spans": -1}])
def test_bad_knobs_are_config_errors(tmp_path, knobs):
    with pytest.raises(ConfigError):
        build_world(tmp_path, sessions=10, **knobs)
