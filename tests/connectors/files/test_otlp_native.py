"""The native otlp-jsonl stage (DuckDB reads the file, models/stage/otlp_jsonl.sql) against the
Python parser, the reference: one table of fixtures — vendor samples, spans from the real
OpenTelemetry SDK, the demo world, the benchmark's Collector-like file, hand-made edge cases —
each loaded both ways and compared row by row (JSON columns as parsed), with the path that
must handle it; then the fallback, gzip, privacy and a differential test over mutated lines."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.connectors.files import get_format, otlp_native
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import ParallaxError
from tests.connectors.files.writers import otlp_json

VENDOR = Path(__file__).resolve().parents[2] / "fixtures" / "vendor"
BENCH = Path(__file__).resolve().parents[3] / "bench"
FORMAT = get_format("traces", "otlp-jsonl")
PYTHON = dataclasses.replace(FORMAT, stage_native=None)

COLUMNS = ("trace_id, span_id, kind, parent_span_id, service, name, epoch_us(started_at), "
           "duration_ms, is_error, status_code, http_method, http_route, route, peer, "
           "session_id, user_id, attributes, resource, source")
NAMES = [c.strip() for c in COLUMNS.split(",")]


# --- loading a file both ways -------------------------------------------------------------

def _load(path: Path, db: Path, opts, native: bool) -> dict:
    """Everything a load leaves behind, and which path read the file."""
    handled = []

    def spy(con, source, ctx, load_id):
        result = otlp_native.stage(con, source, ctx, load_id)
        handled.append(result is not None)
        return result

    fmt = dataclasses.replace(FORMAT, stage_native=spy) if native else PYTHON
    con = connect(db)
    try:
        try:
            [s] = ingest_files(con, "traces", [path], opts, format=fmt)
            outcome = (s.rows_read, s.rows_loaded, s.duplicates, s.rejected)
        except ParallaxError as exc:
            outcome = (type(exc).__name__, str(exc))
        rows = con.execute(f"SELECT {COLUMNS} FROM spans ORDER BY trace_id, span_id, kind")
        spans = [_row(r) for r in rows.fetchall()]
        rejects = con.execute("SELECT location, reason, raw FROM rejects "
                              "ORDER BY location, reason").fetchall()
        loads = con.execute("SELECT status, error, format, rows_read, rows_loaded, "
                            "rows_duplicate, rows_rejected FROM loads").fetchall()
        templates = con.execute("SELECT template, spans FROM route_templates "
                                "ORDER BY template").fetchall()
        left = con.execute("SELECT table_name FROM duckdb_tables() "
                           "WHERE starts_with(table_name, 'stage_')").fetchall()
        functions = con.execute("SELECT function_name FROM duckdb_functions() "
                                "WHERE starts_with(function_name, '_parallax')").fetchall()
    finally:
        con.close()
    assert left == [] and functions == []
    return {"outcome": outcome, "spans": spans, "rejects": rejects, "loads": loads,
            "templates": templates, "native": any(handled)}


def _row(row: tuple) -> dict:
    out = dict(zip(NAMES, row, strict=True))
    for key in ("attributes", "resource"):
        if out[key] is not None:
            out[key] = json.loads(out[key])
    return out


def _both(path: Path, tmp_path: Path, opts) -> tuple[dict, dict]:
    return (_load(path, tmp_path / "python.duckdb", opts, native=False),
            _load(path, tmp_path / "native.duckdb", opts, native=True))


def _same(python: dict, native: dict) -> None:
    assert native["outcome"] == python["outcome"]
    assert len(native["spans"]) == len(python["spans"])
    for a, b in zip(python["spans"], native["spans"], strict=True):
        assert b == a, {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    for key in ("rejects", "loads", "templates"):
        assert native[key] == python[key], key


# --- fixtures -----------------------------------------------------------------------------

def _attr(key: str, value) -> dict:
    return {"key": key, "value": value}


def _s(value: str) -> dict:
    return {"stringValue": value}


def _span(i: int, attrs: list | None = None, **over) -> dict:
    span = {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": f"op {i}",
            "kind": 2, "startTimeUnixNano": str(1_760_000_000_000_000_000 + i * 10**9),
            "endTimeUnixNano": str(1_760_000_000_012_500_000 + i * 10**9),
            "attributes": attrs or [], "status": {}}
    span.update(over)
    return {k: v for k, v in span.items() if v is not ...}


def _request(*spans: dict, resource: list | None = None, service: str = "shop-api") -> dict:
    attrs = [_attr("service.name", _s(service)), *(resource or [])]
    return {"resourceSpans": [{"resource": {"attributes": attrs},
                               "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}]}]}


def _lines(path: Path, *docs, raw: bytes = b"") -> Path:
    path.write_bytes(raw + b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return path


def _vendor(name: str) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:  # the document on one line: a Collector file of one request
        doc = json.loads((VENDOR / name).read_text())
        return _lines(tmp / "vendor.jsonl", doc)
    return write


def _sdk(tmp: Path) -> Path:
    """Spans made and encoded by the OpenTelemetry SDK (ids converted to hex, as OTLP/JSON)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, Status, StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "checkout", "process.command_args": ["python", "-m", "app"]}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("parallax.tests")
    with tracer.start_as_current_span("GET /product/{id}", kind=SpanKind.SERVER, attributes={
        "http.request.method": "GET", "http.route": "/product/{id}", "url.path": "/product/4711",
        "http.response.status_code": 200, "session.id": "sess-42",
        "enduser.id": "alice@example.com", "client.address": "203.0.113.9",
        "http.request.header.accept": ["text/html", "application/json"],
        "sampled.ratio": 0.25, "cache.hit": True, "retries": 0,
    }), tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes={
        "http.request.method": "POST", "url.full": "https://pay.internal/v2/charge/8f14e4?otp=1",
        "http.response.status_code": 502,
    }) as client:
        client.set_status(Status(StatusCode.ERROR, "bad gateway"))
    provider.shutdown()
    return _lines(tmp / "sdk.jsonl", otlp_json(exporter.get_finished_spans()))


