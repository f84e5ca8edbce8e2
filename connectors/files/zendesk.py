"""Zendesk tickets: ``zendesk-tickets``.

The ticket JSON of Zendesk's incremental export API (``/api/v2/incremental/tickets.json`` and
``…/tickets/cursor.json``): a page ``{"tickets": [...], "end_of_stream": …}`` as one document,
pages one per line, one ticket object per line, or one ticket as ``GET
/api/v2/tickets/{id}.json`` returns it (``{"ticket": {...}}``). Sideloaded ``metric_sets``
(``include=metric_sets``), ``users`` and ``ticket_metric_events`` in the same page are read; so is a
ticket's own ``metric_set``. Mapping:

* interaction_id ← id; channel ← via.channel (voice → call, chat / native_messaging →
  chat, mobile → app, email, web, …); tags, updated_at ← tags, updated_at (the newest copy
  of a ticket wins).
* started_at and queued_at ← created_at (a ticket waits from its creation); answered_at ←
  created_at + wait; ended_at ← metric_set.solved_at (null when unsolved or no metric set).
* wait_s ← the first reply time: metric_set.reply_time_in_minutes.calendar × 60, else the
  first ``reply_time`` ``fulfill`` metric event − created_at; else null (the ticket alone
  does not carry it).
* resolved ← status solved or closed; csat ← satisfaction_rating.score good → 1, bad → 0,
  offered / unoffered → null.
* Custom fields are found by title in the ticket-fields export (``GET
  /api/v2/ticket_fields``): the ``ticket_fields`` option (a path), else ``ticket_fields.json``
  beside the tickets, else ``ticket_fields`` sideloaded in the page. The reason field's title
  contains "contact reason" or "reason"; the customer field's "customer id", "customer
  number", "customer login" or "login id"; the handle field's "handle time", "handling time"
  or "time spent". The options ``reason_field``, ``customer_field``, ``handle_field`` (field
  ids) win over titles.
* reason ← the reason field, else the first tag that starts with ``reason_tag_prefix``
  (default ``reason_``), without the prefix.
* user_id ← the customer field (the customer's login id, which meets web sessions), else
  the requester's ``external_id``, else its ``email`` (when the page sideloads ``users``),
  else requester_id (Zendesk's own user id); agent_id ← assignee_id; all pseudonymised.
  queue ← group_id.
* handle_s ← the handle field (e.g. a time-tracking field, seconds), else null.
* previous_interaction_id ← via.source.from.ticket_id of a follow-up ticket.
* verbatim ← subject and description (e-mail addresses and phone numbers pseudonymised).

Null by nature: talk / hold / wrap-up, holds, transfers and abandoned (a ticket is not a
queue call), initiation (not recorded). Deleted tickets (status ``deleted``) are kept out as
excluded rejects. source is ``zendesk`` (or ``zendesk:<source>``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Source
from parallax.connectors.files.interaction_rows import (
    CHUNK_ROWS,
    InteractionRows,
    as_time,
    source_name,
)
from parallax.connectors.files.lines import numbered_lines, strip_bom
from parallax.connectors.files.redact import Redactor
from parallax.errors import ConfigError, FormatError

__all__ = ["FORMATS"]

_CSAT = {"good": 1.0, "bad": 0.0}


def _sniff(head: bytes) -> bool:
    text = head.lstrip()[:1]
    if text != b"{":
        return False
    first = head.lstrip()[:400].replace(b" ", b"").replace(b"\n", b"")
    return first.startswith(b'{"tickets":[') or first.startswith(b'{"tickets":') or (
        b'"requester_id"' in head and b'"via"' in head and b'"ContactId"' not in head)


def _pages(source: Source, ctx: ParseContext) -> Iterator[tuple[str, Any, bytes]]:
    """(location, page-or-ticket-or-error, raw) — one document, or one JSON value per line."""
    with source.open() as f:
        data = f.read()
    data = strip_bom(data)
    lines = [ln for ln in data.splitlines() if ln.strip()]
    if not lines:
        raise FormatError(ctx.file, "empty file: no tickets")
    try:
        orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        try:  # not one value per line: a (pretty-printed) page document
            yield "document", orjson.loads(data), data
        except orjson.JSONDecodeError as exc:
            raise FormatError(ctx.file, f"not Zendesk ticket JSON: {exc}") from None
        return
    for n, line in numbered_lines(data.splitlines()):
        try:
            yield f"line {n}", orjson.loads(line), line
        except orjson.JSONDecodeError as exc:
            yield f"line {n}", f"invalid JSON: {exc}", line


def _metric_sets(page: dict) -> dict[Any, dict]:
    sets = {m.get("ticket_id"): m for m in page.get("metric_sets") or []
            if isinstance(m, dict)}
    for e in page.get("ticket_metric_events") or []:
        if (isinstance(e, dict) and e.get("metric") == "reply_time"
                and e.get("type") == "fulfill" and e.get("instance_id", 1) == 1):
            sets.setdefault(e.get("ticket_id"), {}).setdefault("_first_reply_at", e.get("time"))
    return sets


def _custom(ticket: dict, field_id: str | None) -> Any:
    if not field_id:
        return None
    for f in ticket.get("custom_fields") or ticket.get("fields") or []:
        if isinstance(f, dict) and str(f.get("id")) == field_id:
            return f.get("value")
    return None


# Custom field titles (lower case, contained) per role, first match wins.
_TITLES = {"reason_field": ("contact reason", "reason"),
           "customer_field": ("customer id", "customer number", "customer login", "login id"),
           "handle_field": ("handle time", "handling time", "time spent")}


def _fields_doc(ctx: ParseContext) -> Any:
    """The ticket-fields export: the ``ticket_fields`` option, else ticket_fields.json
    beside the tickets; None when there is none."""
    given = ctx.options.get("ticket_fields")
    path = Path(given) if given else Path(ctx.file).parent / "ticket_fields.json"
    if not given and not path.is_file():
        return None
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{ctx.file}: cannot read the ticket fields {path}: "
                          f"{exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise FormatError(str(path), f"ticket fields are not JSON: {exc}") from None


def field_ids(ctx: ParseContext, fields: Any) -> dict[str, str]:
    """reason_field / customer_field / handle_field → custom field id: the options first,
    else the active custom field whose title names the role."""
    listed = fields.get("ticket_fields") if isinstance(fields, dict) else fields
    out = {}
    for role, words in _TITLES.items():
        if ctx.options.get(role):
            out[role] = str(ctx.options[role])
            continue
        for word in words:
            hit = next((f for f in listed or () if isinstance(f, dict) and f.get("active", True)
                        and word in str(f.get("title") or f.get("raw_title") or "").lower()),
                       None)
            if hit is not None:
                out[role] = str(hit.get("id"))
                break
    return out


def _requester(ticket: dict, users: dict) -> Any:
    """The requester's own id where the page sideloads users: external_id (the shop's
    customer id), else e-mail — either may meet web sessions; Zendesk's id never does."""
    user = users.get(ticket.get("requester_id")) or {}
    return user.get("external_id") or user.get("email")


