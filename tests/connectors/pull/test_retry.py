"""The one retry policy: what is retried, how long it waits, what fails at once and how."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug import Response

from parallax.connectors.pull.retry import FetchError
from tests.connectors.pull.conftest import SECRET, cursor, rows

OK = {"items": [{"id": "a1", "created_at": "2026-11-09T10:00:00Z", "nps": 9}]}


def source(**extra):
    return {"type": "json", "path": "/answers", "records": "items", "paginator": "none",
            "token": SECRET, **extra}


def replies(httpserver, *responses: Response) -> list:
    """Serve ``responses`` in turn (the last one again and again); return the requests seen."""
    seen: list = []

    def handler(req):
        seen.append(req)
        return responses[min(len(seen), len(responses)) - 1]
    httpserver.expect_request("/answers").respond_with_handler(handler)
    return seen


def ok() -> Response:
    import orjson
    return Response(orjson.dumps(OK), content_type="application/json")


def test_429_waits_as_long_as_retry_after_says(run, con, httpserver, sleeps):
    seen = replies(httpserver, Response("slow down", 429, {"Retry-After": "7"}), ok())
    result = run(source())
    assert (len(seen), result.requests, result.rows_loaded) == (2, 2, 1)
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date(run, httpserver, sleeps):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    replies(httpserver, Response("", 503, {"Retry-After": when}), ok())
    run(source())
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30


def test_500_then_success_backs_off_with_jitter(run, con, httpserver, sleeps):
    seen = replies(httpserver, Response("oops", 500), Response("oops", 502), ok())
    result = run(source())
    assert (len(seen), result.rows_loaded) == (3, 1)
    assert sleeps == [0.5 * 0.01, 0.5 * 0.02]  # jitter 0.5 × base × 2**attempt


def test_5xx_forever_gives_up_after_the_bounded_attempts(run, con, httpserver, sleeps):
    seen = replies(httpserver, Response("down", 503))
    with pytest.raises(FetchError, match=r"^source src: GET /answers: HTTP 503, 4 attempts$"):
        run(source())
    assert len(seen) == 4 and len(sleeps) == 3
    assert rows(con, "SELECT count(*) FROM feedback") == [(0,)]
    assert rows(con, "SELECT last_error FROM source_state") == [
        ("source src: GET /answers: HTTP 503, 4 attempts",)]


def test_a_retry_after_beyond_the_limit_fails_instead_of_hanging(run, httpserver, sleeps):
    replies(httpserver, Response("", 429, {"Retry-After": "86400"}))
    with pytest.raises(FetchError, match=r"HTTP 429; the server asks to wait 86400 s"):
        run(source())
    assert sleeps == []


@pytest.mark.parametrize(("status", "says"), [
    (401, "the API refused the credentials (401): check the token (token_env or token)"),
    (403, "access denied (403): the token lacks the permission or scope"),
    (404, "not found (404): check base_url and the ids"),
    (400, "request rejected (HTTP 400): bad since"),
])
def test_4xx_fails_at_once_with_one_line(status, says, run, httpserver, sleeps):
    seen = replies(httpserver, Response("bad since", status))
    with pytest.raises(FetchError) as err:
        run(source())
    message = str(err.value)
    assert message.startswith(f"source src: GET /answers: {says}")
    assert "\n" not in message and len(seen) == 1 and sleeps == []


def test_the_secret_never_appears_in_an_error(run, con, httpserver):
    # A server that echoes the credentials back in its error body.
    replies(httpserver, Response(f"token {SECRET} is not valid for /answers", 400))
    with pytest.raises(FetchError) as err:
        run(source(auth_param="api_key"))
    assert SECRET not in str(err.value) and "token *** is not valid" in str(err.value)
    assert SECRET not in str(rows(con, "SELECT * FROM source_state"))


def test_the_token_goes_only_to_the_configured_host(run, httpserver):
    replies(httpserver, Response(
        b'{"items": [{"id": "a1", "nps": 9}], "next": "http://elsewhere.test/steal"}',
        content_type="application/json"))
    with pytest.raises(FetchError, match=r"refusing to send the credentials to "
                                         r"http://elsewhere.test:80; only http://"):
        run(source(paginator="next_link", next="next"))


@pytest.mark.parametrize("move", ["port", "scheme"])
def test_the_token_goes_only_to_the_configured_scheme_and_port(move, run, httpserver):
    """Same host, another port; or the configured https downgraded to http by a next link."""
    host, port = httpserver.host, httpserver.port
    nxt = (f"http://{host}:{port + 1}/steal" if move == "port" else f"http://{host}:{port}/next")
    seen = replies(httpserver, Response(
        b'{"items": [{"id": "a1", "nps": 9}], "next": "' + nxt.encode() + b'"}',
        content_type="application/json"))
    base = f"http://{host}:{port}" if move == "port" else f"https://{host}:{port}"
    if move == "scheme":  # the configured origin is https; the test server speaks http only,
        # so check the refusal where it is decided, before any request is sent
        from parallax.connectors.pull.paginators import Request
        from parallax.connectors.pull.retry import Http, RetryPolicy
        from parallax.connectors.pull.spec import Auth

        http = Http("src", base, Auth(SECRET), RetryPolicy())
        with pytest.raises(FetchError, match=r"refusing to send the credentials to "
                                             rf"http://{host}:{port}; only https://"):
            http._build(Request(nxt, {}, "GET"))
        http.close()
        return
    with pytest.raises(FetchError, match=rf"refusing to send the credentials to "
                                         rf"http://{host}:{port + 1}"):
        run(source(paginator="next_link", next="next", base_url=base))
    assert len(seen) == 1  # the first page only


def test_a_query_token_with_url_special_characters_is_masked_in_logs(run, httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "a+b/c=d&e f"
    replies(httpserver, ok())
    run({**source(auth_param="api_key"), "token": secret})
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith(("httpx", "httpcore", "parallax")))
    assert "api_key=***" in ours
    for form in (secret, "a%2Bb%2Fc%3Dd%26e%20f", "a%2Bb%2Fc%3Dd%26e+f"):
        assert form not in ours


def test_auth_is_sent_as_configured(run, httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    seen = replies(httpserver, ok())
    run(source())
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"
    run(source(auth_param="api_key"), name="other")
    assert seen[1].args["api_key"] == SECRET and "Authorization" not in seen[1].headers
    # httpx logs each request's URL: the token in the query string is masked there (the test
    # server's own access log, werkzeug, is not ours and does show it).
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith(("httpx", "httpcore", "parallax")))
    assert "api_key=***" in ours and SECRET not in ours


def test_malformed_json_fails_naming_the_page_and_keeps_the_cursor(run, con, httpserver):
    replies(httpserver, Response(b'{"items": [ {"id": "a1",', content_type="application/json"))
    with pytest.raises(FetchError, match=r"^source src: GET /answers: page 1 is not valid JSON"):
        run(source(since_field="created_at", since_param="since", ordered=True))
    assert rows(con, "SELECT count(*) FROM feedback") == [(0,)]
    assert cursor(con) is None


def test_a_timeout_is_retried(run, httpserver, sleeps, policy):
    import dataclasses
    import itertools
    import time

    def slow(req):
        time.sleep(0.6)
        return ok()
    calls = itertools.chain([slow], itertools.repeat(lambda req: ok()))
    httpserver.expect_request("/answers").respond_with_handler(lambda req: next(calls)(req))
    result = run(source(), policy=dataclasses.replace(policy, timeout=0.2, attempts=8))
    # At least the slow answer was retried. The one-threaded test server may still be busy
    # with it for a try or two more, and a loaded machine can time out a fast answer too.
    assert result.rows_loaded == 1 and 1 <= len(sleeps) <= 7
