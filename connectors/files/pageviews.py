"""Generic page-view exports, CSV or NDJSON, one page view per row → page_views, sessions.

Columns are found by common names (case, spaces and underscores ignored); ``--field
canonical=column`` overrides any of them:

| canonical  | column names (first found)                                           |
|------------|----------------------------------------------------------------------|
| session_id | session_id, sessionId, sid, session, visit_id — required             |
| viewed_at  | timestamp, viewed_at, time, ts, event_time, datetime — required;     |
|            | ISO 8601 (no offset: UTC) or epoch seconds / ms / µs / ns            |
| url        | url, page, page_url, page_location, page_path, path — required       |
| referrer   | referrer, referer, page_referrer                                     |
| load_ms    | load_ms, load_time, page_load_ms, load_time_ms, page_load_time       |
| trace_id   | trace_id, trace                                                      |
| user_id    | user_id, uid, user, customer_id                                      |
| device, country, segment, converted, revenue | those names (and a few variants)   |

Rules: ``url`` and ``referrer`` lose query string and fragment; ``route`` goes through the
shared route normalisation; ``user_id`` is pseudonymised. ``event_key`` = keyed hash of
(session_id, viewed_at, url) plus the repeat number of that triple in the file (the load SQL
adds it), so re-loading a file changes nothing while two identical rows stay two views.
Sessions: started/ended = first/last view; device, country, segment and user from the rows;
``converted`` = any row converted or with revenue > 0; ``revenue`` is a session attribute (the
largest value seen for the session: repeat it on every row or give it once — sum several
purchases beforehand), so loading a file twice never doubles it.

Also home of the column builders shared with the GA4 format.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.errors import ConfigError, FormatError

__all__ = ["EVENT_SCHEMA", "FORMATS", "PAGE_VIEW_SCHEMA", "SESSION_SCHEMA", "Bad", "Columns",
           "SessionAcc", "event_key", "first_line", "mac_key", "redact_json", "strip_url",
           "to_float"]

_TS = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema([
    ("event_key", pa.string()), ("session_id", pa.string()), ("occurred_at", _TS),
    ("name", pa.string()), ("route", pa.string()), ("properties", pa.string()),
    ("source", pa.string()),
])
# Staged ``seq`` is the row's position in the file when identical rows are distinct views
# (the load SQL numbers their repeats), NULL when identical rows are one event; the stored
# seq is always the 1-based click-path order the load SQL computes.
PAGE_VIEW_SCHEMA = pa.schema([
    ("event_key", pa.string()), ("session_id", pa.string()), ("seq", pa.int32()),
    ("viewed_at", _TS), ("url", pa.string()), ("route", pa.string()),
    ("referrer", pa.string()), ("load_ms", pa.float64()), ("trace_id", pa.string()),
    ("source", pa.string()),
])
SESSION_SCHEMA = pa.schema([
    ("session_id", pa.string()), ("user_id", pa.string()), ("started_at", _TS),
    ("ended_at", _TS), ("device", pa.string()), ("country", pa.string()),
    ("segment", pa.string()), ("converted", pa.bool_()), ("revenue", pa.float64()),
    ("source", pa.string()),
])
CHUNK_ROWS = 50_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MIN_US, _MAX_US = 0, 4_102_444_800 * 10**6


class Bad(ValueError):
    """A bad record: becomes a Reject with this message as the reason."""


class Columns:
    """Rows collected column-wise; ``take()`` gives an Arrow table and starts afresh."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._start()

    def _start(self) -> None:
        self._cols: list[list] = [[] for _ in self.schema]
        self._appends = [c.append for c in self._cols]

    def __len__(self) -> int:
        return len(self._cols[0])

    def add(self, *values: Any) -> None:
        for append, v in zip(self._appends, values, strict=True):
            append(v)

    def take(self) -> pa.Table:
        table = pa.table(dict(zip(self.schema.names, self._cols, strict=True)), schema=self.schema)
        self._start()
        return table


