"""Column builders shared by the analytics formats (GA4 export, generic page views): the
Arrow schemas of the staged ``events`` / ``page_views`` / ``sessions`` frames, a column-wise
row collector, the per-chunk session aggregate and the keyed event hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson
import pyarrow as pa

from parallax.connectors.files.lines import strip_bom

__all__ = ["CHUNK_ROWS", "EVENT_SCHEMA", "PAGE_VIEW_SCHEMA", "SESSION_SCHEMA", "Bad", "Columns",
           "SessionAcc", "dumps_json", "event_key", "first_line", "first_object", "loads_exact",
           "mac_key", "to_float"]

_TS = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema([
    ("event_key", pa.string()), ("session_id", pa.string()), ("occurred_at", _TS),
    ("name", pa.string()), ("url", pa.string()), ("route", pa.string()),
    ("properties", pa.string()), ("source", pa.string()),
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
# 19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float (lossy).
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_SORT = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


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
    data = dumps_json(material, sort=True)
    return hashlib.blake2b(data, key=key, digest_size=16).hexdigest()


def loads_exact(line: bytes | str) -> Any:
    """orjson.loads, but an integer beyond 64 bits stays that integer: orjson would make it
    a float, so its digits would differ from those DuckDB keeps. orjson checks the line first
    (its refusals — NaN, a lone surrogate, 1e400 — stand); only a line with a long digit run
    is read again, by the stdlib, which reads every other value as orjson does."""
    obj = orjson.loads(line)
    if _LONG_DIGITS.search(line.encode() if isinstance(line, str) else line):
        try:
            obj = json.loads(line)
        except RecursionError:  # nested deeper than the stdlib goes: orjson's reading stands
            pass
        except ValueError as exc:  # more digits than int() reads
            raise orjson.JSONDecodeError(str(exc), "", 0) from None
    return obj


def dumps_json(obj: Any, sort: bool = False) -> bytes:
    """orjson.dumps; a value holding an integer beyond 64 bits (which orjson refuses) is
    written by the stdlib instead, so such an integer keeps its digits."""
    try:
        return orjson.dumps(obj, option=_SORT if sort else None)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
        return json.dumps(obj, sort_keys=sort, ensure_ascii=False,
                          separators=(",", ":")).encode()


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
    return strip_bom(head).lstrip().split(b"\n", 1)[0].strip()


def first_object(head: bytes) -> dict | None:
    """The file's first line as a JSON object, or None (not one, or cut by the sniff size)."""
    line = first_line(head)
    if not line.startswith(b"{"):
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None