def _wait(ticket: dict, metrics: dict) -> float | None:
    reply = metrics.get("reply_time_in_minutes")
    if isinstance(reply, dict) and reply.get("calendar") is not None:
        return float(reply["calendar"]) * 60.0
    created, first = as_time(ticket.get("created_at")), as_time(metrics.get("_first_reply_at"))
    return (first - created).total_seconds() if created and first and first >= created else None


def _values(ticket: dict, metrics: dict, ids: dict[str, str],
            customer: Any, ctx: ParseContext) -> dict[str, Any]:
    via = v if isinstance(v := ticket.get("via"), dict) else {}
    src = s if isinstance(s := via.get("source"), dict) else {}
    origin = o if isinstance(o := src.get("from"), dict) else {}
    tags = [t for t in ticket.get("tags") or [] if isinstance(t, str)]
    prefix = ctx.options.get("reason_tag_prefix", "reason_")
    reason = _custom(ticket, ids.get("reason_field")) or next(
        (t[len(prefix):] for t in tags if prefix and t.startswith(prefix)), None)
    rating = ticket.get("satisfaction_rating")
    score = rating.get("score") if isinstance(rating, dict) else None
    wait = _wait(ticket, metrics)
    created = as_time(ticket.get("created_at"))
    status = ticket.get("status")
    text = "\n".join(str(t) for t in (ticket.get("subject"), ticket.get("description")) if t)
    return {
        "interaction_id": ticket.get("id"), "channel": via.get("channel"),
        "started_at": created, "queued_at": created,
        "answered_at": created + timedelta(seconds=wait) if created and wait is not None
        else None,
        "wait_s": wait, "ended_at": metrics.get("solved_at"),
        "resolved": status in ("solved", "closed") if status else None,
        "csat": _CSAT.get(score) if isinstance(score, str) else None,
        "reason": reason,
        "user_id": customer or ticket.get("requester_id"),
        "agent_id": ticket.get("assignee_id"), "queue": ticket.get("group_id"),
        "handle_s": _custom(ticket, ids.get("handle_field")),
        "previous_interaction_id": origin.get("ticket_id") if src.get("rel") == "follow_up"
        else None,
        "tags": tags or None, "updated_at": ticket.get("updated_at"), "verbatim": text or None,
        "attributes": {k: v for k, v in {
            "status": status, "priority": ticket.get("priority"), "type": ticket.get("type"),
            "satisfaction": score, "reopens": metrics.get("reopens"),
            "replies": metrics.get("replies"), "brand_id": ticket.get("brand_id"),
        }.items() if v is not None} or None,
    }


