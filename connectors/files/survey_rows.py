"""One survey answer → one canonical ``feedback`` row (or a ``Reject``), for the Qualtrics and
the generic feedback formats; metrics, scales and column names: ``survey``.

Scores are numbers; a leading number is taken from choice text ("10 - Extremely likely"). An
empty score is a skipped question (score and is_poor NULL); anything else that is not a
number on the scale is a ``Reject``. The user is the pseudonymised user id, else e-mail; the
page URL loses query string and fragment; the remaining columns are kept as attributes, with
identifiers pseudonymised. A rejected answer's raw text is scrubbed the same way
(``FeedbackRows.redactor``), and is built only when the answer is rejected.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from parallax.connectors.arrays import column  # pa.array would import pandas (arrays.py)
from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.redact import Redactor

if TYPE_CHECKING:
    from parallax.connectors.files.survey import Scale

__all__ = ["CHUNK_ROWS", "FEEDBACK_SCHEMA", "FeedbackRows", "FileRules", "Raw", "cell_text",
           "parse_score", "parse_time", "undecodable"]

CHUNK_ROWS = 20_000
# A rejected record's raw text, or a function building it (called only on rejection).
Raw = str | Callable[[], str] | None

FEEDBACK_SCHEMA = pa.schema([
    ("feedback_id", pa.string()), ("source", pa.string()),
    ("submitted_at", pa.timestamp("us", tz="UTC")), ("channel", pa.string()),
    ("metric", pa.string()), ("score", pa.float64()), ("scale_min", pa.float64()),
    ("scale_max", pa.float64()), ("is_poor", pa.bool_()), ("verbatim", pa.string()),
    ("session_id", pa.string()), ("user_id", pa.string()), ("page_url", pa.string()),
    ("route", pa.string()), ("device", pa.string()), ("country", pa.string()),
    ("segment", pa.string()), ("attributes", pa.string()),
    ("started_at", pa.timestamp("us", tz="UTC")),
])

_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)(?:\s*(?:[-–:(]|\s).*)?$", re.DOTALL)
_EPOCH = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_EPOCH_0 = datetime(1970, 1, 1, tzinfo=UTC)
_US_DATES = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y")


def parse_score(value: Any) -> float | None:
    """None for a skipped answer; ``ValueError`` (with the reason) for a non-number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"score {value!r} is not a number")
    if isinstance(value, int | float):
        x = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        m = _LEADING_NUMBER.match(text)
        if not m:
            raise ValueError(f"score {text[:80]!r} is not a number")
        x = float(m.group(1).replace(",", "."))
    if not math.isfinite(x):
        raise ValueError(f"score {value!r} is not a number")
    return x


