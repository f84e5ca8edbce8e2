"""Generic page-view CSV / NDJSON → page_views and sessions: column names, --field mapping,
click-path order, session merge, idempotent re-loads, rejects and pseudonymised users."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import ConfigError, FormatError

MAPPED = """\
Visit,When,Page,From,Load (ms),Trace,Member,device,country,Order value
v-1,2026-01-05T10:00:05Z,https://shop.example.com/product/9?ref=mail#top,https://shop.example.com/?utm_source=x,1200,ABCDEF0123456789ABCDEF0123456789,alice@example.com,desktop,DE,
v-1,2026-01-05T10:00:00Z,https://shop.example.com/?email=alice@example.com,,800,,alice@example.com,desktop,DE,
v-2,1767607200000,https://shop.example.com/,,,,,mobile,FR,
v-1,2026-01-05T11:02:00+01:00,https://shop.example.com/cart,,950.5,,alice@example.com,,,
v-1,2026-01-05 10:02:30,https://shop.example.com/checkout/done,,,,alice@example.com,desktop,DE,42.50
v-1,2026-01-05 10:02:30,https://shop.example.com/checkout/done,,,,alice@example.com,desktop,DE,42.50
"""
FIELDS = {"session_id": "Visit", "viewed_at": "When", "url": "Page", "referrer": "From",
          "load_ms": "Load (ms)", "trace_id": "Trace", "user_id": "Member",
          "revenue": "Order value"}


def _at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 1, 5, hh, mm, ss, tzinfo=UTC)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rows(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def _snapshot(con):
    return {t: _rows(con, f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY ALL")
            for t in ("page_views", "sessions")}


@pytest.fixture
def mapped(opts):
    return dataclasses.replace(opts, fields=FIELDS)


def test_csv_with_field_mapping(con, mapped, tmp_path):
    f = _write(tmp_path / "views.csv", MAPPED)
    [s] = ingest_files(con, "analytics", [f], mapped, format="pageviews-csv")
    assert (s.format, s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == (
        "pageviews-csv", 6, 6, 0, 0)
    views = _rows(con, "SELECT seq, viewed_at, url, route, referrer, load_ms, trace_id, source "
                       "FROM page_views WHERE session_id = 'v-1' ORDER BY seq")
    done = "https://shop.example.com/checkout/done"
    assert views == [
        (1, _at(10, 0), "https://shop.example.com/", "/", None, 800.0, None, "pageviews-csv"),
        (2, _at(10, 0, 5), "https://shop.example.com/product/9", "/product/{id}",
         "https://shop.example.com/", 1200.0, "abcdef0123456789abcdef0123456789",
         "pageviews-csv"),
        (3, _at(10, 2), "https://shop.example.com/cart", "/cart", None, 950.5, None,
         "pageviews-csv"),
        # two identical rows are two views (a reload of the page), not one
        (4, _at(10, 2, 30), done, "/checkout/done", None, None, None, "pageviews-csv"),
        (5, _at(10, 2, 30), done, "/checkout/done", None, None, None, "pageviews-csv"),
    ]
    assert _rows(con, "SELECT seq, viewed_at FROM page_views WHERE session_id = 'v-2'") == [
        (1, _at(10, 0))]
    alice = mapped.pseudonymize("alice@example.com")
    assert _rows(con, "SELECT session_id, user_id, started_at, ended_at, device, country, "
                      "converted, revenue, source FROM sessions ORDER BY session_id") == [
        ("v-1", alice, _at(10, 0), _at(10, 2, 30), "desktop", "DE", True, 42.5,
         "pageviews-csv"),
        ("v-2", None, _at(10, 0), _at(10, 0), "mobile", "FR", False, 0.0, "pageviews-csv"),
    ]

    before = _snapshot(con)
    [again] = ingest_files(con, "analytics", [f], mapped, format="pageviews-csv")
    assert (again.rows_loaded, again.duplicates) == (0, 6)
    assert _snapshot(con) == before


def test_csv_common_names_detected(con, opts, tmp_path):
    text = ("\ufeffsessionId;timestamp;page_url;converted;Revenue\n"
            "s9;2026-01-05T10:00:00Z;/Product/77;no;\n"
            "s9;2026-01-05T10:05:00Z;/thanks;yes;\n")
    f = _write(tmp_path / "export.csv", text)
    assert detect("analytics", f.read_bytes()).name == "pageviews-csv"
    [s] = ingest_files(con, "analytics", [f], opts)
    assert (s.format, s.rows_loaded) == ("pageviews-csv", 2)
    assert _rows(con, "SELECT seq, url, route FROM page_views ORDER BY seq") == [
        (1, "/Product/77", "/product/{id}"), (2, "/thanks", "/thanks")]
    assert _rows(con, "SELECT converted, revenue FROM sessions") == [(True, 0.0)]


def test_ndjson_detected(con, opts, tmp_path):
    text = ('{"sid": "n-1", "time": 1767607200, "page": "/a?x=1", "load_time": 300.5, '
            '"user_id": 17}\n'
            '{"sid": "n-1", "time": "1767607260500", "page": "/b", "trace_id": null}\n')
    f = _write(tmp_path / "views.ndjson", text)
    [s] = ingest_files(con, "analytics", [f], opts)
    assert (s.format, s.rows_loaded) == ("pageviews-ndjson", 2)
    assert _rows(con, "SELECT seq, viewed_at, url, load_ms FROM page_views ORDER BY seq") == [
        (1, _at(10, 0), "/a", 300.5),
        (2, datetime(2026, 1, 5, 10, 1, 0, 500000, tzinfo=UTC), "/b", None)]
    assert _rows(con, "SELECT user_id FROM sessions") == [(opts.pseudonymize("17"),)]


def test_session_split_across_files(con, mapped, tmp_path):
    lines = MAPPED.splitlines(keepends=True)
    a = _write(tmp_path / "a.csv", "".join([lines[0], lines[2], lines[4]]))
    b = _write(tmp_path / "b.csv", "".join([lines[0], lines[1], lines[5]]))
    for f in (a, b, b):
        ingest_files(con, "analytics", [f], mapped, format="pageviews-csv")
    assert _rows(con, "SELECT started_at, ended_at, converted, revenue FROM sessions "
                      "WHERE session_id = 'v-1'") == [(_at(10, 0), _at(10, 2, 30), True, 42.5)]
    assert _rows(con, "SELECT seq, route FROM page_views WHERE session_id = 'v-1' "
                      "ORDER BY seq") == [(1, "/"), (2, "/product/{id}"), (3, "/cart"),
                                          (4, "/checkout/done")]


def test_bad_rows_are_rejected_with_reason(con, mapped, tmp_path):
    bad = ("v-3,yesterday,/x,,,,bob@example.net,,,\n"
           "v-3,2026-01-05T10:00:00Z,,,,,bob@example.net,,,\n"
           "v-3,2026-01-05T10:00:00Z,/y,,fast,,bob@example.net,,,\n"
           "v-3,2026-01-05T10:00:00Z,/z\n")
    f = _write(tmp_path / "bad.csv", MAPPED + bad)
    [s] = ingest_files(con, "analytics", [f], dataclasses.replace(mapped, max_reject_rate=0.5),
                       format="pageviews-csv")
    assert (s.rows_read, s.rows_loaded, s.rejected) == (10, 6, 4)
    rejects = _rows(con, "SELECT location, reason, raw FROM rejects "
                         "ORDER BY length(location), location")
    assert [(loc, reason) for loc, reason, _ in rejects] == [
        ("line 8", "unrecognised timestamp 'yesterday'"),
        ("line 9", "missing url"),
        ("line 10", "load_ms is not a number: 'fast'"),
        ("line 11", "3 fields, the header has 10"),
    ]
    bob = mapped.pseudonymize("bob@example.net")
    assert rejects[0][2] == f"v-3,yesterday,/x,,,,{bob},,,"


def test_user_ids_never_stored_raw(con, mapped, tmp_path):
    f = _write(tmp_path / "views.csv", MAPPED + "v-3,nonsense,/x,,,,bob@example.net,,,\n")
    ingest_files(con, "analytics", [f], dataclasses.replace(mapped, max_reject_rate=0.5),
                 format="pageviews-csv")
    for (table,) in _rows(con, "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"):
        for (col,) in _rows(con, "SELECT column_name FROM duckdb_columns() "
                                 "WHERE table_name = ?", [table]):
            for raw in ("alice@example.com", "bob@example.net"):
                assert _rows(con, f'SELECT count(*) FROM "{table}" '
                                  f'WHERE contains(CAST("{col}" AS VARCHAR), ?)', [raw]) == [
                    (0,)], f"{raw!r} stored raw in {table}.{col}"


def test_unusable_files(con, opts, mapped, tmp_path):
    f = _write(tmp_path / "nosess.csv", "session_id,page\ns1,/a\n")
    with pytest.raises(FormatError, match=r"nosess\.csv: line 1: .*no viewed_at column"):
        ingest_files(con, "analytics", [f], opts, format="pageviews-csv")
    with pytest.raises(FormatError, match=r"column 'Visit' \(--field session_id=Visit\)"):
        ingest_files(con, "analytics", [f], mapped, format="pageviews-csv")
    with pytest.raises(ConfigError, match="unknown field 'colour'"):
        ingest_files(con, "analytics", [f], dataclasses.replace(opts, fields={"colour": "x"}),
                     format="pageviews-csv")
    g = _write(tmp_path / "garbage.ndjson", "hello\n")
    with pytest.raises(FormatError, match="line 1: not a page-view record"):
        ingest_files(con, "analytics", [g], opts, format="pageviews-ndjson")
    assert _rows(con, "SELECT count(*) FROM page_views") == [(0,)]


def test_rejected_rows_are_scrubbed_like_stored_rows(con, opts, tmp_path):
    p = opts.pseudonymize
    f = _write(tmp_path / "views.csv",
               "session_id,timestamp,url,referrer,user_id,email,ip\n"
               "s1,2026-01-05T10:00:00Z,https://shop.example.com/a,,zoe-42,,\n"
               "s1,never,https://shop.example.com/b?token=abc#t,https://m.example/?u=zoe,zoe-42,"
               "zoe@example.org,203.0.113.9\n"
               "s1,2026-01-05T10:00:00Z,https://shop.example.com/c?token=abc,zoe@example.org\n")
    g = _write(tmp_path / "views.ndjson",
               '{"session_id":"s1","timestamp":"2026-01-05T10:00:00Z","url":"/a","uid":"zoe-42"}\n'
               '{"session_id":"s1","timestamp":"never","url":"https://shop.example.com/b?token=abc",'
               '"uid":"zoe-42","email":"zoe@example.org"}\n'
               '{"session_id":"s1","uid":"zoe-42","email":"zoe@example.org"\n')
    loose = dataclasses.replace(opts, max_reject_rate=1.0)
    ingest_files(con, "analytics", [f], loose, format="pageviews-csv")
    ingest_files(con, "analytics", [g], loose, format="pageviews-ndjson")
    raws = [r for (r,) in _rows(con, "SELECT raw FROM rejects ORDER BY file, location")]
    for planted in ("zoe-42", "zoe@example.org", "203.0.113.9", "token", "u=zoe"):
        assert not any(planted in r for r in raws), planted
    assert raws[:2] == [
        f"s1,never,https://shop.example.com/b,https://m.example/,{p('zoe-42')},"
        f"{p('zoe@example.org')},{p('203.0.113.9')}",
        # cells that do not line up with the header: e-mail addresses and URLs by their look
        f"s1,2026-01-05T10:00:00Z,https://shop.example.com/c,{p('zoe@example.org')}",
    ]
    assert [json.loads(r) if r.endswith("}") else r for r in raws[2:]] == [
        {"session_id": "s1", "timestamp": "never", "url": "https://shop.example.com/b",
         "uid": p("zoe-42"), "email": p("zoe@example.org")},
        f'{{"session_id":"s1","uid":"{p("zoe-42")}","email":"{p("zoe@example.org")}"',
    ]
