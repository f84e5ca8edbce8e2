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

__all__ = ["SEGMENT_FACTORS", "UNKNOWN", "Delivery", "Frame", "RouteRows", "read_delivery",
           "read_responses", "read_sessions"]

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


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    """A query's result as numpy columns, straight from DuckDB: a column holding NULLs is a
    masked array (``_floats`` and ``_texts`` fill them). Not through Arrow and polars, whose
    imports alone cost correlate about 0.2 s of CPU at start (measured)."""
    return con.execute(sql).fetchnumpy()


def _floats(col: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Numbers (booleans as 0/1) as float64, NULL as ``fill``."""
    return np.ma.filled(np.ma.asarray(col).astype(float), fill)


def _texts(col: np.ndarray, fill: str | None = UNKNOWN) -> np.ndarray:
    """Text as an object array, NULL as ``fill`` (numpy's own filling reads a None fill as
    "the array's default", hence by hand)."""
    out = np.array(np.ma.getdata(col), dtype=object)
    out[np.ma.getmaskarray(col)] = fill
    return out


def _deps(con: duckdb.DuckDBPyConnection, table: str, key: str, keys: np.ndarray,
          ) -> tuple[dict, dict, dict, dict, dict]:
    long = _columns(con, f"SELECT {key} AS k, unnest(deps, recursive := true) FROM {table}")
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    out: tuple[dict, dict, dict, dict, dict] = ({}, {}, {}, {}, {})
    height = len(long["k"])
    if height == 0:
        return out
    rows = np.fromiter((index[k] for k in long["k"].tolist()), dtype=np.int64, count=height)
    peers = _texts(long["peer"], None)
    for peer in sorted(set(peers.tolist())):
        sel = peers == peer
        for target, column in zip(out, ("called", "failed", "failed_served", "ms", "calls"),
                                  strict=True):
            arr = np.zeros(n)
            arr[rows[sel]] = _floats(long[column], 0.0)[sel]
            target[peer] = arr
    return out


def read_responses(con: duckdb.DuckDBPyConnection) -> Frame:
    df = _columns(con, "SELECT * EXCLUDE (deps) FROM exposure_responses ORDER BY response_key")
    keys = _texts(df["response_key"], None)
    called, failed, served, ms, calls = _deps(con, "exposure_responses", "response_key", keys)
    return Frame(
        y=_floats(df["is_poor"]),
        cluster=_texts(df["cluster_key"], None),
        route=_texts(df["route"]),
        controls={c: _texts(df[c]) for c in SEGMENT_FACTORS},
        log_load=_floats(df["log_load_s"]),
        error=_floats(df["error_seen"], 0.0),
        dep_called=called, dep_failed=failed, dep_failed_served=served, dep_ms=ms,
        dep_calls=calls, link=_texts(df["link"], None),
        extra={"metric": _texts(df["metric"]), "key": keys},
        vitals=_vitals(con, keys),
    )


def _vitals(con: duckdb.DuckDBPyConnection, keys: np.ndarray) -> dict[str, np.ndarray]:
    """exposure_response_vitals (long) → per metric, one value per response (0 without a
    measurement). A database whose join model predates the table has none."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = "
                       "'exposure_response_vitals'").fetchall():
        return {}
    wide = _columns(con, "PIVOT (SELECT r.response_key, v.metric, v.not_good "
                         "FROM exposure_responses AS r "
                         "LEFT JOIN exposure_response_vitals AS v USING (response_key)) "
                         "ON metric USING max(not_good) GROUP BY response_key "
                         "ORDER BY response_key")
    assert len(wide["response_key"]) == len(keys)  # one row per response, in the frame's order
    out = {str(c): _floats(v, 0.0) for c, v in wide.items() if c not in ("response_key", "NULL")}
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class RouteRows:
    """exposure_session_routes as numpy columns, one row per session and route visited, in the
    order (session, route), for the sessions of ``read_sessions``' frame: ``session`` is the
    session's row there. Routes and dependencies are codes into their sorted names (text
    would mean a Python string per row: at 100 k sessions that made reading them slower than
    the whole model). The rows' dependency calls in long form: call ``j`` belongs to row
    ``dep_row[j]``."""

    session: np.ndarray  # int64
    route_code: np.ndarray  # int64, into route_names
    route_names: np.ndarray  # text, sorted (None, an unknown route, last)
    log_load_max: np.ndarray  # NaN: no load time
    error_any: np.ndarray  # 0/1, NaN: unknown
    dep_row: np.ndarray  # int64
    peer_code: np.ndarray  # int64, into peer_names
    peer_names: np.ndarray  # text, sorted
    deps: dict[str, np.ndarray]  # failed, failed_served, ms, calls (NaN: NULL)

    @property
    def n(self) -> int:
        return len(self.session)

    @property
    def route(self) -> np.ndarray:
        """Each row's route name (references to the names: no string is made)."""
        return self.route_names[self.route_code]

    def code(self, route: str) -> int | None:
        """The code of a route name, None when no row has it."""
        hit = np.flatnonzero(self.route_names == route)
        return int(hit[0]) if hit.size else None

    def take(self, index: np.ndarray) -> RouteRows:
        """The rows at ``index`` (distinct positions), in that order, with their calls."""
        index = np.asarray(index, dtype=np.int64)
        at = np.full(self.n, -1, dtype=np.int64)
        at[index] = np.arange(len(index))
        new_row = at[self.dep_row]
        kept = new_row >= 0
        return RouteRows(self.session[index], self.route_code[index], self.route_names,
                         self.log_load_max[index], self.error_any[index], new_row[kept],
                         self.peer_code[kept], self.peer_names,
                         {k: v[kept] for k, v in self.deps.items()})


