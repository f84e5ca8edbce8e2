"""Qualtrics response exports as CSV (``qualtrics-csv``).

Layouts, told apart by their first rows:

* current export: three header rows — column ids (``StartDate, EndDate, Status, …,
  ResponseId, …, Q1, …, embedded data``), question text (often localised), and one
  ``{"ImportId":"…"}`` JSON cell per column (the date columns may add ``"timeZone"``);
* older two-row export: ids and question text, no ImportId row;
* legacy one-row export: ids only; the very old ``V1…V10`` ids with the real names
  (``ResponseID``, ``StartDate``…) in the second row are read too.

Detection reads only Qualtrics' own signature — the ImportId row, or ``V1…`` ids over a
ResponseID row — never column names: a generic CSV with a ``response_id`` column is a
``feedback-csv``. The two- and one-row layouts load with ``--format qualtrics-csv``.

Times are in the file's ``timeZone`` (ImportId row) or, if it names none, UTC; the
``timezone`` option (an IANA name) overrides both. ``submitted_at`` is RecordedDate (else
EndDate) in UTC. The score is the question with an ``<Q>_NPS_GROUP`` companion (metric nps),
else ``--field score=COLUMN`` (or a column named score/nps/csat/ces/rating) with ``--metric``;
columns may be named by id, any case, or ImportId (``QID3``). The verbatim is
``--field verbatim=COLUMN``, else the first of: ``<score>_TEXT``; a text-entry question (id or
ImportId ending in ``_TEXT``, not the "other, please specify" box ``Qn_k_TEXT`` of a choice);
a column whose id or question text contains comment, verbatim, feedback or reason.

Survey previews, test and spam responses (Status 1, 2, 8, 9, 12, 17, 40, 256 or their
labels; DistributionChannel ``preview``/``test``) are not customer feedback: each becomes a
``Reject`` with reason ``not customer feedback: survey preview`` (… survey test, spam,
synthetic), so they are counted and visible in ``parallax loads --rejects``; being excluded
by policy rather than bad, they do not count toward ``--max-reject-rate``.

Embedded data is found by common names, any case (``survey.COMMON_NAMES``): session_id /
sessionId / session.id / sid; user_id / userId / customer_id, else RecipientEmail (both
pseudonymised); page_url / page / url / PageURL (query string dropped; route from it);
device, country, segment. ``--field`` overrides any canonical field. channel comes from
DistributionChannel (anonymous → web; email; sms, smsinvite → sms; mobile, app → app; others,
such as gl for personal links, as written in lower case).

source is ``qualtrics:<SurveyID>`` from the ``survey_id`` option or an ``SV_…`` in the file
name, else ``qualtrics``. Attributes keep the remaining non-empty columns (other answers,
embedded data, Progress, Duration, Finished, UserLanguage), with IPAddress and
ExternalReference pseudonymised; recipient names, e-mail and the IP geolocation are not kept.
A rejected (or excluded) row is stored in ``rejects.raw`` scrubbed the same way: identifiers
pseudonymised, the page URL stripped, recipient names and geolocation emptied.

The header layout and the response rows are read by ``qualtrics_layout``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Source
from parallax.connectors.files import survey
from parallax.connectors.files.qualtrics_layout import META, Layout, read_export, sniff, time_zone
from parallax.errors import FormatError

__all__ = ["FORMATS"]

# Personal columns never stored, not even in rejects: recipient names, IP geolocation.
_HIDDEN = {"recipientlastname", "recipientfirstname", "name", "locationlatitude",
           "locationlongitude"}
_DROP = {"startdate", "enddate", "recordeddate", "responseid", "status", "distributionchannel",
         "responseset", *_HIDDEN}
_PII = frozenset({"ExternalReference", "ExternalDataReference", "EmailAddress"})
_NOT_FEEDBACK = {
    "1": "survey preview", "2": "survey test", "8": "spam", "9": "survey preview",
    "12": "spam", "17": "survey preview", "40": "spam", "256": "synthetic",
    "survey preview": "survey preview", "survey test": "survey test", "spam": "spam",
    "survey preview spam": "survey preview", "offline survey preview": "survey preview",
    "imported spam": "spam", "ex spam": "spam", "synthetic": "synthetic",
}
_CHANNEL_NOT_FEEDBACK = {"preview": "survey preview", "test": "survey test"}
_CHANNELS = {"anonymous": "web", "social": "social", "email": "email",
             "sms": "sms", "smsinvite": "sms", "mobile": "app", "app": "app", "qr": "qr",
             "offline": "offline"}
_SURVEY_ID = re.compile(r"SV_[A-Za-z0-9]{11,15}")
_CHOICE_TEXT = re.compile(r"_\d+_TEXT$", re.IGNORECASE)


def _columns(layout: Layout, ctx: ParseContext, metric: str | None) -> tuple[dict, str]:
    """canonical → column id for this export, and the metric."""
    ids = list(layout.ids)
    by_import = {imp.lower(): i for imp, i in zip(layout.import_ids, ids, strict=True) if imp}
    fields = {k: (v if v in ids or v.lower() not in by_import else by_import[v.lower()])
              for k, v in ctx.fields.items()}
    meta = {META[survey.norm(i)]: i for i in reversed(ids) if survey.norm(i) in META}
    cols: dict[str, str | None] = dict(survey.resolve_columns(ids, fields, ctx.file, wanted=(
        "session_id", "user_id", "email", "page_url", "device", "country", "segment")))
    for canonical in ("score", "verbatim", "submitted_at", "started_at", "feedback_id",
                      "channel"):
        if canonical in fields:
            cols.update(survey.resolve_columns(ids, fields, ctx.file, wanted=(canonical,)))
    cols.setdefault("feedback_id", meta.get("id"))
    cols.setdefault("submitted_at", meta.get("recorded") or meta.get("end"))
    cols.setdefault("started_at", meta.get("start"))
    cols.setdefault("channel", meta.get("channel"))
    cols["status"] = meta.get("status")  # read for previews and tests; never stored
    upper = {i.upper(): i for i in ids}
    nps = [upper[i.upper()[: -len("_NPS_GROUP")]] for i in ids
           if i.upper().endswith("_NPS_GROUP") and i.upper()[: -len("_NPS_GROUP")] in upper]
    if "score" not in cols and nps and metric in (None, "nps"):
        cols["score"] = nps[0]
    if "score" not in cols:
        found = survey.resolve_columns(ids, {}, ctx.file, wanted=("score",))
        if not found:
            raise FormatError(ctx.file, "no NPS question found (no <Q>_NPS_GROUP column) and "
                              "no score column; use --field score=COLUMN --metric csat", "row 1")
        cols["score"] = found["score"]
    score = cols["score"]
    assert score is not None  # a column id, set just above
    metric = metric or ("nps" if score in nps else survey.metric_of_name(score)) or "rating"
    cols.setdefault("verbatim", _verbatim(layout, score, set(cols.values())))
    return {k: v for k, v in cols.items() if v}, metric


def _verbatim(layout: Layout, score: str, used: set[str | None]) -> str | None:
    rows = [(i, lab, imp) for i, lab, imp in zip(layout.ids, layout.labels, layout.import_ids,
                                                 strict=True)
            if i not in used and survey.norm(i) not in META]
    companion = f"{score}_TEXT".upper()
    for i, _, _ in rows:
        if i.upper() == companion:
            return i
    for i, _, imp in rows:
        if any(x.upper().endswith("_TEXT") and not _CHOICE_TEXT.search(x) for x in (i, imp)):
            return i
    for i, lab, _ in rows:
        if any(w in f"{i} {lab}".lower() for w in survey.VERBATIM_WORDS):
            return i
    return None


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    metric = survey.check_fields(ctx)
    responses = read_export(source, ctx)
    layout: Layout = next(responses)
    tz = time_zone(layout, ctx)
    cols, metric = _columns(layout, ctx, metric)
    observed: dict[str, tuple[float, float]] = {}
    if metric == "rating" and not ctx.options.get("scale"):
        observed = survey.observe(((r, cols) for r in _records(source, ctx, cols)), metric)
    upper = {i.upper() for i in layout.ids}
    drop = frozenset(i for i in layout.ids if survey.norm(i) in _DROP
                     or (i.upper().endswith("_NPS_GROUP") and i.upper()[:-10] in upper))
    hidden = frozenset(i for i in layout.ids if survey.norm(i) in _HIDDEN)
    rules = survey.FileRules(_source(ctx), metric, survey.scales(ctx.options, observed), tz,
                             lambda c: _CHANNELS.get(c.lower(), c.lower()), drop, _PII, hidden)
    rows = survey.FeedbackRows(ctx, rules)
    redact = rows.redactor(cols)
    width = len(layout.ids)
    for n, cells in responses:
        if not any(c.strip() for c in cells):
            continue
        raw = partial(redact.cells, layout.ids, cells)  # built only if rejected
        if len(cells) != width or survey.undecodable(cells):
            reason = f"{len(cells)} cells, the header has {width}" if len(cells) != width \
                else "not UTF-8 text"
            rows.reject(f"row {n}", reason, raw)
            continue
        rec = dict(zip(layout.ids, cells, strict=True))
        if kind := _not_feedback(rec, cols):
            rows.reject(f"row {n}", f"not customer feedback: {kind}", raw, excluded=True)
        else:
            rows.add(f"row {n}", rec, cols, raw)
        if len(rows) >= survey.CHUNK_ROWS:
            yield rows.take()
    yield rows.take()


def _not_feedback(rec: dict[str, str], cols: dict[str, str]) -> str | None:
    """'survey preview', 'survey test', 'spam' or 'synthetic' — or None for a real response."""
    kind = _NOT_FEEDBACK.get((rec.get(cols["status"]) or "").strip().lower()) \
        if "status" in cols else None
    channel = (rec.get(cols.get("channel", "")) or "").strip().lower()
    return kind or _CHANNEL_NOT_FEEDBACK.get(channel)


def _records(source: Source, ctx: ParseContext, cols: dict[str, str]) -> Iterator[dict]:
    """The customer responses again, for a rating scale read from the data."""
    rows = read_export(source, ctx)
    ids = next(rows).ids
    for _, cells in rows:
        if len(cells) == len(ids):
            rec = dict(zip(ids, cells, strict=True))
            if not _not_feedback(rec, cols):
                yield rec


def _source(ctx: ParseContext) -> str:
    sid = ctx.options.get("survey_id") or (
        m.group(0) if (m := _SURVEY_ID.search(Path(ctx.file).name)) else None)
    return f"qualtrics:{sid}" if sid else "qualtrics"


FORMATS = [
    FileFormat("qualtrics-csv", "feedback", "feedback", sniff, _parse,
               "Qualtrics response export CSV (3-row, 2-row and legacy 1-row headers)"),
]
