"""How other tools write the same vendor formats, as transforms of a document the tests
already hold: GA4 export rows with INT64s as JSON numbers, and the OpenTelemetry SDK's own
spans as OTLP/JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans


def int64s_as_numbers(rec: dict) -> dict:
    """A GA4 export row with its INT64s as JSON numbers (BigQuery writes them as strings;
    other export tools do not)."""
    rec["event_timestamp"] = int(rec["event_timestamp"])
    for p in rec["event_params"]:
        if p["value"].get("int_value") is not None:
            p["value"]["int_value"] = int(p["value"]["int_value"])
    for k in ("batch_event_index", "batch_page_id", "batch_ordering_id"):
        if k in rec:
            rec[k] = int(rec[k])
    return rec


def otlp_json(spans: Any) -> dict:
    """MessageToJson is the proto3 JSON mapping, where bytes are base64. OTLP/JSON departs from
    it on exactly this point: trace and span ids are hex (opentelemetry-proto, "JSON Protobuf
    Encoding"). The Collector does the same conversion; so do we, for ids only."""
    doc = json.loads(MessageToJson(encode_spans(spans)))
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return doc
