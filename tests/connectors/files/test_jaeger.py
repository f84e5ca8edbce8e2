"""Jaeger JSON: the Jaeger UI's OTLP→Jaeger pair must store the same spans as its OTLP input;
typed tags, references, processes and bad spans on a hand-made trace."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parallax.connectors.base import Source
from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import FormatError

KEY = ("trace_id, span_id, parent_span_id, name, service, kind, epoch_us(started_at), "
       "duration_ms, is_error")


def _key_rows(con):
    return con.execute(f"SELECT {KEY} FROM spans ORDER BY span_id, kind").fetchall()


def test_jaeger_output_stores_the_same_spans_as_its_otlp_input(con, opts, vendor, tmp_path):
    [s] = ingest_files(con, "traces", [vendor / "jaeger_ui_otlp2jaeger_out.json"], opts)
    assert (s.format, s.rows_read, s.rows_loaded, s.duplicates) == ("jaeger", 2, 1, 1)
    with connect(tmp_path / "otlp.duckdb") as other:
        ingest_files(other, "traces", [vendor / "jaeger_ui_otlp2jaeger_in.json"], opts)
        assert _key_rows(con) == _key_rows(other) == [(
            "83a9efd15c1c98a977e0711cc93ee28b", "e127af99e3b3e074", "909541b92cf05311",
            "okey-dokey-0", "telemetrygen", "server", 1_706_678_909_209_712, 0.123, False,
        )]
    attrs, source = con.execute("SELECT attributes, source FROM spans").fetchone()
    assert source == "jaeger"
    attrs = json.loads(attrs)
    assert "span.kind" not in attrs  # it is the kind column
    assert attrs["otel.library.name"] == "telemetrygen"
    assert attrs["net.peer.ip"] != "1.2.3.4"  # pseudonymised


def _tag(key, value, type_="string"):
    return {"key": key, "type": type_, "value": value}


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_DOC = {
    "traceID": TRACE,
    "spans": [
        {"traceID": TRACE, "spanID": "00f067aa0ba902b7", "operationName": "GET /cart",
         "references": [], "startTime": 1_700_000_000_000_001, "duration": 25_000,
         "tags": [_tag("span.kind", "server"), _tag("http.method", "GET"),
                  _tag("http.route", "/cart/{id}"), _tag("http.status_code", "200", "int64"),
                  _tag("enduser.id", "u-77")],
         "processID": "p1"},
        {"traceID": TRACE, "spanID": "53995c3f42cd8ad8", "operationName": "GET",
         "references": [{"refType": "CHILD_OF", "traceID": TRACE, "spanID": "00F067AA0BA902B7"}],
         "startTime": 1_700_000_000_001_000, "duration": 1500,
         "tags": [_tag("span.kind", "client"), _tag("peer.service", "redis"),
                  _tag("error", True, "bool"), _tag("db.rows", 3, "int64"),
                  _tag("ratio", "0.5", "float64")],
         "processID": "p1"},
        {"traceID": TRACE, "spanID": "1111111111111111", "operationName": "send-mail",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": TRACE,
                         "spanID": "00f067aa0ba902b7"}],
         "startTime": 1_700_000_000_030_000, "duration": 7,
         "tags": [_tag("otel.status_code", "ERROR")], "processID": "p2"},
        {"traceID": TRACE, "spanID": "zz", "operationName": "bad", "startTime": 1,
         "processID": "p1"},
    ],
    "processes": {
        "p1": {"serviceName": "web", "tags": [_tag("hostname", "web-1")]},
        "p2": {"serviceName": "mailer", "tags": []},
    },
}


def test_single_trace_object(con, opts, pseudonymize, tmp_path):
    f = tmp_path / "trace.json"
    f.write_text(json.dumps(TRACE_DOC, indent=2))
    [s] = ingest_files(con, "traces", [f], dataclasses.replace(opts, max_reject_rate=0.5))
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("jaeger", 4, 3, 1)
    rows = con.execute(
        "SELECT span_id, parent_span_id, service, kind, duration_ms, is_error, status_code, "
        "route, peer, user_id, resource FROM spans ORDER BY started_at").fetchall()
    web = '{"service.name":"web","hostname":"web-1"}'
    assert rows == [
        ("00f067aa0ba902b7", None, "web", "server", 25.0, False, 200, "/cart/{id}", None,
         pseudonymize("u-77"), web),
        ("53995c3f42cd8ad8", "00f067aa0ba902b7", "web", "client", 1.5, True, None, None,
         "redis", None, web),
        ("1111111111111111", "00f067aa0ba902b7", "mailer", "unspecified", 0.007, True, None,
         None, None, None, '{"service.name":"mailer"}'),
    ]
    [(attrs,)] = con.execute(
        "SELECT attributes FROM spans WHERE span_id = '53995c3f42cd8ad8'").fetchall()
    assert json.loads(attrs) == {"peer.service": "redis", "error": True, "db.rows": 3,
                                 "ratio": 0.5}
    [(location, reason)] = con.execute("SELECT location, reason FROM rejects").fetchall()
    assert location == "record 4"
    assert reason.startswith("spans[3]: invalid spanID 'zz'")


def test_detection_and_errors(con, opts, vendor, tmp_path):
    assert detect("traces", Source(vendor / "jaeger_ui_otlp2jaeger_out.json").head()).name == (
        "jaeger")
    failed = tmp_path / "failed.json"
    failed.write_text('{"data": null, "errors": [{"code": 404, "msg": "trace not found"}]}')
    with pytest.raises(FormatError, match=r"failed\.json: Jaeger response holds errors.*404"):
        ingest_files(con, "traces", [failed], opts, format="jaeger")
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(FormatError, match=r"list\.json: not Jaeger JSON"):
        ingest_files(con, "traces", [listed], opts, format="jaeger")
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n  {"traceID": ')
    with pytest.raises(FormatError, match=r"broken\.json: line 2 column \d+: not Jaeger JSON"):
        ingest_files(con, "traces", [broken], opts)
    assert con.execute("SELECT count(*) FROM spans").fetchone() == (0,)


@pytest.mark.parametrize("error_copy", [0, 1])
def test_copies_of_one_span_are_merged_and_the_error_wins(con, opts, vendor, tmp_path,
                                                          error_copy):
    # The vendor sample holds one span twice, as identical copies; a collector retry or a
    # late tag can make one copy carry more. No public Jaeger file holds copies that differ,
    # so one copy of the real pair gains the error and a tag here.
    doc = json.loads((vendor / "jaeger_ui_otlp2jaeger_out.json").read_text())
    spans = doc["data"][0]["spans"]
    assert spans[0]["spanID"] == spans[1]["spanID"]
    spans[error_copy]["tags"] += [_tag("error", True, "bool"), _tag("db.system", "redis")]
    f = tmp_path / "copies.json"
    f.write_text(json.dumps(doc))
    [s] = ingest_files(con, "traces", [f], opts)
    assert (s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == (2, 1, 1, 0)
    [(is_error, attrs)] = con.execute("SELECT is_error, attributes FROM spans").fetchall()
    assert is_error is True
    assert {"error": True, "db.system": "redis",
            "otel.library.name": "telemetrygen"}.items() <= json.loads(attrs).items()


def test_rejected_spans_are_scrubbed_like_stored_rows(con, opts, pseudonymize, tmp_path):
    bad = {"traceID": TRACE, "spanID": "not-hex", "operationName": "GET", "startTime": 1,
           "tags": [_tag("enduser.id", "alice@example.com"),
                    _tag("http.url", "https://shop.example/cart?email=alice@example.com")]}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({**TRACE_DOC, "spans": [*TRACE_DOC["spans"][:3], bad]}))
    ingest_files(con, "traces", [f], dataclasses.replace(opts, max_reject_rate=0.5))
    [(raw,)] = con.execute("SELECT raw FROM rejects").fetchall()
    assert "alice" not in raw and pseudonymize("alice@example.com") in raw
    assert "https://shop.example/cart" in raw and "?" not in raw
