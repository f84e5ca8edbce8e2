"""Generic contact-centre exports: ``interactions-csv`` and ``interactions-ndjson``.

One contact per CSV row (header row; comma, semicolon or tab) or per JSON line (nested objects
read as dotted keys). Columns are found in three steps, a column serving one field only:
``--field canonical=column`` first, then a column named exactly like the canonical field
(``hold_s``, ``holds``), then common names compared without case, ``_``, ``.``, ``-`` and
spaces (``COMMON_NAMES``: contact_id, call_id, ticket_id → interaction_id; customer_id →
user_id; talk_time, hold_time, acw, wrap_up_time → talk_s, hold_s, wrap_s; …).

Durations are seconds (numbers or ``[H:]MM:SS``); flags yes/no, true/false, 1/0; times ISO
8601 or epoch, UTC when they carry no offset. ``wait_s``, ``handle_s`` and ``abandoned`` are
derived when absent (``interaction_rows``). Columns not mapped are kept in ``attributes``
(identifier keys pseudonymised). source is ``interactions`` (or ``interactions:<source>``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Source
from parallax.connectors.files.interaction_rows import (
    CHUNK_ROWS,
    FIELDS,
    InteractionRows,
    source_name,
)
from parallax.connectors.files.lines import source_lines
from parallax.connectors.files.redact import Redactor
from parallax.connectors.files.survey import flatten, norm
from parallax.errors import ConfigError, FormatError

__all__ = ["COMMON_NAMES", "FORMATS", "resolve_columns"]

COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "interaction_id": ("interactionid", "contactid", "callid", "ticketid", "caseid",
                       "conversationid", "id"),
    "channel": ("channel", "mediatype", "media"),
    "user_id": ("customerid", "userid", "enduserid", "accountid"),
    "queue": ("queue", "queuename", "skill", "group"),
    "started_at": ("startedat", "starttime", "start", "initiationtimestamp", "createdat",
                   "timestamp", "datetime", "date"),
    "queued_at": ("queuedat", "enqueuedat", "enqueuetime", "enqueuetimestamp"),
    "answered_at": ("answeredat", "connectedat", "answertime", "connectedtoagenttimestamp"),
    "ended_at": ("endedat", "endtime", "end", "disconnectedat", "disconnecttimestamp",
                 "solvedat", "closedat"),
    "wait_s": ("waits", "waittime", "wait", "queuetime", "speedofanswer", "waitseconds"),
    "talk_s": ("talks", "talktime", "talk", "talkseconds", "agentinteractionduration"),
    "hold_s": ("holdtime", "holdseconds", "holdduration", "customerholdduration"),
    "wrap_s": ("wraps", "wraptime", "wrapup", "wrapuptime", "acw", "aftercallwork",
               "aftercontactwork", "aftercontactworkduration"),
    "handle_s": ("handles", "handletime", "handle", "handleseconds", "aht"),
    "holds": ("numberofholds", "holdcount", "holds"),
    "transfers": ("transfers", "transfercount", "numberoftransfers"),
    "abandoned": ("abandoned", "isabandoned", "abandon"),
    "initiation": ("initiation", "initiationmethod", "direction"),
    "disconnect_reason": ("disconnectreason",),
    "previous_interaction_id": ("previousinteractionid", "previouscontactid", "parentid"),
    "resolved": ("resolved", "isresolved", "solved"),
    "resolved_first_contact": ("resolvedfirstcontact", "fcr", "firstcontactresolution"),
    "reason": ("reason", "contactreason", "calldriver", "reasoncode", "disposition",
               "category", "topic"),
    "agent_id": ("agentid", "agent", "agentname", "assignee", "assigneeid"),
    "verbatim": ("verbatim", "comment", "notes", "transcript", "description", "text"),
    "csat": ("csat", "csatscore", "satisfaction", "rating", "score"),
    "tags": ("tags", "labels"),
    "updated_at": ("updatedat", "lastupdated", "lastupdatetimestamp"),
}
_SNIFF = frozenset(COMMON_NAMES["interaction_id"][:-1]) | {"handletime", "talktime", "aht",
                                                           "waittime", "acw"}


def resolve_columns(names: Sequence[str], fields: Mapping[str, str], file: str,
                    *, strict: bool = True) -> dict[str, str]:
    """canonical field → column: ``--field``, then exact canonical names, then common names."""
    bad = sorted(set(fields) - set(FIELDS))
    if bad:
        raise ConfigError(f"--field {bad[0]}: not an interaction field "
                          f"(expected one of {', '.join(FIELDS)})")
    cols: dict[str, str] = {}
    for canonical, col in fields.items():
        if col not in names and strict:
            raise FormatError(file, f"--field {canonical}={col}: no such column", "row 1")
        cols[canonical] = col
    taken = set(cols.values())
    lower = {n.lower(): n for n in names}
    for canonical in FIELDS:
        if canonical not in cols and canonical in lower and lower[canonical] not in taken:
            cols[canonical] = lower[canonical]
            taken.add(lower[canonical])
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(norm(n), n)
    for canonical, common in COMMON_NAMES.items():
        if canonical in cols:
            continue
        found = next((by_norm[c] for c in common if c in by_norm and by_norm[c] not in taken),
                     None)
        if found is not None:
            cols[canonical] = found
            taken.add(found)
    return cols


def _delimiter(line: str) -> str:
    return max((",", ";", "\t"), key=line.count)


def _sniff_csv(head: bytes) -> bool:
    line = head.decode("utf-8-sig", errors="ignore").split("\n", 1)[0].split("\r", 1)[0]
    if not line.strip() or line.lstrip().startswith(("{", "[")):
        return False
    try:
        cols = next(csv.reader([line], delimiter=_delimiter(line)), [])
    except csv.Error:  # binary junk: not a CSV header
        return False
    return any(norm(c) in _SNIFF for c in cols)


def _sniff_ndjson(head: bytes) -> bool:
    line = head.decode("utf-8-sig", errors="ignore").lstrip().split("\n", 1)[0]
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(rec, dict) and any(norm(k) in _SNIFF for k in flatten(rec))


def _add(rows: InteractionRows, where: str, rec: Mapping[str, Any], cols: Mapping[str, str],
         raw: Any) -> None:
    values: dict[str, Any] = {c: rec.get(k) for c, k in cols.items()}
    used = set(cols.values())
    values["attributes"] = {k: v for k, v in rec.items()
                            if k not in used and v not in (None, "")} or None
    rows.add(where, values, raw, {c: f"column {k}" for c, k in cols.items()})


def _parse_csv(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    rows = InteractionRows(ctx, source_name("interactions", ctx))
    with source.open() as raw_file:
        text = io.TextIOWrapper(raw_file, encoding="utf-8-sig", newline="", errors="replace")
        first = text.readline()
        delimiter = _delimiter(first)
        header = [c.strip() for c in next(csv.reader([first], delimiter=delimiter), [])]
        if not any(header):
            raise FormatError(ctx.file, "empty file: no header row", "row 1")
        cols = resolve_columns(header, ctx.fields, ctx.file)
        if "interaction_id" not in cols:
            raise FormatError(ctx.file, "no interaction id column (interaction_id, contact_id, "
                              "call_id, ticket_id…); use --field interaction_id=COLUMN", "row 1")
        redact = Redactor.of(ctx.pseudonymize, (cols.get("user_id"), cols.get("agent_id")))
        try:
            for n, cells in enumerate(csv.reader(text, delimiter=delimiter), 2):
                if not any(c.strip() for c in cells):
                    continue
                raw = partial(redact.cells, header, cells, delimiter)
                if len(cells) != len(header):
                    rows.reject(f"row {n}", f"{len(cells)} cells, the header has {len(header)}",
                                raw)
                    continue
                _add(rows, f"row {n}", dict(zip(header, cells, strict=True)), cols, raw)
                if len(rows) >= CHUNK_ROWS:
                    yield rows.take()
        except csv.Error as exc:
            raise FormatError(ctx.file, f"not a readable CSV file: {exc}") from None
    yield rows.take()


def _parse_ndjson(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    rows = InteractionRows(ctx, source_name("interactions", ctx))
    resolved: dict[tuple, dict[str, str]] = {}
    found = False
    for n, line in source_lines(source):
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            rec = f"invalid JSON: {exc}"
        if not isinstance(rec, dict):
            why = rec if isinstance(rec, str) else f"not a JSON object: {type(rec).__name__}"
            rows.reject(f"line {n}", why, Redactor.of(ctx.pseudonymize).record(None, line))
            continue
        flat = flatten(rec)
        key = tuple(flat)
        if key not in resolved:
            resolved[key] = resolve_columns(list(flat), ctx.fields, ctx.file, strict=False)
        cols = resolved[key]
        found = found or "interaction_id" in cols
        redact = Redactor.of(ctx.pseudonymize, (cols.get("user_id"), cols.get("agent_id")))
        _add(rows, f"line {n}", flat, cols, partial(redact.record, rec, line))
        if len(rows) >= CHUNK_ROWS:
            yield rows.take()
    if not found:
        raise FormatError(ctx.file, "no record has an interaction id (interaction_id, "
                          "contact_id, call_id, ticket_id…); use --field interaction_id=KEY")
    yield rows.take()


FORMATS = [
    FileFormat("interactions-ndjson", "interactions", "interactions", _sniff_ndjson,
               _parse_ndjson, "Contacts, one JSON object per line (contact id, times, …)"),
    FileFormat("interactions-csv", "interactions", "interactions", _sniff_csv, _parse_csv,
               "Contacts as CSV with a header row (contact id, times, durations, …)"),
]
