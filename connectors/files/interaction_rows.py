"""Contact-centre interactions in the canonical ``interactions`` shape, shared by the Amazon
Connect, Zendesk and generic formats: value parsing, derived fields and the row builder.

A format maps its record to a dict of canonical values (``FIELDS``); ``InteractionRows.add``
checks and completes it:

* ``interaction_id`` is required; ``started_at`` falls back to queued / answered time and is
  required too (every metric is placed in time by it).
* ``wait_s`` = answered − queued when not given; ``handle_s`` = talk + hold + wrap-up when
  not given and talk time is known (a missing hold or wrap-up counts 0); ``abandoned`` =
  queued and never answered when the format says that rule applies (``infer_abandoned``).
* Durations are seconds: numbers, or ``HH:MM:SS`` / ``MM:SS`` text; negative ones reject.
* ``user_id`` and ``agent_id`` are pseudonymised; a verbatim keeps its words but e-mail
  addresses and phone numbers become ``[email:…]`` / ``[phone:…]`` pseudonyms.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from parallax.connectors.arrays import column  # pa.array would import pandas (arrays.py)
from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.survey_rows import cell_text, parse_time

__all__ = ["CHUNK_ROWS", "FIELDS", "INTERACTION_SCHEMA", "InteractionRows", "Raw", "as_time",
           "channel_of", "parse_bool", "parse_duration", "redact_verbatim", "source_name"]

CHUNK_ROWS = 20_000
Raw = str | Callable[[], str] | None

INTERACTION_SCHEMA = pa.schema([
    ("interaction_id", pa.string()), ("source", pa.string()), ("channel", pa.string()),
    ("user_id", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")),
    ("wait_s", pa.float64()), ("handle_s", pa.float64()),
    ("resolved_first_contact", pa.bool_()), ("reason", pa.string()), ("agent_id", pa.string()),
    ("verbatim", pa.string()), ("csat", pa.float64()), ("queue", pa.string()),
    ("queued_at", pa.timestamp("us", tz="UTC")), ("answered_at", pa.timestamp("us", tz="UTC")),
    ("ended_at", pa.timestamp("us", tz="UTC")), ("talk_s", pa.float64()),
    ("hold_s", pa.float64()), ("wrap_s", pa.float64()), ("holds", pa.int32()),
    ("transfers", pa.int32()), ("abandoned", pa.bool_()), ("initiation", pa.string()),
    ("disconnect_reason", pa.string()), ("previous_interaction_id", pa.string()),
    ("resolved", pa.bool_()), ("tags", pa.list_(pa.string())), ("attributes", pa.string()),
    ("updated_at", pa.timestamp("us", tz="UTC")),
])
# Canonical fields a format (or ``--field``) may fill; ``source`` is the format's.
FIELDS = tuple(f.name for f in INTERACTION_SCHEMA if f.name != "source")
_TIMES = ("started_at", "queued_at", "answered_at", "ended_at", "updated_at")
_SECONDS = ("wait_s", "handle_s", "talk_s", "hold_s", "wrap_s")
_COUNTS = ("holds", "transfers")
_FLAGS = ("abandoned", "resolved", "resolved_first_contact")

# Vendor channel names → the canonical few (call | chat | email | task | web | app | social).
_CHANNELS = {
    "voice": "call", "phone": "call", "call": "call", "telephony": "call", "calls": "call",
    "chat": "chat", "native_messaging": "chat", "messaging": "chat", "whatsapp": "chat",
    "sms": "chat", "line": "chat", "wechat": "chat", "email": "email", "mail": "email",
    "task": "task", "web": "web", "web_form": "web", "webform": "web", "help_center": "web",
    "mobile": "app", "mobile_sdk": "app", "app": "app", "twitter": "social",
    "facebook": "social", "instagram_dm": "social", "any_channel": "other",
}
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "solved", "resolved"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "unresolved"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone number: starts with +, a trunk 0 or an area code in brackets; 9-15 digits in all.
# Order and ticket numbers rarely start that way, so they are kept.

def channel_of(value: Any) -> str | None:
    text = cell_text(value)
    return None if text is None else _CHANNELS.get(text.lower(), text.lower())


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or ``[H:]MM:SS`` text; ``ValueError`` when unreadable/negative."""
    text = cell_text(value)
    if text is None:
        return None
    m = _CLOCK.match(text)
    try:
        x = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m \
            else float(text.replace(",", "."))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a duration in seconds") from None
    if not x >= 0 or x == float("inf"):
        raise ValueError(f"{text[:40]!r} is not a duration in seconds (negative or not finite)")
    return x


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = (cell_text(value) or "").lower()
    if not text:
        return None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"{text[:40]!r} is not yes/no")


def _count(value: Any) -> int | None:
    x = parse_duration(value)
    if x is None:
        return None
    if not x.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(x)


def redact_verbatim(ctx: ParseContext, text: str | None) -> str | None:
    """Personal data in the customer's words replaced, as in feedback (``redact_text``)."""
    return ctx.pseudonymize.redact_text(text)


