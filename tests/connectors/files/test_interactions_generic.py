"""Generic contact exports (CSV and NDJSON): columns by common names or ``--field``,
clock-style durations, derived wait / handle / abandoned, rejects and bad files."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from parallax.cli import run
from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import ConfigError, FormatError

CSV = (
    "Call ID;Channel;Customer ID;Queue;Contact Reason;Start Time;Answered At;Talk Time;"
    "Hold Time;ACW;Holds;Resolved;Tags;Notes;Region\n"
    "k1;Phone;C-1;Billing;refund;2026-01-05T09:00:00Z;2026-01-05T09:00:12Z;00:05:00;60;40;"
    "1;yes;vip|web;call me on 0171 2345678;north\n"
    "k2;phone;C-2;Billing;refund;2026-01-05 10:00:00;;;;;;no;;;south\n"
    "k3;chat;C-3;Tech;login;not a time;;;;;;;;;\n"
    "k4;chat;C-3;Tech;login;2026-01-05T11:00:00Z;;-3;;;;;;;\n"
)


def _load(con, opts, path, fields=None, format=None, rate=0.5):
    o = dataclasses.replace(opts, fields=fields or {}, max_reject_rate=rate)
    [summary] = ingest_files(con, "interactions", [path], o, format=format)
    return summary


def test_csv_by_common_names(con, opts, tmp_path, pseudonymize) -> None:
    f = tmp_path / "calls.csv"
    f.write_text(CSV)
    assert detect("interactions", f.read_bytes()).name == "interactions-csv"
    s = _load(con, opts, f)
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("interactions-csv", 4, 2, 2)
    k1, k2 = con.execute(
        "SELECT interaction_id, channel, user_id, queue, reason, started_at, wait_s, talk_s, "
        "hold_s, wrap_s, handle_s, holds, resolved, tags, verbatim, attributes, abandoned "
        "FROM interactions ORDER BY interaction_id").fetchall()
    assert k1[:15] == ("k1", "call", pseudonymize("C-1"), "Billing", "refund",
                       datetime(2026, 1, 5, 9, tzinfo=UTC), None, 300.0, 60.0, 40.0, 400.0, 1,
                       True, ["vip", "web"],
                       f"call me on [phone:{pseudonymize('01712345678')}]")
    assert k1[15] == '{"Region":"north"}'
    # No queued time in this export: wait and abandonment are unknown, not guessed.
    assert (k1[16], k2[12], k2[10]) == (None, False, None)
    reasons = dict(con.execute("SELECT location, reason FROM rejects").fetchall())
    assert reasons == {
        "row 4": "started_at 'not a time' is not a date/time (column Start Time)",
        "row 5": "talk_s '-3' is not a duration in seconds (negative or not finite) "
                 "(column Talk Time)"}


def test_ndjson_with_field_mapping_and_derived_times(con, opts, tmp_path,
                                                     pseudonymize) -> None:
    f = tmp_path / "contacts.ndjson"
    f.write_text(
        '{"ref": "n1", "who": {"login": "L1"}, "in_queue": "2026-01-05T09:00:00Z", '
        '"picked_up": "2026-01-05T09:00:25Z", "talk_s": 100, "wrap_s": 20, "kind": "voice"}\n'
        '{"ref": "n2", "who": {"login": "L2"}, "in_queue": "2026-01-05T09:10:00Z", '
        '"kind": "voice"}\n')
    fields = {"interaction_id": "ref", "user_id": "who.login", "queued_at": "in_queue",
              "answered_at": "picked_up", "channel": "kind"}
    s = _load(con, opts, f, fields, format="interactions-ndjson")
    assert (s.rows_loaded, s.rejected) == (2, 0)
    assert con.execute(
        "SELECT interaction_id, user_id, started_at, wait_s, handle_s, abandoned, channel "
        "FROM interactions ORDER BY 1").fetchall() == [
        ("n1", pseudonymize("L1"), datetime(2026, 1, 5, 9, tzinfo=UTC), 25.0, 120.0, False,
         "call"),
        ("n2", pseudonymize("L2"), datetime(2026, 1, 5, 9, 10, tzinfo=UTC), None, None, True,
         "call")]


def test_bad_mapping_and_bad_files(con, opts, tmp_path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("when,what\n2026-01-01,thing\n")
    with pytest.raises(FormatError, match="x.csv: not a recognised interactions file"):
        _load(con, opts, f)
    with pytest.raises(FormatError, match=r"x.csv: row 1: no interaction id column"):
        _load(con, opts, f, format="interactions-csv")
    with pytest.raises(ConfigError, match=r"--field score: not an interaction field"):
        _load(con, opts, f, {"score": "what"}, format="interactions-csv")
    with pytest.raises(FormatError, match=r"--field interaction_id=nope: no such column"):
        _load(con, opts, f, {"interaction_id": "nope"}, format="interactions-csv")
    assert con.execute("SELECT count(*) FROM interactions").fetchall() == [(0,)]


def test_cli_bad_file_is_one_line_nonzero_and_stores_nothing(tmp_path, capsys,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("PARALLAX_KEY", "k" * 32)
    db = tmp_path / "x.duckdb"
    good, bad = tmp_path / "good.csv", tmp_path / "broken.jsonl"
    good.write_text(CSV)
    bad.write_text('{"ContactId": "a", "InitiationMethod": "INBOUND"\n')  # cut off
    assert run(["--db", str(db), "ingest", "interactions", str(bad)]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.jsonl" in err
    assert run(["--db", str(db), "ingest", "interactions", "--max-reject-rate", "0.6",
                str(good)]) == 0
    con = connect(db)
    try:
        assert con.execute("SELECT count(*) FROM interactions").fetchall() == [(2,)]
        assert con.execute("SELECT status FROM loads ORDER BY started_at").fetchall() == \
            [("failed",), ("ok",)]
    finally:
        con.close()
