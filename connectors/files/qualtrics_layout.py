"""Where a Qualtrics response export's header ends and what it says (format: ``qualtrics``):
the layout — 3-row (ids, question text, ImportId JSON), 2-row (ids and question text, or ids
and ImportIds) or legacy 1-row, ``V1…V10`` ids renamed from the second row — the file's time
zone, and the response rows after the header, as (row number, cells).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from parallax.connectors.base import ParseContext, Source
from parallax.connectors.files import survey
from parallax.errors import ConfigError, FormatError

__all__ = ["META", "Layout", "read_export", "read_layout", "sniff", "time_zone"]

META = {  # normalised id → role
    "responseid": "id", "recordid": "id", "recordeddate": "recorded", "enddate": "end",
    "startdate": "start", "status": "status", "distributionchannel": "channel",
}
_RESPONSE_ID = re.compile(r"^R_[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Layout:
    ids: tuple[str, ...]
    labels: tuple[str, ...]
    import_ids: tuple[str, ...]
    header_rows: int
    time_zone: str | None


def sniff(head: bytes) -> bool:
    """Only Qualtrics' own signature: the ImportId JSON row under the ids (current exports),
    or the legacy ``V1…`` ids with ResponseID in the second row. Column names alone are no
    signature: a generic CSV may well have a response_id or a StartDate."""
    text = head.decode("utf-8-sig", errors="ignore")
    try:
        rows = list(csv.reader(io.StringIO(text)))[:3]
    except csv.Error:
        return False
    if len(rows) < 2:
        return False
    if any(_is_import_row(r) for r in rows[1:3]):
        return True
    ids = {survey.norm(c) for c in rows[0]}
    return "v1" in ids and "responseid" in {survey.norm(c) for c in rows[1]}


def _is_import_row(row: list[str]) -> bool:
    return any(c.lstrip().startswith('{"ImportId"') for c in row)


def _is_label_row(row: list[str], ids: list[str]) -> bool:
    """A second row of question text, not a response: its dates and id do not parse."""
    if any(survey.norm(c) == "responseid" for c in row):
        return True
    by = {survey.norm(i): n for n, i in enumerate(ids)}
    for key in ("startdate", "enddate", "recordeddate"):
        if key in by and by[key] < len(row) and row[by[key]].strip():
            try:
                survey.parse_time(row[by[key]], UTC)
            except ValueError:
                return True
            return False
    if "responseid" in by and by["responseid"] < len(row):
        return not _RESPONSE_ID.match(row[by["responseid"]].strip())
    return False


def read_export(source: Source, ctx: ParseContext) -> Iterator:
    """Yields the ``Layout`` first, then (row number, cells) for each response row."""
    n = 0
    with source.open() as raw:
        # Undecodable bytes stay escaped: a bad header fails the file, a bad row is a Reject.
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline="",
                                             errors="surrogateescape"))
        try:
            head: list[list[str]] = []
            for row in reader:
                n += 1
                head.append(row)
                if n == 3:
                    break
            if not head or not any(c.strip() for c in head[0]):
                raise FormatError(ctx.file, "empty file: no header row", "row 1")
            layout = read_layout(head, ctx)
            bad = next((i for i in range(layout.header_rows) if survey.undecodable(head[i])), None)
            if bad is not None:
                raise FormatError(ctx.file, "not UTF-8 text (export the CSV as UTF-8)",
                                  f"row {bad + 1}")
            yield layout
            for i in range(layout.header_rows, len(head)):
                yield i + 1, head[i]
            for row in reader:
                n += 1
                yield n, row
        except csv.Error as exc:
            raise FormatError(ctx.file, f"not a readable CSV file: {exc}", f"row {n + 1}") \
                from None


def read_layout(head: list[list[str]], ctx: ParseContext) -> Layout:
    ids = [c.strip() for c in head[0]]
    labels: list[str] = []
    imports: list[str] = []
    rows = 1
    if len(head) > 2 and _is_import_row(head[2]):
        labels, imports, rows = head[1], head[2], 3
    elif len(head) > 1 and _is_import_row(head[1]):
        imports, rows = head[1], 2
    elif len(head) > 1 and _is_label_row(head[1], ids):
        labels, rows = head[1], 2
    if labels and "responseid" not in {survey.norm(i) for i in ids}:
        # V1…V10 legacy ids: the second row names the metadata columns.
        ids = [lab.strip() if re.fullmatch(r"V\d+", i) else i
               for i, lab in zip(ids, labels, strict=False)]
    zone, import_ids = None, []
    for cell in imports:
        try:
            meta = orjson.loads(cell)
        except orjson.JSONDecodeError:
            meta = None
        meta = meta if isinstance(meta, dict) else {}
        import_ids.append(str(meta.get("ImportId") or ""))
        zone = zone or meta.get("timeZone")
    if "id" not in {META.get(survey.norm(i)) for i in ids} and not (
            {"start", "end", "status"} <= {META.get(survey.norm(i)) for i in ids}):
        raise FormatError(ctx.file, "not a Qualtrics export: no ResponseId or StartDate/"
                                    "EndDate/Status column in the header", "row 1")
    pad = len(ids) - len(labels)
    return Layout(tuple(ids), tuple([*labels, *[""] * pad][: len(ids)]),
                   tuple([*import_ids, *[""] * (len(ids) - len(import_ids))][: len(ids)]),
                   rows, str(zone) if zone else None)


def time_zone(layout: Layout, ctx: ParseContext) -> tzinfo:
    name = ctx.options.get("timezone") or layout.time_zone
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        if ctx.options.get("timezone"):
            raise ConfigError(f"timezone {name!r}: not an IANA time zone name") from None
        raise FormatError(ctx.file, f"unknown timeZone {name[:60]!r} in the ImportId row",
                          f"row {layout.header_rows}") from None
