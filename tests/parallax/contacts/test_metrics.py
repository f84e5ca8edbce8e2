"""Contact-centre metrics on a small hand-built set whose answers are worked out by hand
(comments), through the generic CSV loader and the CLI."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parallax.cli import run
from parallax.connectors.load import ingest_files
from parallax.contacts.metrics import METRIC_KINDS, contact_metrics
from parallax.db import connect
from parallax.errors import ConfigError, NoDataError

# c1→c2: the same customer about the same reason 3 days later (c1 not resolved, c2 a repeat).
# c3 abandoned, then c4 answered: c4 is the first answered contact, resolved.
# c5 resolved=no. c6→c7 14 days apart: two first contacts, both resolved.
# c8 has no customer id (no FCR). c9 is continued by the transfer leg c10 (resolved=yes):
# the leg is neither a contact of its own nor a repeat. c11 is an outbound call.
HEADER = ("contact_id,channel,customer_id,queue,reason,start_time,queued_at,answered_at,"
          "talk_time,hold_time,acw,resolved,direction,previous_contact_id\n")
ROWS = """\
c1,call,u1,Billing,refund,2026-01-05T09:00:00Z,2026-01-05T09:00:00Z,2026-01-05T09:00:10Z,00:05:00,60,40,,inbound,
c2,call,u1,Billing,refund,2026-01-08T09:00:00Z,2026-01-08T09:00:00Z,2026-01-08T09:00:30Z,200,0,20,,inbound,
c3,call,u2,Billing,refund,2026-01-05T10:00:00Z,2026-01-05T10:00:00Z,,,,,,inbound,
c4,call,u2,Billing,refund,2026-01-05T10:05:00Z,2026-01-05T10:05:00Z,2026-01-05T10:05:05Z,100,0,20,,inbound,
c5,chat,u3,Tech,login,2026-01-06T08:00:00Z,2026-01-06T08:00:00Z,2026-01-06T08:00:20Z,600,0,0,no,inbound,
c6,chat,u4,Tech,login,2026-01-06T09:00:00Z,2026-01-06T09:00:00Z,2026-01-06T09:00:25Z,500,100,0,,inbound,
c7,chat,u4,Tech,login,2026-01-20T09:00:00Z,2026-01-20T09:00:00Z,2026-01-20T09:00:00Z,60,,,,inbound,
c8,call,,Billing,refund,2026-01-07T09:00:00Z,2026-01-07T09:00:00Z,2026-01-07T09:00:15Z,100,,,,inbound,
c9,call,u5,Billing,refund,2026-01-07T11:00:00Z,2026-01-07T11:00:00Z,2026-01-07T11:00:12Z,100,0,10,,inbound,
c10,call,u5,Refunds,refund,2026-01-07T11:02:00Z,2026-01-07T11:02:00Z,2026-01-07T11:02:08Z,50,,,yes,transfer,c9
c11,call,u1,,refund,2026-01-09T09:00:00Z,,,120,,,,outbound,
"""


@pytest.fixture
def loaded(con, opts, tmp_path):
    f = tmp_path / "contacts.csv"
    f.write_text(HEADER + ROWS)
    [s] = ingest_files(con, "interactions", [f], dataclasses.replace(opts))
    assert (s.rows_loaded, s.rejected) == (11, 0)
    # Sessions: 1,500 in ISO week 2, 500 in week 4, 300 after the contacts' period.
    for day, n in (("2026-01-06", 1500), ("2026-01-20", 500), ("2026-02-01", 300)):
        con.execute("INSERT INTO sessions (session_id, started_at) "
                    "SELECT ? || '-' || i, CAST(? AS TIMESTAMPTZ) + INTERVAL 1 HOUR "
                    "FROM range(?) AS t(i)", [day, day, n])
    return con


def test_exact_metrics_on_the_hand_built_set(loaded) -> None:
    [m] = contact_metrics(loaded)
    assert (m.group, m.contacts, m.first_contacts) == ("all", 10, 6)
    # First contacts c1 c4 c5 c6 c7 c9; resolved: c4, c6, c7, c9 (its leg says yes).
    assert m.fcr == pytest.approx(4 / 6)
    # Handle: c1 400, c2 220, c4 120, c5 600, c6 600, c7 60, c8 100, c9 110, c10 50, c11 120.
    assert m.aht_s == pytest.approx(2380 / 10)
    # Waits of answered inbound contacts: 10 30 5 20 25 0 15 12 8.
    assert m.asa_s == pytest.approx(125 / 9)
    # Queued c1-c10, abandoned c3.
    assert m.abandonment_rate == pytest.approx(0.1)
    # Within 20 s: c1 c4 c5 c7 c8 c9 c10 of 9 answered + 1 abandoned.
    assert m.service_level == pytest.approx(0.7)
    # 10 contacts, 2,000 sessions from 5 to 20 January (the days the contacts span).
    assert (m.sessions, m.contacts_per_1000_sessions) == (2000, pytest.approx(5.0))
    lo, hi = m.fcr_ci
    assert 0.2 < lo < m.fcr < hi < 0.95


def test_groups_weeks_and_window(loaded) -> None:
    chat = next(m for m in contact_metrics(loaded, by="channel") if m.group == "chat")
    assert (chat.contacts, chat.fcr, chat.aht_s, chat.asa_s, chat.abandonment_rate,
            chat.service_level) == (3, pytest.approx(2 / 3), pytest.approx(420.0),
                                    pytest.approx(15.0), 0.0, pytest.approx(2 / 3))
    weeks = {m.group: m for m in contact_metrics(loaded, by="week")}
    assert set(weeks) == {"2026-W02", "2026-W04"}
    assert (weeks["2026-W02"].contacts, weeks["2026-W02"].contacts_per_1000_sessions) == \
        (9, pytest.approx(6.0))
    assert weeks["2026-W04"].contacts_per_1000_sessions == pytest.approx(2.0)
    # A longer repeat window makes c7 a repeat of c6: c6 unresolved, c7 no first contact.
    [m] = contact_metrics(loaded, fcr_days=30)
    assert (m.first_contacts, m.fcr) == (5, pytest.approx(2 / 5))
    # Service level at 25 s adds c6.
    assert contact_metrics(loaded, service_level_s=25)[0].service_level == pytest.approx(0.8)
    reasons = {m.group: m for m in contact_metrics(loaded, by="reason")}
    assert reasons["refund"].contacts == 7


def test_the_centres_choices_aht_and_abandonment(loaded) -> None:
    [m] = contact_metrics(loaded, aht="contact", abandonment="inbound")
    # per customer contact: c9's leg c10 (50 s) is summed into c9 (160 s); 9 contacts
    assert m.aht_s == pytest.approx(2380 / 9)
    # inbound contacts c1-c9 (no leg, no outbound), abandoned c3
    assert m.abandonment_rate == pytest.approx(1 / 9)
    assert m.to_json()["definitions"] == {"fcr_days": 7, "service_level_s": 20.0,
                                          "aht": "contact", "abandonment": "inbound"}
    with pytest.raises(ConfigError, match="--aht 'call'"):
        contact_metrics(loaded, aht="call")
    with pytest.raises(ConfigError, match="--abandonment 'all'"):
        contact_metrics(loaded, abandonment="all")


def test_no_sessions_gives_null_rate_and_empty_db_is_no_data(con, loaded) -> None:
    loaded.execute("DELETE FROM sessions")
    [m] = contact_metrics(loaded)
    assert (m.sessions, m.contacts_per_1000_sessions) == (0, None)
    with pytest.raises(ConfigError, match="--by 'agent'"):
        contact_metrics(loaded, by="agent")
    loaded.execute("DELETE FROM interactions")
    with pytest.raises(NoDataError, match="no contacts stored"):
        contact_metrics(loaded)


def test_cli_json_is_the_documented_shape(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PARALLAX_KEY", "k" * 32)
    db = tmp_path / "cli.duckdb"
    f = tmp_path / "contacts.csv"
    f.write_text(HEADER + ROWS)
    assert run(["--db", str(db), "ingest", "interactions", str(f)]) == 0
    capsys.readouterr()
    assert run(["--db", str(db), "contacts", "metrics", "--by", "channel", "--format",
                "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [g["group"] for g in out] == ["call", "chat"]
    call = out[0]
    assert {"group", "contacts", "fcr", "aht_s", "asa_s", "abandonment_rate", "service_level",
            "contacts_per_1000_sessions", "metric_kinds"} <= set(call)
    assert call["metric_kinds"] == METRIC_KINDS
    assert set(METRIC_KINDS.values()) == {"process", "results"}
    assert (call["contacts"], call["contacts_per_1000_sessions"]) == (7, None)
    assert run(["--db", str(db), "contacts", "metrics"]) == 0
    table = capsys.readouterr().out
    assert "FCR (results)" in table and "AHT s (process)" in table and "66.7%" in table
    assert table.splitlines()[0] == (
        "AHT per contact record (a transfer leg is a record of its own); abandonment over "
        "queued records; FCR: no repeat within 7 days; service level: answered within 20 s")
    assert "service level ≤ 20 s (process)" in table
    assert run(["--db", str(db), "contacts", "metrics", "--aht", "contact",
                "--service-level-s", "30"]) == 0
    table = capsys.readouterr().out
    assert "AHT per customer contact (transfer legs summed)" in table
    assert "answered within 30 s" in table and "service level ≤ 30 s" in table
    con = connect(db)
    try:
        ids = con.execute("SELECT DISTINCT user_id FROM interactions WHERE user_id IS NOT NULL"
                          ).fetchall()
    finally:
        con.close()
    # Five customers, each stored as a 32-hex pseudonym, never as the raw id.
    assert len(ids) == 5 and all(len(i) == 32 and not i.startswith("u") for (i,) in ids)
