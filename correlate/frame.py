"""The compact tables the statistics read, as numpy columns: responses and sessions with their
delivered-experience features, and the delivered figures per route and dependency.

Features are what the attribution models use (names are stable, they appear in findings):
``log_load`` ln(page load seconds), ``error`` an error page seen, ``fail:<dependency>`` a
dependency failed but the page still came back (an error page is already ``error``),
``vital:<METRIC>`` the page's Core Web Vital (LCP, INP, CLS) was above Google's "good"
threshold (``models/exposure/070_vitals.sql``; absent when no vitals were collected).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

__all__ = ["SEGMENT_FACTORS", "UNKNOWN", "Delivery", "Frame", "read_delivery", "read_responses",
           "read_sessions"]

# Who answered: each is a control of every response model and a segment factor of its own.
# device, country and segment (customer type: new / returning / loyalty tier) come from the
# response or its session; channel is the survey's channel (web, email, app, …). Sessions have
# no survey channel, so the conversion model controls for the first three only.
SEGMENT_FACTORS = ("device", "country", "segment", "channel")
UNKNOWN = "(unknown)"  # a missing control value
_SESSION_CONTROLS = ("device", "country", "segment")


@dataclass(frozen=True)
class Frame:
    """One modelling unit per row (a response, or a session)."""

    y: np.ndarray  # 0/1 outcome: poor feedback, or converted
    cluster: np.ndarray  # the user (else session, else response) for robust standard errors
    route: np.ndarray  # subject label per row (the response's route); "" for sessions
    controls: dict[str, np.ndarray]  # SEGMENT_FACTORS: strings, "(unknown)" if missing
    log_load: np.ndarray  # NaN where no load time is known
    error: np.ndarray  # 0/1, or a rate for route-and-time links
    dep_called: dict[str, np.ndarray]  # per dependency: called (0/1 or rate)
    dep_failed: dict[str, np.ndarray]  # failed, whatever the page showed
    dep_failed_served: dict[str, np.ndarray]  # failed, page came back fine
    dep_ms: dict[str, np.ndarray]  # call ms per calling page (all its calls), 0 if not called
    dep_calls: dict[str, np.ndarray]  # calls per calling page
    link: np.ndarray  # session | user | route_time | none (responses); "" for sessions
    extra: dict[str, np.ndarray]  # per-unit extras (revenue, pages, metric, routes visited…)
    # per Core Web Vital: above its "good" threshold (0/1, or a rate for route-and-time links)
    vitals: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.y)

    def take(self, mask: np.ndarray) -> Frame:
        def sub(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {k: v[mask] for k, v in d.items()}

        return Frame(self.y[mask], self.cluster[mask], self.route[mask], sub(self.controls),
                     self.log_load[mask], self.error[mask], sub(self.dep_called),
                     sub(self.dep_failed), sub(self.dep_failed_served), sub(self.dep_ms),
                     sub(self.dep_calls), self.link[mask], sub(self.extra), sub(self.vitals))


@dataclass(frozen=True)
class Delivery:
    """exposure_delivery rows for one subject (route or dependency)."""

    kind: str
    subject: str
    pages: int
    sessions: int
    calls: int | None
    p50_ms: float | None
    p75_ms: float | None
    p95_ms: float | None
    error_rate: float | None
    dependency_failure_rate: float | None
    ok_median_ms: float | None
    related: tuple[str, ...]
    service: str | None
    # routes: per Core Web Vital (LCP, INP, CLS) measured on it, (p75, its "good" threshold,
    # unit), from exposure_vitals
    vitals: tuple[tuple[str, float, float, str], ...] = ()


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    df = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(df, pl.DataFrame)  # a table gives a frame
    return df


def _text(col: pl.Series) -> np.ndarray:
    return col.cast(pl.String).fill_null(UNKNOWN).to_numpy().astype(object)


def _deps(con: duckdb.DuckDBPyConnection, table: str, key: str, keys: np.ndarray,
          ) -> tuple[dict, dict, dict, dict, dict]:
    long = _arrow(con, f"SELECT {key} AS k, unnest(deps, recursive := true) FROM {table}")
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    out: tuple[dict, dict, dict, dict, dict] = ({}, {}, {}, {}, {})
    if long.height == 0:
        return out
    rows = np.fromiter((index[k] for k in long["k"].to_list()), dtype=np.int64, count=long.height)
    peers = long["peer"].to_numpy()
    for peer in sorted(set(peers.tolist())):
        sel = peers == peer
        for target, column in zip(out, ("called", "failed", "failed_served", "ms", "calls"),
                                  strict=True):
            arr = np.zeros(n)
            arr[rows[sel]] = long[column].fill_null(0.0).to_numpy()[sel]
            target[peer] = arr
    return out


def read_responses(con: duckdb.DuckDBPyConnection) -> Frame:
    df = _arrow(con, "SELECT * EXCLUDE (deps) FROM exposure_responses ORDER BY response_key")
    keys = df["response_key"].to_numpy().astype(object)
    called, failed, served, ms, calls = _deps(con, "exposure_responses", "response_key", keys)
    return Frame(
        y=df["is_poor"].cast(pl.Float64).to_numpy(),
        cluster=df["cluster_key"].to_numpy().astype(object),
        route=_text(df["route"]),
        controls={c: _text(df[c]) for c in SEGMENT_FACTORS},
        log_load=df["log_load_s"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        error=df["error_seen"].cast(pl.Float64).fill_null(0.0).to_numpy(),
        dep_called=called, dep_failed=failed, dep_failed_served=served, dep_ms=ms,
        dep_calls=calls, link=df["link"].to_numpy().astype(object),
        extra={"metric": _text(df["metric"]), "key": keys},
        vitals=_vitals(con, keys),
    )


def _vitals(con: duckdb.DuckDBPyConnection, keys: np.ndarray) -> dict[str, np.ndarray]:
    """exposure_response_vitals (long) → per metric, one value per response (0 without a
    measurement). A database whose join model predates the table has none."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = "
                       "'exposure_response_vitals'").fetchall():
        return {}
    wide = _arrow(con, "PIVOT (SELECT r.response_key, v.metric, v.not_good "
                       "FROM exposure_responses AS r "
                       "LEFT JOIN exposure_response_vitals AS v USING (response_key)) "
                       "ON metric USING max(not_good) GROUP BY response_key "
                       "ORDER BY response_key")
    assert wide.height == len(keys)  # one row per response, in the frame's order
    out = {str(c): wide[c].fill_null(0.0).cast(pl.Float64).to_numpy()
           for c in wide.columns if c not in ("response_key", "NULL")}
    return dict(sorted(out.items()))


