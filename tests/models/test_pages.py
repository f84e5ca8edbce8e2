"""exposure_pages (models/exposure/010_pages.sql): what one page load is, when the browser's
page-load span and the server's spans are in one trace and when they are not."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from parallax.db import connect
from parallax.exposure import JoinSettings, build_exposure

T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)


def _span(con, trace, span, kind, name, start_ms, dur_ms, *, route=None, status=None,
          error=False, peer=None, session="s1", user=None) -> None:
    con.execute(
        "INSERT INTO spans (trace_id, span_id, kind, name, started_at, duration_ms, is_error, "
        "status_code, route, peer, session_id, user_id, service, source, load_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'shop', 'test', 'l1')",
        [trace, span, kind, name, T0 + timedelta(milliseconds=start_ms), dur_ms, error, status,
         route, peer, session if kind != "client" else None, user])


def _pages(con) -> list[tuple]:
    build_exposure(con, JoinSettings())
    return con.execute(
        "SELECT trace_id, route, load_ms, load_source, server_ms, error_seen, "
        "list_transform(deps, lambda x: x.peer || ':' || x.failed::VARCHAR) "
        "FROM exposure_pages ORDER BY started_at").fetchall()


def test_one_trace_is_one_page_load(tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    _span(con, "a", "1", "internal", "documentLoad", 0, 2000.0, route="/cart")
    _span(con, "a", "2", "server", "GET /cart", 100, 800.0, route="/cart", status=503)
    _span(con, "a", "3", "client", "GET", 150, 600.0, peer="pricing", error=True)
    assert _pages(con) == [("a", "/cart", 2000.0, "browser", 800.0, True, ["pricing:true"])]


def test_unpropagated_server_trace_joins_the_page_in_flight(tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    _span(con, "a", "1", "internal", "documentLoad", 0, 2000.0, route="/cart")
    # The server's own trace (no traceparent from the browser), during the page load:
    _span(con, "b", "1", "server", "GET /cart", 100, 800.0, route="/cart", status=503,
          user="u1")
    _span(con, "b", "2", "client", "GET", 150, 600.0, peer="pricing", error=True)
    # A later server trace of the same session is its own page load, not this one's:
    _span(con, "c", "1", "server", "GET /cart", 5000, 90.0, route="/cart", status=200)
    # Another session's server trace during the page load is not adopted either:
    _span(con, "d", "1", "server", "GET /cart", 200, 70.0, route="/cart", status=200,
          session="s2")
    pages = _pages(con)
    assert pages[0] == ("a", "/cart", 2000.0, "browser", 800.0, True, ["pricing:true"])
    assert [p[0] for p in pages] == ["a", "d", "c"]
    assert pages[2][3] == "server" and pages[2][5] is False
    assert con.execute("SELECT user_id FROM exposure_pages WHERE trace_id = 'a'"
                       ).fetchall() == [("u1",)]


def _response(con, session: str, at_ms: int, route: str = "/cart") -> None:
    con.execute(
        "INSERT INTO feedback (feedback_id, source, submitted_at, metric, score, scale_min, "
        "scale_max, is_poor, session_id, route, load_id) "
        "VALUES (?, 'test', ?, 'nps', 3, 0, 10, true, ?, ?, 'l1')",
        [f"r-{session}", T0 + timedelta(milliseconds=at_ms), session, route])


def _server_timed(con) -> tuple:
    build_exposure(con, JoinSettings())
    [(log_load,)] = con.execute(
        "SELECT log_load_s FROM exposure_responses WHERE session_id = 's2'").fetchall()
    [(p50,)] = con.execute("SELECT p50_ms FROM exposure_delivery "
                           "WHERE subject_kind = 'route' AND subject = '/cart'").fetchall()
    return log_load, p50


def test_a_server_only_time_counts_only_when_nothing_better_exists(tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    _span(con, "b", "1", "server", "GET /cart", 0, 300.0, route="/cart", status=200,
          session="s2")
    _response(con, "s2", 60_000)
    # Only server times anywhere: the floor is all there is, and it is used.
    log_load, p50 = _server_timed(con)
    assert log_load == pytest.approx(math.log(0.3)) and p50 == 300.0
    # One page with a browser timing: server-only times are another scale, left out.
    _span(con, "a", "1", "internal", "documentLoad", 0, 2000.0, route="/cart")
    _span(con, "a", "2", "server", "GET /cart", 100, 800.0, route="/cart", status=200)
    con.execute("DELETE FROM exposure_state")  # rows written by hand bypass the loads ledger
    log_load, p50 = _server_timed(con)
    assert log_load is None and p50 == 2000.0


def test_a_page_view_tagged_twice_is_one_page_load(tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    _span(con, "a", "1", "internal", "documentLoad", 0, 2000.0, route="/cart")
    for key, at in (("ev-1", 2), ("ev-2", 3)):  # the same trace id on two page_view events
        con.execute(
            "INSERT INTO page_views (event_key, session_id, seq, viewed_at, route, load_ms, "
            "trace_id, source, load_id) VALUES (?, 's1', 1, ?, '/cart', 2000, 'a', 'ga4', 'l1')",
            [key, T0 + timedelta(seconds=at)])
    assert [(p[0], p[3]) for p in _pages(con)] == [("a", "browser")]
    assert con.execute("SELECT event_key FROM exposure_pages").fetchall() == [("ev-1",)]