def read_sessions(con: duckdb.DuckDBPyConnection) -> tuple[Frame, RouteRows]:
    """Sessions with outcome and controls, plus the per-route rows their features come from."""
    df = _columns(con, "SELECT * EXCLUDE (pages), pages::DOUBLE AS pages "
                       "FROM exposure_sessions ORDER BY session_id")
    n = len(df["session_id"])
    empty = np.zeros(n)
    frame = Frame(
        y=_floats(df["converted"]),
        cluster=_texts(df["cluster_key"], None),
        route=np.full(n, "", dtype=object),
        controls={c: _texts(df[c]) for c in _SESSION_CONTROLS},
        log_load=empty, error=empty, dep_called={}, dep_failed={}, dep_failed_served={},
        dep_ms={}, dep_calls={}, link=np.full(n, "", dtype=object),
        extra={"key": _texts(df["session_id"], None),
               "revenue": _floats(df["revenue"]),
               "pages": _floats(df["pages"])},
    )
    return frame, _route_rows(con)


def _route_rows(con: duckdb.DuckDBPyConnection) -> RouteRows:
    # Numbers only (a Python string per row would cost more than the model at 100 k sessions):
    # each row with each of its calls (a row without calls once, its call NULL), sorted by
    # (session, route); the session as its row in the frame (session ids are unique, ordered as
    # read_sessions orders them), the route and the peer as their positions in the sorted
    # lists of names read first (NULL last). A row starts where (session, route) changes, the
    # pairs being unique. A NULL element of a deps list is no call.
    routes = _texts(_columns(con, f"{_NAMES} SELECT route FROM rn ORDER BY code")["route"], None)
    peers = _texts(_columns(con, f"{_NAMES} SELECT peer FROM pn ORDER BY code")["peer"], None)
    flat = _columns(con, _NAMES + _ROUTE_ROWS)
    session = np.asarray(flat.pop("session"), dtype=np.int64)
    route = np.asarray(flat.pop("route"), dtype=np.int64)
    first = np.ones(len(session), dtype=bool)
    first[1:] = (session[1:] != session[:-1]) | (route[1:] != route[:-1])
    row = np.cumsum(first) - 1
    call = ~np.ma.filled(flat.pop("none"), True)
    peer = np.ma.filled(flat.pop("peer"), 0).astype(np.int64)
    return RouteRows(session[first], route[first], routes,
                     _floats(flat.pop("log_load_max"))[first],
                     _floats(flat.pop("error_any"))[first], row[call], peer[call], peers,
                     {k: _floats(v)[call] for k, v in flat.items()})


# the distinct routes and peers of exposure_session_routes, numbered in sorted order
_NAMES = """
WITH rn AS (SELECT route, row_number() OVER (ORDER BY route NULLS LAST) - 1 AS code
            FROM (SELECT DISTINCT route FROM exposure_session_routes)),
pn AS (SELECT peer, row_number() OVER (ORDER BY peer NULLS LAST) - 1 AS code
       FROM (SELECT DISTINCT d.peer AS peer
             FROM (SELECT unnest(deps) AS d FROM exposure_session_routes)
             WHERE d IS NOT NULL))
"""
_ROUTE_ROWS = """,
s AS (SELECT session_id, row_number() OVER (ORDER BY session_id) - 1 AS session
      FROM exposure_sessions),
flat AS (SELECT s.session, rn.code AS route, r.log_load_max, r.error_any,
                unnest(CASE WHEN len(r.deps) > 0 THEN r.deps ELSE [NULL] END) AS d
         FROM exposure_session_routes AS r
         JOIN s USING (session_id)
         JOIN rn ON rn.route IS NOT DISTINCT FROM r.route)
SELECT f.session, f.route, f.log_load_max, f.error_any, f.d IS NULL AS none, pn.code AS peer,
       f.d.failed AS failed, f.d.failed_served AS failed_served, f.d.ms AS ms,
       f.d.calls AS calls
FROM flat AS f
LEFT JOIN pn ON pn.peer IS NOT DISTINCT FROM f.d.peer AND f.d IS NOT NULL
ORDER BY f.session, f.route
"""


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
