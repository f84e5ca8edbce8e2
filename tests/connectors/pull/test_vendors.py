"""The survey and web-analytics vendors' declarations against their documented response shapes
(public samples where they exist: tests/fixtures/vendor; hand-written after the vendor docs
otherwise, each test naming what it follows). Trace backends: test_vendor_traces.py."""

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
    # Answers as the Qualtrics API documents them (Create Response Export / Get Response Export
    # Progress): status inProgress | complete | failed; percentComplete is only a convenience
    # and fileId stays null until status is complete.
    meta = {"requestId": "7a9150e0-08bb-4953-89cf-ef8a157b8aa7", "httpStatus": "200 - OK"}
    httpserver.expect_request(API, method="POST").respond_with_handler(
        lambda req: started.append(req) or Response(orjson.dumps(
            {"result": {"progressId": "ES_1", "percentComplete": 0.0, "status": "inProgress"},
             "meta": meta}), content_type="application/json"))
    polls = iter([{"percentComplete": 40.0, "status": "inProgress", "fileId": None},
                  {"percentComplete": 100.0, "status": "inProgress", "fileId": None},
                  {"percentComplete": 100.0, "status": "complete",
                   "fileId": "1dc4c492-fbb6-4713-a7ba-bae9b988a965"}])
    httpserver.expect_request(f"{API}/ES_1").respond_with_handler(
        lambda req: Response(orjson.dumps({"result": next(polls), "meta": meta}),
                             content_type="application/json"))
    httpserver.expect_request(f"{API}/1dc4c492-fbb6-4713-a7ba-bae9b988a965/file"
                              ).respond_with_data(_zip(f"{SID}.csv", csv),
                                                  content_type="application/zip")
    result = run(qualtrics())
    assert (result.pages, result.rows_loaded, result.requests) == (1, 1, 5)
    body = json.loads(started[0].data)
    assert body == {"format": "csv", "useLabels": False, "startDate": "2026-10-11T00:00:00Z",
                    "endDate": "2026-11-10T00:00:00Z"}
    assert started[0].headers["X-API-TOKEN"] == SECRET
    assert sleeps == [0.01, 0.01]  # 100 % but not yet complete: polled again
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
        {"result": {"progressId": "ES_2", "percentComplete": 0.0, "status": "inProgress"}})
    httpserver.expect_request(f"{API}/ES_2").respond_with_json(  # the documented failed answer
        {"result": {"fileId": None, "percentComplete": 100, "status": "failed"},
         "meta": {"requestId": "27c54e41-6e60-4b1c-9bd2-d64f29f289ba",
                  "httpStatus": "200 - OK"}})
    with pytest.raises(FetchError, match=r"^source src: GET .*/ES_2: export job ES_2 failed on "
                                         r"the server; nothing stored, the cursor is unchanged"):
        run(qualtrics())
    assert rows(con, "SELECT count(*) FROM feedback") == [(0,)]
    assert cursor(con) is None


# --- SurveyMonkey: bulk responses, links.next, rate-limit headers ----------------------------
# The shape of GET /v3/surveys/{id}/responses/bulk?simple=true as documented
# (api.surveymonkey.com/v3/docs, "Responses", "Pagination"): page fields per_page/page/total and
# links.self/next/last; per response href, survey_id, collector_id, response_status (completed |
# partial | …), date_created/date_modified as YYYY-MM-DDTHH:MM:SS+00:00, custom_variables; with
# simple=true each question has heading/family/subtype and each answer simple_text.

def _sm_response(i: int, score: str, status: str = "completed") -> dict:
    rid = f"11{i}"
    return {
        "id": rid, "recipient_id": "", "collection_mode": "default", "response_status": status,
        "custom_value": "", "first_name": "", "last_name": "", "email_address": "",
        "ip_address": "203.0.113.9", "logic_path": {}, "metadata": {}, "page_path": [],
        "collector_id": "405060", "survey_id": "321", "custom_variables": {"session_id": f"s{i}"},
        "edit_url": f"https://www.surveymonkey.com/r/?sm={rid}",
        "analyze_url": f"https://www.surveymonkey.com/analyze/browse/x?respondent_id={rid}",
        "total_time": 95, "date_modified": f"2026-11-0{i}T09:00:00+00:00",
        "date_created": f"2026-11-0{i}T08:58:25+00:00",
        "href": f"https://api.surveymonkey.com/v3/surveys/321/responses/{rid}",
        "pages": [{"id": "30004913", "questions": [
            {"id": "62507216", "family": "matrix", "subtype": "rating",
             "heading": "How likely are you to recommend us to a friend?",
             "answers": [{"choice_id": f"6457890{score}", "row_id": "645789056",
                          "simple_text": score}]},
            {"id": "62512578", "family": "multiple_choice", "subtype": "vertical",
             "heading": "How did you hear about us?",
             "answers": [{"other_id": "645789046", "text": "a colleague",
                          "simple_text": "Other | a colleague"}]},
            {"id": "62522012", "family": "open_ended", "subtype": "essay", "heading": "Why?",
             "answers": [{"tag_data": [], "text": f"reason {i}",
                          "simple_text": f"reason {i}"}]}]},
            {"id": "30004914", "questions": []}]}