def _demo(tmp: Path) -> Path:
    from parallax.demo.world import simulate
    from parallax.demo.writers import write_otlp

    path = tmp / "spans.jsonl"
    write_otlp(path, simulate(7, 40), extra_spans=2)
    return path


def _bench(tmp: Path) -> Path:
    spec = importlib.util.spec_from_file_location("otlp_file", BENCH / "otlp_file.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("otlp_file", module)
    spec.loader.exec_module(module)
    path = tmp / "collector.jsonl"
    module.write_otlp_jsonl(path, 3000, spans_per_line=64)
    return path


def _semconv(tmp: Path) -> Path:
    """Old and new semantic-convention names, string kinds and status codes, peers."""
    a = _attr
    spans = [
        _span(0, [a("http.method", _s("GET")), a("http.target", _s("/p/12?email=x@y.example")),
                  a("http.status_code", _s("404")), a("user.id", _s("u-1"))]),
        _span(1, [a("http.request.method", _s("POST")), a("http.route", _s("/cart?x=1")),
                  a("http.response.status_code", {"intValue": 503})], kind="SPAN_KIND_SERVER"),
        _span(2, [a("url.full", _s("https://user:pw@Pay.Example:8443/v1/charge/99?t=1#f")),
                  a("http.status_code", {"intValue": "200"})], kind="SPAN_KIND_CLIENT"),
        _span(3, [a("http.url", _s("http://[2001:db8::1]:8080/x"))], kind=4),
        _span(4, [a("net.peer.name", _s("db.internal")), a("server.address", _s(""))], kind=3),
        _span(5, [a("peer.service", _s("payments")), a("server.address", _s("10.0.0.1"))],
              kind=3),
        _span(6, [a("url.path", _s("/orders/12345")), a("error.type", _s("timeout"))],
              status={"code": "STATUS_CODE_ERROR"}),
        _span(7, [a("http.path", _s("/z")), a("http.response.status_code", {"intValue": "0"}),
                  a("http.status_code", {"intValue": "1000"})], status={"code": "ERROR"}),
        _span(8, [a("http.route", _s("?only=query")), a("http.status_code", _s("abc"))],
              status={"code": 2}),
        _span(9, [a("http.status_code", _s(""))], kind="SPAN_KIND_CONSUMER",
              status={"code": 1, "message": "ok"}),
        _span(10, [a("server.address", {"intValue": "7"})], kind=3),
        _span(11, [a("url.full", _s("relative/path"))], kind=3),
        _span(12, [a("http.request.method", _s("")), a("http.method", {"intValue": "7"})]),
        _span(13, [a("http.route", {"intValue": 0}), a("http.path", {"boolValue": False})]),
        _span(14, [a("error.type", _s("")), a("http.response.status_code", {"intValue": -5})]),
    ]
    return _lines(tmp / "semconv.jsonl", _request(*spans[:8]), _request(*spans[8:]))


def _values(tmp: Path) -> Path:
    """Every AnyValue shape, odd strings and keys, personal values of any type."""
    a = _attr
    attrs = [
        a("i.str", {"intValue": "42"}), a("i.num", {"intValue": 42}), a("i.neg", {"intValue": -7}),
        a("i.zeros", {"intValue": "007"}), a("i.u64", {"intValue": "18446744073709551615"}),
        a("i.min", {"intValue": "-9223372036854775808"}),
        a("d.num", {"doubleValue": 0.25}), a("d.int", {"doubleValue": 5}),
        a("d.str", {"doubleValue": "1.5"}), a("d.nan", {"doubleValue": "NaN"}),
        a("d.inf", {"doubleValue": "-Infinity"}), a("d.big", {"doubleValue": 1e300}),
        a("d.zero", {"doubleValue": -0.0}),
        a("b.true", {"boolValue": True}), a("b.false", {"boolValue": False}),
        a("b.str", {"boolValue": "TRUE"}), a("b.no", {"boolValue": "no"}),
        a("b.num", {"boolValue": 1}), a("b.null", {"boolValue": None}),
        a("bytes", {"bytesValue": "AQI="}),
        a("arr", {"arrayValue": {"values": [_s("a"), {"intValue": "1"}, {"boolValue": True},
                                            {"doubleValue": 2.5}, {}, {"bytesValue": "AA=="}]}}),
        a("arr.empty", {"arrayValue": {}}), a("arr.null", {"arrayValue": None}),
        a("kv", {"kvlistValue": {"values": [a("x", {"doubleValue": "1.5"}), a("y", _s("z")),
                                            a("n", {})]}}),
        a("kv.empty", {"kvlistValue": {"values": []}}),
        a("empty", {}), a("missing.value", ...), a("null.value", None),
        a("s.empty", _s("")), a("s.unicode", _s("Grüße — 東京 😀")),
        a("s.escapes", _s('quote " backslash \\ newline \n tab \t \u2028 end')),
        a("k \" \\ é", _s("odd key")), a("s.json", _s('{"not": "an object"}')),
        a("s.brace", _s('ends with "}')),
        a("user.email", _s("Ann@Example.com")), a("client.address", _s(" 192.0.2.1 ")),
        a("user_id", {"intValue": "123"}), a("customer_id", {"boolValue": True}),
        a("ip", _s("   ")), a("email", _s("")), a("userId", {}),
        a("enduser.email", {"arrayValue": {"values": [_s("a@b.example")]}}),
        a("RecipientEmail", {"doubleValue": 1.5}),
        a("url.query", _s("email=x@y.example")), a("http.target", _s("/p?token=secret#top")),
    ]
    attrs = [{k: v for k, v in kv.items() if v is not ...} for kv in attrs]
    res = [a("host.name", _s("node-1")), a("process.pid", {"intValue": "4"}),
           a("process.command_args", {"arrayValue": {"values": [_s("python"), _s("app.py")]}}),
           a("net.peer.ip", _s("198.51.100.7")), a("enduser.id", {"intValue": "0"})]
    return _lines(tmp / "values.jsonl", _request(_span(0, attrs), _span(1), resource=res))


def _resources(tmp: Path) -> Path:
    """Session and user from the resource, several resources and scopes a line, empty lists."""
    a = _attr
    line = {"resourceSpans": [
        {"resource": {"attributes": [a("service.name", _s("web")), a("session.id", _s("rs-1")),
                                     a("enduser.id", _s("")), a("user.id", _s("res-user"))]},
         "scopeSpans": [
             {"scope": {"name": "a"}, "spans": [
                 _span(0), _span(1, [a("session.id", _s("")), a("enduser.id", _s("  "))]),
                 _span(2, [a("session.id", {"intValue": "9"}), a("user.id", _s("own"))])]},
             {"scope": {"name": "b"}, "spans": []}, {"scope": {"name": "c"}}]},
        {"resource": {"attributes": [a("service.name", {"intValue": "5"}),
                                     a("session.id", {"boolValue": True})]},
         "scopeSpans": [{"spans": [_span(3, [a("user.id", {"intValue": "0"})])]}]},
        {"resource": None, "scopeSpans": [{"spans": [_span(4)]}]},
        {"scopeSpans": [{"spans": [_span(5)]}]},
        {"resource": {"attributes": [a("enduser.id", {"intValue": "0"}),
                                     a("user.id", _s("second"))]},
         "scopeSpans": [{"spans": [_span(6)]}]},
        {"resource": {"attributes": []}, "scopeSpans": []},
    ]}
    return _lines(tmp / "resources.jsonl", line, {"resourceSpans": []}, _request(_span(7)))


def _spans(tmp: Path) -> Path:
    """Ids, times, names and kinds in every accepted form; a span sent twice; blank lines."""
    spans = [
        _span(0, traceId="5B8EFFF798038103D269B633813FC60C", spanId="EEE19B7EC3C1B174",
              parentSpanId="EEE19B7EC3C1B173"),
        _span(1, parentSpanId=""), _span(2, parentSpanId="0000000000000000"),
        _span(3, parentSpanId="0"), _span(4, parentSpanId=None), _span(5, parentSpanId=...),
        _span(6, startTimeUnixNano=1_760_000_000_000_000_006, endTimeUnixNano=...),
        _span(7, endTimeUnixNano="0"), _span(8, endTimeUnixNano=""),
        _span(9, endTimeUnixNano="1760000009000000000"),  # end == start
        _span(10, endTimeUnixNano=1_760_000_010_000_000_999,
              startTimeUnixNano="001760000010000000000"),
        _span(11, name=...), _span(12, name=""), _span(13, name=42), _span(14, name=True),
        _span(15, name="naïve \"quoted\" name"), _span(16, kind=...), _span(17, kind=0),
        _span(18, kind=7), _span(19, kind="2"), _span(20, kind=True), _span(21, kind=False),
        _span(22, kind=None), _span(23, kind="SPAN_KIND_PRODUCER"), _span(24, kind=-1),
        _span(25, status=None), _span(26, status={"code": None}), _span(27, status={"code": "2"}),
        _span(28, status={"code": 3}), _span(29, status={"code": "STATUS_CODE_OK"}),
        _span(30, attributes=None), _span(31, attributes=...), _span(32, unknownField={"x": [1]}),
        _span(0, [_attr("second.copy", _s("ignored: the first staged copy wins"))],
              traceId="5b8efff798038103d269b633813fc60c", spanId="eee19b7ec3c1b174"),
        _span(33, spanId=f"{0:016x}"[:-1] + "1", kind=3),  # same ids, another kind below
        _span(33, spanId=f"{0:016x}"[:-1] + "1", kind=2),
    ]
    docs = [_request(*spans[:12]), _request(*spans[12:24]), _request(*spans[24:])]
    path = tmp / "spans.jsonl"
    data = b"".join(orjson.dumps(d) + b"\r\n" for d in docs)
    path.write_bytes(b"\xef\xbb\xbf" + data.replace(b"\r\n", b"\r\n\n   \n", 1))
    return path


def _bare(tmp: Path) -> Path:
    """No attributes anywhere: no resource, no span attributes."""
    spans = [_span(i, attributes=...) for i in range(3)]
    return _lines(tmp / "bare.jsonl", {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


def _wide(tmp: Path) -> Path:
    """Thousands of distinct keys in one batch."""
    spans = [_span(i, [_attr(f"arg.{i}.{j}", _s("v")) for j in range(3)]) for i in range(3000)]
    return _lines(tmp / "wide.jsonl", _request(*spans))


def _gzip(write: Callable[[Path], Path], name: str) -> Callable[[Path], Path]:
    def compressed(tmp: Path) -> Path:
        plain = write(tmp)
        path = tmp / name
        path.write_bytes(gzip.compress(plain.read_bytes()))
        return path
    return compressed


def _fallback(*lines: dict | bytes) -> Callable[[Path], Path]:
    """Good requests around the ones given (dicts are written as JSON, bytes as they are)."""
    def write(tmp: Path) -> Path:
        good = [orjson.dumps(_request(*(_span(100 * j + i) for i in range(60)))) for j in (1, 2)]
        body = [x if isinstance(x, bytes) else orjson.dumps(x) for x in lines]
        path = tmp / "fallback.jsonl"
        path.write_bytes(b"\n".join([good[0], *body, good[1]]) + b"\n")
        return path
    return write


def _bad_value(value: dict, key: str = "some.key") -> dict:
    return _request(_span(7, [_attr(key, value)]))


@dataclasses.dataclass(frozen=True)
class Case:
    write: Callable[[Path], Path]
    native: bool  # which path must read it: DuckDB, or the Python parser after a fallback


CASES = {
    "vendor proto example": Case(_vendor("otlp_proto_examples_trace.json"), True),
    "vendor jaeger-ui sample (a span twice)": Case(_vendor("jaeger_ui_otlp2jaeger_in.json"), True),
    "opentelemetry sdk": Case(_sdk, True),
    "demo world": Case(_demo, True),
    "collector-like benchmark file": Case(_bench, True),
    "semantic conventions": Case(_semconv, True),
    "values": Case(_values, True),
    "resources": Case(_resources, True),
    "ids, times, names, kinds": Case(_spans, True),
    "no attributes anywhere": Case(_bare, True),
    "thousands of distinct keys": Case(_wide, True),
    "gzip": Case(_gzip(_semconv, "semconv.jsonl.gz"), True),
    "gzip without .gz": Case(_gzip(_values, "values.jsonl"), True),
    # the Python path reads these: a reject, or a shape the native path leaves to Python
    "bad trace id": Case(_fallback(_request(_span(7, traceId="not-hex"))), False),
    "all-zero span id": Case(_fallback(_request(_span(7, spanId="0" * 16))), False),
    "bad parent id": Case(_fallback(_request(_span(7, parentSpanId="abc"))), False),
    "numeric span id": Case(_fallback(_request(_span(7, spanId=1234567890123456))), False),
    "end before start": Case(_fallback(_request(_span(7, endTimeUnixNano="1"))), False),
    "no start": Case(_fallback(_request(_span(7, startTimeUnixNano=...))), False),
    "start with spaces": Case(_fallback(_request(_span(7, startTimeUnixNano=" 1"))), False),
    "start out of range": Case(_fallback(_request(_span(7, startTimeUnixNano="9" * 20))), False),
    "invalid JSON line": Case(_fallback(b"{oops"), False),
    "a line that is not a request": Case(_fallback(b'{"data": []}'), False),
    "a null line": Case(_fallback(b"null"), False),
    "a null span": Case(_fallback({"resourceSpans": [{"scopeSpans": [{"spans": [None]}]}]}),
                        False),
    "resourceSpans not a list": Case(_fallback({"resourceSpans": {"x": 1}}), False),
    "jaeger api/v3 wrapper": Case(_fallback({"result": _request(_span(7))}), False),
    "legacy instrumentationLibrarySpans": Case(_fallback({"resourceSpans": [
        {"instrumentationLibrarySpans": [{"spans": [_span(7)]}]}]}), False),
    "attribute key given twice": Case(_fallback(_request(_span(7, [
        _attr("k", _s("first")), _attr("k", _s("last"))]))), False),
    "attribute without key": Case(_fallback(_request(_span(7, [{"value": _s("v")}]))), False),
    "numeric attribute key": Case(_fallback(_request(_span(7, [_attr(5, _s("v"))]))), False),
    "malformed intValue": Case(_fallback(_bad_value({"intValue": "x"})), False),
    "intValue null": Case(_fallback(_bad_value({"intValue": None})), False),
    # shapes the Python mapping itself decodes inside the native path (once per distinct value)
    "nested array": Case(_fallback(_bad_value({"arrayValue": {"values": [
        {"arrayValue": {"values": [_s("deep")]}}]}})), True),
    "two members in a value": Case(_fallback(_bad_value({"stringValue": "a", "intValue": "1"})),
                                   True),
    "float user id": Case(_fallback(_bad_value({"doubleValue": 1.5}, "enduser.id")), True),
    "NaN status code": Case(_fallback(_bad_value({"doubleValue": "NaN"}, "http.status_code")),
                            False),
    "float kind": Case(_fallback(_request(_span(7, kind=2.0))), False),
    "list status code": Case(_fallback(_request(_span(7, status={"code": [2]}))), False),
    "status not an object": Case(_fallback(_request(_span(7, status="error"))), False),
    "only empty requests": Case(lambda tmp: _lines(tmp / "e.jsonl", {"resourceSpans": []}),
                                False),
}


@pytest.mark.parametrize("name", CASES)
def test_both_paths_store_the_same(name, tmp_path, opts):
    case = CASES[name]
    python, native = _both(case.write(tmp_path), tmp_path, opts)
    assert native["native"] is case.native
    assert not python["native"]
    _same(python, native)
    assert python["spans"] or isinstance(python["outcome"][0], str) or name.startswith("only")


def test_the_shop_fixture_teaches_the_same_templates(tmp_path, opts, shop):
    python, native = _both(shop.traces(tmp_path / "shop.jsonl"), tmp_path, opts)
    assert native["native"]
    _same(python, native)
    assert [t for t, _ in native["templates"]] == [
        "/blog/{slug}", "/category/new-arrivals", "/category/{slug}", "/product/{id}"]


def test_a_fallback_reports_each_reject_with_its_line(tmp_path, opts):
    f = _fallback(_request(_span(7, traceId="not-hex"), _span(8)), b"{oops")(tmp_path)
    python, native = _both(f, tmp_path, dataclasses.replace(opts, max_reject_rate=0.05))
    _same(python, native)
    assert not native["native"]
    assert native["outcome"] == (123, 121, 0, 2)
    assert [r[:1] for r in native["rejects"]] == [("line 2",), ("line 3",)]
    assert "invalid traceId 'not-hex'" in native["rejects"][0][1]


def test_a_fallback_over_the_reject_limit_fails_the_same_way(tmp_path, opts):
    bad = [_span(i, traceId="0" * 32) for i in range(5)]
    f = _fallback(_request(*bad))(tmp_path)
    python, native = _both(f, tmp_path, opts)
    _same(python, native)
    assert native["outcome"][0] == "RejectRateError" and native["spans"] == []
    assert [r[0] for r in native["loads"]] == ["failed"]


def test_reloading_changes_nothing(tmp_path, opts):
    f = _semconv(tmp_path)
    con = connect(tmp_path / "db.duckdb")
    try:
        [first] = ingest_files(con, "traces", [f], opts)
        [again] = ingest_files(con, "traces", [f], opts)
        assert (first.rows_read, first.rows_loaded, first.duplicates) == (15, 15, 0)
        assert (again.rows_read, again.rows_loaded, again.duplicates) == (15, 0, 15)
        assert con.execute("SELECT count(*) FROM spans").fetchone() == (15,)
    finally:
        con.close()


def test_switched_off_by_the_environment(tmp_path, opts, monkeypatch):
    monkeypatch.setenv("PARALLAX_NATIVE", "0")
    assert not otlp_native.enabled()
    result = _load(_semconv(tmp_path), tmp_path / "db.duckdb", opts, native=True)
    assert not result["native"] and result["outcome"] == (15, 15, 0, 0)


def test_no_raw_identifier_reaches_any_table(tmp_path, opts, pseudonymize):
    """User ids, e-mail addresses and IP addresses (in columns, attributes, resources and URL
    query strings) are pseudonymised before any row is written; the stage table is gone."""
    raw = ["alice@example.com", "Bob.Smith@Example.org", "203.0.113.77", "u-829113",
           "10.9.8.7", "res-user-55", "token-abc123"]
    a = _attr
    doc = _request(
        _span(0, [a("enduser.id", _s(raw[0])), a("client.address", _s(raw[2])),
                  a("url.full", _s(f"https://shop.example/p?email={raw[1]}&t={raw[6]}")),
                  a("url.query", _s(f"email={raw[1]}"))]),
        _span(1, [a("user.id", _s(raw[3])), a("user.email", _s(raw[1])),
                  a("http.target", _s(f"/x?u={raw[3]}#{raw[6]}"))], kind=3),
        resource=[a("net.sock.peer.addr", _s(raw[4])), a("user.id", _s(raw[5]))])
    f = _lines(tmp_path / "pii.jsonl", doc)
    result = _load(f, tmp_path / "db.duckdb", opts, native=True)
    assert result["native"] and result["outcome"] == (2, 2, 0, 0)
    con = connect(tmp_path / "db.duckdb")
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND data_type IN ('VARCHAR', 'JSON')"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            for value in raw:
                [(n,)] = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE contains(lower("{column}"::VARCHAR), ?)',
                    [value.lower()]).fetchall()
                assert n == 0, (table, column, value)
        users = {u for (u,) in con.execute("SELECT user_id FROM spans").fetchall()}
        assert users == {pseudonymize(raw[0]), pseudonymize(raw[3])}
    finally:
        con.close()


def test_rejected_records_keep_no_raw_identifier(tmp_path, opts, pseudonymize):
    """A rejected span (and a line that is not JSON) is stored scrubbed like a stored row."""
    a = _attr
    bad = _span(7, [a("enduser.id", _s("mallory@example.com")), a("client.address",
                    _s("198.51.100.23")), a("url.full", _s("https://x.example/p?t=s3cret")),
                    a("url.query", _s("u=mallory")), a("http.route", _s("/p"))],
                traceId="not-hex")
    f = _fallback(_request(bad), b'{"oops": "mallory@example.com", "url": "https://x/?t=s3cret"')
    result = _load(f(tmp_path), tmp_path / "db.duckdb",
                   dataclasses.replace(opts, max_reject_rate=0.5), native=True)
    assert not result["native"] and len(result["rejects"]) == 2
    (_, _, span), (_, _, line) = result["rejects"]
    for secret in ("mallory", "198.51.100.23", "s3cret"):
        assert secret not in span and secret not in line
    attrs = {kv["key"]: kv["value"] for kv in json.loads(span)["attributes"]}
    assert attrs["enduser.id"] == {"stringValue": pseudonymize("mallory@example.com")}
    assert attrs["url.full"] == {"stringValue": "https://x.example/p"}
    assert attrs["http.route"] == {"stringValue": "/p"}
    assert pseudonymize("mallory@example.com") in line


# --- a differential test: mutated lines, both paths ----------------------------------------

_ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(allow_nan=True),
    st.text(max_size=6), st.sampled_from(["", "0", "2", "NaN", "SPAN_KIND_CLIENT", "0" * 16,
                                          "ERROR", " 7", "1e3", "a" * 32]),
    st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.sampled_from(
        ["stringValue", "intValue", "doubleValue", "boolValue", "bytesValue", "arrayValue",
         "kvlistValue", "code", "values"]), st.integers(0, 9) | st.text(max_size=3), max_size=2),
)
_KEYS = ["traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
         "endTimeUnixNano", "status", "attributes"]
