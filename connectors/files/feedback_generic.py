"""Generic survey answers: ``feedback-csv`` and ``feedback-ndjson``.

* ``feedback-csv``: one header row, then one answer per row; comma, semicolon or tab
  (whichever the header line holds most of); UTF-8, BOM allowed.
* ``feedback-ndjson``: one JSON object per line; nested objects are read as dotted keys
  (``{"context": {"session_id": "s1"}}`` → ``context.session_id``).

Columns are found by common names — case, ``_``, ``.``, ``-`` and spaces ignored, first listed
wins (``survey.COMMON_NAMES``): id ← feedback_id, response_id, id; submitted_at ←
submitted_at, recorded_date, timestamp, created_at, …, date, time; started_at (when the survey
was shown or opened; the join model links by it) ← started_at, start_date, shown_at, …;
score ← score, nps, csat,
ces, rating, stars, …; metric ← metric; verbatim ← verbatim, comment(s), feedback, text,
reason, else a column whose name contains comment, verbatim, feedback or reason;
session_id ← session_id, sid; user_id ← user_id, customer_id (else email); page_url ←
page_url, page, url, page_path, route (a route template is read as the page); device,
country, segment, channel. ``--field canonical=column``
overrides any of them.

The metric is ``--metric``, else the row's ``metric`` column, else what the score column's
name says (nps / csat / ces), else ``rating`` (scales and the poor rule: ``survey``).
Timestamps are ISO 8601 or epoch seconds / ms / µs / ns; ISO times without an offset are UTC;
a timestamp that does not parse rejects its row (with the column and the value).

A row without a feedback id gets a derived one, ``sha256:<hash of the row's content>`` (the
n-th identical row of a file adds ``#n``), so reloading the same file stores nothing twice.
A rejected row or line is stored scrubbed like the rows: user id and e-mail pseudonymised,
the page URL stripped (``survey_rows``).
source is ``feedback:<source option>`` or ``feedback``: the natural key is (source,
feedback_id), so two surveys whose ids overlap must be loaded with different ``source``
options, or their answers dedupe against each other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import UTC
from functools import partial
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Source
from parallax.connectors.files import survey
from parallax.connectors.files.lines import source_lines
from parallax.errors import FormatError

__all__ = ["FORMATS"]

_ID_OR_SCORE = frozenset(survey.COMMON_NAMES["score"]) | {"feedbackid", "responseid"}
_HINT = "use --field score=COLUMN --metric csat"


def _delimiter(line: str) -> str:
    return max((",", ";", "\t"), key=line.count)


def _sniff_csv(head: bytes) -> bool:
    text = head.decode("utf-8-sig", errors="ignore")
    line = text.split("\n", 1)[0].rstrip("\r")
    if not line.strip() or line.lstrip().startswith(("{", "[")):
        return False
    try:
        cols = next(csv.reader([line], delimiter=_delimiter(line)))
    except (csv.Error, StopIteration):
        return False
    return any(survey.norm(c) in _ID_OR_SCORE for c in cols)


def _sniff_ndjson(head: bytes) -> bool:
    text = head.decode("utf-8-sig", errors="ignore").lstrip()
    line = text.split("\n", 1)[0]
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(rec, dict) and any(survey.norm(k) in _ID_OR_SCORE
                                         for k in survey.flatten(rec))


def _rules(ctx: ParseContext, metric: str, observed: dict) -> survey.FileRules:
    src = (ctx.options.get("source") or "").strip()
    return survey.FileRules(f"feedback:{src}" if src else "feedback", metric,
                            survey.scales(ctx.options, observed), UTC)


def _wants_data_scale(ctx: ParseContext, metric: str, cols: dict) -> bool:
    return not ctx.options.get("scale") and (metric == "rating" or "metric" in cols)


# --- CSV -------------------------------------------------------------------------------------

def _csv_stream(source: Source, ctx: ParseContext) -> Iterator:
    """Yields (header, delimiter) first, then (row number, cells) per non-blank row."""
    n = 0
    with source.open() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="surrogateescape")
        try:
            first = text.readline()
            delimiter = _delimiter(first)
            header = [c.strip() for c in next(csv.reader([first], delimiter=delimiter), [])]
            n = 1
            if not any(header):
                raise FormatError(ctx.file, "empty file: no header row", "row 1")
            if survey.undecodable(header):
                raise FormatError(ctx.file, "not UTF-8 text", "row 1")
            yield header, delimiter
            for row in csv.reader(text, delimiter=delimiter):
                n += 1
                if any(c.strip() for c in row):
                    yield n, row
        except csv.Error as exc:
            raise FormatError(ctx.file, f"not a readable CSV file: {exc}", f"row {n + 1}") \
                from None


def _parse_csv(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    given = survey.check_fields(ctx)
    stream = _csv_stream(source, ctx)
    header, delimiter = next(stream)
    cols = survey.resolve_columns(header, ctx.fields, ctx.file)
    if "score" not in cols:
        raise FormatError(ctx.file, f"no score column (score, nps, csat, ces, rating…); {_HINT}",
                          "row 1")
    if given:
        cols.pop("metric", None)
    metric = given or survey.metric_of_name(cols["score"]) or "rating"
    observed = {}
    if _wants_data_scale(ctx, metric, cols):
        stream2 = _csv_stream(source, ctx)
        next(stream2)
        observed = survey.observe(((dict(zip(header, r, strict=True)), cols)
                                   for _, r in stream2 if len(r) == len(header)), metric)
    rows = survey.FeedbackRows(ctx, _rules(ctx, metric, observed))
    redact = rows.redactor(cols)
    for n, cells in stream:
        raw = partial(redact.cells, header, cells, delimiter)  # built only if rejected
        if len(cells) != len(header) or survey.undecodable(cells):
            reason = f"{len(cells)} cells, the header has {len(header)}" \
                if len(cells) != len(header) else "not UTF-8 text"
            rows.reject(f"row {n}", reason, raw)
            continue
        rows.add(f"row {n}", dict(zip(header, cells, strict=True)), cols, raw)
        if len(rows) >= survey.CHUNK_ROWS:
            yield rows.take()
    yield rows.take()


# --- NDJSON ----------------------------------------------------------------------------------

def _json_lines(source: Source, ctx: ParseContext) -> Iterator[tuple[int, Any, str]]:
    """(line number, flattened object or an error text, line) per non-blank line."""
    for n, line in source_lines(source):
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield n, f"invalid JSON: {exc}", text
            continue
        if not isinstance(rec, dict):
            yield n, f"not a JSON object: {type(rec).__name__}", text
            continue
        yield n, survey.flatten(rec), text


def _scrubbed(rows: survey.FeedbackRows, cols: Mapping[str, str], line: str) -> str:
    """A rejected line for ``rejects.raw``, scrubbed like its row would be."""
    return rows.redactor(cols).line(line)


def _parse_ndjson(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    given = survey.check_fields(ctx)
    columns = survey.column_resolver(ctx, given)

    first = next(((n, r) for n, r, _ in _json_lines(source, ctx)), None)
    if first is None:
        raise FormatError(ctx.file, "empty file: no JSON records", "line 1")
    if isinstance(first[1], str):
        raise FormatError(ctx.file, f"not NDJSON: {first[1]}", f"line {first[0]}")
    score_key = columns(first[1]).get("score") or ctx.fields.get("score") or ""
    metric = given or survey.metric_of_name(score_key) or "rating"
    observed = {}
    if _wants_data_scale(ctx, metric, columns(first[1])):
        observed = survey.observe(
            ((r, columns(r)) for _, r, _ in _json_lines(source, ctx) if isinstance(r, dict)),
            metric)
    rows = survey.FeedbackRows(ctx, _rules(ctx, metric, observed))
    scored = False
    for n, rec, text in _json_lines(source, ctx):
        if isinstance(rec, str):
            rows.reject(f"line {n}", rec, _scrubbed(rows, ctx.fields, text))
            continue
        cols = columns(rec)
        scored = scored or "score" in cols
        rows.add(f"line {n}", rec, cols, partial(_scrubbed, rows, cols, text))
        if len(rows) >= survey.CHUNK_ROWS:
            yield rows.take()
    if not scored:
        what = f"field {ctx.fields['score']!r}" if "score" in ctx.fields else \
            "score field (score, nps, csat, ces, rating…)"
        raise FormatError(ctx.file, f"no record has a {what}; {_HINT}")
    yield rows.take()


FORMATS = [
    FileFormat("feedback-ndjson", "feedback", "feedback", _sniff_ndjson, _parse_ndjson,
               "Survey answers, one JSON object per line (score, id, timestamp, …)"),
    FileFormat("feedback-csv", "feedback", "feedback", _sniff_csv, _parse_csv,
               "Survey answers as CSV with a header row (score, id, timestamp, …)"),
]
