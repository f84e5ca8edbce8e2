"""What customers wrote, per route: topics, sentiment, languages, and **said vs measured** —
the verbatims whose words and linked delivery disagree.

* *said, not measured*: the verbatim complains of slowness or errors, yet its own page was fine
  (load below ``good_load_ms``, no error page, no failed dependency call);
* *measured, not said*: its page was slow or broken, yet the verbatim complains of something
  else or praises.

Only session- and user-linked responses name one page; the others have delivery ``unknown`` and
are in neither list. Text analysis: ``parallax.insights.text_analysis`` (lexicons, no model).
The SQL is ``models/insights/verbatims.sql``; definitions in docs/verbatims.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from parallax.db import read_sql
from parallax.errors import NoDataError
from parallax.exposure import JoinSettings, build_exposure
from parallax.insights.text_analysis import TOPICS, Analysis, analyse

__all__ = ["DELIVERY_TOPICS", "Mismatch", "RouteVerbatims", "TopicCount", "verbatim_report"]

DELIVERY_TOPICS = ("slowness", "errors")  # what delivery measures: load time, errors, failures
SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class TopicCount:
    topic: str
    verbatims: int  # verbatims naming it
    complaints: int  # of them, complaining about it
    poor_share: float  # of them, the share whose score was poor


@dataclass(frozen=True)
class Mismatch:
    response_key: str
    submitted_at: datetime
    verbatim: str
    language: str
    sentiment: str
    topics: tuple[str, ...]
    complaints: tuple[str, ...]
    load_ms: float | None
    error: bool
    failed_dependencies: tuple[str, ...]
    why: str  # in words: what was said against what was measured

    def to_json(self) -> dict[str, Any]:
        return {"response_key": self.response_key,
                "submitted_at": self.submitted_at.isoformat(), "verbatim": self.verbatim,
                "language": self.language, "sentiment": self.sentiment,
                "topics": list(self.topics), "complaints": list(self.complaints),
                "load_ms": None if self.load_ms is None else round(self.load_ms, 1),
                "error": self.error, "failed_dependencies": list(self.failed_dependencies),
                "why": self.why}


@dataclass(frozen=True)
class RouteVerbatims:
    route: str
    verbatims: int
    poor_share: float
    languages: dict[str, int]
    sentiment: dict[str, int]  # positive / neutral / negative
    topics: tuple[TopicCount, ...]  # most named first
    delivery: dict[str, int]  # fine / bad / unknown
    said_not_measured: tuple[Mismatch, ...]  # at most `limit`, oldest first
    measured_not_said: tuple[Mismatch, ...]
    mismatches: dict[str, int]  # how many of each there are in all

    def to_json(self) -> dict[str, Any]:
        return {"route": self.route, "verbatims": self.verbatims,
                "poor_share": round(self.poor_share, 4), "languages": self.languages,
                "sentiment": self.sentiment,
                "topics": [{"topic": t.topic, "verbatims": t.verbatims,
                            "complaints": t.complaints, "poor_share": round(t.poor_share, 4)}
                           for t in self.topics],
                "delivery": self.delivery, "mismatches": self.mismatches,
                "said_not_measured": [m.to_json() for m in self.said_not_measured],
                "measured_not_said": [m.to_json() for m in self.measured_not_said]}


def _why_said(a: Analysis, load_ms: float, good_load_ms: float) -> str:
    said = " and ".join(t for t in DELIVERY_TOPICS if a.complains_of(t))
    return (f"complains of {said}; the page loaded in {load_ms:,.0f} ms "
            f"(< {good_load_ms:,.0f}) with no error and no failed call")


def _why_measured(a: Analysis, load_ms: float, error: bool, failed: tuple[str, ...],
                  good_load_ms: float) -> str:
    got = []
    if load_ms >= good_load_ms:
        got.append(f"the page took {load_ms:,.0f} ms (>= {good_load_ms:,.0f})")
    if error:
        got.append("an error page")
    if failed:
        got.append(f"{', '.join(failed)} failed")
    said = (f"complains of {', '.join(a.complaints)}" if a.complaints else
            "praises" if a.label == "positive" else f"names {', '.join(a.topics)}")
    return f"{said}; measured: {'; '.join(got)}"


def _mismatch(row: dict, a: Analysis, why: str) -> Mismatch:
    return Mismatch(row["response_key"], row["submitted_at"], row["verbatim"], a.language,
                    a.label, a.topics, a.complaints, row["load_ms"], bool(row["error_seen"]),
                    tuple(row["failed_deps"] or ()), why)


def _route(route: str, rows: list[tuple[dict, Analysis]], good_load_ms: float,
           limit: int) -> RouteVerbatims:
    named: Counter[str] = Counter()
    complained: Counter[str] = Counter()
    poor: Counter[str] = Counter()
    said, measured = [], []
    for row, a in rows:
        for t in a.topics:
            named[t] += 1
            complained[t] += t in a.complaints
            poor[t] += bool(row["is_poor"])
        if row["delivery"] == "fine" and a.complains_of(*DELIVERY_TOPICS):
            said.append(_mismatch(row, a, _why_said(a, row["load_ms"], good_load_ms)))
        elif row["delivery"] == "bad" and not a.complains_of(*DELIVERY_TOPICS) and (
                set(a.topics) - set(DELIVERY_TOPICS) or a.label == "positive"):
            measured.append(_mismatch(row, a, _why_measured(
                a, row["load_ms"], bool(row["error_seen"]), tuple(row["failed_deps"] or ()),
                good_load_ms)))
    order = sorted(named, key=lambda t: (-named[t], TOPICS.index(t) if t in TOPICS else 99))
    n = len(rows)
    return RouteVerbatims(
        route=route, verbatims=n, poor_share=sum(bool(r["is_poor"]) for r, _ in rows) / n,
        languages=dict(Counter(a.language for _, a in rows).most_common()),
        sentiment={s: sum(a.label == s for _, a in rows) for s in SENTIMENTS},
        topics=tuple(TopicCount(t, named[t], complained[t], poor[t] / named[t]) for t in order),
        delivery={d: sum(r["delivery"] == d for r, _ in rows) for d in ("fine", "bad", "unknown")},
        said_not_measured=tuple(said[:limit]), measured_not_said=tuple(measured[:limit]),
        mismatches={"said_not_measured": len(said), "measured_not_said": len(measured)})


def verbatim_report(con: duckdb.DuckDBPyConnection, *, route: str | None = None,
                    good_load_ms: float = 2500.0, join: JoinSettings | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    limit: int = 10) -> list[RouteVerbatims]:
    """One ``RouteVerbatims`` per route with verbatims (most verbatims first); each mismatch
    list holds at most ``limit`` entries, oldest first. Rebuilds the window's exposure models."""
    build_exposure(con, join or JoinSettings(), since, until)
    cur = con.execute(read_sql("models", "insights/verbatims.sql"),
                      {"good_load_ms": float(good_load_ms), "route": route})
    names = [d[0] for d in cur.description]
    by_route: dict[str, list[tuple[dict, Analysis]]] = {}
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        by_route.setdefault(row["route"], []).append((row, analyse(row["verbatim"])))
    if not by_route:
        where = f" on {route}" if route else ""
        raise NoDataError(f"no verbatims{where}" + (" in the window" if since or until else "")
                          + " (feedback with an open-text answer: `parallax ingest feedback`)")
    out = [_route(r, rows, good_load_ms, limit) for r, rows in by_route.items()]
    return sorted(out, key=lambda v: (-v.verbatims, v.route))
