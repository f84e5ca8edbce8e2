"""Build the join model from ``models/exposure/``.

``pages.sql`` (exposure_pages, one row per page load) and ``side_calls.sql``
(exposure_side_calls, dependency calls outside page loads) are incremental: ``refresh_pages`` folds
in the loads it has not seen — run after every ingest, so the heavy pass over raw spans is paid
once per load, not once per analysis — and rebuilds it whole when its SQL or settings change, or
when the new loads touch the sessions of at least half of the stored page loads (an analytics
export of the same days as the traces: replacing those rows costs more than building anew).
The numbered files ``NNN_*.sql`` are small models over exposure_pages, rebuilt in order by
``build_exposure`` for each analysis window. Each file's header names its parameters; a file
gets exactly the ``$parameters`` it uses. Which keys link the sources, the time window and what
counts as a page load or an error are settings (``[join]`` in parallax.toml), not code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import duckdb

from parallax.config import section_settings
from parallax.db import bind, run_sql, sql_code, sql_params, transaction
from parallax.db import settings as db_settings
from parallax.errors import ConfigError

__all__ = ["ExposureStep", "JoinSettings", "LinkCoverage", "PagesRefresh", "build_exposure",
           "coverage_from_rows", "link_coverage", "model_params", "numbered_models",
           "refresh_pages", "vitals_present"]

_NUMBERED = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")
REFRESH_MEMORY = "1536MB"  # DuckDB's cap while exposure_pages is refreshed (it spills beyond)
# An incremental refresh deletes the stored page loads of the sessions it recomputes and inserts
# them again (the database then rewrites those row groups at its checkpoint); a rebuild writes
# every page load once into a new table. So from the point where the recomputed page loads are
# as many as the ones kept, rebuilding whole is no dearer: the share of stored page loads in
# the new loads' sessions at which a refresh rebuilds.
REBUILD_SHARE = 0.5
_KEYS = ("session_id", "user_id")


@dataclass(frozen=True)
class JoinSettings:
    direct_keys: tuple[str, ...] = _KEYS  # keys that may link directly (session before user)
    window_minutes: int = 30  # how far before a response its route's delivery is looked at
    bucket_minutes: int = 5  # granularity of the route + time aggregates
    page_spans: tuple[str, ...] = ("documentLoad",)  # browser spans timing a page load
    error_status: int = 500  # a page answered at or above this status is an error
    error_events: tuple[str, ...] = ("exception", "error", "js_error")  # analytics events

    @classmethod
    def from_mapping(cls, data: Mapping, where: str = "[join]") -> JoinSettings:
        out = section_settings(cls, data, where, strict=True)
        bad = set(out.direct_keys) - set(_KEYS)
        if bad:
            raise ConfigError(f"{where}: direct_keys may only name {', '.join(_KEYS)}, "
                              f"got {', '.join(sorted(bad))}")
        if out.window_minutes < 1 or out.bucket_minutes < 1:
            raise ConfigError(f"{where}: window_minutes and bucket_minutes must be >= 1")
        if out.bucket_minutes > out.window_minutes:  # no whole bucket would fit the window
            raise ConfigError(f"{where}: bucket_minutes ({out.bucket_minutes}) must not exceed "
                              f"window_minutes ({out.window_minutes})")
        return out


@dataclass(frozen=True)
class LinkCoverage:
    responses: int
    by_link: Mapping[str, int]  # session | user | route_time | none
    # Responses and page views (of the window) whose route is a route template, learned or
    # declared: the rest fell back to the id heuristic and may split one page into many.
    responses_on_template: int = 0
    page_views: int = 0
    page_views_on_template: int = 0

    def share(self, link: str) -> float:
        return self.by_link.get(link, 0) / self.responses if self.responses else 0.0

    @property
    def response_template_share(self) -> float:
        return self.responses_on_template / self.responses if self.responses else 0.0

    @property
    def page_view_template_share(self) -> float:
        return self.page_views_on_template / self.page_views if self.page_views else 0.0


@dataclass(frozen=True)
class PagesRefresh:
    mode: str  # full | incremental | current
    loads: int  # loads folded in by this refresh


def refresh_pages(con: duckdb.DuckDBPyConnection, settings: JoinSettings, *,
                  rebuild_share: float | None = REBUILD_SHARE) -> PagesRefresh:
    """Bring exposure_pages up to date with every successful load, in one transaction.
    ``rebuild_share``: rebuild whole when the new loads' sessions hold at least this share of
    the stored page loads (None: fold them in however many they touch)."""
    # Measured on 10 M spans: unbounded, a refresh peaked at 3.2 GiB; capped (and free to
    # reorder rows, which exposure_pages does not need) at 1.6 GiB, and faster.
    with db_settings(con, memory_limit=REFRESH_MEMORY, preserve_insertion_order=False):
        return _refresh(con, settings, rebuild_share)


def _refresh(con: duckdb.DuckDBPyConnection, settings: JoinSettings,
             rebuild_share: float | None = REBUILD_SHARE) -> PagesRefresh:
    model, side = _read("pages.sql"), _read("side_calls.sql")
    values = model_params(settings)
    params, side_params = bind(model, values), bind(side, values)
    fingerprint = hashlib.sha256(
        (model + side + json.dumps(params, sort_keys=True)).encode()).hexdigest()
    with transaction(con):
        state = con.execute("SELECT fingerprint FROM exposure_state "
                            "WHERE model = 'exposure_pages'").fetchall()
        if state != [(fingerprint,)] or not _exists(con, "exposure_pages"):
            return _rebuild(con, model, side, params, side_params, fingerprint)
        con.execute("CREATE OR REPLACE TEMP TABLE exposure_pending AS SELECT load_id "
                    "FROM loads WHERE status = 'ok' "
                    "AND load_id NOT IN (SELECT load_id FROM exposure_loads)")
        (pending,), = con.execute("SELECT count(*) FROM exposure_pending").fetchall()
        if not pending:
            return PagesRefresh("current", 0)
        # the scope's sessions first: they decide between folding in and rebuilding
        scope, *rest = [s for s in _read("pages_scope.sql").split(";\n") if sql_code(s)]
        con.execute(scope)
        if rebuild_share is not None and _scope_share(con) >= rebuild_share:
            return _rebuild(con, model, side, params, side_params, fingerprint)
        for stmt in rest:
            con.execute(stmt)
        con.execute(f"INSERT INTO exposure_pages SELECT * FROM ({model})", params)
        con.execute(f"INSERT INTO exposure_side_calls SELECT * FROM ({side})", side_params)
        con.execute("INSERT INTO exposure_loads SELECT load_id FROM exposure_pending")
        con.execute("UPDATE exposure_state SET refreshed_at = now() "
                    "WHERE model = 'exposure_pages'")
        return PagesRefresh("incremental", pending)


def _rebuild(con: duckdb.DuckDBPyConnection, model: str, side: str, params: dict,
             side_params: dict, fingerprint: str) -> PagesRefresh:
    """exposure_pages and exposure_side_calls built anew from every row (inside the
    caller's transaction), every successful load marked as folded in."""
    con.execute("CREATE OR REPLACE TEMP VIEW exposure_spans AS SELECT * FROM spans")
    con.execute("CREATE OR REPLACE TEMP VIEW exposure_page_views AS SELECT * FROM page_views")
    con.execute(f"CREATE OR REPLACE TABLE exposure_pages AS {model}", params)
    con.execute(f"CREATE OR REPLACE TABLE exposure_side_calls AS {side}", side_params)
    con.execute("DELETE FROM exposure_loads")
    folded = con.execute("INSERT INTO exposure_loads "
                         "SELECT load_id FROM loads WHERE status = 'ok'").fetchall()
    con.execute("INSERT OR REPLACE INTO exposure_state VALUES "
                "('exposure_pages', ?, now())", [fingerprint])
    return PagesRefresh("full", folded[0][0])


def _scope_share(con: duckdb.DuckDBPyConnection) -> float:
    """The share of stored page loads in the sessions the pending loads touched (1.0 when
    none is stored: a rebuild then adds no page load a fold would not)."""
    (scoped, stored), = con.execute(
        "SELECT count(*) FILTER (WHERE session_id IN "
        "(SELECT session_id FROM exposure_scope_sessions)), count(*) "
        "FROM exposure_pages").fetchall()
    return scoped / stored if stored else 1.0


def build_exposure(con: duckdb.DuckDBPyConnection, settings: JoinSettings,
                   since: datetime | None = None, until: datetime | None = None) -> LinkCoverage:
    """Refresh exposure_pages, then rebuild the window's models in one transaction; return the
    response link coverage."""
    refresh_pages(con, settings)
    params = {**model_params(settings), "since": since, "until": until}
    # vitals_present scans every stored span's attributes (0.2 CPU s at 100 k sessions) and
    # only 065 reads its answer: it runs on a cursor of its own (the stored rows it reads are
    # committed; the window's models do not touch them) beside the models before 065.
    cursor = con.cursor()
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="parallax-vitals") as pool:
            present = pool.submit(vitals_present, cursor)
            with transaction(con):
                for name in numbered_models():
                    sql = _read(name)
                    if "vitals" in sql_params(sql):
                        params["vitals"] = present.result()
                    run_sql(con, sql, params)
    finally:
        cursor.close()
    return link_coverage(con, since, until)


