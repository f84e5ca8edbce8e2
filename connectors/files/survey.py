"""Survey answers in the canonical ``feedback`` shape, shared by the Qualtrics and the generic
feedback formats: metric scales and the poor rule, columns found by common names (with
``--field canonical=column`` overrides), score and time parsing, and the row builder.

Metrics and scales (``--metric``; options ``scale=LO-HI`` and ``poor_at_most=N`` override):

| metric | scale                     | poor when                                     |
|--------|---------------------------|-----------------------------------------------|
| nps    | 0–10 (always)             | score ≤ 6 (a detractor)                       |
| csat   | 1–5                       | score ≤ 2                                     |
| ces    | 1–7                       | score ≤ 3                                     |
| rating | ``scale`` option, or from | bottom 40 % of the scale:                     |
|        | the data (see below)      | score ≤ floor(lo + 0.4 · (hi − lo))           |

The 40 % rule also gives the csat and ces thresholds, so a csat on a ``scale=1-7`` is poor at
≤ 3. A rating scale read from the data starts at 0 if any answer is 0 (else 1) and ends at the
first of 5, 7, 10, 100 that holds the highest answer — 1–5 when nothing was answered. Pass
``scale`` when files must agree: a file whose answers stop at 4 would otherwise read as 1–5.

Scores are numbers; a leading number is taken from choice text ("10 - Extremely likely"). An
empty score is a skipped question (score and is_poor NULL); anything else that is not a
number on the scale is a ``Reject``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import orjson
import pyarrow as pa

from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.errors import ConfigError, FormatError

__all__ = [
    "COMMON_NAMES", "FEEDBACK_SCHEMA", "FIELDS", "FeedbackRows", "FileRules", "Scale",
    "check_fields", "metric_of_name", "norm", "observe", "parse_score", "parse_time",
    "resolve_columns", "scales", "undecodable",
]

CHUNK_ROWS = 20_000
METRICS = ("nps", "csat", "ces", "rating")
_DEFAULT = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0), "rating": (1.0, 5.0)}

# Canonical fields a ``--field`` may name; ``email`` and ``metric`` are read, not stored.
FIELDS = ("feedback_id", "submitted_at", "score", "metric", "verbatim", "session_id",
          "user_id", "email", "page_url", "device", "country", "segment", "channel")

# Column names per canonical field, compared after ``norm`` (case, '_', '.', '-', ' ' ignored),
# in order of preference: ``session.id``, ``sessionId`` and ``session_id`` are one name.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "feedback_id": ("feedbackid", "responseid", "id"),
    "submitted_at": ("submittedat", "recordeddate", "recordedat", "timestamp", "createdat",
                     "completedat", "respondedat", "datetime", "date", "time", "enddate"),
    "score": ("score", "nps", "npsscore", "csat", "csatscore", "ces", "cesscore", "rating",
              "stars", "ltr", "likelihoodtorecommend"),
    "metric": ("metric", "scoretype"),
    "verbatim": ("verbatim", "comment", "comments", "feedback", "feedbacktext", "opentext",
                 "text", "reason"),
    "session_id": ("sessionid", "sid"),
    "user_id": ("userid", "customerid", "enduserid"),
    "email": ("recipientemail", "email", "emailaddress"),
    "page_url": ("pageurl", "page", "url", "pagelocation", "pagepath"),
    "device": ("device", "devicetype", "devicecategory"),
    "country": ("country", "countrycode"),
    "segment": ("segment", "customersegment"),
    "channel": ("channel",),
}
VERBATIM_WORDS = ("verbatim", "comment", "feedback", "reason")

FEEDBACK_SCHEMA = pa.schema([
    ("feedback_id", pa.string()), ("source", pa.string()),
    ("submitted_at", pa.timestamp("us", tz="UTC")), ("channel", pa.string()),
    ("metric", pa.string()), ("score", pa.float64()), ("scale_min", pa.float64()),
    ("scale_max", pa.float64()), ("is_poor", pa.bool_()), ("verbatim", pa.string()),
    ("session_id", pa.string()), ("user_id", pa.string()), ("page_url", pa.string()),
    ("route", pa.string()), ("device", pa.string()), ("country", pa.string()),
    ("segment", pa.string()), ("attributes", pa.string()),
])

_NORM = re.compile(r"[\s_.\-]+")
_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)(?:\s*(?:[-–:(]|\s).*)?$", re.DOTALL)
_SCALE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|–|\.\.|to)\s*(-?\d+(?:\.\d+)?)\s*$")
_EPOCH = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_EPOCH_0 = datetime(1970, 1, 1, tzinfo=UTC)
_US_DATES = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y")


def norm(name: str) -> str:
    return _NORM.sub("", name).lower()


@dataclass(frozen=True)
class Scale:
    metric: str
    lo: float
    hi: float
    poor_at_most: float


def _poor_rule(metric: str, lo: float, hi: float) -> float:
    return 6.0 if metric == "nps" else float(math.floor(lo + 0.4 * (hi - lo)))


def scales(options: Mapping[str, str],
           observed: Mapping[str, tuple[float, float]]) -> dict[str, Scale]:
    """The scale of every metric for one file; ``observed`` = (min, max) of rating answers."""
    fixed = _option_scale(options.get("scale"))
    poor_given = _option_number(options, "poor_at_most")
    out = {}
    for metric in METRICS:
        lo, hi = _DEFAULT[metric]
        if metric != "nps" and fixed:
            lo, hi = fixed
        elif metric == "rating" and metric in observed:
            low, high = observed[metric]
            lo = math.floor(low) if low < 0 else (0.0 if low == 0 else 1.0)
            hi = next((s for s in (5.0, 7.0, 10.0, 100.0) if high <= s), float(math.ceil(high)))
        poor = _poor_rule(metric, lo, hi)
        if poor_given is not None and metric != "nps":
            poor = poor_given
        out[metric] = Scale(metric, float(lo), float(hi), poor)
    return out


def _option_scale(given: str | None) -> tuple[float, float] | None:
    if not given:
        return None
    m = _SCALE.match(given)
    if not m or float(m.group(1)) >= float(m.group(2)):
        raise ConfigError(f"scale {given!r}: expected LO-HI, e.g. 1-5")
    return float(m.group(1)), float(m.group(2))


def _option_number(options: Mapping[str, str], name: str) -> float | None:
    given = options.get(name)
    if not given:
        return None
    try:
        return float(given)
    except ValueError:
        raise ConfigError(f"{name} {given!r}: not a number") from None


def metric_of_name(name: str) -> str | None:
    """The metric a score column's name announces (``NPS_Score`` → nps), if any."""
    n = norm(name)
    if "nps" in n or n in ("ltr", "likelihoodtorecommend"):
        return "nps"
    if "csat" in n or "satisfaction" in n:
        return "csat"
    if n.startswith("ces") or "effort" in n:
        return "ces"
    return None


