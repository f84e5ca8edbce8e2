"""The cheap test for Core Web Vitals (models/exposure/vitals_present.sql) is false only when
the web_vitals view is empty: every way a vital is stored makes it true and fills the window's
vitals tables, and without one the window's vitals tables are empty with the same columns."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from parallax.exposure import JoinSettings, build_exposure, vitals_present

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VITAL_TABLES = ("exposure_measured_vitals", "exposure_vitals", "exposure_response_vitals")


def _span(con: duckdb.DuckDBPyConnection, name: str, attributes: str) -> None:
    con.execute(
        "INSERT INTO spans (trace_id, span_id, name, kind, started_at, duration_ms, is_error, "
        "route, session_id, attributes, source, load_id) VALUES "
        "('t1', ?, ?, 'internal', ?, 1.0, false, '/cart', 's1', ?, 'otlp-jsonl', 'l1')",
        [name, name, T0, attributes])


def _event(con: duckdb.DuckDBPyConnection, name: str, properties: str, source: str) -> None:
    con.execute(
        "INSERT INTO events (event_key, session_id, occurred_at, name, route, properties, "
        "source, load_id) VALUES ('e1', 's1', ?, ?, '/cart', ?, ?, 'l1')",
        [T0, name, properties, source])


STORED = {  # one vital as each source stores it (the web_vitals view's four branches)
    "otel attribute": lambda con: _span(
        con, "web-vital", '{"browser.web_vital.name": "CLS", "browser.web_vital.value": 0.3}'),
    "otel escaped key": lambda con: _span(
        con, "web-vital",
        '{"browser.web\\u005fvital.name": "INP", "browser.web_vital.value": 350}'),
    "otel span name": lambda con: _span(con, "LCP", '{"lcp.value": 3100}'),
    "ga4": lambda con: _event(con, "LCP", '{"params": {"metric_value": 3100}}', "ga4-ndjson"),
    "posthog": lambda con: _event(con, "$web_vitals", '{"$web_vitals_CLS_value": 0.3}',
                                  "posthog-events"),
    "generic": lambda con: _event(con, "web_vital", '{"metric": "INP", "value": 350}',
                                  "web-vitals-ndjson"),
}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return [row[:2] for row in con.execute(f"DESCRIBE {table}").fetchall()]


@pytest.mark.parametrize("how", sorted(STORED))
def test_every_stored_vital_is_found_and_read(con, how):
    assert not vitals_present(con)
    STORED[how](con)
    assert con.execute("SELECT count(*) FROM web_vitals").fetchone()[0] == 1  # a real vital
    assert vitals_present(con)
    build_exposure(con, JoinSettings())
    assert con.execute("SELECT count(*) FROM exposure_measured_vitals").fetchone()[0] == 1


def test_no_vital_leaves_the_tables_empty_with_the_same_columns(con, tmp_path):
    _span(con, "GET /cart", '{"http.url": "https://shop.example.com/cart"}')
    _event(con, "page_view", '{"page": "/cart"}', "ga4-ndjson")
    assert not vitals_present(con)
    build_exposure(con, JoinSettings())
    empty = {t: _columns(con, t) for t in VITAL_TABLES}
    assert all(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0
               for t in VITAL_TABLES)
    STORED["ga4"](con)
    build_exposure(con, JoinSettings())
    assert con.execute("SELECT count(*) FROM exposure_measured_vitals").fetchone()[0] == 1
    assert {t: _columns(con, t) for t in VITAL_TABLES} == empty


def test_the_check_runs_on_a_cursor_of_its_own_beside_the_window_models(con, monkeypatch):
    import threading

    import parallax.exposure as exposure

    seen: list[tuple[bool, bool]] = []

    def check(cursor: duckdb.DuckDBPyConnection) -> bool:
        seen.append((cursor is not con, threading.current_thread() is not threading.main_thread()))
        return vitals_present(cursor)

    monkeypatch.setattr(exposure, "vitals_present", check)
    STORED["otel attribute"](con)  # committed: the cursor sees it
    build_exposure(con, JoinSettings())
    assert seen == [(True, True)]
    assert con.execute("SELECT count(*) FROM exposure_measured_vitals").fetchone()[0] == 1


def test_a_failed_check_leaves_no_window_table(con, monkeypatch):
    import parallax.exposure as exposure

    def broken(cursor: duckdb.DuckDBPyConnection) -> bool:
        raise duckdb.IOException("the check could not read the spans")

    monkeypatch.setattr(exposure, "vitals_present", broken)
    with pytest.raises(duckdb.IOException, match="could not read the spans"):
        build_exposure(con, JoinSettings())
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert not tables & {"exposure_responses", "exposure_session_routes", *VITAL_TABLES}
