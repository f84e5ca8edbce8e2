"""Generic survey-offer CSV / NDJSON → survey_offers: detection apart from page views, common
column names, pseudonymised users, stripped URLs, rejects with reasons, idempotent re-loads."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import ConfigError, FormatError

OFFERS_CSV = """\
Shown At,Session ID,Customer ID,Survey ID,Page URL
2026-01-05T10:00:05Z,v-1,alice@example.com,nps-2026,https://shop.example.com/product/9?email=alice@example.com
1767607200000,v-2,,nps-2026,https://shop.example.com/cart
yesterday,v-3,,nps-2026,https://shop.example.com/
2026-01-05T10:03:00Z,,,nps-2026,https://shop.example.com/
"""


def test_offers_csv_is_detected_and_loaded(con, opts, tmp_path):
    path = tmp_path / "offers.csv"
    path.write_text(OFFERS_CSV)
    assert detect("analytics", path.read_bytes()[:4096]).name == "offers-csv"
    loose = dataclasses.replace(opts, max_reject_rate=0.5)
    [summary] = ingest_files(con, "analytics", [path], loose)
    assert (summary.rows_loaded, summary.rejected) == (2, 2)
    rows = con.execute("SELECT session_id, survey, url, route, user_id, "
                       "strftime(offered_at, '%H:%M:%S') FROM survey_offers ORDER BY session_id"
                       ).fetchall()
    assert [r[:4] for r in rows] == [
        ("v-1", "nps-2026", "https://shop.example.com/product/9", "/product/{id}"),
        ("v-2", "nps-2026", "https://shop.example.com/cart", "/cart")]
    assert rows[0][4] and "alice" not in rows[0][4] and rows[1][4] is None
    assert rows[0][5] == "10:00:05"
    reasons = [r for (r,) in con.execute("SELECT reason FROM rejects ORDER BY location").fetchall()]
    assert reasons == ["unrecognised timestamp 'yesterday'",
                       "no session id and no user id: the offer meets no page load"]
    assert "alice" not in str(con.execute("SELECT raw FROM rejects").fetchall())
    ingest_files(con, "analytics", [path], loose)  # the same file again changes nothing
    assert con.execute("SELECT count(*) FROM survey_offers").fetchone() == (2,)


def test_offers_ndjson_and_a_page_view_file_stay_apart(con, opts, tmp_path):
    path = tmp_path / "offers.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"offered_at": "2026-01-05T10:00:05Z", "session_id": "v-9", "survey_id": "csat",
         "impression_id": "imp-1"},
        {"offered_at": 1767607200, "user_id": "bob@example.com", "survey_id": "csat"}]) + "\n")
    assert detect("analytics", path.read_bytes()[:4096]).name == "offers-ndjson"
    views = b'{"session_id": "v-9", "timestamp": "2026-01-05T10:00:00Z", "url": "/a"}\n'
    assert detect("analytics", views).name == "pageviews-ndjson"
    [summary] = ingest_files(con, "analytics", [path], opts)
    assert summary.rows_loaded == 2
    assert con.execute("SELECT offer_key, survey FROM survey_offers WHERE session_id = 'v-9'"
                       ).fetchall() == [("imp-1", "csat")]


def test_a_file_without_an_offer_time_is_refused_in_one_line(con, opts, tmp_path):
    path = tmp_path / "offers.csv"
    path.write_text("Shown At,Page\n2026-01-05T10:00:05Z,/a\n")
    with pytest.raises(FormatError, match="needs an offered_at column"):
        ingest_files(con, "analytics", [path], opts, format="offers-csv")
    assert con.execute("SELECT count(*) FROM survey_offers").fetchone() == (0,)


@pytest.mark.parametrize("fmt", ["offers-csv", "pageviews-csv", "web-vitals-csv"])
def test_an_unknown_field_is_refused_alike_by_every_generic_row_format(con, opts, tmp_path, fmt):
    """The generic row formats share one column lookup: a misspelt --field is named, with its
    column, the same way whichever format reads the file."""
    path = tmp_path / "rows.csv"
    path.write_text("offered_at,session_id,timestamp,url,metric,value\n1,s,1,/a,LCP,1\n")
    with pytest.raises(ConfigError, match=r"--field colour=red: unknown field 'colour'; "
                                          r"expected one of .*session_id"):
        ingest_files(con, "analytics", [path], dataclasses.replace(opts, fields={"colour": "red"}),
                     format=fmt)


def test_an_offer_file_cannot_go_straight_into_the_lake_and_the_refusal_says_how(tmp_path):
    """`ingest analytics … --to-parquet` maps GA4 NDJSON only (its survey_impression events
    are offers already): an offer file is refused in one line that names the way in (a
    database, then export --parquet, which writes survey_offers)."""
    from parallax.lake_analytics import check_analytics_files

    path = tmp_path / "offers.csv"
    path.write_text(OFFERS_CSV)
    with pytest.raises(ConfigError) as err:
        check_analytics_files([path])
    message = str(err.value)
    assert "\n" not in message and "offers-csv" in message
    assert "`parallax export --parquet`" in message