def check_fields(ctx: ParseContext) -> str | None:
    """Validate ``--field`` names and ``--metric``; return the metric given, if any."""
    unknown = sorted(set(ctx.fields) - set(FIELDS))
    if unknown:
        raise ConfigError(f"--field {unknown[0]}=…: unknown field; expected one of "
                          f"{', '.join(FIELDS)}")
    metric = (ctx.options.get("metric") or "").strip().lower() or None
    if metric and metric not in METRICS:
        raise ConfigError(f"--metric {metric}: expected one of {', '.join(METRICS)}")
    return metric


def resolve_columns(columns: Sequence[str], fields: Mapping[str, str], file: str, *,
                    wanted: Iterable[str] = COMMON_NAMES, strict: bool = True) -> dict[str, str]:
    """canonical → column: the ``--field`` column (exact, then any case), else a common name.

    ``strict``: a ``--field`` column missing from the header is a ``FormatError``.
    """
    exact = set(columns)
    lower = {c.lower(): c for c in reversed(columns)}
    normed = {norm(c): c for c in reversed(columns)}
    # Nested keys also answer to their tail: context.session.id → session.id (never bare id).
    tails = {norm(c.split(".", k)[-1]): c for c in reversed(columns)
             for k in range(c.count("."), 0, -1) if c.split(".", k)[-1] != "id"}
    out: dict[str, str] = {}
    for canonical in wanted:
        if canonical in fields:
            col = fields[canonical]
            found = col if col in exact else lower.get(col.lower())
            if found is None and strict:
                raise FormatError(file, f"--field {canonical}={col}: no column {col!r} "
                                        "in the header", "row 1")
            if found is not None:
                out[canonical] = found
            continue
        names = COMMON_NAMES[canonical]
        found = next((normed[n] for n in names if n in normed), None) or next(
            (tails[n] for n in names if n in tails), None)
        if found is None and canonical == "verbatim":
            used = set(out.values())
            found = next((c for c in columns if c not in used
                          and any(w in norm(c) for w in VERBATIM_WORDS)), None)
        if found is not None:
            out[canonical] = found
    return out


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
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            dt = next((d for f in _US_DATES if (d := _strptime(text, f))), None)
            if dt is None:
                raise
        return (dt.replace(tzinfo=naive_tz) if dt.tzinfo is None else dt).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{str(value)[:80]!r} is not a date/time") from None


