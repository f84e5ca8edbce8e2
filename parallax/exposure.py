"""Build the join model: run ``models/exposure/NNN_*.sql`` in order with their parameters.

Each file is one model (``CREATE OR REPLACE TABLE exposure_…``) whose header comment names its
parameters; a file gets exactly the ``$parameters`` it uses. Which keys link the sources, the
time window and what counts as a page load or an error are settings (``[join]`` in
parallax.toml), not code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import duckdb

from parallax.errors import ConfigError

__all__ = ["JoinSettings", "LinkCoverage", "build_exposure", "link_coverage"]

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
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
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
        try:
            out = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
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

    def share(self, link: str) -> float:
        return self.by_link.get(link, 0) / self.responses if self.responses else 0.0


def build_exposure(con: duckdb.DuckDBPyConnection, settings: JoinSettings,
                   since: datetime | None = None, until: datetime | None = None) -> LinkCoverage:
    """(Re)build every exposure table in one transaction; return the response link coverage."""
    params = {
        "page_spans": list(settings.page_spans), "error_status": settings.error_status,
        "error_events": list(settings.error_events), "since": since, "until": until,
        "bucket_minutes": settings.bucket_minutes, "window_minutes": settings.window_minutes,
        "use_session": "session_id" in settings.direct_keys,
        "use_user": "user_id" in settings.direct_keys,
    }
    folder = resources.files("parallax.models").joinpath("exposure")
    con.execute("BEGIN")
    try:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                sql = entry.read_text(encoding="utf-8")
                con.execute(sql, {k: params[k] for k in set(_PARAM.findall(_code(sql)))})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return link_coverage(con)


def link_coverage(con: duckdb.DuckDBPyConnection) -> LinkCoverage:
    rows = con.execute("SELECT link, count(*) FROM exposure_responses GROUP BY link").fetchall()
    by_link = {link: n for link, n in rows}
    return LinkCoverage(sum(by_link.values()), by_link)


def _code(sql: str) -> str:
    """The SQL without its comments, so parameters named in the header are not counted."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
