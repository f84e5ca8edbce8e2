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

A ``feedback_id`` already received is not stored again and the answer says so
(``FeedbackIds``): the same answer again (a retry) is 200 ``{"feedback_id": …, "duplicate":
true}``, a different answer under that id 409 — the first one is kept.

Anything else, or a value of the wrong type or off the scale, is one 400 naming the field.
Valid answers go through the generic feedback mapping (``connectors/files/feedback_generic``)
like a loaded NDJSON file, with ``channel`` ``web`` and source ``feedback:receiver``. Ratings
are spooled apart from nps/csat/ces because the file mapping's ``scale`` option applies to
every metric but nps.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from parallax.connectors.files.survey_rows import parse_time
from parallax.connectors.receive.protocol import ReceiveError

__all__ = ["FEEDBACK_FIELDS", "Answer", "FeedbackIds", "parse_feedback", "stored_feedback_ids"]

log = logging.getLogger("parallax.serve")

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
    digest: bytes = b""  # of the answer as sent: a retry has the same one
    given_id: bool = False  # the feedback_id came with the answer (else a new one)


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
    given = "feedback_id" in record
    record.setdefault("feedback_id", uuid.uuid4().hex)
    stream = "ratings" if metric == "rating" else "feedback"
    digest = hashlib.blake2b(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS),
                             digest_size=16).digest()
    return Answer(stream, orjson.dumps(record), record["feedback_id"], digest, given)


UNKNOWN = b"?"  # an id stored before this run: its answer's content is not known


class FeedbackIds:
    """The widget-given feedback ids received — this run's with a digest of the answer, the
    latest ``limit`` stored or spooled before (content unknown) — so a repeated id is answered
    as a duplicate instead of acknowledged and then dropped by the loader's natural key.

    ``claim`` an id before queueing its answer and ``settle`` it after: a concurrent POST of
    the same id waits for the first to be durable (or to fail) before it is told anything."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._ids: OrderedDict[str, bytes | asyncio.Future] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def seed(self, ids) -> None:
        for i in ids:
            self._remember(i, UNKNOWN)

    async def claim(self, answer: Answer) -> bytes | None:
        """None: the id is new and now claimed (``settle`` it); else the stored digest
        (``UNKNOWN`` for an answer stored before this run)."""
        while True:
            prior = self._ids.get(answer.feedback_id)
            if isinstance(prior, asyncio.Future):
                await asyncio.shield(prior)
                continue
            if prior is not None:
                return prior
            self._ids[answer.feedback_id] = asyncio.get_running_loop().create_future()
            return None

    def settle(self, answer: Answer, stored: bool) -> None:
        pending = self._ids.pop(answer.feedback_id, None)
        if stored:
            self._remember(answer.feedback_id, answer.digest)
        if isinstance(pending, asyncio.Future) and not pending.done():
            pending.set_result(None)

    def _remember(self, feedback_id: str, digest: bytes) -> None:
        self._ids[feedback_id] = digest
        self._ids.move_to_end(feedback_id)
        while len(self._ids) > self.limit:
            oldest, value = next(iter(self._ids.items()))
            if isinstance(value, asyncio.Future):  # claimed, in flight: keep it
                self._ids.move_to_end(oldest)
                break
            del self._ids[oldest]


def stored_feedback_ids(db_path: Path, spool_root: Path, limit: int) -> list[str]:
    """Feedback ids the receiver stored before (newest ``limit``) or spooled and not yet
    handed off; best effort: an unreadable database gives what the spool holds."""
    import duckdb

    from parallax.connectors.receive.spool import sealed
    from parallax.db import connect
    from parallax.errors import DatabaseError

    ids: list[str] = []
    if db_path.exists():
        try:
            con = connect(db_path, read_only=True, wait=5)
        except DatabaseError as exc:
            log.warning("feedback ids stored before not read (%s): a repeated id is then "
                        "only deduplicated when loaded", exc)
        else:
            try:
                ids = [i for (i,) in con.execute(
                    "SELECT feedback_id FROM feedback WHERE source = 'feedback:receiver' "
                    "ORDER BY submitted_at DESC LIMIT ?", [limit]).fetchall()]
            except duckdb.Error as exc:
                log.warning("feedback ids stored before not read (%s)", exc)
            finally:
                con.close()
    ids.reverse()
    for stream in ("feedback", "ratings"):
        for batch in sealed(spool_root, stream):
            try:
                lines = batch.read_bytes().splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    ids.append(orjson.loads(line)["feedback_id"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue
    return ids


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
