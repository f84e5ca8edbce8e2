"""Amazon Connect contact records (the documented CTR JSON, one per line): field mapping,
handle time as talk + hold + wrap-up, abandonment, transfers, re-delivered records, identity
and privacy, rejects and bad files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.errors import FormatError, RejectRateError

CTR = Path(__file__).parents[2] / "fixtures" / "synthetic" / "amazon_connect_ctr.jsonl"


def _load(con, opts, path, options=None, rate=None):
    o = dataclasses.replace(opts, options=options or {},
                            max_reject_rate=opts.max_reject_rate if rate is None else rate)
    [summary] = ingest_files(con, "interactions", [path], o)
    return summary


def _rows(con) -> dict[str, dict]:
    cur = con.execute("SELECT * FROM interactions")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_contact_records_map_to_interactions(con, opts, pseudonymize) -> None:
    assert detect("interactions", CTR.read_bytes()).name == "amazon-connect-ctr"
    s = _load(con, opts, CTR)
    # 7 lines: 6 contacts, one re-delivered with a later LastUpdateTimestamp.
    assert (s.format, s.rows_read, s.rows_loaded, s.duplicates, s.rejected) == \
        ("amazon-connect-ctr", 7, 6, 1, 0)
    rows = _rows(con)
    call = rows["4a6e1d5b-37a1-4c3f-9a0e-2f1b7c8d9e01"]
    assert {k: call[k] for k in ("source", "channel", "queue", "initiation", "talk_s", "hold_s",
                                 "wrap_s", "handle_s", "holds", "transfers", "abandoned",
                                 "wait_s", "reason", "disconnect_reason")} == {
        "source": "amazon-connect", "channel": "call", "queue": "Payments",
        "initiation": "inbound", "talk_s": 300.0, "hold_s": 95.0, "wrap_s": 60.0,
        "handle_s": 455.0, "holds": 2, "transfers": 0, "abandoned": False, "wait_s": 15.0,
        "reason": "payment_failed", "disconnect_reason": "customer_disconnect"}
    assert (call["started_at"], call["queued_at"], call["answered_at"], call["ended_at"]) == (
        _t("2026-03-02T09:00:00"), _t("2026-03-02T09:00:40"), _t("2026-03-02T09:00:55"),
        _t("2026-03-02T09:07:10"))
    # The re-delivered copy (resolved set by update-contact-attributes) won.
    assert (call["resolved"], call["updated_at"]) == (True, _t("2026-03-02T09:30:00"))
    assert call["user_id"] == pseudonymize("cust-1001")
    assert call["agent_id"] == pseudonymize("anna.schmidt")
    assert call["tags"] == ["aws:connect:instanceId=9f2a3c4d-1b2e-4f5a-8c7d-0e1f2a3b4c5d"]
    assert json.loads(call["attributes"]) == {"greeting": "de"}

    abandoned = rows["7c1f0a92-5e3d-4b8a-b1c4-6d2e9f0a1b02"]
    assert (abandoned["abandoned"], abandoned["answered_at"], abandoned["wait_s"],
            abandoned["handle_s"], abandoned["reason"]) == (True, None, 70.0, None,
                                                           "payment_failed")
    chat = rows["b3d9e2f1-8a7c-4d6e-95f0-1a2b3c4d5e03"]
    assert (chat["channel"], chat["transfers"], chat["handle_s"], chat["wait_s"]) == \
        ("chat", 1, 585.0, 30.0)
    leg = rows["c4e0f3a2-9b8d-4e7f-a601-2b3c4d5e6f04"]
    assert (leg["initiation"], leg["previous_interaction_id"], leg["resolved"], leg["csat"]) \
        == ("transfer", chat["interaction_id"], True, 4.0)
    ivr = rows["d5f1a4b3-0c9e-4f80-b712-3c4d5e6f7a05"]
    assert (ivr["queue"], ivr["abandoned"], ivr["agent_id"]) == (None, None, None)


def test_reload_changes_nothing_and_raw_ids_never_stored(con, opts) -> None:
    _load(con, opts, CTR)
    before = con.execute("SELECT * FROM interactions ORDER BY interaction_id").fetchall()
    again = _load(con, opts, CTR)
    assert (again.rows_loaded, again.duplicates) == (0, 7)
    assert con.execute("SELECT * FROM interactions ORDER BY interaction_id").fetchall() == before
    dump = str(before) + str(con.execute("SELECT * FROM rejects").fetchall())
    for raw in ("cust-1001", "cust-1003", "anna.schmidt", "jane.doe@example.com", "+4930901820"):
        assert raw not in dump


def test_newer_copy_in_a_later_file_replaces_the_stored_one(con, opts, tmp_path) -> None:
    _load(con, opts, CTR)
    rec = json.loads(CTR.read_text().splitlines()[1])  # the abandoned call
    rec["Attributes"]["reason"] = "refund"
    rec["LastUpdateTimestamp"] = "2026-03-03T00:00:00Z"
    later = tmp_path / "later.jsonl"
    later.write_text(json.dumps(rec) + "\n")
    assert _load(con, opts, later).rows_loaded == 1
    assert con.execute("SELECT count(*), any_value(reason) FROM interactions "
                       "WHERE interaction_id = ?", [rec["ContactId"]]).fetchall() == \
        [(1, "refund")]
    older = dict(rec, LastUpdateTimestamp="2026-03-02T10:00:00Z")
    older["Attributes"] = dict(rec["Attributes"], reason="stale")
    (tmp_path / "older.jsonl").write_text(json.dumps(older) + "\n")
    assert _load(con, opts, tmp_path / "older.jsonl").rows_loaded == 0
    assert con.execute("SELECT reason FROM interactions WHERE interaction_id = ?",
                       [rec["ContactId"]]).fetchall() == [("refund",)]


def test_options_name_the_customer_and_reason_attributes(con, opts, tmp_path,
                                                         pseudonymize) -> None:
    rec = json.loads(CTR.read_text().splitlines()[0])
    rec["Attributes"] = {"crm_login": "L-77", "driver": "card_declined"}
    f = tmp_path / "ctr.jsonl"
    # Two records concatenated on one line, as Firehose writes them without a delimiter.
    other = dict(rec, ContactId="0d1e2f3a-0000-4000-8000-000000000009")
    f.write_text(json.dumps(rec) + json.dumps(other) + "\n")
    s = _load(con, opts, f, {"customer_attribute": "crm_login", "reason_attribute": "driver",
                             "source": "eu"})
    assert s.rows_loaded == 2
    assert set(con.execute("SELECT source, user_id, reason FROM interactions").fetchall()) == \
        {("amazon-connect:eu", pseudonymize("L-77"), "card_declined")}


def test_bad_records_are_rejected_with_reasons(con, opts, tmp_path) -> None:
    lines = CTR.read_text().splitlines()
    bad = json.loads(lines[0])
    bad["ContactId"] = "neg-1"
    bad["Agent"]["CustomerHoldDuration"] = -5
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join([*lines[:5], '{"ContactId": "x", "Channel": "VOICE", '
                            '"InitiationMethod": "INBOUND"}', "{not json", json.dumps(bad)]))
    with pytest.raises(RejectRateError, match=r"3 of 8 records rejected"):
        _load(con, opts, f)
    assert con.execute("SELECT count(*) FROM interactions").fetchall() == [(0,)]
    s = _load(con, opts, f, rate=0.5)
    assert (s.rows_loaded, s.rejected) == (5, 3)
    reasons = dict(con.execute("SELECT location, reason FROM rejects").fetchall())
    assert reasons["line 6"].startswith("no start time (InitiationTimestamp)")
    assert reasons["line 7"].startswith("invalid JSON")
    assert "hold_s" in reasons["line 8"] and "Agent.CustomerHoldDuration" in reasons["line 8"]


def test_a_file_without_contact_records_is_one_clear_error(con, opts, tmp_path) -> None:
    f = tmp_path / "notes.jsonl"
    f.write_text('{"hello": "world"}\n')
    with pytest.raises(FormatError, match=r"notes.jsonl: not a recognised interactions file"):
        _load(con, opts, f)
    o = dataclasses.replace(opts)
    with pytest.raises(FormatError, match=r"no Amazon Connect contact record"):
        ingest_files(con, "interactions", [f], o, format="amazon-connect-ctr")
    assert con.execute("SELECT count(*) FROM interactions").fetchall() == [(0,)]
