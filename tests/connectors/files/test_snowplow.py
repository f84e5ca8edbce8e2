"""Snowplow enriched events → events, page views, sessions, on real samples from Snowplow's
RDB loader tests (tests/fixtures/vendor/README.md): three enriched TSV lines (a page_view
without domain_sessionid and two page_pings) and the first wide row of the loader's output
(a page_view with derived_tstamp, domain_sessionid and 20 contexts)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import FormatError

VENDOR = Path(__file__).parents[2] / "fixtures" / "vendor"
TSV = VENDOR / "snowplow_enriched_rdb_loader_spec7.tsv"
WIDE = VENDOR / "snowplow_widerow_rdb_loader_first_line.json"


def _rows(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def _snapshot(con):
    return {t: _rows(con, f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY ALL")
            for t in ("events", "page_views", "sessions")}


def test_detected_by_content():
    assert detect("analytics", TSV.read_bytes()[:65536]).name == "snowplow-tsv"
    assert detect("analytics", WIDE.read_bytes()[:65536]).name == "snowplow-json"


def test_tsv_sample_field_by_field(con, opts):
    p = opts.pseudonymize
    [s] = ingest_files(con, "analytics", [TSV], opts)
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("snowplow-tsv", 3, 3, 0)
    events = _rows(con, "SELECT session_id, name, occurred_at, url, route FROM events "
                        "ORDER BY occurred_at, name")
    assert events == [
        # no derived_tstamp anywhere: collector_tstamp; the page_view has no domain_sessionid
        ("44f7ee96-cc95-46c5-b64f-47fee7dcf62d", "page_ping",
         datetime(2022, 2, 1, 22, 32, 41, 69000, UTC),
         "http://www.q2lXITe.co.uk:24942/ETFx0I4W8VSSNzF", "/{id}"),
        ("2f6d243a-cf6c-4bdf-b89a-85f8cebd0fd9", "page_ping",
         datetime(2022, 2, 2, 1, 1, 1, 648000, UTC),
         "https://www.59LNnLl.ru:1/b3kaiUvbOle7kzI", "/{id}"),
        (None, "page_view", datetime(2022, 2, 2, 1, 1, 1, 648000, UTC),
         "https://zZRTa4W.tr:40204/j7F5wVUyUCY06H5", "/{id}"),
    ]
    assert _rows(con, "SELECT count(*) FROM page_views") == [(0,)]  # its one view: no session
    assert _rows(con, "SELECT session_id, user_id FROM sessions ORDER BY started_at") == [
        ("44f7ee96-cc95-46c5-b64f-47fee7dcf62d", p("uid_mrjNgl94ix")),
        ("2f6d243a-cf6c-4bdf-b89a-85f8cebd0fd9", p("uid_wo68Qx0OHC")),
    ]
    [(props,)] = _rows(con, "SELECT properties FROM events WHERE name = 'page_view'")
    props = orjson.loads(props)
    assert props["network_userid"] == p("c8a74d99-1025-4fb3-bccf-28195602e05c")
    assert props["contexts"] == ["com_snowplowanalytics_snowplow/test_schema_broken"]


def test_custom_context_carries_the_shared_session(con, opts):
    """A key of a custom context names the session: the TSV page_view now has one."""
    shared = dataclasses.replace(opts, options={"session_param": "test_schema_broken.b_field"})
    ingest_files(con, "analytics", [TSV], shared)
    assert _rows(con, "SELECT session_id, url, referrer, viewed_at FROM page_views") == [
        ("1", "https://zZRTa4W.tr:40204/j7F5wVUyUCY06H5",
         "http://www.dldKBvJ.com:1/2SICcBOSDgHQPDi", datetime(2022, 2, 2, 1, 1, 1, 648000, UTC))]
    assert _rows(con, "SELECT session_id FROM events ORDER BY session_id") == [("1",), ("2",),
                                                                             ("s",)]


def test_wide_row_sample_field_by_field(con, opts):
    p = opts.pseudonymize
    [s] = ingest_files(con, "analytics", [WIDE], opts)
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("snowplow-json", 1, 1, 0)
    # derived_tstamp wins over collector_tstamp; nanoseconds cut to microseconds; load time
    # from the PerformanceTiming context (loadEventEnd 96158 − navigationStart 1)
    assert _rows(con, "SELECT session_id, seq, viewed_at, url, route, referrer, load_ms, source "
                      "FROM page_views") == [
        ("530067ed-2607-4d98-8de1-eec025ba3200", 1,
         datetime(2021, 10, 15, 9, 5, 29, 127379, UTC), "http://www.v.co.uk/aCgl", "/acgl",
         "https://www.google.ru/j", 96157.0, "snowplow-json")]
    assert _rows(con, "SELECT user_id, device, country, converted FROM sessions") == [
        (p("ada.blackjack@iglu.com"), None, None, False)]
    [(props,)] = _rows(con, "SELECT properties FROM events")
    props = orjson.loads(props)
    assert props["domain_userid"] == p("c5aacbff-80d4-4426-9462-490635d4790d")
    assert "com_mparticle_snowplow_session_context" in [c.split("/")[0]
                                                         for c in props["contexts"]]
    # the mParticle session context of the same row, picked by name
    con.execute("DELETE FROM page_views; DELETE FROM events; DELETE FROM sessions")
    shared = dataclasses.replace(opts, options={"session_param": "session_context.id"})
    ingest_files(con, "analytics", [WIDE], shared)
    assert _rows(con, "SELECT session_id FROM page_views") == [("uaqqzqeixrwLxz",)]


def _landing(row: dict) -> dict:
    """The real wide row's page view one minute earlier, as another event of the same
    ``domain_sessionid`` sent before the site set its session context (no public sample holds
    both): a new event_id, and the mParticle session context left out."""
    return {**row, "event_id": "0f4a4b4e-1b5e-4d0a-9d4c-2b1e6a7f0c11",
            "derived_tstamp": "2021-10-15T09:04:29.127379444Z",
            "page_url": "http://www.v.co.uk/landing",
            "contexts_com_mparticle_snowplow_session_context_1": None}


@pytest.mark.parametrize("order", ["landing first", "landing later", "one file"])
def test_events_without_the_context_join_their_domain_sessions_shared_id(con, opts,
                                                                        tmp_path, order):
    row = orjson.loads(WIDE.read_bytes())
    landing = tmp_path / "landing.json"
    landing.write_bytes(orjson.dumps(_landing(row)) + b"\n")
    files = {"landing first": [landing, WIDE], "landing later": [WIDE, landing],
             "one file": [tmp_path / "both.json"]}[order]
    (tmp_path / "both.json").write_bytes(landing.read_bytes() + WIDE.read_bytes())
    shared = dataclasses.replace(opts, options={"session_param": "session_context.id"})
    for f in files:
        ingest_files(con, "analytics", [f], shared)
    assert _rows(con, "SELECT session_id, seq, url FROM page_views ORDER BY seq") == [
        ("uaqqzqeixrwLxz", 1, "http://www.v.co.uk/landing"),
        ("uaqqzqeixrwLxz", 2, "http://www.v.co.uk/aCgl")]
    assert _rows(con, "SELECT DISTINCT session_id FROM events") == [("uaqqzqeixrwLxz",)]
    assert _rows(con, "SELECT session_id, started_at FROM sessions") == [
        ("uaqqzqeixrwLxz", datetime(2021, 10, 15, 9, 4, 29, 127379, UTC))]
    before = _snapshot(con)
    for f in files:
        ingest_files(con, "analytics", [f], shared)
    assert _snapshot(con) == before


def test_identifiers_never_stored_raw(con, opts, tmp_path):
    lines = TSV.read_text().splitlines(keepends=True)
    broken = tmp_path / "with_bad.tsv"
    broken.write_text("".join(lines) + lines[1].rsplit("\t", 3)[0] + "\n")
    loose = dataclasses.replace(opts, max_reject_rate=0.5)
    ingest_files(con, "analytics", [broken, WIDE], loose)
    for raw in ("uid_wo68Qx0OHC", "duid_2SOZ5ZYiu2", "48.209.0.231", "ada.blackjack@iglu.com",
                "93.247.255.233", "c5aacbff-80d4-4426-9462-490635d4790d"):
        for table, col in (("events", "properties"), ("sessions", "user_id"),
                           ("rejects", "raw")):
            assert _rows(con, f"SELECT count(*) FROM {table} "
                              f"WHERE contains(CAST({col} AS VARCHAR), ?)", [raw]) == [(0,)], (
                raw, table)


def test_malformed_line_is_a_reject_with_the_count(con, opts, tmp_path):
    lines = TSV.read_text().splitlines(keepends=True)
    cut = lines[2].rsplit("\t", 3)[0] + "\n"  # the last line, three fields short
    path = tmp_path / "events.tsv"
    path.write_text("".join(lines[:2]) + cut)
    [s] = ingest_files(con, "analytics", [path], dataclasses.replace(opts, max_reject_rate=0.5))
    assert (s.rows_read, s.rows_loaded, s.rejected) == (3, 2, 1)
    [(location, reason, raw)] = _rows(con, "SELECT location, reason, raw FROM rejects")
    assert (location, reason) == ("line 3", "expected 131 fields, found 128")
    assert raw == ("aid_9WcqUGZLEm\tapp\t\t2022-02-01 22:32:41.069\t2022-02-01 23:55:42.479\t"
                   "page_ping\t73716ce6-8c8e-4b64-93b1-784f2acd5c24\t… (128 fields)")
    # above the reject rate the file fails whole, and nothing of it is stored
    with pytest.raises(Exception, match="1 of 3 records rejected"):
        ingest_files(con, "analytics", [path], opts)


def test_reload_changes_nothing(con, opts):
    ingest_files(con, "analytics", [TSV, WIDE], opts)
    before = _snapshot(con)
    again = ingest_files(con, "analytics", [TSV, WIDE], opts)
    assert [(s.rows_loaded, s.duplicates) for s in again] == [(0, 3), (0, 1)]
    assert _snapshot(con) == before


def test_not_snowplow_at_all(con, opts, tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("just\ttwo\n")
    with pytest.raises(FormatError, match="line 1"):
        ingest_files(con, "analytics", [path], opts, format="snowplow-tsv")
    assert _rows(con, "SELECT count(*) FROM events") == [(0,)]
