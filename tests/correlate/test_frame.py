"""The statistics read the exposure tables as numpy columns straight from DuckDB: NULLs become
what the models expect (unknown controls, NaN load times, 0 for unknown error rates) and every
dependency call lands on its own row."""

from __future__ import annotations

import duckdb
import numpy as np

from parallax.correlate.frame import UNKNOWN, read_responses, read_sessions

DEPS = ("STRUCT(peer VARCHAR, called DOUBLE, calls DOUBLE, failed DOUBLE, failed_served DOUBLE, "
        "ms DOUBLE)[]")


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE exposure_sessions AS SELECT * FROM (VALUES "
                "('s2', NULL, 'mobile', NULL, 'new', true, 20.0, 3::HUGEINT, 'u1'), "
                "('s1', 'u1', NULL, 'DE', NULL, false, NULL, 1::HUGEINT, 's1')) "
                "AS t(session_id, user_id, device, country, segment, converted, revenue, pages, "
                "cluster_key)")
    con.execute(f"CREATE TABLE exposure_session_routes (session_id VARCHAR, route VARCHAR, "
                f"log_load_max DOUBLE, error_any DOUBLE, deps {DEPS})")
    con.execute("INSERT INTO exposure_session_routes VALUES "
                "('s2', '/cart', 0.5, 1.0, [{'peer': 'db', 'called': 1, 'calls': 2, "
                "'failed': 1, 'failed_served': 0, 'ms': 40}, NULL]), "
                "('s1', NULL, NULL, NULL, []), "
                "('s1', '/', 0.2, 0.0, [{'peer': 'psp', 'called': 1, 'calls': 1, "
                "'failed': 0, 'failed_served': 0, 'ms': NULL}])")
    con.execute(f"CREATE TABLE exposure_responses (response_key VARCHAR, is_poor BOOLEAN, "
                f"cluster_key VARCHAR, route VARCHAR, device VARCHAR, country VARCHAR, "
                f"segment VARCHAR, channel VARCHAR, log_load_s DOUBLE, error_seen DOUBLE, "
                f"link VARCHAR, metric VARCHAR, deps {DEPS})")
    con.execute("INSERT INTO exposure_responses VALUES "
                "('r2', true, 'u1', '/cart', 'mobile', NULL, NULL, 'web', 0.7, NULL, 'session', "
                "'csat', [{'peer': 'db', 'called': 1, 'calls': 3, 'failed': 1, "
                "'failed_served': 1, 'ms': 90}]), "
                "('r1', false, 'r1', NULL, NULL, 'DE', 'new', NULL, NULL, 0.25, 'route_time', "
                "NULL, [])")
    return con


def test_sessions_and_their_route_rows_read_with_nulls_filled() -> None:
    sessions, routes = read_sessions(_con())
    assert sessions.extra["key"].tolist() == ["s1", "s2"]  # ordered by session
    assert sessions.y.tolist() == [0.0, 1.0]
    assert sessions.controls["device"].tolist() == [UNKNOWN, "mobile"]
    assert sessions.controls["country"].tolist() == ["DE", UNKNOWN]
    assert np.isnan(sessions.extra["revenue"][0]) and sessions.extra["revenue"][1] == 20.0
    assert sessions.extra["pages"].tolist() == [1.0, 3.0]
    # rows by session (s1 is row 0), then route (an unknown route last of its session)
    assert routes.session.tolist() == [0, 0, 1]
    assert routes.route.tolist() == ["/", None, "/cart"]
    assert routes.route_names.tolist() == ["/", "/cart", None]
    assert np.isnan(routes.log_load_max[1]) and np.isnan(routes.error_any[1])
    # the NULL element of s2's list is no call; each call sits on its own row
    assert routes.dep_row.tolist() == [0, 2]
    assert routes.peer_names[routes.peer_code].tolist() == ["psp", "db"]
    assert np.isnan(routes.deps["ms"][0]) and routes.deps["ms"][1] == 40.0
    assert routes.deps["calls"].tolist() == [1.0, 2.0]


def test_route_rows_leave_out_sessions_outside_the_frame() -> None:
    con = _con()
    con.execute("INSERT INTO exposure_session_routes VALUES ('s0', '/zzz', 1.0, 0.0, [])")
    sessions, routes = read_sessions(con)
    assert sessions.extra["key"].tolist() == ["s1", "s2"]
    assert routes.session.tolist() == [0, 0, 1] and "/zzz" not in routes.route.tolist()


def test_responses_read_with_nulls_filled_and_calls_widened() -> None:
    f = read_responses(_con())
    assert f.extra["key"].tolist() == ["r1", "r2"]
    assert f.y.tolist() == [0.0, 1.0]
    assert f.route.tolist() == [UNKNOWN, "/cart"]
    assert f.controls["channel"].tolist() == [UNKNOWN, "web"]
    assert np.isnan(f.log_load[0]) and f.log_load[1] == 0.7
    assert f.error.tolist() == [0.25, 0.0]
    assert f.extra["metric"].tolist() == [UNKNOWN, "csat"]
    assert f.link.tolist() == ["route_time", "session"]
    assert list(f.dep_ms) == ["db"] and f.dep_ms["db"].tolist() == [0.0, 90.0]
    assert f.dep_failed_served["db"].tolist() == [0.0, 1.0]
    assert all(isinstance(v, str) for v in f.cluster.tolist())
