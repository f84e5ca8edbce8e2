"""Survey answers in the canonical ``feedback`` shape, shared by the Qualtrics and the generic
feedback formats: metric scales and the poor rule, and columns found by common names (with
``--field canonical=column`` overrides). The row builder, score and time parsing live in
``survey_rows`` and are re-exported here.

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
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parallax.connectors.base import ParseContext
from parallax.connectors.files.survey_rows import (
    CHUNK_ROWS,
    FEEDBACK_SCHEMA,
    FeedbackRows,
    FileRules,
    cell_text,
    parse_score,
    parse_time,
    undecodable,
)
from parallax.errors import ConfigError, FormatError

__all__ = [
    "CHUNK_ROWS", "COMMON_NAMES", "FEEDBACK_SCHEMA", "FIELDS", "FeedbackRows", "FileRules",
    "Scale", "check_fields", "column_resolver", "flatten", "metric_of_name", "norm", "observe",
    "parse_score", "parse_time", "resolve_columns", "scales", "undecodable",
]

METRICS = ("nps", "csat", "ces", "rating")
_DEFAULT = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0), "rating": (1.0, 5.0)}

# Canonical fields a ``--field`` may name; ``email`` and ``metric`` are read, not stored.
FIELDS = ("feedback_id", "submitted_at", "started_at", "score", "metric", "verbatim",
          "session_id", "user_id", "email", "page_url", "device", "country", "segment",
          "channel")

# Column names per canonical field, compared after ``norm`` (case, '_', '.', '-', ' ' ignored),
# in order of preference: ``session.id``, ``sessionId`` and ``session_id`` are one name.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "feedback_id": ("feedbackid", "responseid", "id"),
    "submitted_at": ("submittedat", "recordeddate", "recordedat", "timestamp", "createdat",
                     "completedat", "respondedat", "datetime", "date", "time", "enddate"),
    "started_at": ("startedat", "startdate", "starttime", "shownat", "openedat"),
    "score": ("score", "nps", "npsscore", "csat", "csatscore", "ces", "cesscore", "rating",
              "stars", "ltr", "likelihoodtorecommend"),
    "metric": ("metric", "scoretype"),
    "verbatim": ("verbatim", "comment", "comments", "feedback", "feedbacktext", "opentext",
                 "text", "reason"),
    "session_id": ("sessionid", "sid"),
    "user_id": ("userid", "customerid", "enduserid"),
    "email": ("recipientemail", "email", "emailaddress"),
    "page_url": ("pageurl", "page", "url", "pagelocation", "pagepath", "route"),
    "device": ("device", "devicetype", "devicecategory"),
    "country": ("country", "countrycode"),
    "segment": ("segment", "customersegment"),
    "channel": ("channel",),
}
VERBATIM_WORDS = ("verbatim", "comment", "feedback", "reason")

_NORM = re.compile(r"[\s_.\-]+")
_SCALE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|–|\.\.|to)\s*(-?\d+(?:\.\d+)?)\s*$")


def norm(name: str) -> str:
    return _NORM.sub("", name).lower()


def flatten(obj: Mapping[str, Any], prefix: str = "",
            out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested JSON objects as dotted column names: {"a": {"b": 1}} → {"a.b": 1}."""
    out = {} if out is None else out
    for k, v in obj.items():
        if isinstance(v, Mapping) and v:
            flatten(v, f"{prefix}{k}.", out)
        else:
            out[f"{prefix}{k}"] = v
    return out


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


def column_resolver(ctx: ParseContext, given: str | None) -> Callable[[dict], dict[str, str]]:
    """Canonical columns of a JSON record, resolved once per record shape (its keys); a
    ``--metric`` given on the command line wins over a metric column."""
    resolved: dict[tuple, dict[str, str]] = {}

    def columns(rec: dict) -> dict[str, str]:
        key = tuple(rec)
        if key not in resolved:
            cols = resolve_columns(list(rec), ctx.fields, ctx.file, strict=False)
            if given:
                cols.pop("metric", None)
            resolved[key] = cols
        return resolved[key]

    return columns


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


def observe(records: Iterable[tuple[Mapping[str, Any], Mapping[str, str]]],
            metric: str) -> dict[str, tuple[float, float]]:
    """(min, max) of the readable rating answers among (record, columns) pairs."""
    lo = hi = None
    for rec, cols in records:
        m = cell_text(rec.get(cols["metric"])) if "metric" in cols else None
        if (m or metric).lower() != "rating" or "score" not in cols:
            continue
        try:
            x = parse_score(rec.get(cols["score"]))
        except ValueError:
            continue
        if x is not None:
            lo, hi = (x, x) if lo is None or hi is None else (min(lo, x), max(hi, x))
    return {} if lo is None or hi is None else {"rating": (lo, hi)}
