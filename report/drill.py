"""Drill-down: the rows behind a number, down to one session's timeline.

``drill(con, kind, subject)`` answers ``parallax drill
route|dependency|response|session|interaction`` from the named ``drill_*`` queries over the
join model; the same views fill the review's evidence appendix. An interaction shows the
contact, the same customer's page loads in the day before it and those sessions' timelines.
A subject that is not there is a ``NoDataError`` naming what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from parallax.db import fetch_dicts
from parallax.errors import ConfigError, NoDataError
from parallax.named_queries import run_query
from parallax.names import did_you_mean

__all__ = ["KINDS", "Drill", "Rows", "SessionView", "drill", "session_view", "session_views",
           "text_waterfall"]

KINDS = ("route", "dependency", "response", "session", "interaction")
INTERACTION_SESSIONS = 3  # the most recent sessions before a contact shown in full


@dataclass(frozen=True)
class Rows:
    title: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    compact: tuple[str, ...] = ()  # what a 100-column terminal shows (empty: every column)


@dataclass(frozen=True)
class SessionView:
    session: str
    timeline: Rows  # page loads and answers in time order (queries/drill_session.sql)
    spans: Rows  # its traces' spans (queries/drill_spans.sql), for the waterfall


@dataclass(frozen=True)
class Drill:
    kind: str
    subject: str
    finding: dict | None  # the latest run's finding on this route / dependency, if any
    tables: tuple[Rows, ...]
    sessions: tuple[SessionView, ...]


# The columns of a drill table a narrow terminal shows first (the rest with --wide): enough to
# read the row and to drill further (`drill response`, `drill session`).
COMPACT = {"drill_route": ("response", "submitted_at", "score", "load_ms",
                           "failed_dependencies", "verbatim"),
           "drill_dependency": ("started_at", "route", "session", "failed", "load_ms")}


def _rows(con, title: str, name: str, **params: Any) -> Rows:
    columns, rows = fetch_dicts(run_query(con, name, params))
    return Rows(title, tuple(columns), tuple(rows), COMPACT.get(name, ()))


def session_view(con: duckdb.DuckDBPyConnection, session: str,
                 span_limit: int = 300) -> SessionView | None:
    return session_views(con, [session], span_limit).get(session)


def session_views(con: duckdb.DuckDBPyConnection, sessions: list[str],
                  span_limit: int = 300) -> dict[str, SessionView]:
    """Timelines and spans of several sessions (one scan of the spans for all of them)."""
    if not sessions:
        return {}
    spans = _rows(con, "Spans (waterfall)", "drill_spans", session=",".join(sessions),
                  limit=span_limit)
    out: dict[str, SessionView] = {}
    for session in sessions:
        timeline = _rows(con, f"Session {session}: timeline", "drill_session", session=session)
        if timeline.rows:
            mine = tuple(r for r in spans.rows if r["session"] == session)
            out[session] = SessionView(session, timeline, Rows(spans.title, spans.columns, mine))
    return out


def drill(con: duckdb.DuckDBPyConnection, kind: str, subject: str,
          limit: int = 50, good_load_ms: float = 2500.0) -> Drill:
    if kind not in KINDS:
        raise ConfigError(f"drill {kind!r}: expected one of {', '.join(KINDS)}")
    if kind != "interaction" and not con.execute(  # no run: no join model to drill into
            "SELECT count(*) FROM correlate_runs").fetchall()[0][0]:
        raise NoDataError("no findings yet: run `parallax correlate` first")
    if kind == "session":
        view = session_view(con, subject)
        if view is None:
            raise NoDataError(f"no session {subject!r} in the join model (page loads or answers)")
        return Drill(kind, subject, None, (), (view,))
    if kind == "interaction":
        return _interaction(con, subject, limit, good_load_ms)
    if kind == "response":
        found = _rows(con, f"Response {subject}", "drill_response", response=subject)
        if not found.rows:
            raise NoDataError(f"no response {subject!r} in the latest correlate run's window "
                              "(give its feedback id or source:feedback id)")
        session = found.rows[0]["session"]
        view = session_view(con, session) if session else None
        return Drill(kind, subject, None, (found,), (view,) if view else ())
    findings = _findings(con, kind)
    finding = findings.get(subject)
    if kind == "route":
        table = _rows(con, f"Responses on {subject} (poor first)", "drill_route",
                      route=subject, limit=limit)
    else:
        table = _rows(con, f"Page loads that called {subject} (failed first)",
                      "drill_dependency", dependency=subject, limit=limit)
    if finding is None and not table.rows:
        raise NoDataError(f"no {kind} {subject!r} in the latest correlate run"
                          + (did_you_mean(subject, findings) or " (see `parallax findings`)"))
    return Drill(kind, subject, finding, (table,), ())


def _interaction(con: duckdb.DuckDBPyConnection, subject: str, limit: int,
                 good_load_ms: float) -> Drill:
    found = _rows(con, f"Interaction {subject} (with its transfer legs)", "drill_interaction",
                  interaction=subject)
    if not found.rows:
        raise NoDataError(f"no interaction {subject!r} (give its interaction id or "
                          "source:interaction id)")
    pages = _rows(con, "The customer's page loads in the 24 h before it (newest first)",
                  "drill_interaction_pages", interaction=subject, limit=limit,
                  good_ms=float(good_load_ms))
    recent = list(dict.fromkeys(r["session"] for r in pages.rows if r["session"]))
    views = session_views(con, recent[:INTERACTION_SESSIONS])
    return Drill("interaction", subject, None, (found, pages),
                 tuple(views[s] for s in recent[:INTERACTION_SESSIONS] if s in views))


def _findings(con, kind: str) -> dict[str, dict]:
    """The latest run's findings on one kind of subject, by subject."""
    return {s: orjson.loads(doc) for _, k, s, _, doc in run_query(
        con, "findings", {"run_id": None}).fetchall() if k == kind}


def text_waterfall(spans: tuple[dict, ...] | list[dict],
                   width: int = 32) -> tuple[list[str], list[tuple]]:
    """Spans as terminal rows with a bar: offset and length within the span's own trace."""
    bounds: dict[str, tuple[float, float]] = {}
    for s in spans:
        lo, hi = bounds.get(s["trace_id"], (s["offset_ms"], s["offset_ms"]))
        bounds[s["trace_id"]] = (min(lo, s["offset_ms"]),
                                 max(hi, s["offset_ms"] + (s["duration_ms"] or 0)))
    rows = []
    for s in spans:
        lo, hi = bounds[s["trace_id"]]
        scale = width / max(hi - lo, 1e-9)
        start = int((s["offset_ms"] - lo) * scale)
        length = max(1, round((s["duration_ms"] or 0) * scale))
        bar = " " * start + ("!" if s["error"] else "█") * min(length, width - start)
        rows.append((s["trace_id"][:8], f"+{lo / 1000:,.1f}s", s["service"], s["name"],
                     s["kind"], s["peer"] or "", s["duration_ms"], s["status_code"], bar))
    return (["trace", "page at", "service", "span", "kind", "calls", "ms", "status",
             "waterfall (within its trace)"], rows)
