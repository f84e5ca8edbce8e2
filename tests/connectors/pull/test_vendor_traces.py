"""The trace backends' declarations against their documented query APIs: Jaeger's HTTP JSON
API, Zipkin v2 and Tempo (search, then each trace), replayed on a loopback server with the
public samples in tests/fixtures/vendor."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from werkzeug import Response

from tests.connectors.pull.conftest import cursor, rows

# --- Traces: Jaeger, Zipkin, Tempo ---------------------------------------------------------

def test_jaeger_by_service_and_time_window_in_microseconds(run, con, httpserver, vendor):
    doc = (vendor / "jaeger_ui_otlp2jaeger_out.json").read_bytes()
    at = 1706678909209712  # the sample trace's spans start here (µs)
    seen: list = []

    def handler(req):
        seen.append(dict(req.args))
        hit = int(req.args["start"]) <= at < int(req.args["end"])
        return Response(doc if hit else b'{"data": []}', content_type="application/json")
    httpserver.expect_request("/api/traces").respond_with_handler(handler)
    result = run({"type": "jaeger", "service": "telemetrygen", "since": "2024-01-31",
                  "window_minutes": 720}, now=datetime(2024, 2, 1, 6, tzinfo=UTC))
    assert [(s["start"], s["end"]) for s in seen] == [
        ("1706659200000000", "1706702400000000"), ("1706702400000000", "1706745600000000"),
        ("1706745600000000", "1706767200000000")]
    assert seen[0]["service"] == "telemetrygen" and seen[0]["limit"] == "1000"
    assert result.rows_loaded == 1  # the sample holds one span twice
    assert rows(con, "SELECT service, source FROM spans") == [("telemetrygen", "jaeger")]
    assert cursor(con) == "2024-02-01T06:00:00.000000Z"


def test_a_full_window_is_halved(run, con, httpserver, vendor):
    doc = orjson.loads((vendor / "jaeger_ui_otlp2jaeger_out.json").read_bytes())
    seen: list = []

    def handler(req):
        seen.append((int(req.args["start"]), int(req.args["end"])))
        # The first (full) window returns as many traces as the limit: it must be split.
        full = len(seen) == 1
        return Response(orjson.dumps({"data": doc["data"] * (2 if full else 1)}),
                        content_type="application/json")
    httpserver.expect_request("/api/traces").respond_with_handler(handler)
    run({"type": "jaeger", "service": "s", "since": "2024-01-31", "limit": 2,
         "window_minutes": 1440}, now=datetime(2024, 2, 1, tzinfo=UTC))
    (lo, hi), first_half, second_half = seen
    assert first_half == (lo, (lo + hi) // 2) and second_half == ((lo + hi) // 2, hi)


def _zipkin_server(httpserver, doc: list) -> list:
    """GET /api/v2/traces as zipkin2-api.yaml specifies it: endTs and lookback in epoch ms, and
    a trace is returned only when all its Span.timestamp (µs) lie in [endTs - lookback, endTs]."""
    stamps = [span["timestamp"] // 1000 for span in doc if "timestamp" in span]
    seen: list = []

    def handler(req):
        seen.append(dict(req.args))
        end, back = int(req.args["endTs"]), int(req.args["lookback"])
        hit = end - back <= min(stamps) and max(stamps) <= end
        return Response(orjson.dumps([doc] if hit else []), content_type="application/json")
    httpserver.expect_request("/api/v2/traces").respond_with_handler(handler)
    return seen


def test_zipkin_traces(run, con, httpserver, vendor):
    seen = _zipkin_server(httpserver, json.loads((vendor / "zipkin_v2_yelp.json").read_bytes()))
    result = run({"type": "zipkin", "service": "mobile_api", "since": "2019-10-24",
                  "window_minutes": 1440}, now=datetime(2019, 10, 25, tzinfo=UTC))
    # One day's window, asked 5 minutes further back (the default overlap).
    assert seen == [{"serviceName": "mobile_api", "endTs": "1571961600000",
                     "lookback": str(86400000 + 300000), "limit": "1000"}]
    assert result.rows_loaded == rows(con, "SELECT count(*) FROM spans")[0][0] > 10
    assert rows(con, "SELECT DISTINCT source FROM spans") == [("zipkin",)]


@pytest.mark.parametrize(("overlap", "found"), [(0, False), (5, True)])
def test_a_zipkin_trace_crossing_the_window_start_needs_the_overlap(
        run, con, httpserver, vendor, overlap, found):
    # The yelp trace's spans start from 05:52:55.237 to 05:52:55.322; the window starts between.
    _zipkin_server(httpserver, json.loads((vendor / "zipkin_v2_yelp.json").read_bytes()))
    run({"type": "zipkin", "service": "mobile_api", "since": "2019-10-24T05:52:55.300",
         "window_minutes": 60, "overlap_minutes": overlap},
        now=datetime(2019, 10, 24, 6, 52, 55, 300000, tzinfo=UTC))
    assert (rows(con, "SELECT count(*) FROM spans")[0][0] > 0) is found


def test_tempo_search_then_each_trace_as_otlp(run, con, httpserver, vendor):
    # Search and trace-by-id answers as the Tempo HTTP API documents them (api_docs, "Search",
    # "Query V2"): the search lists traceID/rootServiceName/…; /api/v2/traces/{id} wraps the
    # OTLP JSON trace in {"trace": …}, with status PARTIAL + message for a trace cut short.
    otlp = json.loads((vendor / "otlp_proto_examples_trace.json").read_bytes())
    partial = json.loads((vendor / "jaeger_ui_otlp2jaeger_in.json").read_bytes())
    ids = ("5b8efff798038103d269b633813fc60c", "83a9efd15c1c98a977e0711cc93ee28b")
    searches: list = []
    httpserver.expect_request("/api/search").respond_with_handler(
        lambda req: searches.append(req) or Response(orjson.dumps(
            {"traces": [{"traceID": t, "rootServiceName": "my.service", "rootTraceName": "GET /",
                         "startTimeUnixNano": "1544712660000000000", "durationMs": 1000}
                        for t in ids],
             "metrics": {"inspectedBytes": "3811736", "totalBlocks": 3, "completedJobs": 3,
                         "totalJobs": 3}}), content_type="application/json"))
    details: list = []
    httpserver.expect_request(f"/api/v2/traces/{ids[0]}").respond_with_handler(
        lambda req: details.append(req) or Response(orjson.dumps({"trace": otlp}),
                                                    content_type="application/json"))
    httpserver.expect_request(f"/api/v2/traces/{ids[1]}").respond_with_json(
        {"trace": partial, "status": "PARTIAL",
         "message": "Trace exceeds maximum size of 5000000 bytes, a partial trace is returned"})
    result = run({"type": "tempo", "service": 'my.service', "since": "2018-12-13",
                  "window_minutes": 1440, "limit": 20}, now=datetime(2018, 12, 14, tzinfo=UTC))
    assert result.rows_loaded == 2 and result.requests == 3
    args = searches[0].args
    assert (args["q"], args["start"], args["end"], args["limit"]) == (
        '{ resource.service.name = "my.service" }', "1544659200", "1544745600", "20")
    assert "tags" not in args and details[0].headers["Accept"] == "application/json"
    assert rows(con, "SELECT trace_id, source FROM spans ORDER BY trace_id") == [
        (ids[0], "otlp-json"), (ids[1], "otlp-json")]  # the partial trace's span is kept


def test_tempo_tag_search_and_v1_batches(run, con, httpserver, vendor):
    otlp = json.loads((vendor / "otlp_proto_examples_trace.json").read_bytes())
    trace_id = "5b8efff798038103d269b633813fc60c"
    seen: list = []
    httpserver.expect_request("/api/search").respond_with_handler(
        lambda req: seen.append(dict(req.args)) or Response(orjson.dumps(
            {"traces": [{"traceID": trace_id, "rootServiceName": "my.service"}]}),
            content_type="application/json"))
    httpserver.expect_request(f"/api/v2/traces/{trace_id}").respond_with_json(
        {"batches": otlp["resourceSpans"]})  # the v1 body, as a proxy in front may answer
    run({"type": "tempo", "tags": "service.name=my.service http.status_code=500",
         "since": "2018-12-13", "window_minutes": 1440}, now=datetime(2018, 12, 14, tzinfo=UTC))
    assert seen[0]["tags"] == "service.name=my.service http.status_code=500"
    assert "q" not in seen[0]
    assert rows(con, "SELECT trace_id FROM spans") == [(trace_id,)]


def test_tempo_traceql_quotes_the_service_name():
    from parallax.connectors.pull.vendors.tempo import traceql
    assert traceql('a"b\\c') == '{ resource.service.name = "a\\"b\\\\c" }'
