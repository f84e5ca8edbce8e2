"""The demo world's files: byte-identical for a seed, in the vendors' real formats (OTLP/JSON
lines, a Qualtrics export with three header rows, GA4's BigQuery NDJSON)."""

from __future__ import annotations

import csv
import hashlib
import re
import statistics
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson

from parallax.demo import DemoFiles, build_world
from parallax.demo.spec import DEPENDENCIES, ROUTES

HEX32, HEX16 = re.compile(r"^[0-9a-f]{32}$"), re.compile(r"^[0-9a-f]{16}$")
DIGITS = re.compile(r"^\d+$")


def _sha(files: DemoFiles) -> dict[str, str]:
    paths = (*files.traces, *files.feedback, *files.analytics, files.truth)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_same_seed_and_size_give_byte_identical_files(tmp_path):
    a = build_world(tmp_path / "a", seed=11, sessions=300)
    b = build_world(tmp_path / "b", seed=11, sessions=300)
    other = build_world(tmp_path / "c", seed=12, sessions=300)
    assert _sha(a) == _sha(b)
    assert _sha(a)["spans.jsonl"] != _sha(other)["spans.jsonl"]
    assert a.traces == (tmp_path / "a" / "traces" / "spans.jsonl",)
    assert a.truth == tmp_path / "a" / "truth.json"


def test_size_scales_linearly(tmp_path):
    small = orjson.loads(build_world(tmp_path / "s", sessions=500).truth.read_bytes())["counts"]
    big = orjson.loads(build_world(tmp_path / "b", sessions=1500).truth.read_bytes())["counts"]
    assert 2.6 < big["page_views"] / small["page_views"] < 3.4
    assert 2.4 < big["responses"] / small["responses"] < 3.6


def test_default_size_matches_the_brief(world):
    counts = world[1]["counts"]
    assert counts["sessions"] == 3000
    assert 12_000 <= counts["page_views"] <= 18_000
    assert 50_000 <= counts["spans"] <= 70_000
    assert 650 <= counts["responses"] <= 1000


def test_otlp_lines_are_collector_file_exporter_json(world, spans):
    lines = world[0].traces[0].read_bytes().splitlines()
    assert len(lines) > 100
    assert all(set(orjson.loads(line)) == {"resourceSpans"} for line in lines)
    assert len(spans) == world[1]["counts"]["spans"]
    assert {service for service, _, _ in spans} == {"web-frontend", "shop-api", "account-api"}
    for _, s, _ in spans:
        assert HEX32.match(s["traceId"]) and HEX16.match(s["spanId"])
        assert "parentSpanId" not in s or HEX16.match(s["parentSpanId"])
        assert DIGITS.match(s["startTimeUnixNano"]) and DIGITS.match(s["endTimeUnixNano"])
        assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"])
        assert s["kind"] in (1, 2, 3)
        assert s["status"] in ({}, {"code": 2, "message": s["status"].get("message")})
        for a in s["attributes"]:
            (kind, value), = a["value"].items()
            assert kind in ("stringValue", "intValue", "doubleValue", "boolValue")
            assert kind != "intValue" or isinstance(value, str) and DIGITS.match(value)
    kinds = {s["name"]: s["kind"] for _, s, _ in spans}
    assert kinds["documentLoad"] == 1 and kinds["GET /product/{id}"] == 2
    assert kinds["SELECT inventory"] == 3


def test_span_attributes_follow_the_conventions(spans):
    loads = [a for _, s, a in spans if s["name"] == "documentLoad"]
    assert all({"http.url", "http.user_agent", "session.id"} <= set(a) for a in loads)
    assert any("?" in a["http.url"] for a in loads)
    servers = [a for _, s, a in spans if s["kind"] == 2]
    assert all(a["http.route"] in ROUTES and a["url.path"].startswith("/") for a in servers)
    assert {"enduser.id" in a for a in servers} == {True, False}
    peers = {a.get("peer.service") for _, s, a in spans if s["kind"] == 3}
    assert peers == set(DEPENDENCIES)
    errors = [a for _, s, a in spans if s["kind"] == 2 and s["status"]]
    assert errors and all(a["http.response.status_code"] == "503" for a in errors)


