"""Generic survey answers as CSV and NDJSON: columns found by common names or ``--field``,
metric from the option, a column or the score column's name, derived ids that make reloads
idempotent, and clear errors when no score can be found."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import FormatError
from tests.connectors.files.feedback_rows import damaged_is_one_line_or_loads, rows
from tests.connectors.files.feedback_rows import load as _load


def _rows(con):
    return rows(con, "submitted_at, feedback_id")


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _generic_csv(con, opts, path, text, rate=None):
    """Writes ``text``, checks it is taken for a generic feedback CSV, loads it."""
    assert detect("feedback", _write(path, text).read_bytes()).name == "feedback-csv"
    return _load(con, opts, path, rate=rate)


def test_csv_by_common_names(con, opts, tmp_path):
    s = _generic_csv(con, opts, tmp_path / "answers.csv",
                     "Response ID;Submitted At;NPS;Comment;sessionId;user_id;Page URL;Channel\n"
                     "a1;2026-02-03T10:00:00+01:00;6;Kasse langsam;s1;u1;"
                     "https://x.example/cart?t=9;Web\n"
                     "a2;2026-02-03 10:30:00;9;;s2;u2;/product/42;app\n")
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("feedback-csv", 2, 2, 0)
    a1, a2 = _rows(con)
    assert a1 == {
        "feedback_id": "a1", "source": "feedback",
        "submitted_at": datetime(2026, 2, 3, 9, 0, tzinfo=UTC), "channel": "web",
        "metric": "nps", "score": 6.0, "scale_min": 0.0, "scale_max": 10.0, "is_poor": True,
        "verbatim": "Kasse langsam", "session_id": "s1", "user_id": opts.pseudonymize("u1"),
        "page_url": "https://x.example/cart", "route": "/cart", "device": None,
        "country": None, "segment": None, "attributes": None,
    }
    # No offset: UTC.
    assert (a2["submitted_at"], a2["is_poor"], a2["route"]) == \
        (datetime(2026, 2, 3, 10, 30, tzinfo=UTC), False, "/product/{id}")


def test_csv_with_field_mapping_and_metric(con, opts, tmp_path):
    f = _write(tmp_path / "export.csv",
               "resp,when,q3,why,visitor,path,plan\n"
               "r1,1767225600,2,hard to find,v-1,/help,pro\n"
               "r2,1767225600000,5,,v-2,/help,free\n")
    fields = {"feedback_id": "resp", "submitted_at": "when", "score": "q3", "verbatim": "why",
              "user_id": "visitor", "page_url": "path", "segment": "plan"}
    # No column has a name the sniffer knows: detection needs --format here.
    with pytest.raises(FormatError, match=r"not a recognised feedback file"):
        _load(con, opts, f, fields=fields)
    with pytest.raises(FormatError, match=r"export.csv: row 1: no score column .*"
                                          r"use --field score=COLUMN --metric csat"):
        _load(con, opts, f, format="feedback-csv")
    _load(con, opts, f, fields=fields, options={"metric": "csat"}, format="feedback-csv")
    r1, r2 = _rows(con)
    # Epoch seconds and milliseconds: the same instant.
    assert r1["submitted_at"] == r2["submitted_at"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert (r1["metric"], r1["score"], r1["is_poor"], r1["verbatim"], r1["segment"]) == \
        ("csat", 2.0, True, "hard to find", "pro")
    assert r1["user_id"] == opts.pseudonymize("v-1") and r1["user_id"] != "v-1"
    assert (r2["is_poor"], r2["verbatim"], r2["route"]) == (False, None, "/help")


def test_csv_without_ids_reloads_idempotently(con, opts, tmp_path):
    f = _write(tmp_path / "noid.csv",
               "timestamp,rating,comment\n"
               "2026-01-01T00:00:00Z,4,ok\n"
               "2026-01-01T00:00:00Z,4,ok\n"
               "2026-01-02T00:00:00Z,1,bad\n")
    first = _load(con, opts, f)
    again = _load(con, opts, f)
    assert (first.rows_loaded, again.rows_loaded, again.duplicates) == (3, 0, 3)
    ids = [r["feedback_id"] for r in _rows(con)]
    assert len(set(ids)) == 3 and all(i.startswith("sha256:") for i in ids)
    # The twin row keeps its own id; the rating scale is read from the data (1–5).
    assert sorted(ids)[1].endswith("#2") or sorted(ids)[2].endswith("#2")
    assert {(r["scale_min"], r["scale_max"]) for r in _rows(con)} == {(1.0, 5.0)}


def test_csv_bad_rows_become_rejects(con, opts, tmp_path):
    f = _write(tmp_path / "bad.csv",
               "id,date,csat\n"
               "1,2026-01-01,5\n"
               "2,2026-01-01,7\n"
               "3,yesterday,3\n"
               "4,2026-01-01\n"
               "5,2026-01-01,\n")
    s = _load(con, opts, f, rate=1.0)
    assert (s.rows_read, s.rows_loaded, s.rejected) == (5, 2, 3)
    assert con.execute("SELECT location, reason FROM rejects ORDER BY location").fetchall() == [
        ("row 3", "score 7 is outside the csat scale 1–5 (column csat)"),
        ("row 4", "submitted_at 'yesterday' is not a date/time (column date)"),
        ("row 5", "2 cells, the header has 3"),
    ]
    skipped = [r for r in _rows(con) if r["feedback_id"] == "5"][0]
    assert (skipped["metric"], skipped["score"], skipped["is_poor"]) == ("csat", None, None)


def test_ndjson_nested_keys_and_metric_column(con, opts, tmp_path):
    lines = [
        {"feedback_id": "n1", "created_at": "2026-05-01T12:00:00.5+02:00", "score": 2,
         "metric": "CES", "text": "too many steps",
         "context": {"session": {"id": "S-1"}, "user": {"id": 42}, "page": {"url": "/a/b"}},
         "device": "desktop", "tags": ["x"]},
        {"feedback_id": "n2", "created_at": 1777636800123, "score": "4", "metric": "rating",
         "context": {"session": {"id": "S-2"}}},
        {"feedback_id": "n3", "created_at": "2026-05-01T10:00:00Z", "score": 8},
    ]
    f = _write(tmp_path / "answers.ndjson", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert detect("feedback", f.read_bytes()).name == "feedback-ndjson"
    s = _load(con, opts, f)
    assert (s.format, s.rows_loaded, s.rejected) == ("feedback-ndjson", 3, 0)
    rows = {r["feedback_id"]: r for r in _rows(con)}
    n1 = rows["n1"]
    assert n1["submitted_at"] == datetime(2026, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert (n1["metric"], n1["scale_max"], n1["is_poor"], n1["verbatim"]) == \
        ("ces", 7.0, True, "too many steps")
    assert (n1["session_id"], n1["user_id"], n1["route"], n1["device"]) == \
        ("S-1", opts.pseudonymize("42"), "/a/b", "desktop")
    assert json.loads(n1["attributes"]) == {"tags": ["x"]}
    assert rows["n2"]["submitted_at"] == datetime(2026, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    # Ratings 4 and 8 (no metric: rating) → a 1–10 scale read from the data, poor ≤ 4.
    assert (rows["n2"]["scale_max"], rows["n2"]["is_poor"]) == (10.0, True)
    assert (rows["n3"]["metric"], rows["n3"]["is_poor"]) == ("rating", False)


def test_ndjson_bad_lines_and_missing_score(con, opts, tmp_path):
    f = _write(tmp_path / "a.ndjson",
               '{"id": "1", "nps": 7}\n{broken\n[1, 2]\n{"id": "2", "nps": "x"}\n')
    s = _load(con, opts, f, rate=1.0)
    assert (s.rows_loaded, s.rejected) == (1, 3)
    reasons = [r for (r,) in con.execute("SELECT reason FROM rejects ORDER BY location")
               .fetchall()]
    assert reasons[0].startswith("invalid JSON") and reasons[1] == "not a JSON object: list"
    assert reasons[2] == "score 'x' is not a number (column nps)"

    nos = _write(tmp_path / "noscore.ndjson", '{"id": "1", "stars_given": 5}\n')
    with pytest.raises(FormatError, match=r"no record has a score field.*--field score="):
        _load(con, opts, nos, options={"metric": "rating"}, format="feedback-ndjson")
    broken = _write(tmp_path / "x.ndjson", "{nope\n")
    with pytest.raises(FormatError, match=r"x.ndjson: line 1: not NDJSON"):
        ingest_files(con, "feedback", [broken], opts, format="feedback-ndjson")


def test_source_option_separates_surveys(con, opts, tmp_path):
    f = _write(tmp_path / "s.csv", "id,csat\n1,5\n2,1\n")
    _load(con, opts, f, options={"source": "checkout-survey"})
    other = _load(con, opts, f, options={"source": "help-survey"})
    assert other.rows_loaded == 2
    assert con.execute("SELECT DISTINCT source FROM feedback ORDER BY 1").fetchall() == \
        [("feedback:checkout-survey",), ("feedback:help-survey",)]


def test_sniffers_leave_other_files_alone(tmp_path):
    assert detect("feedback", b"session_id,page,load_ms\ns1,/a,12\n") is None
    assert detect("feedback", b'{"resourceSpans": []}\n') is None
    assert detect("feedback", b"\xef\xbb\xbfid,score\n1,5\n").name == "feedback-csv"


GOOD = {
    "g.csv": b"id,submitted_at,nps,comment,user_id,page\n1,2026-01-01T00:00:00Z,3,slow,u1,/a\n"
             b"2,1767225600,10,,u2,/b?x=1\n",
    "g.ndjson": b'{"id":"1","ts":"2026-01-01T00:00:00Z","nps":3,"ctx":{"user_id":"u"}}\n'
                b'{"id":"2","ts":1767225600,"nps":null,"comment":"ok"}\n',
}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(GOOD)), at=st.integers(0, 500),
       junk=st.binary(min_size=1, max_size=8))
def test_damaged_files_never_escape_as_a_traceback(tmp_path_factory, opts, empty_db, name, at,
                                                   junk):
    fmt = "feedback-csv" if name.endswith(".csv") else "feedback-ndjson"
    damaged_is_one_line_or_loads(opts, GOOD[name], at, junk,
                                 tmp_path_factory.mktemp("g") / name, empty_db, format=fmt)


def test_rejected_answers_are_scrubbed_like_stored_rows(con, opts, tmp_path):
    p = opts.pseudonymize
    f = _write(tmp_path / "answers.csv",
               "id,date,nps,user_id,email,page_url,ip\n"
               "a1,2026-01-01,9,u-77,yan@example.org,/cart,198.51.100.7\n"
               "a2,2026-01-01,11,u-77,yan@example.org,https://x.example/cart?e=yan%40example.org,"
               "198.51.100.7\n"
               "a3,2026-01-01,yan@example.org\n")
    g = _write(tmp_path / "answers.ndjson",
               '{"id":"n1","date":"2026-01-01","nps":9,"context":{"user":{"id":"u-77"}}}\n'
               '{"id":"n2","date":"2026-01-01","nps":"eleven","context":{"user":{"id":"u-77"},'
               '"email":"yan@example.org","page":{"url":"/cart?t=secret#top"}}}\n'
               '{"id":"n3","user_id":"u-77","email":"yan@example.org"\n')
    _load(con, opts, f, rate=1.0)
    _load(con, opts, g, rate=1.0)
    raws = [r for (r,) in con.execute("SELECT raw FROM rejects ORDER BY file, location")
            .fetchall()]
    for planted in ("u-77", "yan@", "yan%40", "198.51.100.7", "secret"):
        assert not any(planted in r for r in raws), planted
    assert raws[:2] == [
        f"a2,2026-01-01,11,{p('u-77')},{p('yan@example.org')},https://x.example/cart,"
        f"{p('198.51.100.7')}",
        f"a3,2026-01-01,{p('yan@example.org')}",  # misaligned: scrubbed by the look of it
    ]
    assert json.loads(raws[2]) == {
        "id": "n2", "date": "2026-01-01", "nps": "eleven",
        "context": {"user": {"id": p("u-77")}, "email": p("yan@example.org"),
                    "page": {"url": "/cart"}}}
    assert raws[3] == f'{{"id":"n3","user_id":"{p("u-77")}","email":"{p("yan@example.org")}"'


def test_emails_in_verbatims_are_pseudonymised(con, opts, tmp_path):
    f = _write(tmp_path / "answers.ndjson",
               '{"id": "v1", "nps": 3, "comment": "mail me at Ann@Example.com please"}\n')
    _load(con, opts, f)
    [row] = _rows(con)
    assert row["verbatim"] == f"mail me at [email:{opts.pseudonymize('Ann@Example.com')}] please"


def test_cards_ibans_phones_and_addresses_in_verbatims_never_reach_storage(con, opts, tmp_path):
    said = ("card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, call +49 170 1234567,"
            " from 203.0.113.85, write ann dot lee at gmail dot com")
    f = _write(tmp_path / "answers.ndjson", json.dumps({"id": "v2", "nps": 2, "comment": said})
               + "\n")
    _load(con, opts, f)
    [row] = _rows(con)
    assert row["verbatim"] == opts.pseudonymize.redact_text(said)
    for gone in ("4111", "3704", "1234567", "203.0.113.85", "gmail"):
        assert gone not in row["verbatim"]
    assert "[card]" in row["verbatim"] and "[iban]" in row["verbatim"]


def test_started_at_is_read_and_a_bad_one_is_a_reject(con, opts, tmp_path):
    f = _write(tmp_path / "shown.csv",
               "id,started_at,submitted_at,nps\n"
               "s1,2026-02-03T10:00:00Z,2026-02-03T10:01:30Z,4\n"
               "s2,,2026-02-03T10:05:00Z,9\n"
               "s3,2026-02-03T10:09:00Z,2026-02-03T10:08:00Z,9\n"  # after submission: ignored
               "s4,yesterday,2026-02-03T10:09:00Z,9\n")
    s = _load(con, opts, f, rate=1.0)
    assert (s.rows_loaded, s.rejected) == (3, 1)
    got = dict(con.execute("SELECT feedback_id, started_at FROM feedback").fetchall())
    assert got == {"s1": datetime(2026, 2, 3, 10, 0, tzinfo=UTC), "s2": None, "s3": None}
    [(reason,)] = con.execute("SELECT reason FROM rejects").fetchall()
    assert reason.startswith("started_at ") and "(column started_at)" in reason


def test_a_response_id_column_is_no_qualtrics_export(con, opts, tmp_path):
    # Column names a Qualtrics export also has; no ImportId row, no V1… ids: a generic CSV.
    s = _generic_csv(
        con, opts, tmp_path / "answers.csv",
        "response_id,StartDate,EndDate,Status,submitted_at,score,metric,route\n"
        "a1,2026-02-01 09:59,2026-02-01 10:00,done,2026-02-01T10:00:00+01:00,3,nps,/cart\n"
        "a2,2026-02-01 10:59,2026-02-01 11:00,done,2026-02-01 11:00:00,9,nps,/\n"
        "a3,2026-02-01 11:59,2026-02-01 12:00,done,31/02/2026 12:00,8,nps,/\n", rate=1.0)
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("feedback-csv", 3, 2, 1)
    assert [(r["feedback_id"], r["submitted_at"], r["score"]) for r in _rows(con)] == [
        ("a1", datetime(2026, 2, 1, 9, 0, tzinfo=UTC), 3.0),
        ("a2", datetime(2026, 2, 1, 11, 0, tzinfo=UTC), 9.0)]
    [(location, reason)] = con.execute("SELECT location, reason FROM rejects").fetchall()
    assert location == "row 4" and reason.startswith("submitted_at '31/02/2026 12:00'")