def test_surveymonkey_bulk_responses(run, con, httpserver, sleeps):
    path = "/v3/surveys/321/responses/bulk"
    url = httpserver.url_for(path)
    pages = {"1": {"per_page": 2, "page": 1, "total": 3,
                   "data": [_sm_response(1, "9"), _sm_response(2, "3", status="partial")],
                   "links": {"self": f"{url}?page=1&per_page=2", "next": f"{url}?page=2&per_page=2",
                             "last": f"{url}?page=2&per_page=2"}},
             "2": {"per_page": 2, "page": 2, "total": 3, "data": [_sm_response(3, "10")],
                   "links": {"self": f"{url}?page=2&per_page=2", "prev": f"{url}?page=1&per_page=2",
                             "first": f"{url}?page=1&per_page=2",
                             "last": f"{url}?page=2&per_page=2"}}}
    seen: list = []

    def handler(req):
        seen.append(req)
        headers = {"X-Ratelimit-App-Global-Minute-Limit": "120",
                   "X-Ratelimit-App-Global-Minute-Remaining": "0" if len(seen) == 1 else "99",
                   "X-Ratelimit-App-Global-Minute-Reset": "4",
                   "X-Ratelimit-App-Global-Day-Limit": "500",
                   "X-Ratelimit-App-Global-Day-Remaining": "450",
                   "X-Ratelimit-App-Global-Day-Reset": "3600"}
        return Response(orjson.dumps(pages[req.args.get("page", "1")]), headers=headers,
                        content_type="application/json")
    httpserver.expect_request(path).respond_with_handler(handler)
    result = run({"type": "surveymonkey", "survey_id": "321", "token": SECRET})
    assert (result.pages, result.rows_loaded) == (2, 3)
    first = seen[0].args
    assert (first["start_modified_at"], first["sort_by"], first["sort_order"], first["per_page"],
            first["simple"]) == ("2026-10-11T00:00:00", "date_modified", "ASC", "100", "true")
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert dict(seen[1].args) == {"page": "2", "per_page": "2"}  # links.next as given
    assert sleeps == [4.0]  # minute quota exhausted after page 1: wait for its reset
    # The verbatim is the open-ended answer, not the "Other | …" box of the choice question.
    assert rows(con, "SELECT feedback_id, source, metric, score, is_poor, verbatim, session_id "
                     "FROM feedback ORDER BY feedback_id") == [
        ("111", "surveymonkey:321", "nps", 9.0, False, "reason 1", "s1"),
        ("112", "surveymonkey:321", "nps", 3.0, True, "reason 2", "s2"),
        ("113", "surveymonkey:321", "nps", 10.0, False, "reason 3", "s3")]
    attributes = str(rows(con, "SELECT attributes FROM feedback ORDER BY feedback_id"))
    assert "203.0.113.9" not in attributes and "partial" in attributes
    assert cursor(con) == "2026-11-03T09:00:00.000000Z"


# --- Web analytics: PostHog, Matomo, GA4 folder ---------------------------------------------

def _event(i: int) -> dict:
    # One result of GET /api/projects/{id}/events/ as documented (posthog.com/docs/api/events):
    # id, distinct_id, properties, event, timestamp, person, elements, elements_chain.
    return {"id": f"018f4c2e-0000-7000-8000-00000000000{i}", "distinct_id": "user-42@example.com",
            "properties": {"$session_id": f"ph{i}", "$current_url": f"https://shop.test/p/{i}0001",
                           "$pathname": f"/p/{i}0001", "$referrer": "$direct",
                           "$device_type": "Mobile", "$geoip_country_code": "DE",
                           "$lib": "web"},
            "event": "$pageview", "timestamp": f"2026-11-0{i}T12:00:00.123000+00:00",
            "person": None, "elements": [], "elements_chain": ""}


def test_posthog_events(run, con, httpserver):
    path = "/api/projects/7/events/"
    # PostHog builds next from the request's parameters plus before=<last timestamp>
    # (posthog/api/event.py, _build_next_url), newest first.
    nxt = (f"{path}?event=%24pageview&limit=100&after=2026-10-11T00%3A00%3A00Z"
           "&before=2026-11-02T12%3A00%3A00.123000%2B00%3A00")
    pages = {None: {"next": nxt, "results": [_event(3), _event(2)]},
             "2026-11-02T12:00:00.123000+00:00": {"next": None, "results": [_event(1)]}}
    seen: list = []
    httpserver.expect_request(path).respond_with_handler(
        lambda req: seen.append(req) or Response(orjson.dumps(pages[req.args.get("before")]),
                                                 content_type="application/json"))
    result = run({"type": "posthog", "project_id": "7", "token": SECRET})
    assert (result.pages, result.rows_loaded) == (2, 3)
    assert seen[0].args["event"] == "$pageview" and seen[0].args["after"] == "2026-10-11T00:00:00Z"
    assert rows(con, "SELECT session_id, route FROM page_views ORDER BY session_id") == [
        ("ph1", "/p/{id}"), ("ph2", "/p/{id}"), ("ph3", "/p/{id}")]
    assert "user-42" not in str(rows(con, "SELECT user_id FROM sessions"))
    assert cursor(con) == "2026-11-03T12:00:00.123000Z"


