"""Zipkin v2 JSON: the openzipkin test data (shared server spans, messaging with errors) and a
hand-made list of traces for tags, endpoints, decimal microseconds and bad spans."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parallax.connectors.base import Source
from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import FormatError


def _count_by(con, *cols):
    rows = con.execute(f"SELECT {', '.join(cols)}, count(*) FROM spans GROUP BY ALL").fetchall()
    return {(r[0] if len(cols) == 1 else r[:-1]): r[-1] for r in rows}


def test_yelp_shared_server_spans_are_their_own_rows(con, opts, vendor):
    f = vendor / "zipkin_v2_yelp.json"
    [s] = ingest_files(con, "traces", [f], opts)
    assert (s.format, s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == (
        "zipkin", 16, 16, 0, 0)
    assert _count_by(con, "kind") == {"client": 11, "server": 4, "internal": 1}
    rows = con.execute(
        "SELECT kind, service, peer, parent_span_id, epoch_us(started_at), duration_ms "
        "FROM spans WHERE span_id = '7a778764a0d0b594' ORDER BY kind").fetchall()
    assert rows == [
        ("client", "mobile_api", "spectre", "f5f268651b2a2b34", 1_571_896_375_310_000, 3.0),
        ("server", "spectre", None, "f5f268651b2a2b34", 1_571_896_375_310_740, 1.49),
    ]
    route = con.execute("SELECT http_route, route FROM spans WHERE span_id = 'f5f268651b2a2b34' "
                        "AND kind = 'server'").fetchone()
    assert route == ("/location/update/v4", "/location/update/v4")
    assert con.execute("SELECT DISTINCT source FROM spans").fetchall() == [("zipkin",)]
    [again] = ingest_files(con, "traces", [f], opts)
    assert (again.rows_loaded, again.duplicates) == (0, 16)


def test_kafka_messaging_errors_and_kinds(con, opts, vendor):
    [s] = ingest_files(con, "traces", [vendor / "zipkin_v2_messaging_kafka.json"], opts)
    assert (s.rows_read, s.rows_loaded) == (28, 28)
    assert _count_by(con, "kind") == {"producer": 9, "consumer": 7, "internal": 12}
    errors = con.execute("SELECT span_id FROM spans WHERE is_error ORDER BY span_id").fetchall()
    assert errors == [("2f77d5b0b8e0de35",), ("4a64a63e4b58e665",), ("568b33e6af8a225a",)]
    assert _count_by(con, "kind", "peer") == {
        ("producer", "kafka"): 9, ("consumer", None): 7, ("internal", None): 12}
    root = con.execute("SELECT parent_span_id, service, name FROM spans "
                       "WHERE span_id = trace_id").fetchall()
    assert root == [(None, "servicea", "poll")]


TRACE_A = [
    {"traceId": "463AC35C9F6413AD48485A3953BB6124", "id": "A2FB4A1D1A96D312", "kind": "CLIENT",
     "name": "post /pay", "timestamp": 1_700_000_000_000_000.5, "duration": 1234.567,
     "localEndpoint": {"serviceName": "Shop", "ipv4": "10.0.0.5"},
     "remoteEndpoint": {"ipv4": "10.0.0.9", "port": 443},
     "tags": {"http.method": "POST", "http.path": "/pay/12345", "http.status_code": "500",
              "error": "Internal Server Error"}},
]
TRACE_B = [
    {"traceId": "00000000000000aa", "id": "00000000000000bb", "parentId": "0000000000000000",
     "name": "GET", "kind": "SERVER", "timestamp": 1_700_000_000_000_100, "duration": 10,
     "localEndpoint": {"serviceName": "api"},
     "remoteEndpoint": {"ipv4": "203.0.113.50"},
     "tags": {"http.url": "https://api.example/users/42?email=a@b.example",
              "otel.status_code": "ERROR"}},
    {"traceId": "00000000000000aa", "id": "00000000000000cc", "name": "no time"},
    {"traceId": "xyz", "id": "00000000000000dd", "timestamp": 1},
]


def test_list_of_traces_with_tags_and_endpoints(con, opts, tmp_path):
    f = tmp_path / "traces.json"
    f.write_text(json.dumps([TRACE_A, TRACE_B]))
    [s] = ingest_files(con, "traces", [f], dataclasses.replace(opts, max_reject_rate=0.5))
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("zipkin", 4, 2, 2)
    rows = con.execute(
        "SELECT trace_id, span_id, parent_span_id, service, kind, epoch_us(started_at), "
        "duration_ms, is_error, status_code, http_method, http_route, route, peer "
        "FROM spans ORDER BY started_at").fetchall()
    assert rows == [
        ("463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312", None, "Shop", "client",
         1_700_000_000_000_000, 1234.567 / 1000, True, 500, "POST", "/pay/12345", "/pay/{id}",
         "10.0.0.9"),
        ("00000000000000aa", "00000000000000bb", None, "api", "server",
         1_700_000_000_000_100, 0.01, True, None, None, "https://api.example/users/42",
         "/users/{id}", None),  # a server's remote endpoint (the client) is never the peer
    ]
    rejects = con.execute("SELECT location, reason FROM rejects ORDER BY location").fetchall()
    assert rejects == [
        ("record 3", "[1][1]: missing timestamp"),
        ("record 4", "[1][2]: invalid traceId 'xyz': want 16 or 32 hex digits, not all zero"),
    ]
    assert "203.0.113.50" not in str(con.execute("SELECT * FROM spans").fetchall())


def test_detection_and_not_zipkin(con, opts, vendor, tmp_path):
    for name in ("zipkin_v2_yelp.json", "zipkin_v2_messaging_kafka.json"):
        assert detect("traces", Source(vendor / name).head()).name == "zipkin"
    obj = tmp_path / "obj.json"
    obj.write_text('{"traceId": "00000000000000aa"}')  # no span id: not a span
    assert detect("traces", Source(obj).head()) is None
    with pytest.raises(FormatError, match=r"obj\.json: not Zipkin v2 JSON: expected a span or"):
        ingest_files(con, "traces", [obj], opts, format="zipkin")


def test_one_span_object_loads_like_the_same_span_in_a_list(con, opts, vendor, tmp_path):
    # A tracer reporting span by span writes a bare object; no public sample of one exists,
    # so the object is the vendor sample's first error span, written on its own.
    spans = json.loads((vendor / "zipkin_v2_messaging_kafka.json").read_text())
    span = next(s for s in spans if "error" in (s.get("tags") or {}))
    f = tmp_path / "one.json"
    f.write_text(json.dumps(span, indent=2))
    assert detect("traces", Source(f).head()).name == "zipkin"
    [s] = ingest_files(con, "traces", [f], opts)
    assert (s.format, s.rows_read, s.rows_loaded) == ("zipkin", 1, 1)
    one = con.execute("SELECT * EXCLUDE (load_id) FROM spans").fetchall()
    ingest_files(con, "traces", [vendor / "zipkin_v2_messaging_kafka.json"], opts)
    same = con.execute("SELECT * EXCLUDE (load_id) FROM spans WHERE span_id = ?",
                       [span["id"]]).fetchall()
    assert one == same and one[0][8] is True  # is_error


def test_rejected_spans_are_scrubbed_like_stored_rows(con, opts, pseudonymize, tmp_path):
    bad = {"traceId": "xyz", "id": "00000000000000dd", "timestamp": 1,
           "tags": {"enduser.id": "alice@example.com",
                    "http.url": "https://shop.example/cart?email=alice@example.com"}}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps([*TRACE_A, bad]))
    ingest_files(con, "traces", [f], dataclasses.replace(opts, max_reject_rate=0.6))
    [(raw,)] = con.execute("SELECT raw FROM rejects").fetchall()
    assert "alice" not in raw and pseudonymize("alice@example.com") in raw
    assert "https://shop.example/cart" in raw and "?" not in raw
