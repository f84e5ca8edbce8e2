"""What the review reads: one correlate run's findings beside the named queries behind them.

The report never computes a statistic of its own: verdicts, intervals and impacts come from
the ``findings`` of one run; delivered figures and plot data come from ``queries/*.sql`` over
the join model that run built. Everything is read once here into a frozen ``ReviewData``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from parallax.correlate.findings import Finding, Verdict
from parallax.db import fetch_dicts
from parallax.errors import NoDataError
from parallax.named_queries import run_query
from parallax.report.drill import SessionView, session_views

__all__ = ["ReviewData", "gather"]

# Example sessions drawn into the report's evidence appendix, per route or dependency, for the
# verdicts that rest on an effect.
EXAMPLES_PER_SUBJECT = 1
_EXAMPLED: tuple[Verdict, ...] = ("delivery", "mixed", "design")
ROWS_PER_SUBJECT = 10


@dataclass(frozen=True)
class ReviewData:
    run: dict[str, Any]  # the correlate_runs row; parameters and link_coverage parsed
    headline: dict[str, Any]  # queries/review_headline.sql
    findings: tuple[Finding, ...]  # the run's findings (docs/findings.md)
    apdex: dict[str, float]  # route -> Apdex at the good-load target
    bands: tuple[dict, ...]  # queries/latency_bands.sql
    vital_bands: tuple[dict, ...]  # queries/vitals_bands.sql (empty without vitals)
    histogram: tuple[dict, ...]  # queries/latency_histogram.sql
    timeline: tuple[dict, ...]  # queries/error_timeline.sql
    annotations: tuple[dict, ...]  # incidents, deploys, design changes in the window
    evidence: dict[tuple[str, str], tuple[dict, ...]]  # (kind, subject) -> drill rows
    examples: dict[tuple[str, str], tuple[str, ...]]  # (kind, subject) -> session ids
    sessions: dict[str, SessionView]  # the example sessions' timelines and spans

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.subject_kind == kind]

    @property
    def weeks(self) -> float | None:
        """The window's length in weeks (None when it spans less than a day)."""
        first, last = self.headline.get("first_session"), self.headline.get("last_session")
        if not first or not last:
            return None
        days = (last - first).total_seconds() / 86400
        return round(days) / 7 if days >= 1 else None


def gather(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> ReviewData:
    """Read one run (the latest by default) and the query results the report shows."""
    rows = run_query(con, "findings", {"run_id": run_id}).fetchall()
    if not rows:
        raise NoDataError("no findings to review: run `parallax correlate` first"
                          + (f" (no run {run_id!r})" if run_id else ""))
    run_id = rows[0][0]
    findings = tuple(Finding.from_json(orjson.loads(doc)) for *_, doc in rows)
    cur = con.execute("SELECT * FROM correlate_runs WHERE run_id = ?", [run_id])
    [row] = cur.fetchall()
    run = dict(zip([d[0] for d in cur.description], row, strict=True))
    run["parameters"] = orjson.loads(run["parameters"])
    run["link_coverage"] = orjson.loads(run["link_coverage"])
    run["selection"] = orjson.loads(run["selection"]) if run.get("selection") else None
    window = {"since": run["since"], "until": run["until"]}
    good_ms = run["parameters"]["correlate"]["good_load_ms"]

    [headline] = _rows(con, "review_headline")
    apdex = {r["route"]: r["apdex"] for r in _rows(con, "apdex", t_ms=good_ms, **window)}
    evidence: dict[tuple[str, str], tuple[dict, ...]] = {}
    examples: dict[tuple[str, str], tuple[str, ...]] = {}
    for f in findings:
        kind, subject = f.subject_kind, f.subject
        if kind == "route":
            got = _rows(con, "drill_route", route=subject, limit=ROWS_PER_SUBJECT)
        elif kind == "dependency":
            got = _rows(con, "drill_dependency", dependency=subject, limit=ROWS_PER_SUBJECT)
        else:
            continue
        evidence[(kind, subject)] = tuple(got)
        if f.verdict in _EXAMPLED:
            examples[(kind, subject)] = _example_sessions(got)
    return ReviewData(
        run=run, headline=headline, findings=findings, apdex=apdex,
        bands=tuple(_rows(con, "latency_bands")),
        vital_bands=tuple(_rows(con, "vitals_bands")),
        histogram=tuple(_rows(con, "latency_histogram", **window)),
        timeline=tuple(_rows(con, "error_timeline", bucket_minutes=_bucket(headline), **window)),
        annotations=tuple(_annotations(con, headline)),
        evidence=evidence, examples=examples,
        sessions=session_views(con, list(dict.fromkeys(x for xs in examples.values()
                                                       for x in xs))),
    )


def _rows(con, name: str, **params: Any) -> list[dict]:
    return fetch_dicts(run_query(con, name, params))[1]


def _example_sessions(rows: list[dict]) -> tuple[str, ...]:
    """Sessions behind poor answers first (the rows are ordered worst first)."""
    seen: list[str] = []
    for r in rows:
        s = r.get("session")
        if s and s not in seen and (r.get("poor") or r.get("failed")):
            seen.append(s)
        if len(seen) == EXAMPLES_PER_SUBJECT:
            break
    return tuple(seen)


def _bucket(headline: dict) -> int:
    """Hourly buckets for a week or two; coarser for longer windows (≤ ~400 points a line)."""
    first, last = headline.get("first_session"), headline.get("last_session")
    if not first or not last:
        return 60
    hours = (last - first).total_seconds() / 3600
    return 60 * max(1, int(hours // 400) + 1)


def _annotations(con, headline: dict) -> list[dict]:
    return _rows(con, "review_annotations", since=headline.get("first_session"),
                 until=headline.get("last_session"))
