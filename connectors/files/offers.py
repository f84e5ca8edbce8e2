"""Generic survey-offer exports, CSV or NDJSON, one offer (the survey was shown) per row →
``survey_offers``. For survey tools whose impressions reach no analytics stream; GA4 custom
events need no file of their own (``[selection] offer_events``).

Columns are found by common names (case, spaces and underscores ignored); ``--field
canonical=column`` overrides any of them:

| canonical  | column names (first found)                                              |
|------------|-------------------------------------------------------------------------|
| offered_at | offered_at, shown_at, displayed_at, impression_at, impression_time —    |
|            | required; ISO 8601 (no offset: UTC) or epoch seconds / ms / µs / ns      |
| session_id | session_id, sessionId, sid, session — this or user_id required per row  |
| user_id    | user_id, uid, user, customer_id (pseudonymised)                         |
| survey     | survey, survey_id, surveyId                                             |
| url        | url, page, page_url, page_location                                      |
| offer_id   | offer_id, impression_id, event_id (else a keyed hash is the key)        |

A file is taken for offers only when it has an ``offered_at`` column under one of those names
(a page-view file has none). A bad row is rejected with its reason, the user column
pseudonymised and the url stripped, like stored rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.analytics_rows import Bad, first_line, first_object
from parallax.connectors.files.offer_rows import Offers
from parallax.connectors.files.redact import Redactor
from parallax.errors import ConfigError, FormatError

__all__ = ["FORMATS"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "offered_at": ("offeredat", "shownat", "displayedat", "impressionat", "impressiontime"),
    "session_id": ("sessionid", "sid", "session"),
    "user_id": ("userid", "uid", "user", "customerid"),
    "survey": ("survey", "surveyid"),
    "url": ("url", "page", "pageurl", "pagelocation"),
    "offer_id": ("offerid", "impressionid", "eventid"),
}


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _resolve(names: list[str], fields: Mapping[str, str]) -> dict[str, str]:
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(_norm(n), n)
    out = {canon: col for canon, col in fields.items() if canon in _ALIASES and col in names}
    for canon, aliases in _ALIASES.items():
        if canon not in fields and (hit := next((a for a in aliases if a in by_norm), None)):
            out[canon] = by_norm[hit]
    return out


def _check(found: dict[str, str], ctx: ParseContext, names: list[str], where: str) -> None:
    unknown = set(ctx.fields) - set(_ALIASES)
    if unknown:
        raise ConfigError(f"--field {sorted(unknown)[0]}: unknown field; expected one of "
                          f"{', '.join(_ALIASES)}")
    if "offered_at" not in found or not {"session_id", "user_id"} & found.keys():
        raise FormatError(ctx.file, "not a survey-offer file: it needs an offered_at column "
                          f"({', '.join(_ALIASES['offered_at'])}) and a session or user id; "
                          f"columns: {', '.join(names)}"[:400], where)


def _redactor(ctx: ParseContext, found: Mapping[str, str]) -> Redactor:
    return Redactor.of(ctx.pseudonymize, (found.get("user_id"),), (found.get("url"),))


def _sniff_csv(head: bytes) -> bool:
    line = first_line(head)
    if not line or line[:1] in (b"{", b"["):
        return False
    text = line.decode("utf-8", "replace").split("\r", 1)[0]
    try:
        names = next(csv.reader([text], delimiter=_delimiter(text)), [])
    except csv.Error:
        return False
    return "offered_at" in _resolve(names, {})


def _sniff_ndjson(head: bytes) -> bool:
    obj = first_object(head)
    return obj is not None and "offered_at" in _resolve(list(obj), {})


def _delimiter(header: str) -> str:
    return max((",", ";", "\t", "|"), key=header.count)


def _parse_csv(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    offers, records, rejects = Offers(ctx, "offers-csv"), 0, []
    with io.TextIOWrapper(source.open(), encoding="utf-8-sig", newline="") as text:
        header = text.readline()
        delim = _delimiter(header)
        names = [n.strip() for n in next(csv.reader([header], delimiter=delim), [])]
        found = _resolve(names, ctx.fields)
        _check(found, ctx, names, "line 1")
        index = {canon: names.index(col) for canon, col in found.items()}
        reader = csv.reader(text, delimiter=delim)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                records += 1
                try:
                    if len(row) != len(names):
                        raise Bad(f"{len(row)} fields, the header has {len(names)}")
                    offers.add({canon: row[i] for canon, i in index.items()})
                except Bad as exc:
                    rejects.append(Reject(f"line {reader.line_num + 1}", str(exc),
                                          _redactor(ctx, found).cells(names, row, delim)))
        except csv.Error as exc:
            raise FormatError(ctx.file, f"malformed CSV: {exc}",
                              f"line {reader.line_num + 1}") from None
    yield offers.take(records, rejects)


def _parse_ndjson(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    offers, records, rejects = Offers(ctx, "offers-ndjson"), 0, []
    found: dict[str, str] | None = None
    shapes: dict[tuple, dict[str, str]] = {}
    with source.open() as f:
        for lineno, line in enumerate(f, 1):
            line = line.removeprefix(b"\xef\xbb\xbf") if lineno == 1 else line
            if not line.strip():
                continue
            records += 1
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if found is None:
                    raise FormatError(ctx.file, f"not JSON: {exc}", f"line {lineno}") from None
                rejects.append(Reject(f"line {lineno}", f"invalid JSON: {exc}",
                                      _redactor(ctx, found).line(line.decode("utf-8",
                                                                             "replace"))))
                continue
            if not isinstance(rec, dict):
                rejects.append(Reject(f"line {lineno}", "not a JSON object",
                                      _redactor(ctx, found or {}).record(rec, line)))
                continue
            shape = tuple(rec)  # rows may name their keys differently: resolved per shape
            if shape not in shapes:
                shapes[shape] = _resolve(list(rec), ctx.fields)
                if found is None:
                    _check(shapes[shape], ctx, list(rec), f"line {lineno}")
            found = shapes[shape]
            try:
                offers.add({canon: rec.get(key) for canon, key in found.items()})
            except Bad as exc:
                rejects.append(Reject(f"line {lineno}", str(exc),
                                      _redactor(ctx, found).record(rec, line)))
    if found is None:
        raise FormatError(ctx.file, "no survey offers: the file is empty")
    yield offers.take(records, rejects)


FORMATS = [
    FileFormat("offers-csv", "analytics", "survey_offers", _sniff_csv, _parse_csv,
               "survey offers (the survey was shown), CSV with a header"),
    FileFormat("offers-ndjson", "analytics", "survey_offers", _sniff_ndjson, _parse_ndjson,
               "survey offers (the survey was shown), one JSON object per line"),
]
