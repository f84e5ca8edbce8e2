"""One generic page-view record → a ``page_views`` row and its session's aggregate: columns
found by common names or ``--field``, timestamps, numbers and flags read leniently, and the
scrubbing of a rejected row (format and rules: ``pageviews``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.analytics_rows import (
    PAGE_VIEW_SCHEMA,
    Bad,
    Columns,
    SessionAcc,
    event_key,
    mac_key,
    to_float,
)
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.errors import ConfigError

__all__ = ["Views", "missing", "redactor", "resolve", "text_value", "timestamp_us"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MIN_US, _MAX_US = 0, 4_102_444_800 * 10**6


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


def resolve(names: list[str], fields: Mapping[str, str]) -> dict[str, str]:
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
            found = next((by_norm[a] for a in aliases if a in by_norm), None)
            if found is not None:
                out[canon] = found
    return out


def missing(found: Mapping[str, str], fields: Mapping[str, str], names: list[str]) -> str | None:
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
            us = ((dt if dt.tzinfo else dt.replace(tzinfo=UTC)) - _EPOCH) // _US
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


class Views:
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


# Shared with the other generic row formats (web vitals): same leniency for the same columns.
text_value = _text
timestamp_us = _timestamp


def redactor(ctx: ParseContext, found: Mapping[str, str] | None) -> Redactor:
    """Scrubs a rejected row; ``found`` None (no column mapping): any user-id-like key."""
    if found is None:
        users = (ctx.fields.get("user_id"), *_ALIASES["user_id"], "user_id", "userId")
        return Redactor.of(ctx.pseudonymize, users, ("url", "referrer"))
    return Redactor.of(ctx.pseudonymize, (found.get("user_id"),),
                       (found.get("url"), found.get("referrer")))