_ATTR_KEYS = ["http.route", "url.full", "http.status_code", "enduser.id", "session.id",
              "server.address", "error.type", "client.address", "other"]


@st.composite
def _mutated(draw) -> dict:
    spans = [_span(i, [_attr("http.route", _s("/a/{id}")), _attr("url.path", _s("/a/1")),
                       _attr("enduser.id", _s("carol"))], kind=3) for i in range(3)]
    for _ in range(draw(st.integers(1, 3))):
        span = spans[draw(st.integers(0, 2))]
        if draw(st.booleans()):
            span[draw(st.sampled_from(_KEYS))] = draw(_ODD)
        else:
            key = draw(st.sampled_from(_ATTR_KEYS))
            value = draw(st.one_of(_ODD, st.fixed_dictionaries({}, optional={
                "stringValue": st.text(max_size=4), "intValue": _ODD, "doubleValue": _ODD,
                "boolValue": _ODD, "arrayValue": _ODD, "kvlistValue": _ODD})))
            attrs = span["attributes"] if isinstance(span["attributes"], list) else []
            span["attributes"] = [*attrs, {"key": key, "value": value}]
    return _request(*spans)


_TEXT = st.text(alphabet=st.sampled_from("aZ0 /?#=@.é\"\\\n😀"), max_size=8)
_ANY = st.one_of(
    st.fixed_dictionaries({"stringValue": _TEXT}),
    st.fixed_dictionaries({"intValue": st.integers(-(2**63), 2**64 - 1).map(str)
                           | st.integers(-(2**63), 2**63 - 1)}),
    st.fixed_dictionaries({"doubleValue": st.floats(allow_nan=False, allow_infinity=False)
                           | st.sampled_from(["NaN", "Infinity", "-Infinity", "0.5", "0"])}),
    st.fixed_dictionaries({"boolValue": st.booleans() | st.sampled_from(["true", "True", "x"])}),
    st.fixed_dictionaries({"bytesValue": st.sampled_from(["", "AQI=", "/w=="])}),
    st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries({"values": st.lists(
        st.fixed_dictionaries({"stringValue": _TEXT}) | st.just({}), max_size=3)})}),
    st.fixed_dictionaries({"kvlistValue": st.fixed_dictionaries({"values": st.lists(
        st.fixed_dictionaries({"key": st.sampled_from("abc"),
                               "value": st.fixed_dictionaries({"intValue": st.just("1")})}),
        max_size=2, unique_by=lambda kv: kv["key"])})}),
    st.just({}),
)
_SPAN_FIELDS = {
    "parentSpanId": st.sampled_from(["", "0" * 16, "ABCDEF0123456789", "0"]),
    "name": st.one_of(_TEXT, st.integers(-5, 5), st.booleans(), st.none()),
    "kind": st.one_of(st.integers(-1, 7), st.sampled_from(["SPAN_KIND_CLIENT", "2", "x"]),
                      st.booleans(), st.none()),
    "endTimeUnixNano": st.sampled_from(["", "0", "1760000000000000000", None]),
    "status": st.sampled_from([{}, {"code": 2}, {"code": "ERROR"}, {"code": 1}, None]),
}