class SessionAcc:
    """Per-chunk session aggregate; the load SQL merges chunks, files and loads."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._s: dict[str, list] = {}

    def add(self, sid: str, ts: int, user: str | None, device: str | None,
            country: str | None, segment: str | None, converted: bool, revenue: float) -> None:
        s = self._s.get(sid)
        if s is None:
            self._s[sid] = [ts, ts, user, device, country, segment, converted, revenue]
            return
        s[0], s[1] = min(s[0], ts), max(s[1], ts)
        s[2], s[3], s[4], s[5] = s[2] or user, s[3] or device, s[4] or country, s[5] or segment
        s[6] = s[6] or converted
        s[7] = max(s[7], revenue)

    def take(self) -> pa.Table:
        rows = list(self._s.items())
        self._s = {}
        # stored as [started, ended, user, …]; the schema has user_id first
        cols = [[sid for sid, _ in rows]] + [[v[i] for _, v in rows]
                                             for i in (2, 0, 1, 3, 4, 5, 6, 7)]
        cols.append([self.source] * len(rows))
        return pa.table(dict(zip(SESSION_SCHEMA.names, cols, strict=True)), schema=SESSION_SCHEMA)


def mac_key(key: bytes) -> bytes:
    """The pseudonymisation key fitted to keyed BLAKE2b (at most 64 bytes)."""
    return hashlib.sha256(b"parallax event key\0" + key).digest()


def event_key(key: bytes, material: Any) -> str:
    """Keyed hash (BLAKE2b MAC, ``key`` from ``mac_key``): the material may hold identifiers,
    so the key must not be guessable from stored data."""
    data = orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(data, key=key, digest_size=16).hexdigest()


def strip_url(url: str | None) -> str | None:
    """Without query string and fragment: both may carry personal data (emails, tokens)."""
    if not url:
        return None
    return url.split("#", 1)[0].split("?", 1)[0] or None


def to_float(value: Any, what: str = "value", lenient: bool = False) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        if lenient:
            return None
        raise Bad(f"{what} is not a number: {value!r}"[:200]) from None


def first_line(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0].strip()


def redact_json(line: bytes, rec: Any, pseud: Callable, keys: tuple[str, ...]) -> str:
    """A rejected line for the rejects table, identifiers pseudonymised."""
    if isinstance(rec, dict):
        return orjson.dumps({k: pseud(v) if k in keys and v is not None else v
                             for k, v in rec.items()}).decode()
    text = line.decode("utf-8", "replace").rstrip("\n")
    names = "|".join(map(re.escape, keys))
    pattern = rf'("(?:{names})"\s*:\s*)"([^"]*)"'
    return re.sub(pattern, lambda m: f'{m.group(1)}"{pseud(m.group(2))}"', text)


# ------------------------------------------------------------------ the page-view format

_ALIASES: dict[str, tuple[str, ...]] = {
    "session_id": ("sessionid", "sid", "session", "visitid"),
    "viewed_at": ("timestamp", "viewedat", "time", "ts", "eventtime", "datetime"),
    "url": ("url", "page", "pageurl", "pagelocation", "pagepath", "path"),
    "referrer": ("referrer", "referer", "pagereferrer"),
    "load_ms": ("loadms", "loadtime", "pageloadms", "loadtimems", "pageloadtime"),
    "trace_id": ("traceid", "trace"),
    "user_id": ("userid", "uid", "user", "customerid"),
    "device": ("device", "devicecategory", "devicetype"),
    "country": ("country", "countrycode", "geocountry"),
    "segment": ("segment",),
    "converted": ("converted", "conversion", "isconverted"),
    "revenue": ("revenue", "purchaserevenue"),
}
_REQUIRED = ("session_id", "viewed_at", "url")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _resolve(names: list[str], fields: Mapping[str, str]) -> dict[str, str]:
    """canonical → column name; --field mappings first, then common names."""
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
        if canon not in fields:
            col = next((by_norm[a] for a in aliases if a in by_norm), None)
            if col is not None:
                out[canon] = col
    return out


def _missing(found: Mapping[str, str], fields: Mapping[str, str], names: list[str]) -> str | None:
    for canon, col in fields.items():
        if canon not in found:
            return f"column {col!r} (--field {canon}={col}) not found; columns: {', '.join(names)}"
    for canon in _REQUIRED:
        if canon not in found:
            return (f"no {canon} column (looked for {', '.join(_ALIASES[canon])}; "
                    f"use --field {canon}=COLUMN)")
    return None


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, bool | dict | list):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _epoch_us(n: float) -> int:
    a = abs(n)
    scale = 10**6 if a < 1e11 else 10**3 if a < 1e14 else 1 if a < 1e17 else 10**-3
    return round(n * scale) if scale >= 1 else int(n) // 1000


def _timestamp(v: Any) -> int:
    if isinstance(v, int | float) and not isinstance(v, bool):
        us = _epoch_us(v)
    else:
        s = str(v).strip()
        try:
            us = _epoch_us(int(s)) if s.isdigit() else _epoch_us(float(s))
        except (ValueError, OverflowError):
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                raise Bad(f"unrecognised timestamp {s!r}"[:200]) from None
            us = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)) - _EPOCH
            us = us // _US
    if not _MIN_US <= us < _MAX_US:
        raise Bad(f"timestamp {v!r} out of range")
    return us


def _bool(v: Any) -> bool | None:
    if v is None or v == "":
        return None
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Bad(f"converted is not a boolean: {v!r}"[:200])


class _Views:
    def __init__(self, ctx: ParseContext, source: str) -> None:
        self.ctx, self.source = ctx, source
        self.key = mac_key(ctx.pseudonymize.key)
        self.views = Columns(PAGE_VIEW_SCHEMA)
        self.sessions = SessionAcc(source)
        self.position = 0

    def add(self, v: Mapping[str, Any]) -> None:
        sid = _text(v.get("session_id"))
        if sid is None:
            raise Bad("missing session id")
        raw_ts = v.get("viewed_at")
        if raw_ts is None or raw_ts == "":
            raise Bad("missing timestamp")
        ts = _timestamp(raw_ts)
        raw_url = _text(v.get("url"))
        if raw_url is None:
            raise Bad("missing url")
        load_ms = to_float(v.get("load_ms"), "load_ms")
        if load_ms is not None and load_ms < 0:
            raise Bad(f"load_ms is negative: {load_ms}")
        revenue = to_float(v.get("revenue"), "revenue") or 0.0
        converted = bool(_bool(v.get("converted"))) or revenue > 0
        url = strip_url(raw_url)
        trace = _text(v.get("trace_id"))
        self.position += 1
        self.views.add(event_key(self.key, [sid, ts, url]), sid, self.position, ts, url,
                       self.ctx.route(raw_url), strip_url(_text(v.get("referrer"))),
                       load_ms, trace.lower() if trace else None, self.source)
        self.sessions.add(sid, ts, self.ctx.pseudonymize(_text(v.get("user_id"))),
                          _text(v.get("device")), _text(v.get("country")),
                          _text(v.get("segment")), converted, revenue)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("page_views", self.views.take(), records=records, rejects=tuple(rejects))
        yield Chunk("sessions", self.sessions.take())


def _sniff_ndjson(head: bytes) -> bool:
    line = first_line(head)
    if not line.startswith(b"{"):
        return False
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(obj, dict) and {"session_id", "url"} <= _resolve(list(obj), {}).keys()


def _delimiter(header: str) -> str:
    return max((",", ";", "\t", "|"), key=header.count)


def _sniff_csv(head: bytes) -> bool:
    line = first_line(head)
    if not line or line[:1] in (b"{", b"["):
        return False
    text = line.decode("utf-8", "replace")
    names = next(csv.reader([text], delimiter=_delimiter(text)), [])
    return {"session_id", "url"} <= _resolve(names, {}).keys()


def _parse_csv(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    views = _Views(ctx, "pageviews-csv")
    with io.TextIOWrapper(source.open(), encoding="utf-8-sig", newline="") as text:
        header_line = text.readline()
        delim = _delimiter(header_line)
        names = [n.strip() for n in next(csv.reader([header_line], delimiter=delim), [])]
        found = _resolve(names, ctx.fields)
        if problem := _missing(found, ctx.fields, names):
            raise FormatError(ctx.file, f"not a page-view file: {problem}", "line 1")
        index = {canon: names.index(col) for canon, col in found.items()}
        user_at = index.get("user_id")
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
                    views.add({canon: row[i] for canon, i in index.items()})
                except Bad as exc:
                    if user_at is not None and user_at < len(row):
                        row = [*row[:user_at], ctx.pseudonymize(row[user_at]) or "",
                               *row[user_at + 1:]]
                    raw = delim.join(row)
                    rejects.append(Reject(f"line {reader.line_num + 1}", str(exc), raw))
                if len(views.views) >= CHUNK_ROWS:
                    yield from views.take(records, rejects)
                    records, rejects = 0, []
        except csv.Error as exc:
            raise FormatError(ctx.file, f"malformed CSV: {exc}",
                              f"line {reader.line_num + 1}") from None
    yield from views.take(records, rejects)


def _parse_ndjson(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    views = _Views(ctx, "pageviews-ndjson")
    mappings: dict[tuple, dict[str, str]] = {}  # key set → canonical → key (rows share shapes)
    records, rejects, seen_first = 0, [], False
    with source.open() as f:
        for lineno, line in enumerate(f, 1):
            if lineno == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            records += 1
            rec = None
            try:
                rec = orjson.loads(line)
                if not isinstance(rec, dict):
                    raise Bad("not a JSON object")
                shape = tuple(rec)
                found = mappings.get(shape)
                if found is None:
                    found = mappings[shape] = _resolve(list(rec), ctx.fields)
                    if not seen_first and (problem := _missing(found, ctx.fields, list(rec))):
                        raise FormatError(ctx.file, f"not a page-view record: {problem}",
                                          f"line {lineno}")
                views.add({canon: rec.get(key) for canon, key in found.items()})
            except (orjson.JSONDecodeError, Bad) as exc:
                reason = f"invalid JSON: {exc}" if rec is None else str(exc)
                if not seen_first:
                    raise FormatError(ctx.file, f"not a page-view record ({reason})",
                                      f"line {lineno}") from None
                user_key = (ctx.fields.get("user_id"), *_ALIASES["user_id"], "user_id", "userId")
                raw = redact_json(line, rec, ctx.pseudonymize, tuple(k for k in user_key if k))
                rejects.append(Reject(f"line {lineno}", reason, raw))
            seen_first = True
            if len(views.views) >= CHUNK_ROWS:
                yield from views.take(records, rejects)
                records, rejects = 0, []
    if not seen_first:
        raise FormatError(ctx.file, "no page views: the file is empty")
    yield from views.take(records, rejects)


FORMATS = [
    FileFormat("pageviews-csv", "analytics", "page_views", _sniff_csv, _parse_csv,
               "page views, CSV with a header (session, timestamp, url, … columns)"),
    FileFormat("pageviews-ndjson", "analytics", "page_views", _sniff_ndjson, _parse_ndjson,
               "page views, one JSON object per line"),
]
