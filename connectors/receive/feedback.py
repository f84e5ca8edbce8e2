"""An in-page survey answer (``POST /v1/feedback``) → one ``feedback-ndjson`` line.

The body is one JSON object:

| field        | required | value                                                         |
|--------------|----------|---------------------------------------------------------------|
| score        | yes      | a number on the metric's scale                                 |
| metric       | no       | nps (0–10), csat (1–5), ces (1–7) or rating (``[serve]        |
|              |          | rating_scale``, default 1–5); default rating                   |
| verbatim     | no       | the customer's words (≤ 10,000 characters)                    |
| session_id   | no       | the session id the page's spans carry as ``session.id``        |
| user_id      | no       | pseudonymised before it is stored                              |
| page_url     | no       | the page answered on; query string and fragment are dropped    |
| submitted_at | no       | ISO 8601 or epoch seconds/ms; default: when it was received    |
| started_at   | no       | when the survey was shown or opened (ISO 8601, epoch): the     |
|              |          | response is linked to the page load it was started on          |
| feedback_id  | no       | the widget's own id, so a retried POST is stored once;         |
|              |          | default: a new id, returned in the answer                      |

Anything else, or a value of the wrong type or off the scale, is one 400 naming the field.
Valid answers go through the generic feedback mapping (``connectors/files/feedback_generic``)
like a loaded NDJSON file, with ``channel`` ``web`` and source ``feedback:receiver``. Ratings
are spooled apart from nps/csat/ces because the file mapping's ``scale`` option applies to
every metric but nps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from parallax.connectors.files.survey_rows import parse_time
from parallax.connectors.receive.protocol import ReceiveError

__all__ = ["FEEDBACK_FIELDS", "Answer", "parse_feedback"]

FEEDBACK_FIELDS = ("score", "metric", "verbatim", "session_id", "user_id", "page_url",
                   "submitted_at", "started_at", "feedback_id")
_SCALES = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0)}
_MAX_TEXT = {"verbatim": 10_000, "page_url": 2_048, "feedback_id": 128}
_MAX_ID = 256


@dataclass(frozen=True)
class Answer:
    stream: str  # "feedback" (nps, csat, ces) or "ratings"
    line: bytes  # one feedback-ndjson record
    feedback_id: str


def parse_feedback(body: bytes, rating_scale: tuple[float, float],
                   now: datetime | None = None) -> Answer:
    """Validate one answer; ``ReceiveError(400)`` with one message naming the field if bad."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"body is not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise _bad("body must be one JSON object")
    unknown = sorted(set(doc) - set(FEEDBACK_FIELDS))
    if unknown:
        raise _bad(f"unknown field {unknown[0]!r}; expected {', '.join(FEEDBACK_FIELDS)}")
    metric = doc.get("metric", "rating")
    if not isinstance(metric, str) or metric.lower() not in (*_SCALES, "rating"):
        raise _bad(f"metric {metric!r}: expected nps, csat, ces or rating")
    metric = metric.lower()
    lo, hi = _SCALES.get(metric, rating_scale)
    score = doc.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise _bad(f"score {score!r}: expected a number on the {metric} scale {lo:g}-{hi:g}")
    if not lo <= score <= hi:
        raise _bad(f"score {score:g} is outside the {metric} scale {lo:g}-{hi:g}")
    record: dict[str, Any] = {"score": score, "metric": metric, "channel": "web"}
    for name in ("verbatim", "session_id", "user_id", "page_url", "feedback_id"):
        value = doc.get(name)
        if value is None or value == "":
            continue
        limit = _MAX_TEXT.get(name, _MAX_ID)
        if not isinstance(value, str) or len(value) > limit:
            raise _bad(f"{name}: expected a string of at most {limit} characters")
        record[name] = value
    record["submitted_at"] = _time("submitted_at", doc.get("submitted_at"), now)
    if doc.get("started_at") not in (None, ""):  # when the survey was shown, if the page says
        record["started_at"] = _time("started_at", doc["started_at"], now)
    record.setdefault("feedback_id", uuid.uuid4().hex)
    stream = "ratings" if metric == "rating" else "feedback"
    return Answer(stream, orjson.dumps(record), record["feedback_id"])


def _time(name: str, value: Any, now: datetime | None) -> str:
    if value is None or value == "":
        return (now or datetime.now(UTC)).isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(f"{name} {value!r}: expected an ISO 8601 time or epoch seconds/ms")
    try:
        when = parse_time(value, UTC)
    except ValueError:
        raise _bad(f"{name} {str(value)[:60]!r}: expected an ISO 8601 time or epoch "
                   "seconds/ms") from None
    if when is None or not 1970 < when.year < 10_000:
        raise _bad(f"{name} {str(value)[:60]!r}: out of range")
    return when.isoformat()


def _bad(message: str) -> ReceiveError:
    return ReceiveError(400, message)
