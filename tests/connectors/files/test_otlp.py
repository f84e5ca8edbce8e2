"""OTLP/JSON documents and Collector JSON lines: the opentelemetry-proto example, the Jaeger UI
sample, spans made by the real OpenTelemetry SDK, and the ways a file can be bad."""

from __future__ import annotations

import dataclasses
import gzip
import json

import orjson
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from parallax.connectors.base import Source
from parallax.connectors.files import detect, get_format
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import FormatError
from tests.connectors.files.writers import otlp_json as _otlp_json

COLS = ("trace_id, span_id, parent_span_id, service, name, kind, epoch_us(started_at), "
        "duration_ms, is_error, status_code, http_method, http_route, route, peer, session_id, "
        "user_id, attributes, resource, source")


def _rows(con) -> list[dict]:
    names = [c.strip().replace("epoch_us(started_at)", "start_us") for c in COLS.split(",")]
    rows = con.execute(f"SELECT {COLS} FROM spans ORDER BY started_at, span_id, kind").fetchall()
    return [dict(zip(names, r, strict=True)) for r in rows]


def test_proto_example_field_by_field(con, opts, vendor):
    [s] = ingest_files(con, "traces", [vendor / "otlp_proto_examples_trace.json"], opts)
    assert (s.format, s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == (
        "otlp-json", 1, 1, 0, 0)
    [row] = _rows(con)
    assert row == {
        "trace_id": "5b8efff798038103d269b633813fc60c",  # sent upper case
        "span_id": "eee19b7ec3c1b174",
        "parent_span_id": "eee19b7ec3c1b173",
        "service": "my.service",
        "name": "I'm a server span",
        "kind": "server",
        "start_us": 1_544_712_660_000_000,
        "duration_ms": 1000.0,
        "is_error": False,
        "status_code": None, "http_method": None, "http_route": None, "route": None,
        "peer": None, "session_id": None, "user_id": None,
        "attributes": '{"my.span.attr":"some value"}',
        "resource": '{"service.name":"my.service"}',
        "source": "otlp-json",
    }


def test_same_span_twice_is_one_row_and_reload_changes_nothing(con, opts, vendor):
    f = vendor / "jaeger_ui_otlp2jaeger_in.json"
    [s] = ingest_files(con, "traces", [f], opts)
    assert (s.rows_read, s.rows_loaded, s.duplicates) == (2, 1, 1)
    [again] = ingest_files(con, "traces", [f], opts)
    assert (again.rows_loaded, again.duplicates) == (0, 2)
    [row] = _rows(con)
    assert (row["start_us"], row["duration_ms"]) == (1_706_678_909_209_712, 0.123)
    assert row["parent_span_id"] == "909541b92cf05311"
    assert row["peer"] is None  # peer.service on a SERVER span names the caller, not a dependency
    attrs = json.loads(row["attributes"])
    assert attrs["peer.service"] == "telemetrygen-client"
    assert attrs["net.peer.ip"] != "1.2.3.4" and len(attrs["net.peer.ip"]) == 32  # pseudonym


# --- spans from the real OpenTelemetry SDK -----------------------------------------------

def _sdk_spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("parallax.tests")
    server_attrs = {
        "http.request.method": "GET", "http.route": "/product/{id}",
        "url.path": "/product/4711", "http.response.status_code": 200,
        "session.id": "sess-42", "enduser.id": "alice@example.com",
        "http.request.header.accept": ["text/html", "application/json"],
        "sampled.ratio": 0.25, "cache.hit": True,
    }
    client_attrs = {
        "http.request.method": "POST", "server.address": "payments.internal",
        "url.full": "https://payments.internal/v2/charge/8f14e45fceea167a?otp=123",
        "http.response.status_code": 502,
    }
    with (
        tracer.start_as_current_span("GET /product/{id}", kind=SpanKind.SERVER,
                                     attributes=server_attrs),
        tracer.start_as_current_span("POST", kind=SpanKind.CLIENT,
                                     attributes=client_attrs) as client,
    ):
        client.set_status(Status(StatusCode.ERROR, "bad gateway"))
    provider.shutdown()
    return exporter.get_finished_spans()


def _check_against_sdk(rows, spans, pseudonymize, source):
    by_id = {r["span_id"]: r for r in rows}
    assert len(rows) == len(spans) == 2
    for sdk in spans:
        row = by_id[format(sdk.context.span_id, "016x")]
        assert row["trace_id"] == format(sdk.context.trace_id, "032x")
        assert row["parent_span_id"] == (
            format(sdk.parent.span_id, "016x") if sdk.parent else None)
        assert row["name"] == sdk.name
        assert row["kind"] == sdk.kind.name.lower()
        assert row["start_us"] == sdk.start_time // 1000
        assert row["duration_ms"] == (sdk.end_time - sdk.start_time) / 1e6
        assert row["is_error"] is (sdk.status.status_code is StatusCode.ERROR)
        assert row["service"] == sdk.resource.attributes["service.name"] == "checkout"
        assert row["source"] == source
        assert json.loads(row["resource"])["service.name"] == "checkout"
    server = next(r for r in rows if r["kind"] == "server")
    client = next(r for r in rows if r["kind"] == "client")
    assert (server["http_method"], server["http_route"], server["route"]) == (
        "GET", "/product/{id}", "/product/{id}")
    assert server["status_code"] == 200 and server["peer"] is None
    assert server["session_id"] == "sess-42"
    assert server["user_id"] == pseudonymize("alice@example.com")
    attrs = json.loads(server["attributes"])
    assert attrs["enduser.id"] == pseudonymize("alice@example.com")
    assert "alice" not in server["attributes"]
    assert attrs["http.request.header.accept"] == ["text/html", "application/json"]
    assert (attrs["sampled.ratio"], attrs["cache.hit"]) == (0.25, True)
    assert attrs["http.response.status_code"] == 200  # intValue arrives as a JSON string
    assert (client["peer"], client["status_code"], client["http_method"]) == (
        "payments.internal", 502, "POST")
    assert client["http_route"] == "https://payments.internal/v2/charge/8f14e45fceea167a"
    assert client["route"] == "/v2/charge/{id}"
    assert client["session_id"] is None and client["user_id"] is None


def test_sdk_spans_pretty_document_and_collector_lines(con, opts, pseudonymize, tmp_path):
    spans = _sdk_spans()
    pretty = tmp_path / "traces.json"
    pretty.write_text(json.dumps(_otlp_json(spans), indent=2))
    [s] = ingest_files(con, "traces", [pretty], opts)
    assert (s.format, s.rows_loaded, s.rejected) == ("otlp-json", 2, 0)
    _check_against_sdk(_rows(con), spans, pseudonymize, "otlp-json")

    # The Collector's file exporter writes one request per export batch, one per line.
    lines = tmp_path / "traces.jsonl"
    lines.write_text("".join(json.dumps(_otlp_json([sp])) + "\n" for sp in spans))
    with connect(tmp_path / "other.duckdb") as con2:
        [s] = ingest_files(con2, "traces", [lines], opts)
        assert (s.format, s.rows_read, s.rows_loaded) == ("otlp-jsonl", 2, 2)
        _check_against_sdk(_rows(con2), spans, pseudonymize, "otlp-jsonl")


# --- hand-made OTLP/JSON lines for the edge cases -----------------------------------------

def _span(i: int, **over) -> dict:
    span = {
        "traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "parentSpanId": "",
        "name": f"op{i}", "kind": 2, "startTimeUnixNano": 1_700_000_000_000_000_000 + i,
        "endTimeUnixNano": str(1_700_000_000_002_500_000 + i), "unknownField": {"x": 1},
        "attributes": [{"key": "n", "value": {"intValue": str(i)}}],
    }
    return {**span, **over}


def _line(*spans: dict, key: str = "scopeSpans") -> str:
    res = {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}
    return json.dumps({"resourceSpans": [{"resource": res, key: [{"spans": list(spans)}]}]})


def _write(path, lines, gz=False):
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_gzip_lines_and_reload(con, opts, tmp_path):
    f = _write(tmp_path / "t.jsonl.gz", [_line(_span(i), _span(i + 1)) for i in (0, 2, 4)],
               gz=True)
    [s] = ingest_files(con, "traces", [f], opts)
    assert (s.format, s.rows_read, s.rows_loaded) == ("otlp-jsonl", 6, 6)
    [again] = ingest_files(con, "traces", [f], opts)
    assert (again.rows_loaded, again.duplicates) == (0, 6)
    row = _rows(con)[0]
    assert row["parent_span_id"] is None and row["duration_ms"] == 2.5
    assert row["start_us"] == 1_700_000_000_000_000 and row["attributes"] == '{"n":0}'


def test_bad_span_and_bad_line_become_rejects(con, opts, tmp_path):
    lines = [_line(*(_span(i) for i in range(250)))]  # 2 of 253 bad: under the 1 % limit
    lines.append(_line(_span(300, traceId="not-hex"), _span(301)))
    lines.append("{oops")
    f = _write(tmp_path / "t.jsonl", lines)
    [s] = ingest_files(con, "traces", [f], opts)
    assert (s.rows_read, s.rows_loaded, s.rejected) == (253, 251, 2)
    rejects = con.execute("SELECT location, reason, raw FROM rejects ORDER BY location").fetchall()
    assert rejects[0][0] == "line 2"
    assert rejects[0][1] == ("resourceSpans[0].scopeSpans[0].spans[0]: invalid traceId "
                             "'not-hex': want 32 hex digits, not all zero")
    assert json.loads(rejects[0][2])["spanId"] == f"{301:016x}"
    assert rejects[1][0] == "line 3" and rejects[1][1].startswith("invalid JSON")


@pytest.mark.parametrize(("over", "reason"), [
    ({"spanId": "0" * 16}, "invalid spanId"),
    ({"parentSpanId": "abc"}, "invalid parentSpanId"),
    ({"startTimeUnixNano": "0"}, "missing startTimeUnixNano"),
    ({"endTimeUnixNano": "1"}, "endTimeUnixNano is before startTimeUnixNano"),
    ({"startTimeUnixNano": "99999999999999999999"}, "out of range"),
    ({"attributes": [{"value": {}}]}, "malformed span"),
    ({"attributes": [{"key": "k", "value": {"intValue": "x"}}]}, "malformed span"),
])
def test_each_bad_span_is_one_reject(con, opts, tmp_path, over, reason):
    f = _write(tmp_path / "t.json", [_line(_span(0), _span(1, **over))])
    [s] = ingest_files(con, "traces", [f], dataclasses.replace(opts, max_reject_rate=0.5))
    assert (s.rows_read, s.rows_loaded, s.rejected) == (2, 1, 1)
    [(got,)] = con.execute("SELECT reason FROM rejects").fetchall()
    assert reason in got


def test_lenient_enums_legacy_key_and_any_values(con, opts, tmp_path):
    attrs = [
        {"key": "a", "value": {"arrayValue": {"values": [{"intValue": 1}, {"boolValue": False}]}}},
        {"key": "m", "value": {"kvlistValue": {"values": [
            {"key": "x", "value": {"doubleValue": "1.5"}}]}}},
        {"key": "b", "value": {"bytesValue": "AQI="}}, {"key": "e", "value": {}},
    ]
    span = _span(0, kind="SPAN_KIND_CLIENT", status={"code": "STATUS_CODE_ERROR"},
                 attributes=attrs, parentSpanId="ABCDEF0123456789")
    f = _write(tmp_path / "t.jsonl", [_line(span, key="instrumentationLibrarySpans")])
    ingest_files(con, "traces", [f], opts)
    [row] = _rows(con)
    assert (row["kind"], row["is_error"], row["parent_span_id"]) == (
        "client", True, "abcdef0123456789")
    assert json.loads(row["attributes"]) == {
        "a": [1, False], "m": {"x": 1.5}, "b": "AQI=", "e": None}


def test_every_vendor_file_is_detected_as_its_format(vendor):
    expected = {
        "otlp_proto_examples_trace.json": "otlp-json",
        "jaeger_ui_otlp2jaeger_in.json": "otlp-json",
        "jaeger_ui_otlp2jaeger_out.json": "jaeger",
        "zipkin_v2_yelp.json": "zipkin",
        "zipkin_v2_messaging_kafka.json": "zipkin",
    }
    for path in sorted(vendor.iterdir()):
        found = detect("traces", Source(path).head())
        assert (found and found.name) == expected.get(path.name), path.name


def test_pretty_document_rejects_name_the_record(con, opts, tmp_path):
    doc = json.loads(_line(_span(0), _span(1, traceId="0" * 32), _span(2)))
    f = tmp_path / "bom.json"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc, indent=4).encode())
    [s] = ingest_files(con, "traces", [f], dataclasses.replace(opts, max_reject_rate=0.5))
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("otlp-json", 3, 2, 1)
    [(location, reason)] = con.execute("SELECT location, reason FROM rejects").fetchall()
    assert location == "record 2"
    assert reason.startswith("resourceSpans[0].scopeSpans[0].spans[1]: invalid traceId '000")


