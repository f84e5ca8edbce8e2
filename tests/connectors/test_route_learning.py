"""Templates learned from spans that carry http.route and a concrete path, stored per
database, and applied to every stored row whatever order the files arrive in."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parallax.connectors.load import ingest_files
from parallax.connectors.routes import RouteNormalizer
from parallax.errors import RejectRateError
from parallax.exposure import JoinSettings, refresh_pages

LEARNED = [
    ("/blog/{slug}", "learned", 1, "/blog/<slug>", "/blog/hello-world"),
    ("/category/new-arrivals", "learned", 1, "/category/new-arrivals", "/category/new-arrivals"),
    ("/category/{slug}", "learned", 2, "/category/:slug", "/category/base-layers"),
    ("/product/{id}", "learned", 1, "/product/{id}", "/product/123"),
]


def _browser_traces(path, url="https://shop.example.com/category/tents?ref=home"):
    """One browser documentLoad span: only http.url, as browser instrumentation sends it."""
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "documentLoad", "kind": 1,
            "startTimeUnixNano": "1791000100000000000", "endTimeUnixNano": "1791000101000000000",
            "attributes": [{"key": "http.url", "value": {"stringValue": url}}]}
    res = {"attributes": [{"key": "service.name", "value": {"stringValue": "web-frontend"}}]}
    path.write_text(json.dumps({"resourceSpans": [
        {"resource": res, "scopeSpans": [{"spans": [span]}]}]}) + "\n")
    return path


@pytest.fixture
def files(shop, tmp_path):
    return {"traces": shop.traces(tmp_path / "spans.jsonl"),
            "browser": _browser_traces(tmp_path / "browser.jsonl"),
            "analytics": shop.ga4(tmp_path / "ga4.ndjson"),
            "feedback": shop.qualtrics(tmp_path / "SV_shop.csv")}


def _load(con, opts, files, *names):
    for name in names:
        ingest_files(con, "traces" if name == "browser" else name, [files[name]], opts)


def _templates(con):
    return con.execute("SELECT template, source, spans, written, example FROM route_templates "
                       "ORDER BY template, source").fetchall()


def _routes(con):
    """Every raw value and the route it landed on, per table."""
    return con.execute(
        "SELECT 'spans', http_route, route FROM spans UNION ALL "
        "SELECT 'page_views', url, route FROM page_views UNION ALL "
        "SELECT 'feedback', page_url, route FROM feedback UNION ALL "
        "SELECT 'events', url, route FROM events "
        "ORDER BY ALL").fetchall()


def _route_of(con, table, column, like):
    return con.execute(f"SELECT DISTINCT route FROM {table} WHERE {column} LIKE ?",
                       [like]).fetchall()


def test_server_spans_teach_their_templates(con, opts, files) -> None:
    _load(con, opts, files, "traces")
    # /api/items/:id came with a path it does not describe, /search/:q with none: no lesson.
    assert _templates(con) == LEARNED
    seen = con.execute("SELECT first_seen < last_seen FROM route_templates "
                       "WHERE template = '/category/{slug}'").fetchall()
    assert seen == [(True,)]


def test_raw_urls_of_analytics_and_feedback_land_on_the_templates(con, opts, files) -> None:
    _load(con, opts, files, "traces", "analytics", "feedback", "browser")
    views = dict(con.execute("SELECT url, route FROM page_views").fetchall())
    site = "https://shop.example.com"
    assert views == {
        f"{site}/category/base-layers": "/category/{slug}",
        f"{site}/category/sleeping-bags": "/category/{slug}",  # no span ever served it
        f"{site}/category/tents": "/category/{slug}",
        f"{site}/category/new-arrivals": "/category/new-arrivals",  # the literal route wins
        f"{site}/product/999": "/product/{id}",
        f"{site}/blog/hello-world": "/blog/{slug}",
        f"{site}/about-us": "/about-us",  # no template: the heuristic
    }
    answers = dict(con.execute("SELECT page_url, route FROM feedback").fetchall())
    assert answers == {f"{site}/category/base-layers": "/category/{slug}",
                       f"{site}/category/sleeping-bags": "/category/{slug}",
                       f"{site}/about-us": "/about-us", f"{site}/product/42": "/product/{id}"}
    assert _route_of(con, "spans", "http_route", "%documentLoad%") == []
    assert _route_of(con, "spans", "name", "documentLoad") == [("/category/{slug}",)]


@pytest.mark.parametrize("order", [  # each source once before and once after the traces
    ("traces", "browser", "analytics", "feedback"),
    ("analytics", "feedback", "browser", "traces"),
    ("browser", "analytics", "traces", "feedback"),
    ("feedback", "traces", "analytics", "browser"),
])
def test_the_order_files_arrive_in_does_not_matter(con, opts, files, order) -> None:
    _load(con, opts, files, *order)
    assert _templates(con) == LEARNED
    assert _routes(con) == EVERY_ROUTE


SITE = "https://shop.example.com"
EVERY_ROUTE = sorted([
    *(("spans", raw, route) for raw, route in [
        ("/api/items/:id", "/api/items/{id}"), ("/blog/<slug>", "/blog/{slug}"),
        ("/category/:slug", "/category/{slug}"), ("/category/:slug", "/category/{slug}"),
        ("/category/new-arrivals", "/category/new-arrivals"), ("/product/{id}", "/product/{id}"),
        ("/search/:q", "/search/{q}"), (f"{SITE}/category/tents", "/category/{slug}")]),
    *((table, f"{SITE}{path}", route) for table in ("page_views", "events")
      for path, route in [
          ("/category/base-layers", "/category/{slug}"),
          ("/category/sleeping-bags", "/category/{slug}"),
          ("/category/new-arrivals", "/category/new-arrivals"),
          ("/product/999", "/product/{id}"), ("/about-us", "/about-us"),
          ("/blog/hello-world", "/blog/{slug}"), ("/category/tents", "/category/{slug}")]),
    *(("feedback", f"{SITE}{path}", route) for path, route in [
        ("/category/base-layers", "/category/{slug}"),
        ("/category/sleeping-bags", "/category/{slug}"),
        ("/about-us", "/about-us"), ("/product/42", "/product/{id}")]),
])


def test_reloading_changes_nothing(con, opts, files) -> None:
    _load(con, opts, files, "analytics", "traces", "feedback", "browser")
    before = (_templates(con), _routes(con),
              con.execute("SELECT name, value FROM route_state ORDER BY name").fetchall())
    _load(con, opts, files, "traces", "browser", "analytics", "feedback")
    after = (_templates(con), _routes(con),
             con.execute("SELECT name, value FROM route_state ORDER BY name").fetchall())
    assert after == before and before[0] == LEARNED  # span counts did not double


def test_a_failed_traces_file_teaches_nothing(con, opts, files, tmp_path) -> None:
    _load(con, opts, files, "analytics")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(files["traces"].read_text() + "{not json\n" * 50)
    with pytest.raises(RejectRateError):
        ingest_files(con, "traces", [bad], opts)
    assert _templates(con) == []
    assert _route_of(con, "page_views", "url", "%base-layers") == [("/category/base-layers",)]


def test_declared_templates_and_learning_switched_off_and_on(con, opts, files) -> None:
    off = dataclasses.replace(opts, route=RouteNormalizer(declared=("/category/:slug",),
                                                          learn=False))
    _load(con, off, files, "traces", "analytics")
    assert _templates(con) == [("/category/{slug}", "config", 0, None, None)]
    assert _route_of(con, "page_views", "url", "%base-layers") == [("/category/{slug}",)]
    assert _route_of(con, "page_views", "url", "%hello-world") == [("/blog/hello-world",)]

    # Learning on: the next ingest learns from every stored span, not only new ones.
    on = dataclasses.replace(opts, route=RouteNormalizer(declared=("/category/:slug",)))
    _load(con, on, files, "feedback")
    assert _templates(con) == sorted(LEARNED + [("/category/{slug}", "config", 0, None, None)])
    assert _route_of(con, "page_views", "url", "%hello-world") == [("/blog/{slug}",)]

    # Off again, nothing declared: back to the heuristic for every stored row.
    _load(con, dataclasses.replace(opts, route=RouteNormalizer(learn=False)), files, "feedback")
    assert _templates(con) == []
    assert _route_of(con, "page_views", "url", "%base-layers") == [("/category/base-layers",)]
    assert _route_of(con, "feedback", "page_url", "%base-layers") == [("/category/base-layers",)]


def test_moved_rows_of_folded_loads_rebuild_the_page_model(con, opts, files) -> None:
    settings = JoinSettings()
    _load(con, opts, files, "analytics")
    assert refresh_pages(con, settings).mode == "full"
    pages = "SELECT DISTINCT route FROM exposure_pages WHERE route LIKE '/category/%' ORDER BY 1"
    assert con.execute(pages).fetchall() == [("/category/base-layers",),
                                             ("/category/new-arrivals",),
                                             ("/category/sleeping-bags",), ("/category/tents",)]
    _load(con, opts, files, "traces")  # teaches /category/{slug}: folded page views move
    assert refresh_pages(con, settings).mode == "full"
    assert con.execute(pages).fetchall() == [("/category/new-arrivals",), ("/category/{slug}",)]
    _load(con, opts, files, "feedback")  # teaches nothing, moves nothing
    assert refresh_pages(con, settings).mode == "incremental"


def test_a_database_from_before_templates_is_brought_up_to_date(con, opts, files) -> None:
    _load(con, opts, files, "traces", "analytics")
    # As an older Parallax left it: no templates, no state, every placeholder named {id},
    # slug pages as their own routes, events without their URL column filled.
    con.execute("DELETE FROM route_templates; DELETE FROM route_state; "
                "UPDATE spans SET route = '/category/{id}' WHERE http_route = '/category/:slug';"
                "UPDATE page_views SET route = regexp_replace(url, '^https://[^/]+', '');")
    _load(con, opts, files, "feedback")  # any load catches up: relearn, re-route
    assert _templates(con) == LEARNED
    assert _route_of(con, "spans", "http_route", "/category/:slug") == [("/category/{slug}",)]
    assert _route_of(con, "page_views", "url", "%base-layers") == [("/category/{slug}",)]


def test_the_migration_gives_stored_events_their_url(con, opts, files) -> None:
    from parallax.db import migrate

    _load(con, opts, files, "analytics")
    con.execute("ALTER TABLE events DROP COLUMN url; DROP TABLE route_templates; "
                "DROP TABLE route_state; DELETE FROM schema_migrations WHERE version = 9")
    assert migrate(con) == ["009_route_templates.sql"]
    urls = con.execute("SELECT count(*), count(url) FROM events "
                       "WHERE url LIKE 'https://shop.example.com/%'").fetchall()
    assert urls == [(len(files["analytics"].read_text().splitlines()),) * 2]


def test_zipkin_spans_teach_from_http_path(con, opts, tmp_path) -> None:
    spans = [{"traceId": f"{i + 1:016x}", "id": f"{i + 1:016x}", "kind": "SERVER",
              "name": "get /owners/{ownerid}", "timestamp": 1791000000000000 + i,
              "duration": 1200, "localEndpoint": {"serviceName": "petclinic"},
              "tags": {"http.method": "GET", "http.route": "/owners/{ownerId}",
                       "http.path": f"/owners/{n}"}} for i, n in enumerate((7, 42))]
    path = tmp_path / "zipkin.json"
    path.write_text(json.dumps(spans))
    ingest_files(con, "traces", [path], opts)
    assert _templates(con) == [("/owners/{ownerId}", "learned", 2, "/owners/{ownerId}",
                                "/owners/42")]
