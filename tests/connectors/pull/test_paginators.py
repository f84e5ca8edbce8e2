"""Every paginator against a generic JSON API, and the loop's refusal to go round in circles."""

from __future__ import annotations

import orjson
import pytest
from werkzeug import Request, Response

from parallax.connectors.pull.retry import FetchError
from tests.connectors.pull.conftest import rows

ANSWERS = [{"id": f"a{i}", "created_at": f"2026-11-0{i}T10:00:00Z", "nps": i + 4,
            "comment": f"answer {i}", "context": {"session_id": f"s{i}"}} for i in range(1, 6)]


def _json(doc, headers=None) -> Response:
    return Response(orjson.dumps(doc), content_type="application/json", headers=headers or {})


def api(style: str, data=ANSWERS, size: int = 2):
    """A handler paging ``data`` (filtered by ``since``) in ``style``; records its requests."""
    seen: list[dict] = []

    def handler(req: Request) -> Response:
        seen.append(dict(req.args))
        since = req.args.get("since", "")
        items = [a for a in data if a["created_at"] >= since]
        if style == "offset":
            start = int(req.args["offset"])
            return _json({"items": items[start:start + int(req.args["limit"])],
                          "total": len(items)})
        n = int(req.args.get("p") or req.args.get("page") or req.args.get("token") or 1)
        chunk = items[(n - 1) * size:n * size]
        more = n * size < len(items)
        if style == "next_link":
            return _json({"data": {"items": chunk},
                          "links": {"next": f"/answers?p={n + 1}&since={since}" if more
                                    else None}})
        if style == "link_header":
            link = {"Link": f'<{req.base_url}?p={n + 1}&since={since}>; rel="next"'} if more \
                else {}
            return _json(chunk, link)
        if style == "cursor":
            return _json({"results": chunk, "meta": {"next": str(n + 1) if more else None}})
        return _json({"rows": chunk, "pages": -(-len(items) // size)})  # page
    return handler, seen


STYLES = {
    "next_link": ({"paginator": "next_link", "next": "links.next", "records": "data.items"}, 3),
    "link_header": ({"paginator": "link_header", "records": ""}, 3),
    "cursor": ({"paginator": "cursor", "cursor_param": "token", "cursor_path": "meta.next",
                "records": "results"}, 3),
    "offset": ({"paginator": "offset", "limit": 2, "total_path": "total", "records": "items"}, 3),
    "page": ({"paginator": "page", "total_pages_path": "pages", "records": "rows"}, 3),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_each_paginator_reads_every_page_once(style, run, con, httpserver):
    handler, seen = api(style)
    httpserver.expect_request("/answers").respond_with_handler(handler)
    settings, pages = STYLES[style]
    result = run({"type": "json", "path": "/answers", "since_field": "created_at",
                  "since_param": "since", "ordered": True, **settings})
    assert (result.pages, result.rows_loaded, result.duplicates) == (pages, 5, 0)
    assert len(seen) == pages
    got = rows(con, "SELECT feedback_id, source, metric, score, session_id FROM feedback "
                    "ORDER BY feedback_id")
    assert got == [(f"a{i}", "src", "nps", float(i + 4), f"s{i}") for i in range(1, 6)]
    assert seen[0]["since"] == "2026-10-11T00:00:00Z"  # 30 days before NOW: the default start


def test_a_next_link_that_repeats_is_stopped(run, con, httpserver):
    # The API keeps answering the same next link: the loop must not spin.
    httpserver.expect_request("/answers").respond_with_handler(lambda req: _json(
        {"data": {"items": [ANSWERS[int(req.args.get("p", 1)) - 1]]},
         "links": {"next": "/answers?p=2"}}))
    with pytest.raises(FetchError, match=r"source src: GET /answers: page 3 repeats a page"):
        run({"type": "json", "path": "/answers", "records": "data.items",
             "paginator": "next_link", "next": "links.next"})
    assert rows(con, "SELECT count(*) FROM feedback") == [(2,)]  # pages 1 and 2, once each


def test_a_cursor_that_moves_but_serves_the_same_page_is_stopped(run, httpserver):
    count = iter(range(100))
    httpserver.expect_request("/answers").respond_with_handler(
        lambda req: _json({"results": ANSWERS[:2], "meta": {"next": str(next(count))}}))
    with pytest.raises(FetchError, match=r"page 2 holds the same records as the page before"):
        run({"type": "json", "path": "/answers", "records": "results", "paginator": "cursor",
             "cursor_param": "token", "cursor_path": "meta.next"})


def test_a_page_without_the_record_list_fails_clearly(run, httpserver):
    httpserver.expect_request("/answers").respond_with_json({"error": "moved"})
    with pytest.raises(FetchError, match=r"page 1: no record list at 'data.items'"):
        run({"type": "json", "path": "/answers", "records": "data.items"})


def test_page_views_from_a_json_api(run, con, httpserver):
    views = [{"sid": "s1", "ts": "2026-11-09T10:00:00Z", "page": "https://x.test/product/123?u=1",
              "user_id": "alice@example.com"}]
    httpserver.expect_request("/views").respond_with_json({"views": views})
    result = run({"type": "json", "kind": "analytics", "path": "/views", "records": "views",
                  "paginator": "none", "fields": {"session_id": "sid", "viewed_at": "ts",
                                                  "url": "page"}})
    assert result.rows_loaded == 1
    assert rows(con, "SELECT session_id, url, route FROM page_views") == [
        ("s1", "https://x.test/product/123", "/product/{id}")]
    assert "alice" not in str(rows(con, "SELECT * FROM sessions"))
