"""GA4 BigQuery export NDJSON → events, page_views, sessions, checked on the synthetic fixture
(tests/fixtures/synthetic/ga4_events.ndjson: 2 users, 3 sessions, 15 events) — through the
native stage (DuckDB) and through the Python parser alike (test_ga4_native.py compares the
two row by row)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import ConfigError, FormatError
from tests.connectors.files.writers import int64s_as_numbers

FIXTURE = Path(__file__).parents[2] / "fixtures" / "synthetic" / "ga4_events.ndjson"
LINES = FIXTURE.read_bytes().splitlines(keepends=True)
UPID_A, UPID_B, USER_A = "1197596843.1699990000", "2093384752.1700001234", "CUST-000417"
SHARED = "sess-7f3a9c"


def _ts(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


@pytest.fixture(autouse=True, params=["native", "python"])
def path(request, monkeypatch):
    monkeypatch.setenv("PARALLAX_NATIVE", "1" if request.param == "native" else "0")
    return request.param


@pytest.fixture
def ga4(opts):
    return dataclasses.replace(opts, options={"session_param": "session_id"})


@pytest.fixture
def ids(ga4):
    p = ga4.pseudonymize
    return {"s1": f"{p(UPID_A)}.1700000000", "s2": f"{p(UPID_A)}.1700003600",
            "s3": f"{p(UPID_B)}.1700007200", "user": p(USER_A), "upid_a": p(UPID_A)}


def _write(path: Path, lines) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def _rows(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def _snapshot(con):
    return {t: _rows(con, f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY ALL")
            for t in ("events", "page_views", "sessions")}


def test_fixture_field_by_field(con, ga4, ids):
    [s] = ingest_files(con, "analytics", [FIXTURE], ga4)
    assert (s.format, s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == (
        "ga4-ndjson", 15, 15, 0, 0)
    assert _rows(con, "SELECT count(*) FROM events") == [(15,)]

    # S1: click path in time order although the file is not; query and fragment stripped;
    # load_ms from page_load_ms (int and double), never from engagement_time_msec.
    views = _rows(con, "SELECT seq, viewed_at, url, route, referrer, load_ms, trace_id, source "
                       "FROM page_views WHERE session_id = ? ORDER BY seq", [ids["s1"]])
    assert views == [
        (1, _ts(1700000000100000), "https://shop.example.com/", "/", "https://www.google.com/",
         820.0, "4bf92f3577b34da6a3ce929d0e0e4736", "ga4-ndjson"),
        (2, _ts(1700000025500000), "https://shop.example.com/product/123", "/product/{id}",
         "https://shop.example.com/", 1430.5, "0af7651916cd43dd8448eb211c80319c", "ga4-ndjson"),
        (3, _ts(1700000061000000), "https://shop.example.com/cart", "/cart",
         "https://shop.example.com/product/123", None, None, "ga4-ndjson"),
    ]
    sessions = _rows(con, "SELECT session_id, user_id, started_at, ended_at, device, country, "
                          "segment, converted, revenue, source FROM sessions ORDER BY started_at")
    assert sessions == [
        (ids["s1"], None, _ts(1700000000100000), _ts(1700000061000000), "desktop", "Germany",
         None, False, 0.0, "ga4-ndjson"),
        # the shared session id wins, also for its first page view that lacked the param
        (SHARED, ids["user"], _ts(1700003600200000), _ts(1700003656000000), "desktop",
         "Germany", None, True, 59.9, "ga4-ndjson"),
        (ids["s3"], None, _ts(1700007200000000), _ts(1700007300000000), "mobile", "France",
         None, True, 25.5, "ga4-ndjson"),
    ]
    assert _rows(con, "SELECT seq, route, load_ms FROM page_views WHERE session_id = ? "
                      "ORDER BY seq", [SHARED]) == [
        (1, "/product/{id}", 950.0), (2, "/checkout", 2100.0),
        (3, "/checkout/confirmation", 700.0)]
    assert _rows(con, "SELECT seq, url, load_ms FROM page_views WHERE session_id = ? "
                      "ORDER BY seq", [ids["s3"]]) == [
        (1, "https://shop.example.com/", 1900.0), (2, "https://shop.example.com/search", 2500.0)]


def test_event_rows_and_properties(con, ga4, ids):
    ingest_files(con, "analytics", [FIXTURE], ga4)
    by_name = dict(_rows(con, "SELECT name, count(*) FROM events GROUP BY name"))
    assert by_name == {"session_start": 1, "page_view": 8, "user_engagement": 1, "click": 2,
                       "purchase": 2, "newsletter_signup": 1}
    # Two clicks at the same microsecond, differing only in batch_event_index: two events.
    clicks = _rows(con, "SELECT occurred_at, session_id, route, "
                        "properties->>'$.batch_event_index' FROM events WHERE name = 'click' "
                        "ORDER BY 4")
    assert clicks == [(_ts(1700007240000001), ids["s3"], "/search", "3"),
                      (_ts(1700007240000001), ids["s3"], "/search", "4")]
    # No ga_session_id, no shared id: kept, in no session; its email param pseudonymised.
    [(sid, route, props)] = _rows(con, "SELECT session_id, route, properties FROM events "
                                       "WHERE name = 'newsletter_signup'")
    props = orjson.loads(props)
    assert (sid, route, props["ga4_session"]) == (None, None, None)
    assert props["params"] == {"method": "footer",
                               "email": ga4.pseudonymize("bob@example.net")}
    [(sid, props)] = _rows(con, "SELECT session_id, properties FROM events "
                                "WHERE name = 'purchase' AND session_id = ?", [SHARED])
    props = orjson.loads(props)
    assert props["ga4_session"] == ids["s2"]  # the GA4 composite is kept
    assert (props["revenue"], props["currency"], props["transaction_id"]) == (59.9, "EUR",
                                                                             "T-1001")
    assert (props["user_pseudo_id"], props["user_id"]) == (ids["upid_a"], ids["user"])
    assert props["params"]["page_location"] == "https://shop.example.com/checkout/confirmation"
    assert (props["os"], props["browser"], props["user_properties"]) == (
        "Windows", "Chrome", {"customer_tier": "gold"})
    # purchase without ecommerce: the value param; '(not set)' transaction id is no id
    [(props,)] = _rows(con, "SELECT properties FROM events WHERE name = 'purchase' "
                            "AND session_id = ?", [ids["s3"]])
    props = orjson.loads(props)
    assert (props["revenue"], props["transaction_id"]) == (25.5, None)


def test_reingest_changes_nothing(con, ga4):
    ingest_files(con, "analytics", [FIXTURE], ga4)
    before = _snapshot(con)
    [again] = ingest_files(con, "analytics", [FIXTURE], ga4)
    assert (again.rows_read, again.rows_loaded, again.duplicates) == (15, 0, 15)
    assert _snapshot(con) == before
    assert _rows(con, "SELECT sum(revenue) FROM sessions") == [(pytest.approx(85.4),)]


def test_numbers_instead_of_strings_are_the_same_events(con, ga4, tmp_path):
    """INT64 as JSON numbers (other export tools) gives the same event identity."""
    def numeric(line: bytes) -> bytes:
        return orjson.dumps(int64s_as_numbers(orjson.loads(line))) + b"\n"

    ingest_files(con, "analytics", [FIXTURE], ga4)
    f = _write(tmp_path / "numeric.ndjson", [numeric(line) for line in LINES])
    [s] = ingest_files(con, "analytics", [f], ga4)
    assert (s.rows_read, s.rows_loaded, s.duplicates) == (15, 0, 15)


def test_session_split_across_files_merges(con, ga4, ids, tmp_path):
    # S1 and S3 each start in one file and end in the other; S3's purchase is in the second.
    first = _write(tmp_path / "a.ndjson", [LINES[i] for i in (0, 1, 9, 11)])
    second = _write(tmp_path / "b.ndjson", [LINES[i] for i in (2, 3, 4, 10, 12, 13)])
    ingest_files(con, "analytics", [first], ga4)
    assert _rows(con, "SELECT converted, revenue FROM sessions WHERE session_id = ?",
                 [ids["s3"]]) == [(False, 0.0)]
    ingest_files(con, "analytics", [second], ga4)
    ingest_files(con, "analytics", [second], ga4)  # loading a file twice changes nothing
    assert _rows(con, "SELECT session_id, started_at, ended_at, converted, revenue "
                      "FROM sessions ORDER BY started_at") == [
        (ids["s1"], _ts(1700000000100000), _ts(1700000061000000), False, 0.0),
        (ids["s3"], _ts(1700007200000000), _ts(1700007300000000), True, 25.5)]
    assert _rows(con, "SELECT seq, route FROM page_views WHERE session_id = ? ORDER BY seq",
                 [ids["s1"]]) == [(1, "/"), (2, "/product/{id}"), (3, "/cart")]


@pytest.mark.parametrize("order", ["composite first", "shared first"])
def test_shared_session_id_learned_across_files(con, ga4, ids, tmp_path, order):
    lacking = _write(tmp_path / "a.ndjson", [LINES[5]])  # S2's first view, no session_id param
    carrying = _write(tmp_path / "b.ndjson", LINES[6:9])
    files = [lacking, carrying] if order == "composite first" else [carrying, lacking]
    for f in files:
        ingest_files(con, "analytics", [f], ga4)
    assert _rows(con, "SELECT session_id, started_at, ended_at, converted, revenue "
                      "FROM sessions") == [
        (SHARED, _ts(1700003600200000), _ts(1700003656000000), True, 59.9)]
    assert _rows(con, "SELECT DISTINCT session_id FROM events") == [(SHARED,)]
    assert _rows(con, "SELECT seq, route FROM page_views ORDER BY seq") == [
        (1, "/product/{id}"), (2, "/checkout"), (3, "/checkout/confirmation")]


def test_trace_and_load_params(con, ga4, ids, tmp_path):
    rec = orjson.loads(LINES[9])  # S3's landing page view
    params = {p["key"]: p for p in rec["event_params"]}
    params["page_load_ms"]["key"] = "ttfb_ms"
    del params["trace_id"]
    tp = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
    rec["event_params"] = [*params.values(), {"key": "traceparent", "value": {"string_value": tp}}]
    lost = orjson.loads(LINES[11])  # a page view without ga_session_id: events only
    lost["event_params"] = [p for p in lost["event_params"] if p["key"] != "ga_session_id"]
    f = _write(tmp_path / "a.ndjson", [orjson.dumps(rec) + b"\n", orjson.dumps(lost) + b"\n"])
    opts = dataclasses.replace(ga4, options={**ga4.options, "load_param": "ttfb_ms"})
    [s] = ingest_files(con, "analytics", [f], opts)
    assert (s.rows_loaded, s.rejected) == (2, 0)
    assert _rows(con, "SELECT session_id, load_ms, trace_id FROM page_views") == [
        (ids["s3"], 1900.0, "4bf92f3577b34da6a3ce929d0e0e4736")]
    assert _rows(con, "SELECT session_id, route FROM events ORDER BY occurred_at") == [
        (ids["s3"], "/"), (None, "/search")]


def test_field_mapping_is_refused(con, ga4):
    with pytest.raises(ConfigError, match="--field does not apply to GA4"):
        ingest_files(con, "analytics", [FIXTURE], dataclasses.replace(ga4, fields={"a": "b"}))


def test_session_param_is_configurable(con, opts, ids):
    other = dataclasses.replace(opts, options={"session_param": "visit_ref"})
    ingest_files(con, "analytics", [FIXTURE], other)
    assert {r[0] for r in _rows(con, "SELECT session_id FROM sessions")} == {
        ids["s1"], ids["s2"], ids["s3"]}


def test_user_ids_never_stored_raw(con, ga4, tmp_path):
    bad = LINES[5].replace(b'"event_timestamp":"1700003600200000"', b'"event_timestamp":"x"')
    f = _write(tmp_path / "with_reject.ndjson", [*LINES, bad, b'{"user_id":"CUST-000417",\n'])
    [s] = ingest_files(con, "analytics", [f], dataclasses.replace(ga4, max_reject_rate=0.5))
    assert s.rejected == 2
    raw_values = [UPID_A, UPID_B, USER_A, "alice%40example.com", "alice@example.com",
                  "bob@example.net", "alice+smith"]
    tables = _rows(con, "SELECT table_name FROM duckdb_tables() WHERE NOT temporary")
    checked = 0
    for (table,) in tables:
        cols = [c for (c,) in _rows(con, "SELECT column_name FROM duckdb_columns() "
                                         "WHERE table_name = ?", [table])]
        for col in cols:
            for raw in raw_values:
                hits = _rows(con, f'SELECT count(*) FROM "{table}" '
                                  f'WHERE contains(CAST("{col}" AS VARCHAR), ?)', [raw])
                assert hits == [(0,)], f"{raw!r} stored raw in {table}.{col}"
                checked += 1
    assert checked > 100


def test_bad_lines_are_rejected_with_reason(con, ga4, tmp_path):
    lines = [*LINES, b'{"event_name":"page_view","event_params":[]}\n', b"{not json\n",
             b'{"event_name":"x","event_timestamp":"1700000000"}\n']
    f = _write(tmp_path / "bad.ndjson", lines)
    [s] = ingest_files(con, "analytics", [f], dataclasses.replace(ga4, max_reject_rate=0.2))
    assert (s.rows_read, s.rows_loaded, s.rejected) == (18, 15, 3)
    rejects = _rows(con, "SELECT location, reason FROM rejects ORDER BY location")
    assert rejects[0] == ("line 16", "missing event_timestamp")
    assert rejects[1][0] == "line 17" and rejects[1][1].startswith("invalid JSON")
    assert rejects[2] == ("line 18", "event_timestamp 1700000000 is not microseconds since 1970")


def test_garbage_is_a_format_error(con, ga4, tmp_path):
    f = _write(tmp_path / "garbage.ndjson", [b"hello world\n", b"more\n"])
    with pytest.raises(FormatError, match="not a recognised analytics file"):
        ingest_files(con, "analytics", [f], ga4)
    with pytest.raises(FormatError, match=r"garbage\.ndjson: line 1: not a GA4 export event"):
        ingest_files(con, "analytics", [f], ga4, format="ga4-ndjson")
    other = _write(tmp_path / "other.ndjson", [b'{"foo": 1}\n', *LINES])
    with pytest.raises(FormatError, match="line 1: not a GA4 export event"):
        ingest_files(con, "analytics", [other], ga4, format="ga4-ndjson")
    assert _rows(con, "SELECT count(*) FROM events UNION ALL SELECT count(*) FROM sessions") == [
        (0,), (0,)]
    assert _rows(con, "SELECT DISTINCT status FROM loads") == [("failed",)]


def test_sniffing():
    assert detect("analytics", FIXTURE.read_bytes()[:65536]).name == "ga4-ndjson"
    # a first event longer than the sniffed head is still recognised by its keys
    assert detect("analytics", LINES[7][:2000]).name == "ga4-ndjson"
    assert detect("analytics", b'{"foo": 1}\n') is None


def test_rejected_lines_are_scrubbed_like_stored_rows(con, ga4, tmp_path):
    p = ga4.pseudonymize
    rec = orjson.loads(LINES[5])  # carries user_id and user_pseudo_id
    rec["event_timestamp"] = "soon"
    rec["event_params"] = [*rec["event_params"][:2],
                           {"key": "page_location", "value": {
                               "string_value": "https://shop.example.com/p?email=carol%40x.org"}},
                           {"key": "email", "value": {"string_value": "carol@example.org"}}]
    broken = (b'{"user_id":"CUST-9","event_params":[{"key":"email","value":{"string_value":'
              b'"dave@example.org"}}],"page_location":"https://shop.example.com/?t=secret"\n')
    f = _write(tmp_path / "rejects.ndjson", [*LINES, orjson.dumps(rec) + b"\n", broken])
    [s] = ingest_files(con, "analytics", [f], dataclasses.replace(ga4, max_reject_rate=0.5))
    assert (s.rows_loaded, s.rejected) == (15, 2)
    raws = [r for (r,) in _rows(con, "SELECT raw FROM rejects ORDER BY location")]
    for planted in (USER_A, UPID_A, "carol", "CUST-9", "dave@example.org", "secret"):
        assert not any(planted in r for r in raws), planted
        assert _rows(con, "SELECT count(*) FROM rejects WHERE contains(location || reason, ?)",
                     [planted]) == [(0,)]
    first = orjson.loads(raws[0])
    assert (first["user_id"], first["user_pseudo_id"]) == (p(USER_A), p(UPID_A))
    assert first["event_params"][2:] == [
        {"key": "page_location", "value": {"string_value": "https://shop.example.com/p"}},
        {"key": "email", "value": {"string_value": p("carol@example.org")}}]
    assert first["geo"]["country"] == "Germany"  # everything else kept as written
    assert raws[1] == (f'{{"user_id":"{p("CUST-9")}","event_params":[{{"key":"email","value":'
                       f'{{"string_value":"{p("dave@example.org")}"}}}}],'
                       f'"page_location":"https://shop.example.com/"')


def test_identifying_user_properties_are_pseudonymised(con, ga4, tmp_path):
    rec = orjson.loads(LINES[0])
    rec["user_properties"] = [
        {"key": "email", "value": {"string_value": "ann@example.com", "set_timestamp_micros":
                                   "1700000000000000"}},
        {"key": "customer_tier", "value": {"string_value": "gold"}},
    ]
    f = _write(tmp_path / "up.ndjson", [orjson.dumps(rec) + b"\n"])
    ingest_files(con, "analytics", [f], ga4)
    [(props,)] = _rows(con, "SELECT properties FROM events")
    assert "ann@example.com" not in props
    up = orjson.loads(props)["user_properties"]
    assert up == {"email": ga4.pseudonymize("ann@example.com"), "customer_tier": "gold"}


def test_an_int_value_beyond_64_bits_is_a_reject(con, ga4, tmp_path):
    # BigQuery writes INT64 only; a longer number (20+ digits) is a bad line, not a crash.
    big = LINES[2].replace(b'"int_value":"', b'"int_value":"99999999999999999999', 1)
    assert big != LINES[2]
    f = _write(tmp_path / "big.ndjson", [*LINES[:2], big, *LINES[3:]])
    [s] = ingest_files(con, "analytics", [f], dataclasses.replace(ga4, max_reject_rate=0.2))
    assert (s.rows_read, s.rows_loaded, s.rejected) == (15, 14, 1)
    [(location, reason)] = _rows(con, "SELECT location, reason FROM rejects")
    assert location == "line 3" and "beyond the 64-bit integer range" in reason
