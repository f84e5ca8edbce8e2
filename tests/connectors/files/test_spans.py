"""The shared span builder: id checks, the semantic-convention mapping (one place for all
three trace formats), pseudonymisation of identifiers, and whole-row atomicity."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest

from parallax.connectors.base import ParseContext
from parallax.connectors.files.spans import (
    SPAN_SCHEMA,
    SpanColumns,
    SpanError,
    check_start,
    hex_id,
    parent_id,
    raw_text,
)
from parallax.connectors.routes import RouteNormalizer

T = "5b8efff798038103d269b633813fc60c"
S = "eee19b7ec3c1b174"
START_US = 1_544_712_660_123_456


@pytest.fixture
def cols(pseudonymize) -> SpanColumns:
    return SpanColumns(ParseContext("t.json", pseudonymize, RouteNormalizer()), "otlp-json")


def _add(cols: SpanColumns, attrs: dict, *, kind="server", resource=None, **kw) -> dict:
    cols.add(
        trace_id=T, span_id=S, parent_span_id=kw.pop("parent", None), name="GET",
        kind=kind, start_us=START_US, duration_ms=12.5, status_error=kw.pop("error", False),
        attrs=attrs, resource=resource or cols.resource({"service.name": "shop"}), **kw,
    )
    return cols.take().to_pylist()[0]


def test_hex_ids_are_lower_cased_and_checked():
    assert hex_id(T.upper(), (32,), "traceId") == T
    assert hex_id("A03EE8FFF1DCD9B9", (16, 32), "traceId") == "a03ee8fff1dcd9b9"
    for bad in ("0" * 32, T[:-1], T[:-1] + "g", 42, None, "0x" + T[2:]):
        with pytest.raises(SpanError, match="invalid traceId"):
            hex_id(bad, (32,), "traceId")
    assert parent_id("", (16,), "parentSpanId") is None
    assert parent_id("0" * 16, (16,), "parentSpanId") is None
    assert parent_id("EEE19B7EC3C1B173", (16,), "parentSpanId") == "eee19b7ec3c1b173"
    with pytest.raises(SpanError):
        parent_id("xyz", (16,), "parentSpanId")
    with pytest.raises(SpanError, match="out of range"):
        check_start(0, "startTime")


def test_server_span_mapping(cols, pseudonymize):
    row = _add(cols, {
        "http.request.method": "GET", "http.route": "/product/{id}",
        "url.full": "https://shop.example/product/123?email=a@b.example",
        "http.response.status_code": 503, "session.id": "s-1", "enduser.id": "alice",
        "server.address": "shop.example",
    })
    assert row["trace_id"] == T and row["span_id"] == S and row["parent_span_id"] is None
    assert row["started_at"] == datetime.fromtimestamp(START_US / 1e6, UTC)
    assert (row["service"], row["name"], row["kind"], row["duration_ms"]) == (
        "shop", "GET", "server", 12.5)
    assert (row["http_method"], row["http_route"], row["route"]) == (
        "GET", "/product/{id}", "/product/{id}")
    assert row["status_code"] == 503 and row["is_error"] is True  # 5xx, status unset
    assert row["peer"] is None  # a server span calls no dependency
    assert row["session_id"] == "s-1"
    assert row["user_id"] == pseudonymize("alice") != "alice"
    attrs = orjson.loads(row["attributes"])
    assert attrs["enduser.id"] == pseudonymize("alice")
    assert attrs["url.full"] == "https://shop.example/product/123"  # query string dropped
    assert attrs["server.address"] == "shop.example"  # other keys are kept as sent
    assert row["resource"] == '{"service.name":"shop"}' and row["source"] == "otlp-json"


def test_client_span_peer_and_url_route(cols):
    row = _add(cols, {"url.full": "https://pay.example:8443/v1/charge/9876543?token=x#f",
                      "http.status_code": "404"}, kind="client")
    assert row["http_route"] == "https://pay.example:8443/v1/charge/9876543"  # no query
    assert row["route"] == "/v1/charge/{id}"
    assert row["peer"] == "pay.example"  # from the URL: no peer attribute
    assert row["status_code"] == 404 and row["is_error"] is False
    row = _add(cols, {"peer.service": "payments", "server.address": "10.0.0.1"},
               kind="producer", remote_peer="kafka")
    assert row["peer"] == "payments"
    assert _add(cols, {}, kind="client", remote_peer="kafka")["peer"] == "kafka"


def test_errors_and_odd_values(cols):
    assert _add(cols, {"error.type": "timeout"})["is_error"] is True
    assert _add(cols, {}, error=True)["is_error"] is True
    row = _add(cols, {"http.status_code": "abc", "http.method": 7})
    assert row["status_code"] is None and row["http_method"] == "7"
    assert _add(cols, {"http.status_code": 10**12})["status_code"] is None  # not int32-safe
    assert _add(cols, {})["attributes"] is None


def test_resource_values_are_the_fallback(cols, pseudonymize):
    res = cols.resource({"service.name": "web", "session.id": "s-9", "user.id": "bob",
                         "client.address": "192.0.2.7"})
    row = _add(cols, {}, resource=res)
    assert (row["service"], row["session_id"]) == ("web", "s-9")
    assert row["user_id"] == pseudonymize("bob")
    resource = orjson.loads(row["resource"])
    assert resource["client.address"] == pseudonymize("192.0.2.7")
    row = _add(cols, {"session.id": "s-1", "enduser.id": "carol"}, resource=res)
    assert row["session_id"] == "s-1" and row["user_id"] == pseudonymize("carol")


def test_a_failing_row_leaves_no_trace(cols):
    with pytest.raises(TypeError):
        _add(cols, {"x": {1, 2}})  # a set cannot become JSON
    assert len(cols) == 0
    table = cols.take()
    assert table.schema == SPAN_SCHEMA and table.num_rows == 0


def test_url_attributes_keep_no_query_string(cols):
    row = _add(cols, {
        "url.full": "https://shop.example/p/1?email=ann@example.com#top",
        "http.target": "/p/1?token=secret", "url.query": "email=ann@example.com",
        "url.path": "/p/1",
    })
    attrs = json.loads(row["attributes"])
    assert attrs == {"url.full": "https://shop.example/p/1", "http.target": "/p/1",
                     "url.path": "/p/1"}
    assert "ann@example.com" not in row["attributes"] and "secret" not in row["attributes"]


def test_raw_text_never_raises_even_nested_past_the_recursion_limit():
    deep: list = []
    for _ in range(5000):  # deeper than orjson (255) and repr (the recursion limit) go
        deep = [deep]
    assert raw_text({"a": 1}) == '{"a":1}'
    assert raw_text({"a": {1, 2}}).startswith("{'a': {")  # not JSON: its repr
    assert raw_text(deep) == "<list nested too deep to show>"