@st.composite
def _varied(draw) -> dict:
    """Valid requests with values of every accepted shape in the keys the columns read."""
    spans = []
    for i in range(3):
        keys = draw(st.lists(st.sampled_from(_ATTR_KEYS + ["url.query", "http.method",
                                                          "user.email", "ip"]),
                             max_size=5, unique=True))
        span = _span(i, [_attr(k, draw(_ANY)) for k in keys])
        for field, values in _SPAN_FIELDS.items():
            if draw(st.booleans()):
                span[field] = draw(values)
        spans.append(span)
    resource = [_attr(k, draw(_ANY)) for k in draw(st.lists(st.sampled_from(
        ["session.id", "enduser.id", "user.id", "client.address", "host.name"]),
        max_size=3, unique=True))]
    return _request(*spans, resource=resource)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(_mutated(), _varied()))
def test_mutated_requests_are_stored_the_same_either_way(doc, tmp_path_factory, opts,
                                                         empty_db):
    tmp = tmp_path_factory.mktemp("mut")
    for db in ("python.duckdb", "native.duckdb"):  # the databases _both opens
        empty_db(tmp / db)
    try:
        line = orjson.dumps(doc)
    except TypeError:  # orjson cannot write the mutation (an int beyond 64 bits)
        line = json.dumps(doc).encode()
    f = tmp / "m.jsonl"
    f.write_bytes(orjson.dumps(_request(_span(50))) + b"\n" + line + b"\n")
    python, native = _both(f, tmp, dataclasses.replace(opts, max_reject_rate=1.0))
    _same(python, native)


