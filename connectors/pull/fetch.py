"""The one fetch loop: every HTTP source is pages of records, whatever the vendor.

``pages(spec, http, start, end)`` walks the source's time windows (or one window from the
cursor to now), asks for each page through the paginator, checks it (JSON, a record list, not
a page already seen), fans out to detail requests, and yields ``Page``s: the document to spool
in the vendor's own format and the cursor to commit with it. Ordered sources commit the
newest record's cursor with every page; unordered ones (newest first, or no order promised)
only after the last page, in a final page without records — a pull cut short re-reads from the
old cursor and the natural keys drop what was already stored.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from parallax.connectors.files.survey_rows import parse_time
from parallax.connectors.pull.paginators import Request
from parallax.connectors.pull.retry import Http
from parallax.connectors.pull.spec import SourceSpec, WindowSpec, dig

__all__ = ["Page", "format_time", "pages", "stamp"]


@dataclass(frozen=True)
class Page:
    number: int
    document: Any  # JSON-able document, or bytes (a downloaded export file); None: state only
    records: int | None  # None when unknown (an export file)
    cursor: str | None  # the cursor to commit with this page; None: leave it
    label: str = ""


def stamp(dt: datetime) -> str:
    """The stored cursor form: sortable as text."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time(dt: datetime, unit: str) -> str | int:
    """A time as a request parameter, rounded down (an earlier start only re-reads)."""
    dt = dt.astimezone(UTC)
    us = int((dt - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    if unit in ("s", "ms", "us"):
        return us // {"s": 1_000_000, "ms": 1000, "us": 1}[unit]
    if unit == "iso_naive":
        return dt.strftime("%Y-%m-%dT%H:%M:%S")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _url(spec: SourceSpec, path: str) -> str:
    return spec.base_url.rstrip("/") + "/" + path.lstrip("/") if path else spec.base_url


def _json(http: Http, req: Request, content: bytes, what: str) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise http.fail(req, f"{what} is not valid JSON ({exc})") from None


def _windows(w: WindowSpec, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(seconds=w.seconds)
    lo = start
    while lo < end:
        yield lo, min(lo + step, end)
        lo += step


def _first(spec: SourceSpec, lo: datetime, hi: datetime) -> Request:
    params = dict(spec.params)
    if spec.cursor and spec.cursor.param:
        params[spec.cursor.param] = format_time(lo, spec.cursor.unit)
    if (w := spec.window) is not None:
        lo = lo - timedelta(seconds=w.overlap)  # re-read: natural keys drop the repeats
        if w.start_param:
            params[w.start_param] = format_time(lo, w.unit)
        if w.end_param:
            params[w.end_param] = format_time(hi, w.unit)
        if w.lookback_param:
            params[w.lookback_param] = int(format_time(hi, w.unit)) - int(format_time(lo, w.unit))
        if w.limit_param:
            params[w.limit_param] = w.limit
    # A POST (Matomo) keeps its parameters in the query; the body is left to the token.
    return spec.paginator.first(Request(_url(spec, spec.path), params, spec.method))


def _record_time(record: Any, path: str) -> datetime | None:
    try:
        return parse_time(dig(record, path), UTC)
    except ValueError:
        return None


def pages(spec: SourceSpec, http: Http, start: datetime, end: datetime) -> Iterator[Page]:
    if spec.export is not None:
        yield from _export(spec, http, start, end)
        return
    todo = deque(_windows(spec.window, start, end) if spec.window else [(start, end)])
    number, newest = 0, None
    sent: set[tuple] = set()
    while todo:
        lo, hi = todo.popleft()
        req: Request | None = _first(spec, lo, hi)
        previous = None
        while req is not None:
            number += 1
            label = f"page {number}"
            if req.key() in sent:
                raise http.fail(req, f"{label} repeats a page already fetched (the API "
                                     "returned the same next page again); stopped")
            sent.add(req.key())
            response = http.send(req)
            doc = _json(http, req, response.content, label)
            if spec.error is not None and (message := spec.error(doc)):
                raise http.fail(req, f"{label}: the API answered an error: {message[:200]}")
            records = dig(doc, spec.records)
            if not isinstance(records, list):
                where = f"at {spec.records!r}" if spec.records else "at the top level"
                raise http.fail(req, f"{label}: no record list {where}")
            # The same records again (a cursor that moves while the page does not): stop.
            digest = hashlib.sha256(orjson.dumps(records)).digest()
            if records and digest == previous:
                raise http.fail(req, f"{label} holds the same records as the page before "
                                     "(the paginator is not advancing); stopped")
            previous = digest
            w = spec.window
            if w and w.limit and len(records) >= w.limit and hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2  # the window hit the API's cap: halve it
                todo.extendleft([(mid, hi), (lo, mid)])
                break
            nxt = spec.paginator.next(req, response, doc, records)
            document = doc
            if spec.detail is not None:
                document = spec.detail.combine([_detail(spec, http, r) for r in records])
            elif spec.spool is not None:
                document = spec.spool(doc, records)
            cursor = None
            if spec.cursor is not None:
                times = [t for r in records if (t := _record_time(r, spec.cursor.field))]
                if times:
                    newest = max(times) if newest is None else max(newest, *times)
                cursor = stamp(newest) if spec.cursor.ordered and newest else None
            elif w is not None and nxt is None:
                cursor = stamp(hi)  # windows run oldest first: this one is complete
            yield Page(number, document, len(records), cursor, label)
            req = nxt
    if spec.cursor is not None and not spec.cursor.ordered and newest is not None:
        yield Page(number + 1, None, 0, stamp(newest), "end")


def _detail(spec: SourceSpec, http: Http, record: Any) -> Any:
    d = spec.detail
    assert d is not None
    key = dig(record, d.id_field)
    req = Request(_url(spec, d.path.format(id=key)), {}, "GET")
    return _json(http, req, http.send(req).content, f"detail {key}")


def _export(spec: SourceSpec, http: Http, start: datetime, end: datetime) -> Iterator[Page]:
    e = spec.export
    assert e is not None
    body = {**e.body, e.start_field: format_time(start, "iso"),
            e.end_field: format_time(end, "iso")}
    req = Request(_url(spec, e.start_path), {}, "POST", json=body)
    started = _json(http, req, http.send(req).content, "export start")
    progress_id = dig(started, "result.progressId") or dig(started, "result.id")
    if not progress_id:
        raise http.fail(req, "export start answered without result.progressId")
    poll = Request(_url(spec, e.poll_path.format(progress_id=progress_id)), {}, "GET")
    for _ in range(e.max_polls):
        result = dig(_json(http, poll, http.send(poll).content, "export progress"), "result")
        status = str(dig(result, "status") or "").lower()
        if status in ("failed", "cancelled", "error"):
            raise http.fail(poll, f"export job {progress_id} {status} on the server; "
                                  "nothing stored, the cursor is unchanged — pull again")
        if status == "complete":
            break
        http.policy.sleep(e.poll_seconds)
    else:
        raise http.fail(poll, f"export job {progress_id} not complete after {e.max_polls} polls")
    file_id = dig(result, "fileId")
    if file_id:
        url = _url(spec, e.file_path.format(file_id=file_id))
    elif dig(result, "file"):  # the legacy responseexports API gives a URL; same host only
        url = _url(spec, httpx.URL(str(dig(result, "file"))).path)
    else:
        raise http.fail(poll, "export complete but no fileId in the answer")
    get = Request(url, {}, "GET")
    content = http.send(get).content
    yield Page(1, _unzip(http, get, content), None, stamp(end), "export")


def _unzip(http: Http, req: Request, content: bytes) -> bytes:
    if not content.startswith(b"PK"):
        return content  # served uncompressed
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise http.fail(req, f"export zip holds {len(names)} files, expected 1")
            return z.read(names[0])
    except zipfile.BadZipFile as exc:
        raise http.fail(req, f"export file is not a readable zip ({exc})") from None
