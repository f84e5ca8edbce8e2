"""Generic web-vitals files, CSV or NDJSON, one measurement per row → events named
``web_vital`` (the ``web_vitals`` view reads them) and sessions.

Columns are found by common names (case, spaces and underscores ignored); ``--field
canonical=column`` overrides any of them:

| canonical   | column names (first found)                                          |
|-------------|---------------------------------------------------------------------|
| session_id  | session_id, sessionId, sid, session, visit_id — required            |
| url         | url, page, page_url, page_location, page_path, path — required      |
| metric      | metric, metric_name, name, vital — required (LCP, INP, CLS, FCP, TTFB) |
| value       | value, metric_value — required (ms; CLS unitless)                   |
| measured_at | timestamp, measured_at, time, ts, event_time, datetime — required;  |
|             | ISO 8601 (no offset: UTC) or epoch seconds / ms / µs / ns           |
| rating      | rating, metric_rating                                               |
| metric_id   | metric_id, id (the web-vitals library's id: last report wins)        |
| device, user_id | those names (and a few variants)                                 |

A file is this format only if it has a metric and a value column beside session and url (a
page-view file has neither). ``url`` loses query string and fragment; ``route`` goes through
the shared route normalisation; ``user_id`` is pseudonymised. ``event_key`` = keyed hash of
(session, metric, metric_id or time, value), so a re-loaded file changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.analytics_rows import (
    EVENT_SCHEMA,
    Bad,
    Columns,
    SessionAcc,
    dumps_json,
    event_key,
    first_line,
    first_object,
    mac_key,
    to_float,
)
from parallax.connectors.files.pageview_rows import text_value, timestamp_us
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.errors import ConfigError, FormatError

__all__ = ["FORMATS", "METRICS"]

METRICS = frozenset({"LCP", "INP", "CLS", "FCP", "TTFB"})
_ALIASES: dict[str, tuple[str, ...]] = {
    "session_id": ("sessionid", "sid", "session", "visitid"),
    "url": ("url", "page", "pageurl", "pagelocation", "pagepath", "path"),
    "metric": ("metric", "metricname", "name", "vital"),
    "value": ("value", "metricvalue"),
    "measured_at": ("timestamp", "measuredat", "time", "ts", "eventtime", "datetime"),
    "rating": ("rating", "metricrating"),
    "metric_id": ("metricid", "id"),
    "device": ("device", "devicecategory", "devicetype"),
    "user_id": ("userid", "uid", "user", "customerid"),
}
_REQUIRED = ("session_id", "url", "metric", "value", "measured_at")
# Measured by older web-vitals versions, replaced by INP (March 2024) and not rated here: such
# rows are kept out by policy (stored and counted, not counted against the reject rate).
_RETIRED = frozenset({"FID"})


class _Retired(Bad):
    """A row of a metric Parallax does not rate."""


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _resolve(names: list[str], fields: Mapping[str, str]) -> dict[str, str]:
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(_norm(n), n)
    out: dict[str, str] = {}
    for canon, col in fields.items():
        if canon not in _ALIASES:
            raise ConfigError(f"--field {canon}={col}: unknown field {canon!r}; "
                              f"expected one of {', '.join(_ALIASES)}")
        if col in names:
            out[canon] = col
    for canon, aliases in _ALIASES.items():
        if canon not in out and canon not in fields:
            found = next((by_norm[a] for a in aliases if a in by_norm), None)
            if found is not None:
                out[canon] = found
    return out


def _missing(found: Mapping[str, str], names: list[str]) -> str | None:
    for canon in _REQUIRED:
        if canon not in found:
            return (f"no {canon} column (looked for {', '.join(_ALIASES[canon])}; "
                    f"use --field {canon}=COLUMN); columns: {', '.join(names)}")
    return None


def _looks(names: list[str]) -> bool:
    return {"session_id", "url", "metric", "value"} <= _resolve(names, {}).keys()


def _sniff_ndjson(head: bytes) -> bool:
    obj = first_object(head)
    return obj is not None and _looks(list(obj))


def _delimiter(header: str) -> str:
    return max((",", ";", "\t", "|"), key=header.count)


def _sniff_csv(head: bytes) -> bool:
    line = first_line(head)
    if not line or line[:1] in (b"{", b"["):
        return False
    text = line.decode("utf-8", "replace").split("\r", 1)[0]
    try:
        names = next(csv.reader([text], delimiter=_delimiter(text)), [])
    except csv.Error:
        return False
    return _looks(names)


class _Vitals:
    def __init__(self, ctx: ParseContext, source: str) -> None:
        self.ctx, self.source = ctx, source
        self.key = mac_key(ctx.pseudonymize.key)
        self.events = Columns(EVENT_SCHEMA)
        self.sessions = SessionAcc(source)

    def add(self, v: Mapping[str, Any]) -> None:
        sid = text_value(v.get("session_id"))
        if sid is None:
            raise Bad("missing session id")
        raw_url = text_value(v.get("url"))
        if raw_url is None:
            raise Bad("missing url")
        metric = (text_value(v.get("metric")) or "").upper()
        if metric in _RETIRED:
            raise _Retired(f"metric {metric} is retired (replaced by INP): not rated")
        if metric not in METRICS:
            raise Bad(f"metric {v.get('metric')!r} is not one of {', '.join(sorted(METRICS))}"
                      [:200])
        value = to_float(v.get("value"), "value")
        if value is None or value < 0:
            raise Bad(f"value must be a number >= 0: {v.get('value')!r}"[:200])
        raw_ts = v.get("measured_at")
        if raw_ts is None or raw_ts == "":
            raise Bad("missing timestamp")
        ts = timestamp_us(raw_ts)
        metric_id = text_value(v.get("metric_id"))
        props = {"metric": metric, "value": value, "rating": text_value(v.get("rating")),
                 "metric_id": metric_id}
        key = event_key(self.key, [sid, metric, metric_id or ts, value])
        self.events.add(key, sid, ts, "web_vital", strip_url(raw_url), self.ctx.route(raw_url),
                        dumps_json(props).decode(), self.source)
        device = text_value(v.get("device"))
        self.sessions.add(sid, ts, self.ctx.pseudonymize(text_value(v.get("user_id"))),
                          device.lower() if device else None, None, None, False, 0.0)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("events", self.events.take(), records=records, rejects=tuple(rejects))
        yield Chunk("sessions", self.sessions.take())


def _redactor(ctx: ParseContext, found: Mapping[str, str] | None) -> Redactor:
    found = found or {}
    return Redactor.of(ctx.pseudonymize, (found.get("user_id"), "user_id"),
                       (found.get("url"), "url"))


def _parse_csv(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    rows = _Vitals(ctx, "web-vitals-csv")
    with io.TextIOWrapper(source.open(), encoding="utf-8-sig", newline="") as text:
        header = text.readline()
        delim = _delimiter(header)
        names = [n.strip() for n in next(csv.reader([header], delimiter=delim), [])]
        found = _resolve(names, ctx.fields)
        if problem := _missing(found, names):
            raise FormatError(ctx.file, f"not a web-vitals file: {problem}", "line 1")
        index = {canon: names.index(col) for canon, col in found.items()}
        redact = _redactor(ctx, found)
        records, rejects = 0, []
        reader = csv.reader(text, delimiter=delim)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                records += 1
                try:
                    if len(row) != len(names):
                        raise Bad(f"{len(row)} fields, the header has {len(names)}")
                    rows.add({canon: row[i] for canon, i in index.items()})
                except Bad as exc:
                    rejects.append(Reject(f"line {reader.line_num + 1}", str(exc),
                                          redact.cells(names, row, delim),
                                          excluded=isinstance(exc, _Retired)))
        except csv.Error as exc:
            raise FormatError(ctx.file, f"malformed CSV: {exc}",
                              f"line {reader.line_num + 1}") from None
    yield from rows.take(records, rejects)


def _parse_ndjson(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    rows = _Vitals(ctx, "web-vitals-ndjson")
    records, rejects, seen = 0, [], False
    with source.open() as f:
        for lineno, line in enumerate(f, 1):
            if lineno == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            records += 1
            rec: Any = None
            found: dict[str, str] | None = None
            try:
                rec = orjson.loads(line)
                if not isinstance(rec, dict):
                    raise Bad("not a JSON object")
                found = _resolve(list(rec), ctx.fields)
                if problem := _missing(found, list(rec)):
                    raise Bad(problem)
                rows.add({canon: rec.get(key) for canon, key in found.items()})
            except (orjson.JSONDecodeError, Bad) as exc:
                reason = f"invalid JSON: {exc}" if rec is None else str(exc)
                if not seen and not isinstance(exc, _Retired):
                    raise FormatError(ctx.file, f"not a web-vitals record ({reason})",
                                      f"line {lineno}") from None
                rejects.append(Reject(f"line {lineno}", reason,
                                      _redactor(ctx, found).record(rec, line),
                                      excluded=isinstance(exc, _Retired)))
            seen = True
    if not seen:
        raise FormatError(ctx.file, "no measurements: the file is empty")
    yield from rows.take(records, rejects)


FORMATS = [
    FileFormat("web-vitals-csv", "analytics", "events", _sniff_csv, _parse_csv,
               "web vitals, CSV with a header (session, url, metric, value, timestamp)"),
    FileFormat("web-vitals-ndjson", "analytics", "events", _sniff_ndjson, _parse_ndjson,
               "web vitals, one JSON object per line (session, url, metric, value, timestamp)"),
]