def _shown(i: int, event: str = "survey shown") -> dict:
    # A `survey shown` event as PostHog's surveys capture it when a survey is displayed
    # (posthog.com/docs/surveys: properties $survey_id, plus the usual $session_id,
    # $current_url), in the events API's result shape.
    ev = _event(i)
    ev.update(event=event, id=f"018f4c2e-1111-7000-8000-00000000000{i}")
    ev["properties"] = {**ev["properties"], "$survey_id": "0190a1b2-c3d4-0000-e5f6-a7b8c9d0e1f2",
                        "$survey_name": "Checkout NPS"}
    return ev


def test_posthog_survey_shown_fills_survey_offers(run, con, httpserver):
    path = "/api/projects/7/events/"
    page = {"next": None, "results": [_shown(2), _shown(1), _shown(3, "$pageview")]}
    seen: list = []
    httpserver.expect_request(path).respond_with_handler(
        lambda req: seen.append(req) or Response(orjson.dumps(page),
                                                 content_type="application/json"))
    result = run({"type": "posthog", "project_id": "7", "token": SECRET, "offers": True})
    assert result.rows_loaded == 2  # the $pageview in the page is not an offer
    assert seen[0].args["event"] == "survey shown"
    assert rows(con, "SELECT offer_key, survey, session_id, route, strftime(offered_at, '%d') "
                     "FROM survey_offers ORDER BY session_id") == [
        ("018f4c2e-1111-7000-8000-000000000001", "0190a1b2-c3d4-0000-e5f6-a7b8c9d0e1f2", "ph1",
         "/p/{id}", "01"),
        ("018f4c2e-1111-7000-8000-000000000002", "0190a1b2-c3d4-0000-e5f6-a7b8c9d0e1f2", "ph2",
         "/p/{id}", "02")]
    assert "user-42" not in str(rows(con, "SELECT user_id FROM survey_offers"))
    assert rows(con, "SELECT count(*) FROM page_views") == [(0,)]
    again = run({"type": "posthog", "project_id": "7", "token": SECRET, "offers": True},
                since=datetime(2026, 10, 1, tzinfo=UTC))
    assert again.rows_loaded == 0  # the same offers again change nothing
    assert rows(con, "SELECT count(*) FROM survey_offers") == [(2,)]


def _visit(i: int) -> dict:
    # One visit of Live.getLastVisitsDetails (format=JSON), field names and types as Matomo 4/5
    # returns them (plugins/Live/API.php, VisitorDetails): numeric ids and Unix-second
    # timestamps, actionDetails of type action | event | goal | download | outlink | search.
    ts = 1762600000 + i * 600
    goal = [{"type": "goal", "goalName": "Checkout", "goalId": 1, "revenue": 0,
             "url": "https://shop.test/checkout", "timestamp": ts + 61}] if i == 2 else []
    return {"idSite": 3, "idVisit": 900 + i, "visitIp": "203.0.113.0",
            "visitorId": "5f3a0c5b7e9d1a2b", "fingerprint": "0fa8c1b2d3e4f5a6",
            "actionDetails": [
                {"type": "action", "url": "https://shop.test/cart", "pageTitle": "Cart",
                 "pageIdAction": 12, "idpageview": "aB3dE5", "serverTimePretty": "",
                 "pageId": 4000 + i, "timeSpent": 30, "timeSpentPretty": "30s",
                 "pageLoadTime": "0.85s", "pageLoadTimeMilliseconds": 850,
                 "pageviewPosition": 1, "timestamp": ts},
                {"type": "event", "url": "https://shop.test/cart", "eventCategory": "cart",
                 "eventAction": "add", "eventName": "sku-1", "timestamp": ts + 30},
                {"type": "action", "url": "https://shop.test/checkout", "pageTitle": "Checkout",
                 "pageIdAction": 13, "idpageview": "fG7hI9", "pageId": 5000 + i,
                 "pageviewPosition": 2, "timestamp": ts + 60},
                *goal],
            "goalConversions": 1 if i == 2 else 0, "siteCurrency": "EUR",
            "siteCurrencySymbol": "€", "serverDate": "2025-11-08", "visitServerHour": "11",
            "lastActionTimestamp": ts + 60, "lastActionDateTime": "2025-11-08 11:17:40",
            "siteName": "Shop", "serverTimestamp": ts + 60, "firstActionTimestamp": ts,
            "userId": None, "visitorType": "new", "visitConverted": 1 if i == 2 else 0,
            "visitCount": 1, "visitDuration": 60, "referrerType": "direct",
            "referrerName": "", "referrerUrl": "", "deviceType": "Desktop",
            "countryCode": "fr", "totalEcommerceRevenue": "0.00", "actions": 2}


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