# What correlate calls to build the window's exposure tables in ``con``: build_exposure, or
# another engine's step that leaves the same tables there (parallax.spark_engine).
ExposureStep = Callable[[duckdb.DuckDBPyConnection, JoinSettings, datetime | None,
                         datetime | None], LinkCoverage]


def vitals_present(con: duckdb.DuckDBPyConnection) -> bool:
    """Could any stored row be a Core Web Vitals measurement (vitals_present.sql)? A cheap
    superset of the web_vitals view's own tests: false only when the view is empty."""
    (present,), = con.execute(_read("vitals_present.sql")).fetchall()
    return bool(present)


def numbered_models() -> list[str]:
    """The window's model files (``NNN_*.sql``), in the order they build on each other."""
    folder = resources.files("parallax.models").joinpath("exposure")
    return sorted(e.name for e in folder.iterdir() if _NUMBERED.match(e.name))


def link_coverage(con: duckdb.DuckDBPyConnection, since: datetime | None = None,
                  until: datetime | None = None) -> LinkCoverage:
    """How the window's responses were linked, and how many responses and page views of the
    window landed on a route template."""
    rows = con.execute(_read("coverage.sql"), {"since": since, "until": until}).fetchall()
    return coverage_from_rows(rows)


def coverage_from_rows(rows: list[tuple]) -> LinkCoverage:
    """LinkCoverage from coverage.sql's rows (unit, link, n, on_template), whichever engine ran
    it."""
    by_link = {link: n for unit, link, n, _ in rows if unit == "response"}
    views = [(n, hit) for unit, _, n, hit in rows if unit == "page_view"]
    return LinkCoverage(sum(by_link.values()), by_link,
                        sum(hit for unit, _, _, hit in rows if unit == "response"),
                        *(views[0] if views else (0, 0)))


def model_params(settings: JoinSettings) -> dict:
    """The settings as the models' ``$parameters`` (all but the window's since/until)."""
    return {
        "page_spans": list(settings.page_spans), "error_status": settings.error_status,
        "error_events": list(settings.error_events),
        "bucket_minutes": settings.bucket_minutes, "window_minutes": settings.window_minutes,
        "use_session": "session_id" in settings.direct_keys,
        "use_user": "user_id" in settings.direct_keys,
        # 065 reads the web_vitals view unless told no row could hold a vital: build_exposure
        # asks vitals_present.sql; another engine runs the view as it always did
        "vitals": True,
    }


def _read(name: str) -> str:
    return resources.files("parallax.models").joinpath("exposure", name).read_text("utf-8")


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ? "
                            "AND NOT temporary", [table]).fetchall())