# --- the attribute function on its own ------------------------------------------------------

_VALUES = [
    '{"stringValue":"plain"}', '{"stringValue":""}', '{"stringValue":"q\\"uote"}',
    '{"stringValue":"}', '{"stringValue":"a","x":"b"}', '{"stringValue":"é/ü?x=1#f"}',
    '{"intValue":"42"}', '{"intValue":7}', '{"boolValue":true}', '{"boolValue":false}',
    '{"doubleValue":1.5}', '{"doubleValue":"NaN"}', '{"arrayValue":{"values":[]}}', None,
]
_KEYS = ['"user.id"', '"url.full"', '"http.route"', '"url.query"', '"db.statement"',
         '"k.%d"', '"http.request.header.authorization"']


def test_the_string_shape_is_found_as_its_definition_says():
    raw = pa.array(_VALUES, pa.string()).slice(1)  # an offset into a shared buffer
    expected = [v is not None and v.startswith('{"stringValue":"') and v.endswith('"}')
                and v.count('"') == 4 for v in _VALUES[1:]]
    assert otlp_native._is_string(raw).tolist() == expected


def test_a_batch_maps_the_same_wherever_its_buffers_begin(pseudonymize):
    """DuckDB hands over fresh arrays; a slice of a larger one (offsets not at 0) and a batch
    cut anywhere map to the same objects and values."""
    # DuckDB's JSON is valid; a NaN where a column reads fails the batch (tested above)
    values = [v for v in _VALUES if v not in ('{"stringValue":"}', '{"doubleValue":"NaN"}')]
    rows = [[{"key": key.replace("%d", str(i)) if "%d" in key else key,
              "value": values[(i + j) % len(values)]}
             for j, key in enumerate(_KEYS[: 1 + i % len(_KEYS)])] if i % 9 else
            ([] if i % 2 else None) for i in range(60)]
    whole = pa.array(rows, pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())])))
    fn = otlp_native._attributes(pseudonymize, otlp_native.SPAN_KEYS, True)
    full = fn(whole)
    assert fn(whole.slice(13, 30)).equals(full.slice(13, 30))
    assert fn(pa.array(rows[13:43], whole.type)).equals(full.slice(13, 30))
    assert full.field("json")[0].as_py() is None  # no attributes: no object
    assert full.field("json")[9].as_py() is None  # an empty list: none either