def read_sessions(con: duckdb.DuckDBPyConnection) -> tuple[Frame, pl.DataFrame]:
    """Sessions with outcome and controls, plus the per-route rows their features come from."""
    df = _arrow(con, "SELECT * FROM exposure_sessions ORDER BY session_id")
    routes = _arrow(con, "SELECT * FROM exposure_session_routes ORDER BY session_id, route")
    n = df.height
    empty = np.zeros(n)
    frame = Frame(
        y=df["converted"].cast(pl.Float64).to_numpy(),
        cluster=df["cluster_key"].to_numpy().astype(object),
        route=np.full(n, "", dtype=object),
        controls={c: _text(df[c]) for c in _SESSION_CONTROLS},
        log_load=empty, error=empty, dep_called={}, dep_failed={}, dep_failed_served={},
        dep_ms={}, dep_calls={}, link=np.full(n, "", dtype=object),
        extra={"key": df["session_id"].to_numpy().astype(object),
               "revenue": df["revenue"].cast(pl.Float64).to_numpy(),
               "pages": df["pages"].cast(pl.Float64).to_numpy()},
    )
    return frame, routes


def read_delivery(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Delivery]:
    vitals: dict[str, list[tuple[str, float, float, str]]] = {}
    if con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'exposure_vitals'"
                   ).fetchall():
        for route, metric, p75, good, unit in con.execute(
                "SELECT route, metric, p75, good, unit FROM exposure_vitals "
                "ORDER BY route, metric").fetchall():
            vitals.setdefault(route, []).append((metric, p75, good, unit))
    out = {}
    for row in con.execute("SELECT * FROM exposure_delivery").fetchall():
        kind, subject, pages, sessions, calls, p50, p75, p95, err, dep_fail, ok_ms, related, \
            svc = row
        out[(kind, subject)] = Delivery(kind, subject, int(pages), int(sessions), calls, p50,
                                        p75, p95, err,
                                        dep_fail, ok_ms, tuple(related or ()), svc,
                                        tuple(vitals.get(subject, ())) if kind == "route" else ())
    return out
