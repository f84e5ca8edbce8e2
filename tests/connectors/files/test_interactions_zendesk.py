"""Zendesk tickets from the incremental export API: a page with sideloaded metric sets and
metric events, tickets one per line, reason from a custom field or a tag prefix, deleted
tickets kept out, verbatims redacted."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parallax.connectors.files import detect
from parallax.connectors.load import ingest_files
from parallax.db import connect
from parallax.errors import FormatError

PAGE = Path(__file__).parents[2] / "fixtures" / "synthetic" / "zendesk_incremental_tickets.json"
FIELDS = {"reason_field": "360012345601", "handle_field": "360012345602",
          "customer_field": "360012345603"}


def _load(con, opts, path, options=None):
    [summary] = ingest_files(con, "interactions", [path],
                             dataclasses.replace(opts, options=options or {}))
    return summary


def _rows(con) -> dict[str, dict]:
    cur = con.execute("SELECT * FROM interactions")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_export_page_maps_to_interactions(con, opts, pseudonymize) -> None:
    assert detect("interactions", PAGE.read_bytes()).name == "zendesk-tickets"
    s = _load(con, opts, PAGE, FIELDS)
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("zendesk-tickets", 4, 3, 1)
    rows = _rows(con)
    t = rows["35436"]
    assert {k: t[k] for k in ("source", "channel", "queue", "reason", "resolved", "csat",
                              "wait_s", "handle_s", "abandoned", "talk_s", "transfers")} == {
        "source": "zendesk", "channel": "email", "queue": "360001234567",
        "reason": "checkout_error", "resolved": True, "csat": 1.0, "wait_s": 2700.0,
        "handle_s": 540.0, "abandoned": None, "talk_s": None, "transfers": None}
    assert (t["started_at"], t["answered_at"], t["ended_at"]) == (
        datetime(2026, 3, 3, 8, 0, tzinfo=UTC), datetime(2026, 3, 3, 8, 45, tzinfo=UTC),
        datetime(2026, 3, 3, 11, 30, tzinfo=UTC))
    assert t["user_id"] == pseudonymize("cust-2001")  # the customer field, not requester_id
    assert t["agent_id"] == pseudonymize("7001")
    assert t["tags"] == ["reason_checkout_error", "vip"]
    assert "+49 170" not in t["verbatim"] and "jane.doe" not in t["verbatim"]
    assert f"[phone:{pseudonymize('491701234567')}]" in t["verbatim"]
    assert "Order 100234987" in t["verbatim"]  # an order number is not a phone number
    # Reason from the tag prefix when the field is empty; open: not resolved, no reply yet.
    assert (rows["35437"]["reason"], rows["35437"]["resolved"], rows["35437"]["wait_s"]) == \
        ("delivery_late", False, None)
    # First reply from the metric events; a follow-up names the ticket it follows.
    follow = rows["35438"]
    assert (follow["channel"], follow["wait_s"], follow["previous_interaction_id"],
            follow["csat"]) == ("chat", 120.0, "35436", 0.0)
    [(location, reason, raw)] = con.execute("SELECT location, reason, raw FROM rejects").fetchall()
    assert (location, reason) == ("document ticket 4", "deleted ticket")
    assert "9876543" not in raw and "20978394" not in raw


def test_one_ticket_per_line_and_defaults(con, opts, tmp_path, pseudonymize) -> None:
    page = json.loads(PAGE.read_text())
    f = tmp_path / "tickets.ndjson"
    f.write_text("\n".join(json.dumps(t) for t in page["tickets"][:2]) + "\n")
    assert detect("interactions", f.read_bytes()).name == "zendesk-tickets"
    s = _load(con, opts, f)
    assert (s.rows_loaded, s.rejected) == (2, 0)
    rows = _rows(con)
    # No custom field options: requester_id is the customer, the reason tag prefix is used.
    assert rows["35436"]["user_id"] == pseudonymize("20978392")
    assert rows["35436"]["reason"] == "checkout_error"
    assert rows["35436"]["handle_s"] is None and rows["35436"]["wait_s"] is None
    assert _load(con, opts, f).rows_loaded == 0  # re-load: nothing new


def test_not_ticket_json_is_one_clear_error(con, opts, tmp_path) -> None:
    f = tmp_path / "page.json"
    f.write_text('{"tickets": [{"subject": "no id"}], "end_of_stream": true}')
    with pytest.raises(FormatError, match=r"page.json: no Zendesk ticket"):
        _load(con, opts, f)
    f.write_text('{"tickets": [\n  {"id": 1,\n')
    with pytest.raises(FormatError, match=r"page.json: not Zendesk ticket JSON"):
        _load(con, opts, f)
    assert con.execute("SELECT count(*) FROM interactions").fetchall() == [(0,)]


# A real GET /api/v2/ticket_fields response (zendesk_api_client_rb's VCR cassette, decoded):
# seven system fields and eight active custom text fields all titled "Age".
REAL_FIELDS = Path(__file__).parents[2] / "fixtures" / "vendor" / "zendesk_api_ticket_fields.json"


def _retitled(titles: dict[int, str], inactive: dict[int, str] | None = None) -> dict:
    """The real ticket-fields response with its "Age" custom fields renamed and renumbered,
    one per entry: no public export names a reason, customer or handle-time field, and the
    tickets' field ids are their own. Everything else is the vendor's file as it is."""
    doc = json.loads(REAL_FIELDS.read_bytes())
    ages = iter(f for f in doc["ticket_fields"] if f["title"] == "Age")
    for active, wanted in ((False, inactive or {}), (True, titles)):  # the inactive first
        for field_id, title in wanted.items():
            f = next(ages)
            f.update(id=field_id, title=title, raw_title=title, active=active)
    return doc


# the synthetic page's custom fields, titled for their roles; an inactive look-alike
TICKET_FIELDS = _retitled(
    {360012345601: "Contact Reason", 360012345602: "Handle time (seconds)",
     360012345603: "Customer ID"}, inactive={360012345609: "Contact reason (old)"})


def test_custom_fields_found_by_title_in_the_ticket_fields_export(con, opts, tmp_path):
    (tmp_path / "tickets.json").write_bytes(PAGE.read_bytes())
    (tmp_path / "ticket_fields.json").write_text(json.dumps(TICKET_FIELDS))
    _load(con, opts, tmp_path / "tickets.json")
    by_title = _rows(con)
    with connect(tmp_path / "by_option.duckdb") as other:
        _load(other, opts, PAGE, FIELDS)  # the same ids given as options
        by_option = _rows(other)
    keep = ("reason", "handle_s", "user_id")
    assert {k: [r[c] for c in keep] for k, r in by_title.items()} == {
        k: [r[c] for c in keep] for k, r in by_option.items()}
    assert by_title["35436"]["reason"] == "checkout_error"


def test_requester_external_id_then_email_when_no_customer_field(con, opts, pseudonymize,
                                                                  tmp_path):
    page = json.loads(PAGE.read_text())
    page["users"] = [{"id": 20978392, "external_id": "CUST-9", "email": "a@example.com"},
                     {"id": 20978393, "external_id": None, "email": "B@example.com"}]
    f = tmp_path / "with_users.json"
    f.write_text(json.dumps(page))
    _load(con, opts, f)
    users = {k: r["user_id"] for k, r in _rows(con).items()}
    assert users == {"35436": pseudonymize("CUST-9"), "35437": pseudonymize("B@example.com"),
                     "35438": pseudonymize("CUST-9")}


def test_format_given_still_skips_the_ticket_fields(con, opts, tmp_path) -> None:
    from parallax.connectors.load import expand_paths

    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "tickets.json").write_text(PAGE.read_text())
    (folder / "ticket_fields.json").write_text(json.dumps(TICKET_FIELDS))
    summaries = ingest_files(con, "interactions", expand_paths([str(folder)]),
                             dataclasses.replace(opts, max_reject_rate=1.0),
                             format="zendesk-tickets")
    assert sorted((s.file.rsplit("/", 1)[-1], s.format, s.rows_read) for s in summaries) == [
        ("ticket_fields.json", "companion", 0), ("tickets.json", "zendesk-tickets", 4)]


def test_folder_with_ticket_fields_beside_summary_counts_links(con, opts, tmp_path, capsys):
    """The ticket-fields export in the folder is read by the tickets' parser and skipped as a
    data file; the summary says how many tickets got a reason and a customer link."""
    from parallax.commands.console import print_summaries
    from parallax.connectors.load import expand_paths

    page = json.loads(PAGE.read_text())
    page["users"] = [{"id": 20978393, "external_id": None, "email": "B@example.com"}]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "tickets.json").write_text(json.dumps(page))
    (folder / "ticket_fields.json").write_text(json.dumps(TICKET_FIELDS))
    summaries = ingest_files(con, "interactions", expand_paths([str(folder)]), opts)
    fields, tickets = sorted(summaries, key=lambda s: s.format)
    assert (fields.format, fields.rows_read, fields.notes) == (
        "companion", 0, ("skipped: read beside the data by zendesk-tickets",))
    rows = _rows(con)
    reasons = sum(r["reason"] is not None for r in rows.values())
    assert tickets.notes == (f"{page_tickets(page)} tickets", f"{reasons} with a reason",
                             "3 with a customer link")
    assert reasons == 3
    print_summaries(summaries)
    assert "tickets.json: 4 tickets, 3 with a reason, 3 with a customer link" in \
        capsys.readouterr().out
    assert con.execute("SELECT count(*) FROM loads WHERE file LIKE '%ticket_fields.json'"
                       ).fetchall() == [(0,)]


def page_tickets(page: dict) -> int:
    return len(page["tickets"])


# 35438 has no reason tag: only a custom reason field (found by title) would give it one
REASONS_FROM_TAGS = {"35436": "checkout_error", "35437": "delivery_late", "35438": None}


def test_a_real_ticket_fields_export_names_no_role_and_the_tags_decide(con, opts, tmp_path):
    from parallax.connectors.base import ParseContext
    from parallax.connectors.files.zendesk import field_ids

    real = json.loads(REAL_FIELDS.read_bytes())
    ctx = ParseContext("f", opts.pseudonymize, opts.route, {}, {})
    assert field_ids(ctx, real) == {}  # "Description", "Assignee", "Age": no role's words
    (tmp_path / "tickets.json").write_bytes(PAGE.read_bytes())
    (tmp_path / "ticket_fields.json").write_bytes(REAL_FIELDS.read_bytes())
    _load(con, opts, tmp_path / "tickets.json")
    with connect(tmp_path / "bare.duckdb") as other:
        _load(other, opts, PAGE)  # no ticket fields at all
        bare = {k: {**r, "load_id": None} for k, r in _rows(other).items()}
    rows = {k: {**r, "load_id": None} for k, r in _rows(con).items()}
    assert rows == bare
    # the reason comes from a tag, not from the custom field a matched title would name
    assert {k: r["reason"] for k, r in rows.items()} == REASONS_FROM_TAGS


def test_a_real_field_titled_for_a_role_is_found_by_its_id(opts):
    from parallax.connectors.base import ParseContext
    from parallax.connectors.files.zendesk import field_ids

    real = json.loads(REAL_FIELDS.read_bytes())
    ages = [f for f in real["ticket_fields"] if f["title"] == "Age"]
    ages[0]["title"] = "Contact Reason"
    ages[1].update(title="Customer ID", active=False)  # an inactive field is not used
    ages[2]["raw_title"] = "Time spent"  # the title is read, not raw_title, when there is one
    ctx = ParseContext("f", opts.pseudonymize, opts.route, {}, {})
    assert field_ids(ctx, real) == {"reason_field": str(ages[0]["id"])} == {
        "reason_field": "20015156"}


# Real GET /api/v2/tickets, /tickets/{id} (with a custom field) and /tickets/{id}?include=users
# responses: go-zendesk's test fixtures, recorded against a Zendesk test account.
GO = Path(__file__).parents[2] / "fixtures" / "vendor"


def test_a_real_tickets_list_loads_with_no_reason_and_no_customer_link(con, opts,
                                                                        pseudonymize):
    s = _load(con, opts, GO / "zendesk_go_tickets.json")
    assert (s.format, s.rows_read, s.rows_loaded, s.rejected) == ("zendesk-tickets", 2, 2, 0)
    assert s.notes == ("2 tickets", "0 with a reason", "0 with a customer link")
    rows = _rows(con)
    assert {k: (r["channel"], r["resolved"], r["reason"], r["wait_s"], r["started_at"])
            for k, r in rows.items()} == {
        "2": ("email", True, None, None, datetime(2019, 6, 3, 2, 23, 47, tzinfo=UTC)),
        "3": ("web", True, None, None, datetime(2019, 6, 3, 2, 34, 52, tzinfo=UTC))}
    # Zendesk's own requester id is all there is: pseudonymised, and no customer link
    assert {r["user_id"] for r in rows.values()} == {pseudonymize("377922500012")}
    assert rows["3"]["verbatim"] == "にゃー\nぬこすけ"
    assert "nukosuke@lavabit.com" not in str(rows)  # the sender's address is not kept
    assert _load(con, opts, GO / "zendesk_go_tickets.json").rows_loaded == 0


def test_a_real_single_ticket_links_its_requester_by_the_sideloaded_email(con, opts,
                                                                          pseudonymize):
    s = _load(con, opts, GO / "zendesk_go_ticket_sideload.json")
    assert (s.rows_read, s.rows_loaded) == (1, 1)
    assert s.notes == ("1 tickets", "0 with a reason", "1 with a customer link")
    [t] = _rows(con).values()
    assert (t["interaction_id"], t["channel"], t["resolved"], t["agent_id"]) == (
        "4", "api", False, None)
    assert t["user_id"] == pseudonymize("nukosuke@lavabit.com")  # external_id is null


def test_a_real_custom_field_becomes_the_reason_by_option_or_by_title(con, opts, tmp_path):
    ticket = GO / "zendesk_go_ticket_custom_field.json"
    s = _load(con, opts, ticket, {"reason_field": "360005657120"})
    assert s.notes == ("1 tickets", "1 with a reason", "0 with a customer link")
    assert [r["reason"] for r in _rows(con).values()] == ["Custom field value for testing"]
    # The same reason found by the field's title in a ticket-fields export beside it
    (tmp_path / "ticket.json").write_bytes(ticket.read_bytes())
    (tmp_path / "ticket_fields.json").write_text(
        json.dumps(_retitled({360005657120: "Reason for contact"})))
    with connect(tmp_path / "by_title.duckdb") as other:
        _load(other, opts, tmp_path / "ticket.json")
        assert [r["reason"] for r in _rows(other).values()] == [
            "Custom field value for testing"]


def test_a_rejected_ticket_counts_no_reason_in_the_summary(con, opts):
    # the real ticket's text field named as the handle time: not seconds, so a reject
    loose = dataclasses.replace(opts, max_reject_rate=1.0)
    s = _load(con, loose, GO / "zendesk_go_ticket_custom_field.json",
              {"reason_field": "360005657120", "handle_field": "360005657120"})
    assert (s.rows_loaded, s.rejected) == (0, 1)
    assert s.notes == ("1 tickets", "0 with a reason", "0 with a customer link")
    [(location, reason)] = con.execute("SELECT location, reason FROM rejects").fetchall()
    assert (location, reason) == ("document", "handle_s 'Custom field value for testing' is "
                                  "not a duration in seconds (custom field handle_field)")
