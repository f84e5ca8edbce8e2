"""The join model (models/exposure via parallax.exposure) on small hand-made canonical rows:
what one page load holds, how a response is linked, and what a route-and-time link reads."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from parallax.errors import ConfigError
from parallax.exposure import JoinSettings, build_exposure

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; 5-minute buckets start on :00, :05…


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def span(con: duckdb.DuckDBPyConnection, trace: str, sid: str, kind: str, name: str,
         when: datetime, ms: float, *, route: str | None = None, status: int | None = None,
         error: bool = False, peer: str | None = None, session: str | None = None,
         user: str | None = None) -> None:
    con.execute(
        "INSERT INTO spans (trace_id, span_id, service, name, kind, started_at, duration_ms, "
        "is_error, status_code, route, peer, session_id, user_id, source, load_id) "
        "VALUES (?, ?, 'shop', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', 'l1')",
        [trace, sid, name, kind, when, ms, error, status, route, peer, session, user])


def page(con: duckdb.DuckDBPyConnection, trace: str, route: str, minutes: float, load_ms: float,
         *, status: int = 200, session: str | None = None, user: str | None = None,
         deps: tuple[tuple[str, float, bool], ...] = ()) -> None:
    """A page load: browser documentLoad + SERVER span (+ CLIENT calls: peer, ms, failed)."""
    when = at(minutes)
    span(con, trace, trace + "-doc", "internal", "documentLoad", when, load_ms,
         session=session, user=user)
    span(con, trace, trace + "-srv", "server", f"GET {route}", when + timedelta(seconds=0.1),
         load_ms / 2, route=route, status=status, error=status >= 500, session=session,
         user=user)
    for i, (peer, ms, failed) in enumerate(deps):
        span(con, trace, f"{trace}-c{i}", "client", "call", when + timedelta(seconds=0.2), ms,
             peer=peer, error=failed)


def session(con: duckdb.DuckDBPyConnection, sid: str, user: str | None) -> None:
    con.execute("INSERT INTO sessions (session_id, user_id, started_at, device) "
                "VALUES (?, ?, ?, 'desktop')", [sid, user, at(-120)])


def response(con: duckdb.DuckDBPyConnection, fid: str, minutes: float, route: str | None, *,
             session: str | None = None, user: str | None = None) -> None:
    con.execute(
        "INSERT INTO feedback (feedback_id, source, submitted_at, metric, score, scale_min, "
        "scale_max, is_poor, session_id, user_id, route, load_id) "
        "VALUES (?, 'test', ?, 'nps', 3, 0, 10, true, ?, ?, ?, 'l1')",
        [fid, at(minutes), session, user, route])


def responses(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute("SELECT feedback_id, link, page_key, pages, load_ms, log_load_s, "
                       "error_seen, deps FROM exposure_responses").fetchall()
    return {r[0]: r[1:] for r in rows}


def _dep_view(deps: list[dict]) -> list[dict]:
    """The per-dependency features these tests pin (other keys may be added; order is free)."""
    keys = ("peer", "called", "failed", "failed_served", "ms")
    return sorted(({k: d[k] for k in keys} for d in deps), key=lambda d: d["peer"])


def test_one_page_row_from_browser_server_and_client_spans(con) -> None:
    span(con, "t1", "doc", "internal", "documentLoad", at(0), 1800.0, route="/raw/cart",
         session="S1")
    span(con, "t1", "srv", "server", "GET /cart", at(0.01), 700.0, route="/cart", status=503)
    span(con, "t1", "c1", "client", "q", at(0.02), 40.0, peer="db", error=True)
    span(con, "t1", "c2", "client", "q", at(0.03), 60.0, peer="db")
    span(con, "t1", "c3", "client", "get", at(0.04), 5.0, peer="cache")
    # status below error_status is not an error even when the span says so; no status → is_error
    span(con, "t2", "srv", "server", "GET /cart", at(1), 300.0, route="/cart", status=404,
         error=True)
    span(con, "t3", "srv", "server", "GET /cart", at(2), 300.0, route="/cart", error=True)
    build_exposure(con, JoinSettings())
    rows = con.execute("SELECT page_key, route, load_ms, load_source, server_ms, error_seen, "
                       "session_id, deps FROM exposure_pages ORDER BY page_key").fetchall()
    assert [r[0] for r in rows] == ["t1", "t2", "t3"]
    assert rows[0][:7] == ("t1", "/cart", 1800.0, "browser", 700.0, True, "S1")
    assert sorted(rows[0][7], key=lambda d: d["peer"]) == [  # list order is not a contract
        {"peer": "cache", "calls": 1, "ms": 5.0, "failed": False},
        {"peer": "db", "calls": 2, "ms": 100.0, "failed": True}]
    assert rows[1][2:6] == (300.0, "server", 300.0, False)  # server time is the floor
    assert rows[2][5] is True and rows[2][7] == []


def test_client_error_event_marks_the_latest_page_of_its_session(con) -> None:
    page(con, "a", "/cart", 0, 1000, session="S1")
    page(con, "b", "/cart", 10, 1000, session="S1")
    con.execute("INSERT INTO events (event_key, session_id, occurred_at, name, route, "
                "properties, source, load_id) "
                "VALUES ('e1', 'S1', ?, 'js_error', '/cart', NULL, 't', 'l1')",
                [at(12)])
    build_exposure(con, JoinSettings())
    got = dict(con.execute("SELECT page_key, error_seen FROM exposure_pages").fetchall())
    assert got == {"a": False, "b": True}


@pytest.fixture
def linked(con) -> duckdb.DuckDBPyConnection:
    """/cart pages of three users; four responses, one per link kind."""
    session(con, "S1", "U1")
    page(con, "a", "/cart", 0, 1000, session="S1", user="U1")
    page(con, "b", "/cart", 10, 2000, session="S1", user="U1")
    page(con, "c", "/cart", 20, 3000, session="S1", user="U1")  # after R1: never its page
    page(con, "u2", "/cart", 5, 1500, session="S2", user="U2")
    page(con, "u3", "/cart", -35, 4000, session="S3", user="U3")
    response(con, "R1", 15, "/cart", session="S1")  # user U1 comes from the session
    response(con, "R2", 15, "/cart", user="U2")
    response(con, "R3", 5, "/cart", user="U3")  # U3's page is 40 min old: outside the window
    response(con, "R4", 15, "/nowhere", user="U1")
    return con


def test_each_response_gets_the_right_link_and_page(linked) -> None:
    cov = build_exposure(linked, JoinSettings())
    got = responses(linked)
    assert got["R1"][:5] == ("session", "b", 1, 2000.0, pytest.approx(math.log(2.0)))
    assert got["R2"][:4] == ("user", "u2", 1, 1500.0)
    # route_time over buckets in [09:35, 10:05): only page "a" (10:00) — not u3 (09:25)
    assert got["R3"][:4] == ("route_time", None, 1, pytest.approx(1000.0))
    assert got["R3"][4] == pytest.approx(0.0) and got["R3"][5] == 0.0
    assert got["R4"] == ("none", None, 0, None, None, None, [])
    assert (cov.responses, dict(cov.by_link)) == (
        4, {"session": 1, "user": 1, "route_time": 1, "none": 1})
    assert cov.share("session") == 0.25 and cov.share("nothing") == 0.0


def test_direct_keys_are_configuration(linked) -> None:
    build_exposure(linked, JoinSettings(direct_keys=("user_id",)))
    got = responses(linked)
    assert got["R1"][:2] == ("user", "b")  # the session's user, via the sessions table
    assert got["R2"][:2] == ("user", "u2")
    build_exposure(linked, JoinSettings(direct_keys=()))
    assert {k: v[0] for k, v in responses(linked).items()} == {
        "R1": "route_time", "R2": "route_time", "R3": "route_time", "R4": "none"}
    build_exposure(linked, JoinSettings(window_minutes=60))
    assert responses(linked)["R3"][:2] == ("user", "u3")  # 40 min is inside a 60 min window


def test_route_time_features_are_window_rates(con) -> None:
    # submitted at 12:30 → buckets 12:00…12:25; 11:50 and after 12:30 do not count
    for trace, minute, load, status, deps in (
            ("p1", 122, 1000, 200, (("search-db", 30.0, False),)),
            ("p2", 127, 2000, 200, (("search-db", 50.0, True),)),
            ("p3", 132, 1000, 200, ()),
            ("p4", 137, 4000, 500, ()),
            ("old", 110, 9000, 500, (("search-db", 10.0, True),)),
            ("late1", 151, 9000, 500, (("search-db", 10.0, True),)),
            ("late2", 153, 9000, 503, ())):
        page(con, trace, "/search", minute, load, status=status, deps=deps)
    response(con, "R5", 150, "/search")
    build_exposure(con, JoinSettings())
    link, page_key, pages, load_ms, log_load, error, deps = responses(con)["R5"]
    mean_log = (math.log(1) + math.log(2) + math.log(1) + math.log(4)) / 4
    assert (link, page_key, pages, error) == ("route_time", None, 4, 0.25)
    assert log_load == pytest.approx(mean_log)
    assert load_ms == pytest.approx(1000 * math.exp(mean_log))
    assert _dep_view(deps) == [{"peer": "search-db", "called": 0.5, "failed": 0.25,
                                "failed_served": 0.25, "ms": 40.0}]


def test_direct_link_features_are_zero_one(con) -> None:
    session(con, "S1", "U1")
    page(con, "a", "/cart", 0, 1000, status=502, session="S1",
         deps=(("payments", 900.0, True), ("db", 20.0, False)))
    response(con, "R1", 1, "/cart", session="S1")
    build_exposure(con, JoinSettings())
    link, page_key, _, _, _, error, deps = responses(con)["R1"]
    assert (link, page_key, error) == ("session", "a", 1.0)
    assert _dep_view(deps) == [  # an error page: its failure was not served
        {"peer": "db", "called": 1.0, "failed": 0.0, "failed_served": 0.0, "ms": 20.0},
        {"peer": "payments", "called": 1.0, "failed": 1.0, "failed_served": 0.0, "ms": 900.0}]


def test_rebuild_is_idempotent_and_page_views_are_not_double_counted(linked) -> None:
    pv = "INSERT INTO page_views VALUES (?, ?, 1, ?, NULL, ?, NULL, ?, ?, 'ga4', 'l1')"
    linked.execute(pv, ["ev-a", "S1", at(0), "/cart", 999.0, "a"])  # the same view as trace a
    linked.execute(pv, ["ev-x", "S1", at(1), "/cart", 500.0, None])  # S1 is traced: dropped
    linked.execute(pv, ["ev-9", "S9", at(2), "/cart", 700.0, None])  # untraced session: kept
    counts = "SELECT (SELECT count(*) FROM exposure_pages), (SELECT count(*) FROM " \
             "exposure_responses), (SELECT count(*) FROM exposure_route_buckets)"
    first = build_exposure(linked, JoinSettings())
    n1 = linked.execute(counts).fetchall()
    second = build_exposure(linked, JoinSettings())
    assert linked.execute(counts).fetchall() == n1 and first == second
    assert n1[0][0] == 6  # a, b, c, u2, u3 + ev-9
    rows = linked.execute("SELECT page_key, event_key, load_ms, load_source FROM exposure_pages "
                          "WHERE page_key IN ('a', 'ev-9') ORDER BY page_key").fetchall()
    assert rows == [("a", "ev-a", 1000.0, "browser"), ("ev-9", "ev-9", 700.0, "analytics")]


def test_join_settings_from_mapping() -> None:
    s = JoinSettings.from_mapping({"direct_keys": ["user_id"], "window_minutes": 45})
    assert (s.direct_keys, s.window_minutes) == (("user_id",), 45)
    assert JoinSettings.from_mapping({}) == JoinSettings()
    for bad, words in (({"direct_key": ["user_id"]}, "unknown setting(s) direct_key"),
                       ({"direct_keys": ["ip_address"]}, "direct_keys may only name"),
                       ({"window_minutes": 0}, "must be >= 1"),
                       ({"window_minutes": "30"}, "window_minutes must be a whole number"),
                       ({"page_spans": "documentLoad"}, "page_spans must be a list of strings"),
                       ({"bucket_minutes": 60}, "must not exceed window_minutes")):
        with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
            JoinSettings.from_mapping(bad, "[join]")


def test_a_response_links_to_the_page_it_was_started_on(con) -> None:
    """An in-page survey opened on one product page and submitted after the next product page
    loaded belongs to the first: started_at, when the source gives it, is the moment that
    counts; without it, the submission."""
    session(con, "S1", None)
    page(con, "t-a", "/p/{id}", 0, 4000.0, session="S1")
    page(con, "t-b", "/p/{id}", 1, 900.0, session="S1")
    for fid, started in (("with-start", at(0.2)), ("without", None)):
        response(con, fid, 1.5, "/p/{id}", session="S1")
        con.execute("UPDATE feedback SET started_at = ? WHERE feedback_id = ?", [started, fid])
    build_exposure(con, JoinSettings())
    got = responses(con)
    assert got["with-start"][:2] == ("session", "t-a") and got["with-start"][3] == 4000.0
    assert got["without"][:2] == ("session", "t-b") and got["without"][3] == 900.0


def test_pages_tied_on_call_time_give_the_most_calls_whatever_the_order(con) -> None:
    """A session's route visit keeps, per dependency, the page with the most call time; of
    pages tied on it, the one with more calls (not whichever the scan met last)."""
    session(con, "S1", None)
    for trace in ("p1", "p2", "p3"):  # 2 calls of 50 ms, 1 call of 100 ms, 4 calls of 25 ms
        n, ms = {"p1": (2, 50.0), "p2": (1, 100.0), "p3": (4, 25.0)}[trace]
        page(con, trace, "/cart", {"p1": 0, "p2": 5, "p3": 10}[trace], 1000, session="S1",
             deps=tuple(("db", ms, False) for _ in range(n)))
    build_exposure(con, JoinSettings())
    (deps,), = con.execute("SELECT deps FROM exposure_session_routes "
                           "WHERE session_id = 'S1' AND route = '/cart'").fetchall()
    assert [(d["peer"], d["ms"], d["calls"]) for d in deps] == [("db", 100.0, 4.0)]
