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
purchases beforehand), so loading a file twice never doubles it. A rejected row is kept in
``rejects.raw`` with the user column (and e-mail / IP columns) pseudonymised and the url and
referrer stripped, like stored rows (``redact``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.analytics_rows import CHUNK_ROWS, Bad, first_line, first_object
from parallax.connectors.files.lines import source_lines
from parallax.connectors.files.pageview_rows import Views, missing, redactor, resolve
from parallax.errors import FormatError

__all__ = ["FORMATS"]


def _sniff_ndjson(head: bytes) -> bool:
    obj = first_object(head)
    return obj is not None and {"session_id", "url"} <= resolve(list(obj), {}).keys()


def _delimiter(header: str) -> str:
    return max((",", ";", "\t", "|"), key=header.count)


def _sniff_csv(head: bytes) -> bool:
    line = first_line(head)
    if not line or line[:1] in (b"{", b"["):
        return False
    text = line.decode("utf-8", "replace").split("\r", 1)[0]  # old Mac line ends too
    try:
        names = next(csv.reader([text], delimiter=_delimiter(text)), [])
    except csv.Error:  # binary junk: not a CSV header
        return False
    return {"session_id", "url"} <= resolve(names, {}).keys()


def _parse_csv(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    views = Views(ctx, "pageviews-csv")
    with io.TextIOWrapper(source.open(), encoding="utf-8-sig", newline="") as text:
        header_line = text.readline()
        delim = _delimiter(header_line)
        names = [n.strip() for n in next(csv.reader([header_line], delimiter=delim), [])]
        found = resolve(names, ctx.fields)
        if problem := missing(found, ctx.fields, names):
            raise FormatError(ctx.file, f"not a page-view file: {problem}", "line 1")
        index = {canon: names.index(col) for canon, col in found.items()}
        redact = redactor(ctx, found)
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
                    raw = redact.cells(names, row, delim)
                    rejects.append(Reject(f"line {reader.line_num + 1}", str(exc), raw))
                if len(views.views) >= CHUNK_ROWS:
                    yield from views.take(records, rejects)
                    records, rejects = 0, []
        except csv.Error as exc:
            raise FormatError(ctx.file, f"malformed CSV: {exc}",
                              f"line {reader.line_num + 1}") from None
    yield from views.take(records, rejects)


def _parse_ndjson(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    views = Views(ctx, "pageviews-ndjson")
    mappings: dict[tuple, dict[str, str]] = {}  # key set → canonical → key (rows share shapes)
    records, rejects, seen_first = 0, [], False
    for lineno, line in source_lines(source):
        records += 1
        rec = None
        try:
            rec = orjson.loads(line)
            if not isinstance(rec, dict):
                raise Bad("not a JSON object")
            shape = tuple(rec)
            found = mappings.get(shape)
            if found is None:
                found = mappings[shape] = resolve(list(rec), ctx.fields)
                if not seen_first and (problem := missing(found, ctx.fields, list(rec))):
                    raise FormatError(ctx.file, f"not a page-view record: {problem}",
                                      f"line {lineno}")
            views.add({canon: rec.get(key) for canon, key in found.items()})
        except (orjson.JSONDecodeError, Bad) as exc:
            reason = f"invalid JSON: {exc}" if rec is None else str(exc)
            if not seen_first:
                raise FormatError(ctx.file, f"not a page-view record ({reason})",
                                  f"line {lineno}") from None
            found = mappings.get(tuple(rec)) if isinstance(rec, dict) else None
            raw = redactor(ctx, found).record(rec, line)
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
