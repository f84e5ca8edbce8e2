"""Amazon Connect contact records (CTRs): ``amazon-connect-ctr``.

The documented contact record JSON ("Data model for Amazon Connect contact records"), one
record per line as the contact-record stream writes it to storage (Kinesis Data Streams /
Firehose → S3); records written back to back on one line (Firehose without a newline
delimiter) are read too. Mapping:

| canonical          | contact record                                                       |
|--------------------|----------------------------------------------------------------------|
| interaction_id     | ContactId                                                            |
| channel            | Channel: VOICE → call, CHAT → chat, TASK → task, EMAIL → email         |
| initiation         | InitiationMethod (inbound, outbound, transfer, callback, api, …)     |
| started_at         | InitiationTimestamp                                                  |
| queue, queued_at   | Queue.Name, Queue.EnqueueTimestamp                                   |
| answered_at        | Agent.ConnectedToAgentTimestamp                                      |
| ended_at           | DisconnectTimestamp                                                  |
| wait_s             | answered − enqueued; unanswered: Queue.Duration                      |
| talk_s, hold_s     | Agent.AgentInteractionDuration, Agent.CustomerHoldDuration           |
| wrap_s, holds      | Agent.AfterContactWorkDuration, Agent.NumberOfHolds                  |
| handle_s           | talk + hold + wrap-up                                                |
| agent_id           | Agent.Username, else Agent.ARN (pseudonymised)                       |
| transfers          | 1 when TransferCompletedTimestamp or TransferredToEndpoint, else 0   |
| abandoned          | queued (Queue.EnqueueTimestamp) and never connected to an agent      |
| user_id            | Attributes[``customer_attribute``] (default customer_id), pseudonymised |
| reason             | Attributes[``reason_attribute``], else ``reason``, ``contact_reason``  |
| resolved, csat     | Attributes ``resolved`` / ``csat`` when a flow sets them             |
| previous_…_id      | PreviousContactId                                                    |
| disconnect_reason  | DisconnectReason                                                     |
| tags               | Tags {key: value} as ``key=value``                                   |
| updated_at         | LastUpdateTimestamp (the newest copy of a re-delivered record wins)  |
| attributes         | the other contact attributes, identifier keys pseudonymised          |

Caller phone numbers (CustomerEndpoint) are never stored: a phone number is not the identity
key that meets web sessions. source is ``amazon-connect`` (or ``amazon-connect:<source>``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Source
from parallax.connectors.files.interaction_rows import (
    CHUNK_ROWS,
    InteractionRows,
    source_name,
)
from parallax.connectors.files.lines import source_lines
from parallax.connectors.files.redact import Redactor
from parallax.errors import FormatError

__all__ = ["FORMATS"]

_CHANNELS = {"VOICE": "call", "CHAT": "chat", "TASK": "task", "EMAIL": "email"}
_DECODER = json.JSONDecoder()


def _sniff(head: bytes) -> bool:
    start = head.lstrip()[:1]
    return start == b"{" and b'"ContactId"' in head and (
        b'"InitiationMethod"' in head or b'"AWSContactTraceRecordFormatVersion"' in head)


def _objects(line: bytes) -> list[Any]:
    """The JSON values on one line: usually one, several when records were concatenated."""
    try:
        return [orjson.loads(line)]
    except orjson.JSONDecodeError:
        text, out, i = line.decode("utf-8", "replace").strip(), [], 0
        while i < len(text):
            obj, i = _DECODER.raw_decode(text, i)  # ValueError when not JSON at all
            out.append(obj)
            while i < len(text) and text[i].isspace():
                i += 1
        return out


def _records(source: Source, ctx: ParseContext) -> Iterator[tuple[str, Any, bytes]]:
    for n, line in source_lines(source):
        try:
            objs = _objects(line)
        except ValueError as exc:
            yield f"line {n}", f"invalid JSON: {str(exc).splitlines()[0]}", line
            continue
        for i, obj in enumerate(objs, 1):
            yield (f"line {n}" if len(objs) == 1 else f"line {n} record {i}"), obj, line


def _values(rec: dict, ctx: ParseContext) -> dict[str, Any]:
    attrs = a if isinstance(a := rec.get("Attributes"), dict) else {}
    agent = g if isinstance(g := rec.get("Agent"), dict) else {}
    queue = q if isinstance(q := rec.get("Queue"), dict) else {}
    customer_key = ctx.options.get("customer_attribute") or "customer_id"
    reason_keys = [k for k in (ctx.options.get("reason_attribute"), "reason", "contact_reason")
                   if k]
    reason = next((attrs[k] for k in reason_keys if attrs.get(k) not in (None, "")), None)
    used = {customer_key, *reason_keys, "resolved", "csat"}
    answered = agent.get("ConnectedToAgentTimestamp")
    transferred = rec.get("TransferCompletedTimestamp") or rec.get("TransferredToEndpoint")
    tags = rec.get("Tags")
    channel = rec.get("Channel")
    return {
        "interaction_id": rec.get("ContactId"),
        "channel": _CHANNELS.get(channel, channel) if isinstance(channel, str) else channel,
        "initiation": rec.get("InitiationMethod"),
        "started_at": rec.get("InitiationTimestamp"),
        "queue": queue.get("Name"),
        "queued_at": queue.get("EnqueueTimestamp"),
        "answered_at": answered,
        "ended_at": rec.get("DisconnectTimestamp"),
        # Answered: derived from the timestamps; abandoned: the time in queue until hang-up.
        "wait_s": None if answered else queue.get("Duration"),
        "talk_s": agent.get("AgentInteractionDuration"),
        "hold_s": agent.get("CustomerHoldDuration"),
        "wrap_s": agent.get("AfterContactWorkDuration"),
        "holds": agent.get("NumberOfHolds"),
        "agent_id": agent.get("Username") or agent.get("ARN"),
        "transfers": 1 if transferred else 0,
        "user_id": attrs.get(customer_key),
        "reason": reason,
        "resolved": attrs.get("resolved"),
        "csat": attrs.get("csat"),
        "previous_interaction_id": rec.get("PreviousContactId"),
        "disconnect_reason": rec.get("DisconnectReason"),
        "tags": [f"{k}={v}" for k, v in tags.items()] if isinstance(tags, dict) else None,
        "updated_at": rec.get("LastUpdateTimestamp"),
        "attributes": {k: v for k, v in attrs.items() if k not in used} or None,
    }


_NAMES = {"interaction_id": "ContactId", "started_at": "InitiationTimestamp",
          "queued_at": "Queue.EnqueueTimestamp", "answered_at": "Agent.ConnectedToAgentTimestamp",
          "ended_at": "DisconnectTimestamp", "talk_s": "Agent.AgentInteractionDuration",
          "hold_s": "Agent.CustomerHoldDuration", "wrap_s": "Agent.AfterContactWorkDuration",
          "holds": "Agent.NumberOfHolds", "wait_s": "Queue.Duration",
          "updated_at": "LastUpdateTimestamp", "resolved": "Attributes.resolved",
          "csat": "Attributes.csat"}


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    rows = InteractionRows(ctx, source_name("amazon-connect", ctx))
    customer_key = ctx.options.get("customer_attribute") or "customer_id"
    redact = Redactor.of(ctx.pseudonymize, ("Address", "Username", customer_key,
                                            f"Attributes.{customer_key}"))
    seen_ctr, first_bad = False, None
    for where, rec, line in _records(source, ctx):
        raw = partial(redact.record, rec if isinstance(rec, dict) else None, line)
        if isinstance(rec, str) or not isinstance(rec, dict) or "ContactId" not in rec:
            why = rec if isinstance(rec, str) else "not a contact record: " + (
                "no ContactId" if isinstance(rec, dict) else
                f"not a JSON object: {type(rec).__name__}")
            first_bad = first_bad or (where, why)
            rows.reject(where, why, raw)
            continue
        seen_ctr = True
        rows.add(where, _values(rec, ctx), raw, _NAMES)
        if len(rows) >= CHUNK_ROWS:
            yield rows.take()
    if not seen_ctr:
        at, why = first_bad or (None, "empty file")
        raise FormatError(ctx.file, f"no Amazon Connect contact record (a JSON object with "
                          f"ContactId) in the file; {why}", at)
    yield rows.take()


FORMATS = [
    FileFormat("amazon-connect-ctr", "interactions", "interactions", _sniff, _parse,
               "Amazon Connect contact records (CTR JSON, one per line, as streamed to S3)"),
]
