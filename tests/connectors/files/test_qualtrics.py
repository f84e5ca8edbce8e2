"""Qualtrics response exports: the real sample export field by field, and synthetic exports in
the three header layouts with the cases a real survey produces (previews, tests, skipped
questions, bad scores, embedded data, time zones)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.connectors.files import detect
from parallax.errors import FormatError, RejectRateError
from tests.connectors.files.feedback_rows import damaged_is_one_line_or_loads
from tests.connectors.files.feedback_rows import load as _load
from tests.connectors.files.feedback_rows import rows as _rows

SAMPLE = "qualtrics_export_sample.csv"
def _csv(*rows):
    return "".join(",".join(r) + "\n" for r in rows)


def _import_row(ids, zone=None, text_entry=("Q2",)):
    cells = []
    for i in ids:
        meta = {"ImportId": i if not i.startswith("Q") else "QID" + i[1:]}
        if i in text_entry:  # how Qualtrics marks a text-entry question
            meta["ImportId"] += "_TEXT"
        if zone and i in ("StartDate", "EndDate", "RecordedDate"):
            meta["timeZone"] = zone
        cells.append('"' + json.dumps(meta, separators=(",", ":")).replace('"', '""') + '"')
    return cells


# --- the real export -------------------------------------------------------------------------

def test_sample_is_detected_and_has_no_nps_question(con, opts, vendor):
    path = vendor / SAMPLE
    assert detect("feedback", path.read_bytes()).name == "qualtrics-csv"
    with pytest.raises(FormatError, match=r"no NPS question found.*--field score=COLUMN "
                                          r"--metric csat"):
        _load(con, opts, path)
    status, error = con.execute("SELECT status, error FROM loads").fetchone()
    assert status == "failed" and SAMPLE in error
    assert con.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_sample_field_by_field(con, opts, vendor):
    s = _load(con, opts, vendor / SAMPLE, fields={"score": "Q1"})
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("qualtrics-csv", 1, 1, 0)
    [row] = _rows(con)
    attrs = json.loads(row.pop("attributes"))
    assert row == {
        "feedback_id": "R_2YPOQ602ER1jkf1",
        "source": "qualtrics",
        # RecordedDate 2017-07-18 08:28:48; the ImportId row names no timeZone → UTC.
        "submitted_at": datetime(2017, 7, 18, 8, 28, 48, tzinfo=UTC),
        "channel": "web",  # DistributionChannel "anonymous"
        # Q1 is a multiple-choice answer "2": no metric announced → rating, scale from data.
        "metric": "rating", "score": 2.0, "scale_min": 1.0, "scale_max": 5.0, "is_poor": True,
        "verbatim": "Hello World!",  # Q2, ImportId QID2_TEXT: the text-entry question
        "session_id": None, "user_id": None, "page_url": None, "route": None,
        "device": None, "country": None, "segment": None,
    }
    assert attrs == {
        "IPAddress": opts.pseudonymize("130.92.34.66"), "Progress": "100",
        "Duration (in seconds)": "38", "Finished": "1", "UserLanguage": "DE",
    }
    assert "130.92.34.66" not in json.dumps(attrs)


def test_sample_with_metric_time_zone_and_import_id(con, opts, vendor):
    _load(con, opts, vendor / SAMPLE, fields={"score": "QID1"},
          options={"metric": "csat", "timezone": "Europe/Zurich"})
    [row] = _rows(con)
    # 08:28:48 in Zurich summer time (UTC+2) is 06:28:48 UTC.
    assert row["submitted_at"] == datetime(2017, 7, 18, 6, 28, 48, tzinfo=UTC)
    assert (row["metric"], row["score"], row["scale_min"], row["scale_max"], row["is_poor"]) \
        == ("csat", 2.0, 1.0, 5.0, True)


def test_sample_reload_stores_nothing_twice(con, opts, vendor):
    _load(con, opts, vendor / SAMPLE, fields={"score": "Q1"})
    again = _load(con, opts, vendor / SAMPLE, fields={"score": "Q1"})
    assert (again.rows_read, again.rows_loaded, again.duplicates) == (1, 0, 1)


# --- synthetic current export ----------------------------------------------------------------

IDS = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
       "Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName",
       "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude",
       "DistributionChannel", "UserLanguage", "Q1", "Q1_NPS_GROUP", "Q2", "Q3",
       "session_id", "userId", "PageURL", "device", "Country", "segment"]
LABELS = ["Anfangsdatum", "Enddatum", "Antworttyp", "IP-Adresse", "Aktueller Stand",
          "Dauer (in Sekunden)", "Beendet", "Erfassungsdatum", "Antwort-ID", "Nachname",
          "Vorname", "E-Mail", "Externe Datenreferenz", "Breitengrad", "Längengrad",
          "Verteilungskanal", "Benutzersprache", "Wie wahrscheinlich ist es …?",
          "Wie wahrscheinlich ist es …? - Gruppe", "Warum?", "Alter", "session_id", "userId",
          "PageURL", "device", "Country", "segment"]


def _response(rid, *, status="0", channel="anonymous", q1="9", recorded="2026-07-01 09:15:00",
              verbatim="schnell", user="u-1", session="s-1"):
    group = {"": ""}.get(q1, "3")
    return ["2026-07-01 09:10:00", recorded, status, "10.1.2.3", "100", "300", "1", recorded,
            rid, "Muster", "Max", "max@example.com", "crm-77", "47.1", "7.2", channel, "DE",
            q1, group, f'"{verbatim}"', "4", session, user,
            "https://shop.example/product/8812?utm=x", "mobile", "CH", "gold"]


def _export(tmp_path, rows, name="export.csv", zone="America/Denver", bom=False):
    text = _csv(IDS, LABELS, _import_row(IDS, zone), *rows)
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_current_export_all_cases(con, opts, tmp_path):
    rows = [
        _response("R_a", q1="3", verbatim="zu langsam, Kasse hängt"),
        _response("R_b", q1="10", recorded="2026-01-15 12:00:00"),
        _response("R_prev", status="1"),
        _response("R_test", channel="test"),
        _response("R_skip", q1=""),
        _response("R_big", q1="11"),
        _response("R_txt", q1="gut"),
        _response("R_spam", status="Spam"),
    ]
    path = _export(tmp_path, rows, name="SV_abcDEF123456x_2026.csv", bom=True)
    s = _load(con, opts, path, rate=1.0)
    assert (s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == (8, 3, 0, 5)
    rejects = sorted(con.execute("SELECT location, reason FROM rejects").fetchall(),
                     key=lambda r: int(r[0].split()[1]))
    assert rejects == [
        ("row 6", "not customer feedback: survey preview"),
        ("row 7", "not customer feedback: survey test"),
        ("row 9", "score 11 is outside the nps scale 0–10 (column Q1)"),
        ("row 10", "score 'gut' is not a number (column Q1)"),
        ("row 11", "not customer feedback: spam"),
    ]
    a, b, skip = _rows(con)
    attrs = json.loads(a.pop("attributes"))
    assert a == {
        "feedback_id": "R_a", "source": "qualtrics:SV_abcDEF123456x",
        # Denver in July is UTC−6.
        "submitted_at": datetime(2026, 7, 1, 15, 15, tzinfo=UTC), "channel": "web",
        "metric": "nps", "score": 3.0, "scale_min": 0.0, "scale_max": 10.0, "is_poor": True,
        "verbatim": "zu langsam, Kasse hängt", "session_id": "s-1",
        "user_id": opts.pseudonymize("u-1"), "page_url": "https://shop.example/product/8812",
        "route": "/product/{id}", "device": "mobile", "country": "CH", "segment": "gold",
    }
    # StartDate: when the respondent began answering, what the join model links by
    [(started,)] = con.execute("SELECT started_at FROM feedback WHERE feedback_id = 'R_a'"
                               ).fetchall()
    assert started == datetime(2026, 7, 1, 15, 10, tzinfo=UTC)
    assert attrs == {
        "IPAddress": opts.pseudonymize("10.1.2.3"), "Progress": "100",
        "Duration (in seconds)": "300", "Finished": "1",
        "ExternalReference": opts.pseudonymize("crm-77"), "UserLanguage": "DE", "Q3": "4",
    }
    # Names, e-mail (read as a user id only when there is none) and geolocation are not kept.
    assert not {"RecipientEmail", "RecipientLastName", "LocationLatitude"} & set(attrs)
    # Denver in January is UTC−7; 10 is a promoter.
    assert (b["submitted_at"], b["score"], b["is_poor"]) == \
        (datetime(2026, 1, 15, 19, 0, tzinfo=UTC), 10.0, False)
    assert (skip["feedback_id"], skip["score"], skip["is_poor"], skip["metric"]) == \
        ("R_skip", None, None, "nps")


def test_previews_are_kept_out_without_failing_the_file(con, opts, tmp_path):
    # Half the file is previews: excluded by policy, so the 1 % reject limit does not apply...
    path = _export(tmp_path, [_response("R_a"), _response("R_p", status="Survey Preview")])
    s = _load(con, opts, path)
    assert (s.rows_loaded, s.rejected) == (1, 1)
    assert con.execute("SELECT reason FROM rejects").fetchall() == [
        ("not customer feedback: survey preview",)]
    # ...while one bad score among two real responses still fails the file.
    bad = _export(tmp_path, [_response("R_b"), _response("R_c", q1="eleven")], name="bad.csv")
    with pytest.raises(RejectRateError, match="1 of 2 records rejected"):
        _load(con, opts, bad)


def test_reload_is_idempotent(con, opts, tmp_path):
    path = _export(tmp_path, [_response(f"R_{i}") for i in range(5)])
    first = _load(con, opts, path)
    again = _load(con, opts, path)
    assert (first.rows_loaded, again.rows_loaded, again.duplicates) == (5, 0, 5)


def test_email_is_the_user_when_no_user_id(con, opts, tmp_path):
    path = _export(tmp_path, [_response("R_a", user="")])
    _load(con, opts, path)
    [row] = _rows(con)
    assert row["user_id"] == opts.pseudonymize("MAX@example.com")
    assert "RecipientEmail" not in json.loads(row["attributes"])


def test_field_overrides_and_verbatim_choice(con, opts, tmp_path):
    path = _export(tmp_path, [_response("R_a", q1="4")])
    _load(con, opts, path, fields={"score": "Q3", "verbatim": "Q1", "device": "segment"},
          options={"metric": "ces"})
    [row] = _rows(con)
    assert (row["metric"], row["score"], row["scale_max"], row["is_poor"]) == \
        ("ces", 4.0, 7.0, False)
    assert (row["verbatim"], row["device"]) == ("4", "gold")


def test_missing_field_column_is_a_format_error(con, opts, tmp_path):
    path = _export(tmp_path, [_response("R_a")])
    with pytest.raises(FormatError, match=r"--field score=Q99: no column 'Q99'"):
        _load(con, opts, path, fields={"score": "Q99"})


def test_unknown_time_zone_in_file(con, opts, tmp_path):
    path = _export(tmp_path, [_response("R_a")], zone="Mars/Olympus")
    with pytest.raises(FormatError, match=r"row 3: unknown timeZone 'Mars/Olympus'"):
        _load(con, opts, path)


# --- older layouts ---------------------------------------------------------------------------

def test_legacy_one_row_header_with_bom(con, opts, tmp_path):
    ids = ["ResponseId", "StartDate", "EndDate", "Status", "Q5", "Q5_NPS_GROUP", "Q6_TEXT",
           "comment_other"]
    rows = [["R_1", "2026-03-01 10:00:00", "2026-03-01 10:05:00", "IP Address", "6", "1",
             "too many steps", "x"],
            ["R_2", "2026-03-01 11:00:00", "2026-03-01 11:05:00", "Survey Test", "9", "2",
             "", ""]]
    path = tmp_path / "legacy.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv(ids, *rows).encode())
    # No ImportId row and no V1… ids: no Qualtrics signature, so it is named, not detected.
    assert detect("feedback", path.read_bytes()).name != "qualtrics-csv"
    s = _load(con, opts, path, rate=1.0, format="qualtrics-csv")
    assert (s.rows_read, s.rows_loaded, s.rejected) == (2, 1, 1)
    [row] = _rows(con)
    # No RecordedDate: EndDate; no timeZone anywhere: UTC.
    assert row["submitted_at"] == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert (row["metric"], row["score"], row["is_poor"], row["verbatim"]) == \
        ("nps", 6.0, True, "too many steps")
    assert json.loads(row["attributes"]) == {"comment_other": "x"}


def test_two_row_header_without_import_ids(con, opts, tmp_path):
    ids = ["ResponseID", "StartDate", "EndDate", "Finished", "Q1", "Q2"]
    labels = ["Response ID", "Start Date", "End Date", "Finished", "How satisfied?",
              "Any comments?"]
    rows = [["R_9", "7/18/2017 8:28", "7/18/2017 8:29", "1", "1", "broken link"]]
    path = tmp_path / "two.csv"
    path.write_text(_csv(ids, labels, *rows))
    _load(con, opts, path, fields={"score": "Q1"}, options={"metric": "csat"},
          format="qualtrics-csv")
    [row] = _rows(con)
    assert (row["feedback_id"], row["submitted_at"], row["verbatim"], row["is_poor"]) == \
        ("R_9", datetime(2017, 7, 18, 8, 29, tzinfo=UTC), "broken link", True)


def test_very_old_v_columns(con, opts, tmp_path):
    ids = ["V1", "V2", "V8", "V9", "V10", "Q1"]
    labels = ["ResponseID", "ResponseSet", "StartDate", "EndDate", "Finished", "Rate us"]
    rows = [["R_old", "Default Response Set", "2014-05-01 10:00:00", "2014-05-01 10:02:00",
             "1", "4"]]
    path = tmp_path / "v.csv"
    path.write_text(_csv(ids, labels, *rows))
    assert detect("feedback", path.read_bytes()).name == "qualtrics-csv"
    _load(con, opts, path, fields={"score": "Q1"}, options={"scale": "1-7"})
    [row] = _rows(con)
    assert (row["feedback_id"], row["scale_max"], row["is_poor"], row["attributes"]) == \
        ("R_old", 7.0, False, '{"Finished":"1"}')


def test_real_legacy_v_export(con, opts, vendor):
    path = vendor / "qualtrics_legacy_sample.csv"
    assert detect("feedback", path.read_bytes()).name == "qualtrics-csv"
    s = _load(con, opts, path, fields={"score": "Q1", "verbatim": "Q2"},
              options={"metric": "csat"})
    assert (s.rows_read, s.rows_loaded, s.rejected) == (1, 1, 0)
    [row] = _rows(con)
    assert (row["feedback_id"], row["submitted_at"], row["score"], row["verbatim"]) == (
        "R_2YPOQ602ER1jkf1", datetime(2017, 7, 18, 8, 28, 48, tzinfo=UTC), 2.0,
        "Hello World!")


def test_short_or_undecodable_row_is_rejected(con, opts, tmp_path):
    path = _export(tmp_path, [_response("R_a")])
    with open(path, "ab") as f:
        latin1 = ",".join(_response("R_b")).encode().replace(b"Max", b"M\xe4x")
        f.write(b"R_short,1,2\n" + latin1 + b"\n")
    s = _load(con, opts, path, rate=1.0)
    assert (s.rows_loaded, s.rejected) == (1, 2)
    assert con.execute("SELECT location, reason FROM rejects ORDER BY location").fetchall() \
        == [("row 5", "3 cells, the header has 27"), ("row 6", "not UTF-8 text")]


def test_header_not_utf8_is_a_format_error(con, opts, tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(_csv(IDS, LABELS).encode("latin-1", "replace"))
    with pytest.raises(FormatError, match=r"latin1.csv: row 2: not UTF-8 text"):
        _load(con, opts, bad, format="qualtrics-csv")


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(0, 10_000), junk=st.binary(min_size=1, max_size=12))
def test_damaged_export_never_escapes_as_a_traceback(tmp_path_factory, opts, empty_db, at,
                                                     junk):
    work = tmp_path_factory.mktemp("q")
    data = _export(work, [_response("R_a"), _response("R_b", q1="")]).read_bytes()
    damaged_is_one_line_or_loads(opts, data, at, junk, work / "damaged.csv", empty_db)


def test_previews_do_not_stretch_a_rating_scale_read_from_data(con, opts, tmp_path):
    ids = ["ResponseId", "RecordedDate", "Status", "Q4"]
    rows = [["R_1", "2026-03-01 10:00:00", "0", "4"], ["R_2", "2026-03-01 10:00:00", "0", "1"],
            ["R_3", "2026-03-01 10:00:00", "Survey Preview", "9"]]
    path = tmp_path / "rating.csv"
    path.write_text(_csv(ids, *rows))
    _load(con, opts, path, fields={"score": "Q4"}, rate=1.0, format="qualtrics-csv")
    assert {(r["scale_min"], r["scale_max"]) for r in _rows(con)} == {(1.0, 5.0)}


def test_rejected_responses_are_scrubbed_like_stored_rows(con, opts, tmp_path):
    p = opts.pseudonymize
    path = _export(tmp_path, [_response("R_a"), _response("R_big", q1="11"),
                              _response("R_prev", status="1", user="u-2")])
    s = _load(con, opts, path, rate=1.0)
    assert (s.rows_loaded, s.rejected) == (1, 2)
    raws = [r for (r,) in con.execute("SELECT raw FROM rejects ORDER BY location").fetchall()]
    for planted in ("max@example.com", "Muster", "crm-77", "10.1.2.3", "utm=", "47.1", "u-1"):
        assert not any(planted in r for r in raws), planted
    big, prev = (dict(zip(IDS, next(csv.reader([r])), strict=True)) for r in raws)
    assert {k: big[k] for k in ("ResponseId", "Q1", "IPAddress", "RecipientLastName",
                                "RecipientFirstName", "RecipientEmail", "ExternalReference",
                                "LocationLatitude", "userId", "PageURL", "Q2")} == {
        "ResponseId": "R_big", "Q1": "11", "IPAddress": p("10.1.2.3"), "RecipientLastName": "",
        "RecipientFirstName": "", "RecipientEmail": p("max@example.com"),
        "ExternalReference": p("crm-77"), "LocationLatitude": "", "userId": p("u-1"),
        "PageURL": "https://shop.example/product/8812", "Q2": "schnell"}
    assert (prev["ResponseId"], prev["userId"], prev["RecipientEmail"]) == (
        "R_prev", p("u-2"), p("max@example.com"))