def observe(records: Iterable[tuple[Mapping[str, Any], Mapping[str, str]]],
            metric: str) -> dict[str, tuple[float, float]]:
    """(min, max) of the readable rating answers among (record, columns) pairs."""
    lo = hi = None
    for rec, cols in records:
        m = _text(rec.get(cols["metric"])) if "metric" in cols else None
        if (m or metric).lower() != "rating" or "score" not in cols:
            continue
        try:
            x = parse_score(rec.get(cols["score"]))
        except ValueError:
            continue
        if x is not None:
            lo, hi = (x, x) if lo is None else (min(lo, x), max(hi, x))
    return {} if lo is None else {"rating": (lo, hi)}


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


def _text(v: Any) -> str | None:
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

    def reject(self, where: str, reason: str, raw: str | None, *, excluded: bool = False) -> None:
        self._records += 1
        self._rejects.append(Reject(where, reason, raw, excluded))

    def add(self, where: str, rec: Mapping[str, Any], cols: Mapping[str, str],
            raw: str | None) -> None:
        """One record; ``cols`` maps canonical fields to keys of ``rec``."""
        ctx, rules = self.ctx, self.rules
        get = {c: rec.get(k) for c, k in cols.items()}
        metric = (_text(get.get("metric")) or rules.metric).lower()
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
        try:
            submitted = parse_time(get.get("submitted_at"), rules.naive_tz)
        except ValueError as exc:
            return self.reject(where, f"submitted_at {exc} (column {cols['submitted_at']})",
                               raw)
        page = _text(get.get("page_url"))
        if page and ("?" in page or "#" in page):
            # Query strings carry tokens and e-mail addresses; the page never needs them.
            page = page.split("#", 1)[0].split("?", 1)[0] or None
        user = ctx.pseudonymize(_text(get.get("user_id")) or _text(get.get("email")))
        channel = _text(get.get("channel"))
        self._records += 1
        self._rows.append((
            _text(get.get("feedback_id")) or self._derived_id(rec),
            rules.source, submitted, rules.channel(channel) if channel else None, metric,
            score, scale.lo, scale.hi, None if score is None else score <= scale.poor_at_most,
            _text(get.get("verbatim")), _text(get.get("session_id")), user, page,
            ctx.route(page) if page else None, _text(get.get("device")),
            _text(get.get("country")), _text(get.get("segment")), self._attributes(rec, cols),
        ))

    def _attributes(self, rec: Mapping[str, Any], cols: Mapping[str, str]) -> str | None:
        used = set(cols.values()) | self.rules.drop
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
        cols = list(zip(*self._rows, strict=True)) if self._rows else [[]] * len(FEEDBACK_SCHEMA)
        frame = pa.table([pa.array(c, f.type) for c, f in zip(cols, FEEDBACK_SCHEMA, strict=True)],
                         schema=FEEDBACK_SCHEMA)
        chunk = Chunk("feedback", frame, self._records, tuple(self._rejects))
        self._rows, self._rejects, self._records = [], [], 0
        return chunk