_NAMES = {"interaction_id": "id", "started_at": "created_at", "ended_at": "metric_set.solved_at",
          "updated_at": "updated_at", "handle_s": "custom field handle_field"}


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    rows = InteractionRows(ctx, source_name("zendesk", ctx), infer_abandoned=False)
    # A rejected ticket keeps its fields for diagnosis, but not the customer's own words.
    redact = Redactor.of(ctx.pseudonymize, ("requester_id", "submitter_id", "assignee_id",
                                            "email", "collaborator_ids", "follower_ids"),
                         hidden=("subject", "raw_subject", "description"))
    tickets = 0
    linked = {"with a reason": 0, "with a customer link": 0}  # said in the ingest summary
    ids = field_ids(ctx, _fields_doc(ctx))
    for where, value, raw_line in _pages(source, ctx):
        if isinstance(value, str):
            rows.reject(where, value, partial(redact.record, None, raw_line))
            continue
        page = value if isinstance(value, dict) and "tickets" in value else {"tickets": [value]}
        if isinstance(value, dict) and isinstance(value.get("ticket"), dict):
            # GET /api/v2/tickets/{id}.json: one ticket, with the same sideloads as a page
            page = {**value, "tickets": [value["ticket"]]}
        sets = _metric_sets(page)
        if isinstance(page.get("ticket_fields"), list):  # sideloaded by the pull
            ids = {**field_ids(ctx, page["ticket_fields"]), **ids}
        users = {u.get("id"): u for u in page.get("users") or () if isinstance(u, dict)}
        batch = b if isinstance(b := page.get("tickets"), list) else []
        for i, ticket in enumerate(batch, 1):
            at = f"{where} ticket {i}" if page is value else where
            raw = partial(redact.record, ticket, b"")
            if not isinstance(ticket, dict) or "id" not in ticket:
                rows.reject(at, "not a Zendesk ticket: no id", raw)
                continue
            tickets += 1
            if ticket.get("status") == "deleted":
                rows.reject(at, "deleted ticket", raw, excluded=True)
                continue
            metrics = m if isinstance(m := ticket.get("metric_set"), dict) \
                else sets.get(ticket["id"], {})
            customer = _custom(ticket, ids.get("customer_field")) or _requester(ticket, users)
            try:
                values = _values(ticket, metrics, ids, customer, ctx)
            except ValueError as exc:
                rows.reject(at, str(exc), raw)
                continue
            kept = rows.kept
            rows.add(at, values, raw, _NAMES)
            if rows.kept > kept:  # a rejected ticket links nothing
                # a customer link is an id that can meet web sessions: not Zendesk's own
                linked["with a reason"] += values["reason"] is not None
                linked["with a customer link"] += customer is not None
            if len(rows) >= CHUNK_ROWS:
                yield rows.take()
    if not tickets:
        raise FormatError(ctx.file, 'no Zendesk ticket (an object with "id", or a page with '
                          '"tickets") in the file')
    last = rows.take()
    yield dataclasses.replace(last, notes=(("tickets", tickets), *linked.items()))


FORMATS = [
    FileFormat("zendesk-tickets", "interactions", "interactions", _sniff, _parse,
               "Zendesk tickets (incremental export pages or one ticket per line)",
               companions=("ticket_fields.json",)),
]