def test_qualtrics_export_has_its_three_header_rows(world, answers):
    with open(world[0].feedback[0], encoding="utf-8", newline="") as f:
        ids, texts, imports = list(csv.reader(f))[:3]
    assert ids[:9] == ["StartDate", "EndDate", "Status", "IPAddress", "Progress",
                       "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId"]
    assert ids[-4:] == ["session_id", "user_id", "page_url", "device"]
    assert {"Q1", "Q1_NPS_GROUP", "Q2"} <= set(ids)
    assert texts[ids.index("Q1")] == "How likely are you to recommend us to a friend or colleague?"
    meta = [orjson.loads(cell) for cell in imports]
    assert meta[0] == {"ImportId": "startDate", "timeZone": "Europe/Berlin"}
    assert meta[ids.index("Q2")] == {"ImportId": "QID2_TEXT"}
    assert meta[ids.index("session_id")] == {"ImportId": "session_id"}
    raw = world[0].feedback[0].read_text(encoding="utf-8").splitlines()[2]
    assert raw.startswith('"{""ImportId"":""startDate"",""timeZone"":""Europe/Berlin""}"')
    statuses = [a["Status"] for a in answers]
    assert statuses.count("Survey Preview") == world[1]["counts"]["survey_previews"] == 5
    assert statuses.count("IP Address") == world[1]["counts"]["responses"]
    for a in answers:
        score, group = int(a["Q1"]), int(a["Q1_NPS_GROUP"])
        assert group == (1 if score <= 6 else 2 if score <= 8 else 3)
        assert datetime.strptime(a["StartDate"], "%Y-%m-%d %H:%M:%S") <= \
            datetime.strptime(a["EndDate"], "%Y-%m-%d %H:%M:%S")


def test_qualtrics_dates_are_berlin_local_time(world, answers, spans):
    # A response's StartDate (Berlin) comes seconds after its page loaded (UTC in the spans).
    loads = {}
    for _, s, a in spans:
        if s["name"] == "documentLoad":
            loads[(a["session.id"], a["http.url"])] = int(s["endTimeUnixNano"]) // 10**9
    berlin = ZoneInfo("Europe/Berlin")
    gaps = [
        datetime.strptime(a["StartDate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=berlin).timestamp()
        - loads[(a["session_id"], a["page_url"])]
        for a in answers if a["session_id"] and (a["session_id"], a["page_url"]) in loads
    ]
    assert len(gaps) > 400 and 0 <= statistics.median(gaps) < 60


def test_about_30_percent_of_responses_lack_the_session_id(answers):
    real = [a for a in answers if a["Status"] == "IP Address"]
    missing = [a for a in real if not a["session_id"]]
    assert 0.25 <= len(missing) / len(real) <= 0.35
    assert any(a["user_id"] for a in missing) and any(not a["user_id"] for a in missing)
    assert all(a["page_url"].startswith("https://shop.example.com/") for a in real)


def test_ga4_rows_are_bigquery_ndjson(world, spans, events):
    rows = events
    traces = {s["traceId"] for _, s, _ in spans}
    names = defaultdict(int)
    for r in rows:
        names[r["event_name"]] += 1
        assert DIGITS.match(r["event_timestamp"]) and len(r["event_timestamp"]) == 16
        day = datetime.fromtimestamp(int(r["event_timestamp"]) / 1e6, ZoneInfo("Europe/Berlin"))
        assert r["event_date"] == day.strftime("%Y%m%d")
        assert re.match(r"^\d+\.\d{10}$", r["user_pseudo_id"])
        params = {p["key"]: p["value"] for p in r["event_params"]}
        assert DIGITS.match(params["ga_session_id"]["int_value"])
        assert set(params["session_id"]) == {"string_value"}
        if r["event_name"] == "page_view":
            assert DIGITS.match(params["page_load_ms"]["int_value"])
            assert params["trace_id"]["string_value"] in traces
        if r["event_name"] == "purchase":
            assert isinstance(r["ecommerce"]["purchase_revenue"], float)
            assert r["ecommerce"]["transaction_id"] == params["transaction_id"]["string_value"]
    assert set(names) == {"first_visit", "session_start", "page_view", "add_to_cart", "purchase"}
    assert names["session_start"] == world[1]["counts"]["ga4_sessions"]
    assert names["purchase"] <= world[1]["counts"]["purchases"]
