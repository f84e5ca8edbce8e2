"""Decoding: the receiver rejects exactly the spans the file mapping would, so a spooled
batch always loads whole; both encodings decode to the same OTLP/JSON line."""

from __future__ import annotations

import base64
from dataclasses import replace

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from parallax.connectors.load import ingest_files
from parallax.connectors.receive.otlp import Caps, decode_traces
from parallax.connectors.receive.protocol import JSON, PROTOBUF, ReceiveError

T, S = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
START, END = "1764000000000000000", "1764000000500000000"


def _span(**changes) -> dict:
    span = {"traceId": T, "spanId": S, "name": "GET /", "kind": 2,
            "startTimeUnixNano": START, "endTimeUnixNano": END,
            "attributes": [{"key": "http.route", "value": {"stringValue": "/cart"}}]}
    return {k: v for k, v in {**span, **changes}.items() if v is not None}


SPANS = [
    _span(),
    _span(spanId="b7ad6b7169203332", parentSpanId="0000000000000000"),  # all-zero: root
    _span(spanId="c7ad6b7169203333", parentSpanId=S),
    _span(traceId="0" * 32),  # rejected from here on
    _span(traceId="abcd"),
    _span(spanId="xyz0000000000000"),
    _span(spanId=None),
    _span(parentSpanId="abcd"),
    _span(startTimeUnixNano=None),
    _span(endTimeUnixNano="1763999999000000000"),
    _span(traceId="0AF7651916CD43DD8448EB211C80319C", spanId="D7AD6B7169203334"),  # upper case
]


def _doc(spans: list[dict]) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeSpans": [{"scope": {"name": "x"}, "spans": spans}]}]}


def test_rejects_exactly_what_the_file_mapping_rejects(tmp_path, con, opts):
    decoded = decode_traces(orjson.dumps(_doc(SPANS)), JSON)
    assert (decoded.accepted, decoded.rejected) == (4, 7)
    assert "spans[3]: invalid traceId" in decoded.message and "(and 4 more)" in decoded.message
    as_file = tmp_path / "doc.json"
    as_file.write_bytes(orjson.dumps(_doc(SPANS)))
    [summary] = ingest_files(con, "traces", [as_file], replace(opts, max_reject_rate=1.0))
    assert (summary.rows_loaded, summary.rejected) == (4, 7)
    # The spooled line keeps the rejected spans: the hand-off (no reject-rate limit) stores
    # them in `rejects` with the mapping's reason instead of dropping them.
    spooled = tmp_path / "batch.jsonl"
    spooled.write_bytes(decoded.line + b"\n")
    [again] = ingest_files(con, "traces", [spooled], replace(opts, max_reject_rate=1.0),
                           format="otlp-jsonl")
    assert (again.rows_read, again.rejected, again.duplicates) == (11, 7, 4)
    reasons = con.execute("SELECT reason FROM rejects WHERE load_id = ?",
                          [again.load_id]).fetchall()
    assert len(reasons) == 7 and any("invalid traceId" in r for (r,) in reasons)


def test_protobuf_and_json_decode_to_the_same_line():
    doc = _doc(SPANS[:3])
    proto_doc = orjson.loads(orjson.dumps(doc))
    for span in proto_doc["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in span:
                span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    body = json_format.ParseDict(proto_doc, ExportTraceServiceRequest()).SerializeToString()
    from_proto = decode_traces(body, PROTOBUF)
    from_json = decode_traces(orjson.dumps(doc), JSON)
    assert from_proto == from_json and from_proto.accepted == 3
    line = orjson.loads(from_proto.line)
    assert line["resourceSpans"][0]["scopeSpans"][0]["spans"][2]["parentSpanId"] == S


@pytest.mark.parametrize(("body", "encoding"), [
    (b"\x0a\xff\xff", PROTOBUF), (b"{", JSON), (b"[]", JSON),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "x"}]}]}]}', JSON),
])
def test_undecodable_bodies_are_400(body, encoding):
    with pytest.raises(ReceiveError) as info:
        decode_traces(body, encoding)
    assert info.value.status == 400


def test_names_and_attribute_values_are_capped_and_counted():
    huge = "x" * (7 << 20)  # a 7 MiB attribute was stored whole
    accents = "é" * 5000  # 10,000 UTF-8 bytes: cut on a character boundary
    span = _span(name="n" * 5000, attributes=[
        {"key": "big", "value": {"stringValue": huge}},
        {"key": "accents", "value": {"stringValue": accents}},
        {"key": "k" * 3000, "value": {"intValue": "7"}},
        {"key": "list", "value": {"arrayValue": {"values": [
            {"stringValue": "y" * 3000} for _ in range(10)]}}},
        {"key": "raw", "value": {"bytesValue": base64.b64encode(b"\0" * 20_000).decode()}},
        {"key": "fine", "value": {"stringValue": "short"}}])
    span["events"] = [{"name": "e" * 2000, "timeUnixNano": START}]
    span["status"] = {"code": 2, "message": "m" * 10_000}
    decoded = decode_traces(orjson.dumps(_doc([span])), JSON, Caps(1024, 8192))
    assert decoded.accepted == 1 and decoded.truncated == 8
    assert "8 name(s) or value(s) cut" in decoded.message
    out = orjson.loads(decoded.line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    attrs = {a["key"]: a["value"] for a in out["attributes"]}
    assert out["name"] == "n" * 1024 and out["events"][0]["name"] == "e" * 1024
    assert attrs["big"]["stringValue"] == "x" * 8192
    assert attrs["accents"]["stringValue"] == "é" * 4096
    assert "k" * 1024 in attrs and attrs["fine"]["stringValue"] == "short"
    values = attrs["list"]["arrayValue"]["values"]
    assert len(values) == 3 and sum(len(v["stringValue"]) for v in values) == 8192
    assert len(base64.b64decode(attrs["raw"]["bytesValue"])) == 8192
    assert out["status"]["message"] == "m" * 8192
    assert len(decoded.line) < 60_000
    # Nothing to cut: the answer says nothing.
    plain = decode_traces(orjson.dumps(_doc([_span()])), JSON)
    assert (plain.truncated, plain.message) == (0, "")