def test_detection_of_lines_and_wrapped_documents(tmp_path):
    def fmt(path):
        found = detect("traces", Source(path).head())
        return found and found.name

    assert fmt(_write(tmp_path / "a.jsonl", [_line(_span(0))] * 2)) == "otlp-jsonl"
    long_line = _line(*(_span(i) for i in range(400)))  # > 64 KiB: the head ends mid-line
    assert len(long_line) > 1 << 16
    assert fmt(_write(tmp_path / "b.jsonl", [long_line])) == "otlp-jsonl"
    wrapped = tmp_path / "v3.json"
    wrapped.write_text(json.dumps({"result": json.loads(_line(_span(0)))}, indent=1))
    assert fmt(wrapped) == "otlp-json"


def test_not_otlp_is_a_format_error(con, opts, tmp_path):
    garbage = _write(tmp_path / "garbage.json", ["this is not json", _line(_span(0))])
    with pytest.raises(FormatError, match=r"garbage\.json: not a recognised traces file"):
        ingest_files(con, "traces", [garbage], opts)
    with pytest.raises(FormatError, match=r"garbage\.json: line 1: not OTLP/JSON lines"):
        ingest_files(con, "traces", [garbage], opts, format="otlp-jsonl")
    with pytest.raises(FormatError, match=r"garbage\.json: line 1 column 1: not OTLP/JSON"):
        ingest_files(con, "traces", [garbage], opts, format="otlp-json")
    other = _write(tmp_path / "other.json", ['{"data": []}'])
    with pytest.raises(FormatError, match='no "resourceSpans"'):
        ingest_files(con, "traces", [other], opts, format="otlp-json")
    assert con.execute("SELECT count(*) FROM spans").fetchone() == (0,)