def source_name(base: str, ctx: ParseContext) -> str:
    """``base`` or ``base:<source option>``: two exports whose ids overlap stay apart."""
    extra = (ctx.options.get("source") or "").strip()
    return f"{base}:{extra}" if extra else base


class InteractionRows:
    """Builds canonical interaction rows (or rejects) and hands them out as ``Chunk``s."""

    def __init__(self, ctx: ParseContext, source: str, *, infer_abandoned: bool = True) -> None:
        self.ctx, self.source, self.infer_abandoned = ctx, source, infer_abandoned
        self._rows: list[tuple] = []
        self._rejects: list[Reject] = []
        self._records = 0

    def __len__(self) -> int:
        return len(self._rows) + len(self._rejects)

    @property
    def kept(self) -> int:
        """Rows added and not rejected since the last ``take``."""
        return len(self._rows)

    def reject(self, where: str, reason: str, raw: Raw, *, excluded: bool = False) -> None:
        self._records += 1
        self._rejects.append(Reject(where, reason, raw() if callable(raw) else raw, excluded))

    def add(self, where: str, values: Mapping[str, Any], raw: Raw,
            names: Mapping[str, str] | None = None) -> None:
        """One record as canonical values; ``names`` says which source field each came from
        (for the reject reason)."""
        try:
            row = self._row(values, names or {})
        except ValueError as exc:
            return self.reject(where, str(exc), raw)
        self._records += 1
        self._rows.append(tuple(row.get(f.name) for f in INTERACTION_SCHEMA))

    def _row(self, values: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, parse in ((_TIMES, as_time), (_SECONDS, parse_duration), (_COUNTS, _count),
                            (_FLAGS, parse_bool)):
            for field in name:
                try:
                    row[field] = parse(values.get(field))
                except ValueError as exc:
                    raise ValueError(f"{field} {exc} ({names.get(field, field)})") from None
        row["interaction_id"] = cell_text(values.get("interaction_id"))
        if row["interaction_id"] is None:
            raise ValueError(f"no interaction id ({names.get('interaction_id', 'interaction_id')})")
        row["started_at"] = row["started_at"] or row["queued_at"] or row["answered_at"]
        if row["started_at"] is None:
            raise ValueError(f"no start time ({names.get('started_at', 'started_at')})")
        try:
            row["csat"] = None if cell_text(values.get("csat")) is None else \
                float(str(cell_text(values.get("csat"))).replace(",", "."))
        except ValueError:
            raise ValueError(f"csat {values.get('csat')!r} is not a number "
                             f"({names.get('csat', 'csat')})") from None
        queued, answered = row["queued_at"], row["answered_at"]
        if row["wait_s"] is None and queued and answered and answered >= queued:
            row["wait_s"] = (answered - queued).total_seconds()
        if row["abandoned"] is None and self.infer_abandoned and queued is not None:
            row["abandoned"] = answered is None
        if row["handle_s"] is None and row["talk_s"] is not None:
            row["handle_s"] = row["talk_s"] + (row["hold_s"] or 0.0) + (row["wrap_s"] or 0.0)
        text = cell_text
        row.update(
            source=self.source, channel=channel_of(values.get("channel")),
            user_id=self.ctx.pseudonymize(text(values.get("user_id"))),
            agent_id=self.ctx.pseudonymize(text(values.get("agent_id"))),
            reason=text(values.get("reason")), queue=text(values.get("queue")),
            initiation=(text(values.get("initiation")) or "").lower() or None,
            disconnect_reason=(text(values.get("disconnect_reason")) or "").lower() or None,
            previous_interaction_id=text(values.get("previous_interaction_id")),
            verbatim=redact_verbatim(self.ctx, text(values.get("verbatim"))),
            tags=_tags(values.get("tags")), attributes=self._attributes(values.get("attributes")),
        )
        return row

    def _attributes(self, attrs: Any) -> str | None:
        if not attrs:
            return None
        if not isinstance(attrs, Mapping):
            return orjson.dumps(attrs).decode()
        return orjson.dumps(self.ctx.pseudonymize.scrub(attrs)).decode()

    def take(self) -> Chunk:
        cols: list[Sequence[Any]] = list(zip(*self._rows, strict=True)) if self._rows else \
            [[]] * len(INTERACTION_SCHEMA)
        frame = pa.table([column(c, f.type) for c, f in zip(cols, INTERACTION_SCHEMA,
                                                              strict=True)],
                         schema=INTERACTION_SCHEMA)
        chunk = Chunk("interactions", frame, self._records, tuple(self._rejects))
        self._rows, self._rejects, self._records = [], [], 0
        return chunk


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_time(value, UTC)


def _tags(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(text)
        if isinstance(value, str):
            value = re.split(r"[,;|]", text)
    items = [t for t in (cell_text(v) for v in value) if t] if isinstance(value, list) else []
    return items or None
