"""The real OpenTelemetry SDK exporter against a running receiver: spans land intact."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.connectors.receive.conftest import query


def _spans(n: int = 5):
    """Finished SDK spans: a server span with children, session and user on the resource."""
    mem = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "shop", "session.id": "sess-1", "enduser.id": "alice@example.com"}))
    provider.add_span_processor(SimpleSpanProcessor(mem))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("GET /product/{id}", kind=SpanKind.SERVER, attributes={
            "http.route": "/product/{id}", "http.response.status_code": 200, "shop.items": 3}):
        for i in range(n - 1):
            with tracer.start_as_current_span(f"db {i}", kind=SpanKind.CLIENT,
                                              attributes={"peer.service": "db"}) as s:
                if i == 0:
                    s.set_status(Status(StatusCode.ERROR))
    return mem.get_finished_spans()


def test_sdk_export_lands_with_ids_times_and_attributes(serve, db_path):
    plain, gzipped = _spans(), _spans()
    spans = (*plain, *gzipped)
    with serve() as (url, receiver):
        for batch, compression in ((plain, Compression.NoCompression),
                                   (gzipped, Compression.Gzip)):
            exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", compression=compression)
            assert exporter.export(batch) == SpanExportResult.SUCCESS
        assert receiver.stats.spans_accepted == len(spans)
    rows = query(db_path, "SELECT trace_id, span_id, parent_span_id, kind, started_at, "
                 "duration_ms, service, session_id, user_id, is_error, attributes, peer, route "
                 "FROM spans ORDER BY started_at")
    assert len(rows) == len(spans)
    by_id = {r[1]: r for r in rows}
    for s in spans:
        row = by_id[f"{s.context.span_id:016x}"]
        assert row[0] == f"{s.context.trace_id:032x}"
        assert row[2] == (f"{s.parent.span_id:016x}" if s.parent else None)
        assert int(row[4].timestamp() * 1e6) == s.start_time // 1000
        assert row[5] == pytest.approx((s.end_time - s.start_time) / 1e6)
        assert (row[6], row[7]) == ("shop", "sess-1")
        assert row[8] and "alice" not in row[8]  # pseudonymised
    root = next(r for r in rows if r[3] == "server")
    assert len({r[0] for r in rows}) == 2  # two traces
    assert orjson.loads(root[10])["shop.items"] == 3 and root[12] == "/product/{id}"
    assert sum(r[9] for r in rows) == 2 and {r[11] for r in rows if r[3] == "client"} == {"db"}
    loads = query(db_path, "SELECT source, file FROM loads")  # one or two hand-off rounds
    assert loads and all(source == "receiver" and label.startswith("receiver:traces ")
                         for source, label in loads)


def _json_doc(trace_id: str, span_ids: list[str]) -> dict:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": [
            {"traceId": trace_id, "spanId": sid, "name": "documentLoad", "kind": 1,
             "startTimeUnixNano": "1764000000000000000", "endTimeUnixNano": 1764000000250000000,
             "attributes": [{"key": "session.id", "value": {"stringValue": "s9"}}]}
            for sid in span_ids]}]}]}


def test_json_gzip_and_partial_success(serve, db_path):
    doc = _json_doc("5B8EFFF798038103D269B633813FC60C", ["EEE19B7EC3C1B174", "zz", "0" * 16])
    with serve() as (url, _):
        r = httpx.post(f"{url}/v1/traces", content=gzip.compress(orjson.dumps(doc)),
                       headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    partial = r.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 2
    assert "spans[1]: invalid spanId" in partial["errorMessage"]
    rows = query(db_path, "SELECT trace_id, span_id, duration_ms, session_id FROM spans")
    assert rows == [("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", 250.0, "s9")]
    # the two refused spans are kept with the reason, not dropped
    rejects = query(db_path, "SELECT r.reason FROM rejects r JOIN loads l USING (load_id) "
                             "WHERE l.source = 'receiver' ORDER BY r.reason")
    assert len(rejects) == 2 and all("spanId" in reason for (reason,) in rejects)


def test_protobuf_reply_and_errors(serve):
    body = ExportTraceServiceResponse()
    with serve(max_body_bytes=1000) as (url, _):
        ok = httpx.post(f"{url}/v1/traces", content=b"",
                        headers={"Content-Type": "application/x-protobuf"})
        assert ok.status_code == 200 and ok.headers["content-type"] == "application/x-protobuf"
        body.ParseFromString(ok.content)
        assert not body.HasField("partial_success")
        garbage = httpx.post(f"{url}/v1/traces", content=bytes(range(256))[:200],
                             headers={"Content-Type": "application/x-protobuf"})
        assert garbage.status_code == 400
        bad_json = httpx.post(f"{url}/v1/traces", content=b'{"resourceSpans": 3}',
                              headers={"Content-Type": "application/json"})
        assert bad_json.status_code == 400 and "ExportTraceServiceRequest" in bad_json.text
        big = httpx.post(f"{url}/v1/traces", content=b"x" * 1001,
                         headers={"Content-Type": "application/x-protobuf"})
        assert big.status_code == 413
        bomb = httpx.post(f"{url}/v1/traces", content=gzip.compress(b"{" + b" " * 5000 + b"}"),
                          headers={"Content-Type": "application/json",
                                   "Content-Encoding": "gzip"})
        assert bomb.status_code == 413 and "decompressed" in bomb.json()["message"]
        text = httpx.post(f"{url}/v1/traces", content=b"hi",
                          headers={"Content-Type": "text/plain"})
        assert text.status_code == 415
        health = httpx.get(f"{url}/healthz").json()
        assert health["status"] == "ok" and health["spans_accepted"] == 0


def test_bearer_token(serve, db_path):
    spans = _spans(2)
    with serve(token="s3cret") as (url, receiver):
        wrong = OTLPSpanExporter(endpoint=f"{url}/v1/traces",
                                 headers={"Authorization": "Bearer nope"})
        assert wrong.export(spans) == SpanExportResult.FAILURE
        r = httpx.post(f"{url}/v1/traces", content=b"",
                       headers={"Content-Type": "application/x-protobuf"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        right = OTLPSpanExporter(endpoint=f"{url}/v1/traces",
                                 headers={"Authorization": "Bearer s3cret"})
        assert right.export(spans) == SpanExportResult.SUCCESS
        assert "s3cret" not in repr(receiver.settings)
    assert query(db_path, "SELECT count(*) FROM spans") == [(2,)]


def test_a_huge_attribute_is_stored_cut_and_counted(serve, db_path):
    doc = _json_doc("a" * 32, ["b" * 16])
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["name"] = "GET " + "/x" * 4000
    span.setdefault("attributes", []).append(
        {"key": "blob", "value": {"stringValue": "z" * (7 << 20)}})
    with serve() as (url, receiver):
        r = httpx.post(f"{url}/v1/traces", content=orjson.dumps(doc),
                       headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 200
        assert r.json()["partialSuccess"] == {
            "errorMessage": "2 name(s) or value(s) cut to 1024 / 8192 bytes"}
        assert receiver.stats.values_truncated == 2
        assert httpx.get(f"{url}/healthz").json()["values_truncated"] == 2
    [(name, blob)] = query(db_path, "SELECT name, attributes->>'$.blob' FROM spans")
    assert len(name) == 1024 and blob == "z" * 8192