def parse_time(value: Any, naive_tz: tzinfo) -> datetime | None:
    """ISO 8601 (offset or not), epoch seconds/ms/µs/ns, or US ``M/D/YYYY H:MM`` → UTC.

    Times without an offset are in ``naive_tz``. ``ValueError`` when unreadable.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool | dict | list):
            raise ValueError
        text = str(value).strip()
        if _EPOCH.match(text):
            x = float(text)
            a = abs(x)
            secs = x / (1e9 if a >= 1e17 else 1e6 if a >= 1e14 else 1e3 if a >= 1e11 else 1)
            return _EPOCH_0 + timedelta(seconds=secs)
        dt: datetime | None
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            dt = next((d for f in _US_DATES if (d := _strptime(text, f))), None)
            if dt is None:
                raise
        return (dt.replace(tzinfo=naive_tz) if dt.tzinfo is None else dt).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{str(value)[:80]!r} is not a date/time") from None


def undecodable(cells: Iterable[str]) -> bool:
    """True if text read with ``errors="surrogateescape"`` held bytes that are not UTF-8."""
    try:
        "".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _strptime(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


def cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return orjson.dumps(v).decode()
    return str(v)


@dataclass(frozen=True)
class FileRules:
    """What is fixed for one file: source, metric, scales, time zone of naive times, …"""

    source: str
    metric: str  # a ``metric`` column, when mapped, overrides it per row
    scales: Mapping[str, Scale]
    naive_tz: tzinfo
    channel: Callable[[str], str | None] = str.lower
    drop: frozenset[str] = frozenset()  # columns never kept in attributes
    pii: frozenset[str] = frozenset()  # further columns pseudonymised in attributes
    hidden: frozenset[str] = frozenset()  # personal columns never stored, rejects included


class FeedbackRows:
    """Builds canonical feedback rows (or rejects) and hands them out as ``Chunk``s."""

    def __init__(self, ctx: ParseContext, rules: FileRules) -> None:
        self.ctx, self.rules = ctx, rules
        self._rows: list[tuple] = []
        self._rejects: list[Reject] = []
        self._records = 0
        self._seen: dict[str, int] = {}  # content hash → occurrences, for derived ids

    def __len__(self) -> int:
        return len(self._rows) + len(self._rejects)

    def redactor(self, cols: Mapping[str, str]) -> Redactor:
        """Scrubs a rejected answer as its row would be: user id, e-mail and the further
        personal columns pseudonymised, the page URL stripped, hidden columns emptied."""
        return Redactor.of(self.ctx.pseudonymize,
                           (cols.get("user_id"), cols.get("email"), *self.rules.pii),
                           (cols.get("page_url"),), self.rules.hidden)

    def reject(self, where: str, reason: str, raw: Raw, *, excluded: bool = False) -> None:
        self._records += 1
        self._rejects.append(Reject(where, reason, raw() if callable(raw) else raw, excluded))

    def add(self, where: str, rec: Mapping[str, Any], cols: Mapping[str, str],
            raw: Raw) -> None:
        """One record; ``cols`` maps canonical fields to keys of ``rec``."""
        ctx, rules, text = self.ctx, self.rules, cell_text
        get = {c: rec.get(k) for c, k in cols.items()}
        metric = (text(get.get("metric")) or rules.metric).lower()
        if metric not in rules.scales:
            return self.reject(where, f"unknown metric {metric!r} (nps, csat, ces, rating)", raw)
        scale = rules.scales[metric]
        try:
            score = parse_score(get.get("score"))
            if score is not None and not scale.lo <= score <= scale.hi:
                raise ValueError(f"score {score:g} is outside the {metric} scale "
                                 f"{scale.lo:g}–{scale.hi:g}")
        except ValueError as exc:
            return self.reject(where, f"{exc} (column {cols.get('score')})", raw)
        times = {}
        for field in ("submitted_at", "started_at"):
            try:
                times[field] = parse_time(get.get(field), rules.naive_tz)
            except ValueError as exc:
                return self.reject(where, f"{field} {exc} (column {cols[field]})", raw)
        submitted, started = times["submitted_at"], times["started_at"]
        if started is not None and submitted is not None and started > submitted:
            started = None  # a start after the submission says nothing about the page
        page = text(get.get("page_url"))
        if page and ("?" in page or "#" in page):
            # Query strings carry tokens and e-mail addresses; the page never needs them.
            page = page.split("#", 1)[0].split("?", 1)[0] or None
        user = ctx.pseudonymize(text(get.get("user_id")) or text(get.get("email")))
        channel = text(get.get("channel"))
        self._records += 1
        self._rows.append((
            text(get.get("feedback_id")) or self._derived_id(rec),
            rules.source, submitted, rules.channel(channel) if channel else None, metric,
            score, scale.lo, scale.hi, None if score is None else score <= scale.poor_at_most,
            ctx.pseudonymize.redact_text(text(get.get("verbatim"))), text(get.get("session_id")),
            user, page,
            ctx.route(page) if page else None, text(get.get("device")),
            text(get.get("country")), text(get.get("segment")), self._attributes(rec, cols),
            started,
        ))

    def _attributes(self, rec: Mapping[str, Any], cols: Mapping[str, str]) -> str | None:
        used = set(cols.values()) | self.rules.drop | self.rules.hidden
        kept = {k: v for k, v in rec.items() if k not in used and v is not None and v != ""}
        if not kept:
            return None
        kept = self.ctx.pseudonymize.scrub(kept)
        for k in self.rules.pii.intersection(kept):
            kept[k] = self.ctx.pseudonymize(kept[k])
        return orjson.dumps(kept).decode()

    def _derived_id(self, rec: Mapping[str, Any]) -> str:
        # Same content → same id, so reloads dedupe; the n-th identical row gets its own id.
        digest = hashlib.sha256(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
        n = self._seen.get(digest, 0) + 1
        self._seen[digest] = n
        return f"sha256:{digest}" if n == 1 else f"sha256:{digest}#{n}"

    def take(self) -> Chunk:
        cols: list[Sequence[Any]] = list(zip(*self._rows, strict=True)) if self._rows \
            else [[]] * len(FEEDBACK_SCHEMA)
        frame = pa.table([column(c, f.type) for c, f in zip(cols, FEEDBACK_SCHEMA, strict=True)],
                         schema=FEEDBACK_SCHEMA)
        chunk = Chunk("feedback", frame, self._records, tuple(self._rejects))
        self._rows, self._rejects, self._records = [], [], 0
        return chunk
