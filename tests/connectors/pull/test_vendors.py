"""Each vendor's declaration against its documented response shapes (public samples where
they exist: tests/fixtures/vendor; hand-written, minimal, after the vendor docs otherwise)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import orjson
import pytest
from werkzeug import Response

from parallax.connectors.pull.retry import FetchError
from tests.connectors.pull.conftest import SECRET, cursor, rows

SID = "SV_5u9zu8zHnHaGml7"
API = f"/API/v3/surveys/{SID}/export-responses"


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def qualtrics(**extra):
    return {"type": "qualtrics", "survey_id": SID, "token": SECRET,
            "fields": {"score": "Q1"}, "poll_seconds": 0.01, **extra}


# --- Qualtrics: start → poll → download the zip ----------------------------------------------

def test_qualtrics_export_job(run, con, httpserver, vendor, sleeps):
    csv = (vendor / "qualtrics_export_sample.csv").read_bytes()
    started: list = []
    httpserver.expect_request(API, method="POST").respond_with_handler(
        lambda req: started.append(req) or Response(orjson.dumps(
            {"result": {"progressId": "ES_1"}, "meta": {"httpStatus": "200 - OK"}}),
            content_type="application/json"))
    polls = iter([{"percentComplete": 40.0, "status": "inProgress"},
                  {"percentComplete": 100.0, "status": "complete", "fileId": "F-1"}])
    httpserver.expect_request(f"{API}/ES_1").respond_with_handler(
        lambda req: Response(orjson.dumps({"result": next(polls)}),
                             content_type="application/json"))
    httpserver.expect_request(f"{API}/F-1/file").respond_with_data(
        _zip(f"{SID}.csv", csv), content_type="application/zip")
    result = run(qualtrics())
    assert (result.pages, result.rows_loaded, result.requests) == (1, 1, 4)
    body = json.loads(started[0].data)
    assert body == {"format": "csv", "useLabels": False, "startDate": "2026-10-11T00:00:00Z",
                    "endDate": "2026-11-10T00:00:00Z"}
    assert started[0].headers["X-API-TOKEN"] == SECRET
    assert sleeps == [0.01]  # one poll while in progress
    assert rows(con, "SELECT feedback_id, source FROM feedback") == [
        ("R_2YPOQ602ER1jkf1", f"qualtrics:{SID}")]
    assert cursor(con) == "2026-11-10T00:00:00.000000Z"
    assert rows(con, "SELECT source, file FROM loads") == [("pull:src", "src: export")]


def test_qualtrics_legacy_progress_answer_with_a_file_url(run, con, httpserver, vendor):
    # The public sample of the (legacy) responseexports progress answer: its file URL names
    # Qualtrics' host; the download goes to the configured host only, with the same path.
    progress = (vendor / "qualtrics_api_v3_responseexport_progress.json").read_bytes()
    httpserver.expect_request(API, method="POST").respond_with_json(
        {"result": {"progressId": "ES_r8ho97mie58avt6gbo20tghi56"}})
    httpserver.expect_request(f"{API}/ES_r8ho97mie58avt6gbo20tghi56").respond_with_data(
        progress, content_type="application/json")
    httpserver.expect_request(
        "/API/v3/responseexports/ES_r8ho97mie58avt6gbo20tghi56/file").respond_with_data(
        _zip("export.csv", (vendor / "qualtrics_export_sample.csv").read_bytes()))
    assert run(qualtrics()).rows_loaded == 1


def test_a_failed_qualtrics_export_stores_nothing_and_keeps_the_cursor(run, con, httpserver):
    httpserver.expect_request(API, method="POST").respond_with_json(
        {"result": {"progressId": "ES_2"}})
    httpserver.expect_request(f"{API}/ES_2").respond_with_json(
        {"result": {"percentComplete": 0.0, "status": "failed"}})
    with pytest.raises(FetchError, match=r"^source src: GET .*/ES_2: export job ES_2 failed on "
                                         r"the server; nothing stored, the cursor is unchanged"):
        run(qualtrics())
    assert rows(con, "SELECT count(*) FROM feedback") == [(0,)]
    assert cursor(con) is None


# --- SurveyMonkey: bulk responses, links.next, rate-limit headers ----------------------------

def _sm_response(i: int, score: str) -> dict:
    return {"id": f"11{i}", "date_modified": f"2026-11-0{i}T09:00:00+00:00",
            "response_status": "completed", "collector_id": "c1", "ip_address": "203.0.113.9",
            "custom_variables": {"session_id": f"s{i}"},
            "pages": [{"id": "p1", "questions": [
                {"id": "q1", "heading": "How likely are you to recommend us to a friend?",
                 "answers": [{"choice_id": f"ch{score}", "simple_text": score}]},
                {"id": "q2", "heading": "Why?", "answers": [{"text": f"reason {i}",
                                                             "simple_text": f"reason {i}"}]}]}]}


def test_surveymonkey_bulk_responses(run, con, httpserver, sleeps):
    path = "/v3/surveys/321/responses/bulk"
    pages = {"1": {"data": [_sm_response(1, "9"), _sm_response(2, "3")], "per_page": 2,
                   "page": 1, "total": 3,
                   "links": {"self": "x", "next": httpserver.url_for(path) + "?page=2"}},
             "2": {"data": [_sm_response(3, "10")], "per_page": 2, "page": 2, "total": 3,
                   "links": {"self": "x"}}}
    seen: list = []

    def handler(req):
        seen.append(req)
        headers = {"X-Ratelimit-App-Global-Minute-Remaining": "0" if len(seen) == 1 else "99",
                   "X-Ratelimit-App-Global-Minute-Reset": "4"}
        return Response(orjson.dumps(pages[req.args.get("page", "1")]), headers=headers,
                        content_type="application/json")
    httpserver.expect_request(path).respond_with_handler(handler)
    result = run({"type": "surveymonkey", "survey_id": "321", "token": SECRET})
    assert (result.pages, result.rows_loaded) == (2, 3)
    assert seen[0].args["start_modified_at"] == "2026-10-11T00:00:00"
    assert seen[0].args["simple"] == "true" and seen[0].headers["Authorization"] == \
        f"Bearer {SECRET}"
    assert sleeps == [4.0]  # quota exhausted after page 1: wait for its reset
    assert rows(con, "SELECT feedback_id, source, metric, score, is_poor, verbatim, session_id "
                     "FROM feedback ORDER BY feedback_id") == [
        ("111", "surveymonkey:321", "nps", 9.0, False, "reason 1", "s1"),
        ("112", "surveymonkey:321", "nps", 3.0, True, "reason 2", "s2"),
        ("113", "surveymonkey:321", "nps", 10.0, False, "reason 3", "s3")]
    assert "203.0.113.9" not in str(rows(con, "SELECT attributes FROM feedback"))
    assert cursor(con) == "2026-11-03T09:00:00.000000Z"


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


def test_zipkin_traces(run, con, httpserver, vendor):
    doc = json.loads((vendor / "zipkin_v2_yelp.json").read_bytes())
    seen: list = []

    def handler(req):
        seen.append(dict(req.args))
        end, back = int(req.args["endTs"]), int(req.args["lookback"])
        hit = end - back <= 1571896375237 < end
        return Response(orjson.dumps([doc] if hit else []), content_type="application/json")
    httpserver.expect_request("/api/v2/traces").respond_with_handler(handler)
    result = run({"type": "zipkin", "service": "mobile_api", "since": "2019-10-24",
                  "window_minutes": 1440}, now=datetime(2019, 10, 25, tzinfo=UTC))
    assert seen == [{"serviceName": "mobile_api", "endTs": "1571961600000",
                     "lookback": "86400000", "limit": "1000"}]
    assert result.rows_loaded == rows(con, "SELECT count(*) FROM spans")[0][0] > 10
    assert rows(con, "SELECT DISTINCT source FROM spans") == [("zipkin",)]


def test_tempo_search_then_each_trace_as_otlp(run, con, httpserver, vendor):
    otlp = json.loads((vendor / "otlp_proto_examples_trace.json").read_bytes())
    trace_id = "5b8efff798038103d269b633813fc60c"
    httpserver.expect_request("/api/search").respond_with_json(
        {"traces": [{"traceID": trace_id, "rootServiceName": "my.service",
                     "startTimeUnixNano": "1544712660000000000"}], "metrics": {}})
    httpserver.expect_request(f"/api/v2/traces/{trace_id}").respond_with_json({"trace": otlp})
    result = run({"type": "tempo", "service": "my.service", "since": "2018-12-13",
                  "window_minutes": 1440}, now=datetime(2018, 12, 14, tzinfo=UTC))
    assert result.rows_loaded == 1 and result.requests == 2
    assert rows(con, "SELECT trace_id, source FROM spans") == [(trace_id, "otlp-json")]


# --- Web analytics: PostHog, Matomo, GA4 folder ---------------------------------------------

def _event(i: int) -> dict:
    return {"id": f"e{i}", "event": "$pageview", "distinct_id": "user-42@example.com",
            "timestamp": f"2026-11-0{i}T12:00:00Z",
            "properties": {"$session_id": f"ph{i}", "$current_url": f"https://shop.test/p/{i}0001",
                           "$device_type": "Mobile", "$geoip_country_code": "DE"}}


def test_posthog_events(run, con, httpserver):
    path = "/api/projects/7/events/"
    pages = {None: {"results": [_event(3), _event(2)], "next": path + "?cursor=b"},
             "b": {"results": [_event(1)], "next": None}}
    seen: list = []
    httpserver.expect_request(path).respond_with_handler(
        lambda req: seen.append(req) or Response(orjson.dumps(pages[req.args.get("cursor")]),
                                                 content_type="application/json"))
    result = run({"type": "posthog", "project_id": "7", "token": SECRET})
    assert (result.pages, result.rows_loaded) == (2, 3)
    assert seen[0].args["event"] == "$pageview" and seen[0].args["after"] == "2026-10-11T00:00:00Z"
    assert rows(con, "SELECT session_id, route FROM page_views ORDER BY session_id") == [
        ("ph1", "/p/{id}"), ("ph2", "/p/{id}"), ("ph3", "/p/{id}")]
    assert "user-42" not in str(rows(con, "SELECT user_id FROM sessions"))
    assert cursor(con) == "2026-11-03T12:00:00.000000Z"


def _visit(i: int) -> dict:
    ts = 1762600000 + i * 600
    return {"idVisit": str(900 + i), "userId": None, "deviceType": "Desktop",
            "countryCode": "fr", "goalConversions": 1 if i == 2 else 0,
            "lastActionTimestamp": ts + 60, "serverTimestamp": ts + 60,
            "actionDetails": [
                {"type": "action", "url": "https://shop.test/cart", "timestamp": ts,
                 "pageLoadTimeMilliseconds": 850},
                {"type": "event", "timestamp": ts + 30},
                {"type": "action", "url": "https://shop.test/checkout", "timestamp": ts + 60}]}


def test_matomo_visits_with_offset_paging_and_the_token_in_the_body(run, con, httpserver):
    visits = [_visit(3), _visit(2), _visit(1)]  # newest first, as Matomo lists them
    seen: list = []

    def handler(req):
        seen.append((dict(req.args), dict(req.form)))
        start, limit = int(req.args["filter_offset"]), int(req.args["filter_limit"])
        return Response(orjson.dumps(visits[start:start + limit]),
                        content_type="application/json")
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(handler)
    result = run({"type": "matomo", "site_id": 3, "token": SECRET, "limit": 2})
    assert [a["filter_offset"] for a, _ in seen] == ["0", "2"]
    args, form = seen[0]
    assert form == {"token_auth": SECRET} and SECRET not in json.dumps(args)
    assert args["method"] == "Live.getLastVisitsDetails" and args["idSite"] == "3"
    assert (result.pages, result.rows_loaded) == (2, 6)
    assert rows(con, "SELECT load_ms FROM page_views WHERE session_id = '901' ORDER BY seq") == [
        (850.0,), (None,)]
    assert rows(con, "SELECT session_id FROM sessions WHERE converted") == [("902",)]
    newest = datetime.fromtimestamp(_visit(3)["lastActionTimestamp"], UTC)
    assert cursor(con) == newest.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def test_matomo_error_answer(run, httpserver):
    httpserver.expect_request("/index.php", method="POST").respond_with_json(
        {"result": "error", "message": "You can't access this resource as it requires 'view' "
                                       "access for the website id = 3."})
    with pytest.raises(FetchError, match=r"page 1: the API answered an error: You can't access"):
        run({"type": "matomo", "site_id": 3, "token": SECRET})