def test_chunks_account_for_every_record(opts, tmp_path, monkeypatch):
    from parallax.connectors.base import ParseContext
    from parallax.connectors.files import otlp

    monkeypatch.setattr(otlp, "CHUNK_SPANS", 3)
    f = _write(tmp_path / "t.jsonl", [_line(_span(i), _span(i + 1)) for i in range(0, 10, 2)]
               + ["[]"])
    ctx = ParseContext(str(f), opts.pseudonymize, opts.route)
    chunks = list(get_format("traces", "otlp-jsonl").parse(Source(f), ctx))
    assert [c.arrow().num_rows for c in chunks] == [4, 4, 2]
    assert sum(c.records for c in chunks) == 11 and len(chunks[-1].rejects) == 1
    ids = [i for c in chunks for i in c.arrow().column("span_id").to_pylist()]
    assert ids == [f"{i:016x}" for i in range(1, 11)]
    assert orjson.loads(chunks[0].arrow().column("resource")[0].as_py()) == {"service.name": "svc"}


def test_personal_data_and_credentials_in_span_attributes_never_reach_storage(
        con, opts, pseudonymize, tmp_path):
    def attr(k, v):
        return {"key": k, "value": {"stringValue": v}}
    span = _span(0, kind=2, attributes=[
        attr("db.statement", "SELECT * FROM users WHERE email = 'ann@example.com'"),
        attr("exception.message", "no card 4111 1111 1111 1111 for bob dot x at gmail dot com"),
        attr("http.client.ip", "203.0.113.85"),
        attr("http.request.header.x-forwarded-for", "198.51.100.7"),
        attr("http.request.header.authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.live"),
        attr("http.request.header.Cookie", "sid=abc123"),
        attr("http.route", "/cart"),
    ])
    f = _write(tmp_path / "t.jsonl", [_line(span)])
    ingest_files(con, "traces", [f], opts)
    stored = json.loads(_rows(con)[0]["attributes"])
    text = json.dumps(stored)
    for gone in ("ann@example.com", "4111", "gmail", "203.0.113.85", "198.51.100.7",
                 "eyJhbGci", "Bearer", "abc123"):
        assert gone not in text
    assert "http.request.header.authorization" not in stored
    assert "http.request.header.Cookie" not in stored
    assert stored["http.client.ip"] == pseudonymize("203.0.113.85")
    assert stored["db.statement"] == pseudonymize.redact_text(
        "SELECT * FROM users WHERE email = 'ann@example.com'")
    assert stored["http.route"] == "/cart"
