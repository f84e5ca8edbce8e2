"""The world written in its vendors' real formats, byte-for-byte deterministic.

- ``write_otlp``: OpenTelemetry Collector file exporter lines — each line one OTLP/JSON
  ``TracesData`` (``resourceSpans`` → ``scopeSpans`` → ``spans``) with lower-case hex ids,
  nanosecond times as strings, ``kind`` as an integer and attributes as ``AnyValue``.
  ``extra_spans`` adds that many INTERNAL app spans per page view (``internal_spans``), made
  at write time from the server span alone so scale runs never hold them in memory.
- ``write_qualtrics``: a Qualtrics response export CSV with its three header rows (column
  ids, question texts, ``{"ImportId":…}`` JSON), dates in the shop's time zone the ImportId
  row names.

GA4's BigQuery export is in ``ga4.py``.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from parallax.demo.delivery import SpanRec
from parallax.demo.spec import DEMO, WorldSpec
from parallax.demo.survey import Response
from parallax.demo.world import PageView, Session

__all__ = ["internal_spans", "local_time", "write_otlp", "write_qualtrics"]

SPANS_PER_LINE = 50
_WORKER = {"service.name": "order-worker", "telemetry.sdk.language": "python",
           "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.37.0"}
_SCOPE_VERSIONS = {"@opentelemetry/instrumentation-document-load": "0.48.0",
                   "shop_api": "2026.10.1", "account_api": "2026.9.4"}


def write_otlp(path: Path, sessions: Iterable[Session], extra_spans: int = 0,
               spec: WorldSpec = DEMO) -> None:
    """One line per ~50 spans of one resource, as a batching collector writes them; a resource
    with at least half a batch waiting rides along in the same line (several resourceSpans)."""
    resources = {**spec.services, "order-worker": _WORKER}
    buffers: dict[str, list[SpanRec]] = {name: [] for name in resources}
    with open(path, "wb") as f:
        for session in sessions:
            for spans in (*(_page_spans(pv, extra_spans) for pv in session.pages),
                          session.side):
                for span in spans:
                    buf = buffers[span.service]
                    buf.append(span)
                    if len(buf) >= SPANS_PER_LINE:
                        riders = [s for s, b in buffers.items()
                                  if s != span.service and len(b) >= SPANS_PER_LINE // 2]
                        _line(f, buffers, [span.service, *riders], resources)
        _line(f, buffers, [s for s, b in buffers.items() if b], resources)


def _page_spans(pv: PageView, extra_spans: int) -> tuple[SpanRec, ...]:
    return (*pv.spans, *internal_spans(pv, extra_spans)) if extra_spans else pv.spans


# The app's own INTERNAL spans: (name, function, extra attributes). The first half of a page
# view's spans run before its dependency calls, the rest after them. No http.*, url.*, peer or
# session attributes: they must not change what the loader derives (routes, peers, sessions).
_BEFORE = (("request_context", "middleware.request_context"), ("verify_session", "auth.verify"),
           ("cache.get", "cache.get"))
_AFTER = (("render", "views.render"), ("serialize", "views.serialize"), ("cache.set", "cache.set"))


def internal_spans(pv: PageView, n: int) -> tuple[SpanRec, ...]:
    """``n`` INTERNAL children of the page view's server span, inside its time range and
    around its CLIENT calls; seeded by the server span id, so the same every run."""
    server = next(s for s in pv.spans if s.kind == 2)
    rng = random.Random(int(server.span_id, 16))
    calls = [s for s in pv.spans if s.parent_id == server.span_id]
    mid = (server.start_ns + server.end_ns) // 2
    first = min((s.start_ns for s in calls), default=mid)
    last = max((s.end_ns for s in calls), default=mid)
    pkg = server.service.replace("-", "_")
    used = {s.span_id for s in pv.spans}
    out = []
    before = (n + 1) // 2
    for i in range(n):
        j, k, (a, b), kinds = ((i, before, (server.start_ns, first), _BEFORE) if i < before
                               else (i - before, n - before, (last, server.end_ns), _AFTER))
        slot = (b - a) / k
        start = a + int((j + rng.uniform(0.05, 0.3)) * slot)
        end = start + int(rng.uniform(0.4, 0.65) * slot)
        name, func = kinds[j % len(kinds)]
        attrs: list[tuple[str, Any]] = [("code.function.name", f"{pkg}.{func}")]
        if name.startswith("cache."):
            attrs += [("app.cache.key", f"{pv.route}:{j}"), ("app.cache.hit", rng.random() < .8)]
        elif name == "render":
            attrs.append(("app.template", _template(pv.route)))
        elif name == "serialize":
            attrs.append(("app.response.bytes", rng.randrange(2_000, 120_000)))
        elif name == "verify_session":
            attrs.append(("enduser.authenticated", any(
                key == "enduser.id" for key, _ in server.attrs)))
        span_id = f"{rng.getrandbits(64) | 1:016x}"
        while span_id in used:  # ids are unique within a trace
            span_id = f"{rng.getrandbits(64) | 1:016x}"
        used.add(span_id)
        out.append(SpanRec(server.trace_id, span_id, server.span_id, server.service, pkg, name,
                           1, start, end, tuple(attrs)))
    return tuple(out)


def _template(route: str) -> str:
    """The page template a route renders: its last literal segment (``/`` → home)."""
    literal = [s for s in route.split("/") if s and "{" not in s]
    return f"{literal[-1] if literal else 'home'}.html"


def _line(f, buffers: dict[str, list[SpanRec]], services: list[str],
          resources: Mapping[str, Mapping]) -> None:
    if not services:
        return
    resource_spans = []
    for service in services:
        scopes: dict[str, list[dict]] = {}
        for span in buffers[service]:
            scopes.setdefault(span.scope, []).append(_span(span))
        resource_spans.append({
            "resource": {"attributes": [_kv(k, v) for k, v in resources[service].items()]},
            "scopeSpans": [{"scope": _scope(name), "spans": spans}
                           for name, spans in scopes.items()],
        })
        buffers[service] = []
    f.write(orjson.dumps({"resourceSpans": resource_spans}) + b"\n")


def _scope(name: str) -> dict:
    return {"name": name, "version": _SCOPE_VERSIONS.get(name, "0.58b0")}


def _span(s: SpanRec) -> dict:
    d: dict[str, Any] = {"traceId": s.trace_id, "spanId": s.span_id}
    if s.parent_id:
        d["parentSpanId"] = s.parent_id
    d.update(name=s.name, kind=s.kind, startTimeUnixNano=str(s.start_ns),
             endTimeUnixNano=str(s.end_ns), attributes=[_kv(k, v) for k, v in s.attrs])
    if s.events:
        d["events"] = [{"timeUnixNano": str(t), "name": n} for n, t in s.events]
    d["status"] = {"code": 2, "message": s.error} if s.error else {}
    return d


def _kv(key: str, value: Any) -> dict:
    if isinstance(value, bool):  # before int: bool is an int in Python
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP/JSON: int64 as string
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


# Qualtrics: (column id, question text, ImportId JSON). Embedded data carries its own name.
# "{tz}" stands for the survey's time zone.
_TZ = {"timeZone": "{tz}"}
QUALTRICS_COLUMNS: tuple[tuple[str, str, dict], ...] = (
    ("StartDate", "Start Date", {"ImportId": "startDate", **_TZ}),
    ("EndDate", "End Date", {"ImportId": "endDate", **_TZ}),
    ("Status", "Response Type", {"ImportId": "status"}),
    ("IPAddress", "IP Address", {"ImportId": "ipAddress"}),
    ("Progress", "Progress", {"ImportId": "progress"}),
    ("Duration (in seconds)", "Duration (in seconds)", {"ImportId": "duration"}),
    ("Finished", "Finished", {"ImportId": "finished"}),
    ("RecordedDate", "Recorded Date", {"ImportId": "recordedDate", **_TZ}),
    ("ResponseId", "Response ID", {"ImportId": "_recordId"}),
    ("RecipientLastName", "Recipient Last Name", {"ImportId": "recipientLastName"}),
    ("RecipientFirstName", "Recipient First Name", {"ImportId": "recipientFirstName"}),
    ("RecipientEmail", "Recipient Email", {"ImportId": "recipientEmail"}),
    ("ExternalReference", "External Data Reference", {"ImportId": "externalDataReference"}),
    ("LocationLatitude", "Location Latitude", {"ImportId": "locationLatitude"}),
    ("LocationLongitude", "Location Longitude", {"ImportId": "locationLongitude"}),
    ("DistributionChannel", "Distribution Channel", {"ImportId": "distributionChannel"}),
    ("UserLanguage", "User Language", {"ImportId": "userLanguage"}),
    ("Q1_NPS_GROUP", "How likely are you to recommend us to a friend or colleague? - Group",
     {"ImportId": "QID1_NPS_GROUP"}),
    ("Q1", "How likely are you to recommend us to a friend or colleague?", {"ImportId": "QID1"}),
    ("Q2", "What is the main reason for your score?", {"ImportId": "QID2_TEXT"}),
    ("session_id", "session_id", {"ImportId": "session_id"}),
    ("user_id", "user_id", {"ImportId": "user_id"}),
    ("page_url", "page_url", {"ImportId": "page_url"}),
    ("device", "device", {"ImportId": "device"}),
)


def write_qualtrics(path: Path, responses: Sequence[Response], spec: WorldSpec = DEMO) -> None:
    """Rows in the order Qualtrics exports them: by recorded date."""
    zone = spec.zone
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([c[0] for c in QUALTRICS_COLUMNS])
        w.writerow([c[1] for c in QUALTRICS_COLUMNS])
        w.writerow([orjson.dumps({k: spec.tz if v == "{tz}" else v for k, v in c[2].items()})
                    .decode() for c in QUALTRICS_COLUMNS])
        for r in sorted(responses, key=lambda r: (r.ended_us, r.response_id)):
            w.writerow(_qualtrics_row(r, zone))


def _qualtrics_row(r: Response, zone: ZoneInfo) -> list[str]:
    group = 1 if r.score <= 6 else 2 if r.score <= 8 else 3  # detractor / passive / promoter
    return [
        local_time(r.shown_us, zone), local_time(r.ended_us, zone), r.status, r.ip,
        "100" if r.finished else "50", str((r.ended_us - r.shown_us) // 1_000_000),
        "True" if r.finished else "False", local_time(r.ended_us, zone), r.response_id, "", "",
        "", "",
        f"{r.lat:.4f}" if r.ip else "", f"{r.lon:.4f}" if r.ip else "",
        "anonymous" if r.status == "IP Address" else "preview", r.language,
        str(group), str(r.score), r.verbatim,
        r.session_id or "", r.user_id or "", r.page_url, r.device,
    ]


def local_time(us: int, zone: ZoneInfo) -> str:
    """Microseconds since the epoch as Qualtrics writes a date in the survey's time zone."""
    return datetime.fromtimestamp(us // 1_000_000, zone).strftime("%Y-%m-%d %H:%M:%S")
