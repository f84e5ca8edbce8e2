"""Call drivers: which contacts followed a failed or slow page the same customer loaded, and
how many more contacts such pages bring than clean sessions do.

The counting is SQL (``models/contacts/drivers.sql``); this module turns the counts into,
per reason × (route, dependency):

* ``share_after_failure`` — of the reason's contacts whose customer loaded the subject in
  the window before, the share where one of those loads failed (or, for a route, was slow);
* ``excess_share`` — the risk difference P(contact about the reason within the window |
  a session with the failure) − P(same | a clean session that touched the subject), with
  Newcombe's hybrid score interval (method 10: Wilson intervals of the two risks combined);
* ``avoidable_contacts`` = max(0, excess) × sessions with the failure; ``cost`` = that ×
  the reason's mean handle minutes × the cost per minute.

The design is observational: the clean sessions are the comparison group, so whatever else
differs between customers who hit a failure and those who did not (time of day, another
incident at the same time, what they were buying) stays in the excess. Sessions are taken
as independent although one customer can have several. docs/contacts.md says more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb

from parallax.config import Config
from parallax.db import read_sql, sql_params
from parallax.errors import ConfigError, NoDataError
from parallax.sampling import wilson

__all__ = ["Driver", "call_drivers", "cost_per_minute", "newcombe"]


@dataclass(frozen=True)
class Driver:
    reason: str
    route: str
    dependency: str | None
    contacts: int  # the reason's contacts whose customer loaded the subject in the window
    after_failure: int  # … of which one of those loads failed / was slow
    exposed_sessions: int
    exposed_with_contact: int
    clean_sessions: int
    clean_with_contact: int
    excess: float | None  # risk difference exposed − clean
    excess_ci: tuple[float, float] | None
    avoidable_contacts: float | None
    aht_s: float | None
    cost: float | None

    @property
    def share_after_failure(self) -> float | None:
        return self.after_failure / self.contacts if self.contacts else None

    def to_json(self) -> dict[str, Any]:
        """The documented JSON object (docs/contacts.md); keys after ``cost`` are extra."""
        r = lambda x, n=4: None if x is None else round(x, n)  # noqa: E731
        ci = self.excess_ci or (None, None)
        return {
            "reason": self.reason, "route": self.route, "dependency": self.dependency,
            "contacts": self.contacts, "share_after_failure": r(self.share_after_failure),
            "excess_share": {"estimate": r(self.excess), "ci_low": r(ci[0]),
                             "ci_high": r(ci[1])},
            "avoidable_contacts": r(self.avoidable_contacts, 1), "cost": r(self.cost, 2),
            "exposed_sessions": self.exposed_sessions,
            "exposed_with_contact": self.exposed_with_contact,
            "clean_sessions": self.clean_sessions,
            "clean_with_contact": self.clean_with_contact,
            "aht_s": r(self.aht_s, 1),
        }


def newcombe(a1: int, n1: int, a0: int, n0: int,
             confidence: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for p1 − p0 (his method 10)."""
    w1, w0 = wilson(a1, n1, confidence), wilson(a0, n0, confidence)
    if w1 is None or w0 is None:
        return None
    p1, p0 = a1 / n1, a0 / n0
    d = p1 - p0
    low = d - math.sqrt((p1 - w1[0]) ** 2 + (w0[1] - p0) ** 2)
    high = d + math.sqrt((w1[1] - p1) ** 2 + (p0 - w0[0]) ** 2)
    return (max(-1.0, low), min(1.0, high))


def cost_per_minute(cfg: Config, given: float | None = None) -> float:
    """--cost-per-minute, else parallax.toml [contacts] cost_per_minute, else 1.0."""
    if given is None:
        raw = (cfg.extra.get("contacts") or {}).get("cost_per_minute", 1.0)
        try:
            given = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"[contacts] cost_per_minute must be a number, got {raw!r}") \
                from None
    if not math.isfinite(given) or given < 0:
        raise ConfigError(f"cost per minute must be a number >= 0, got {given}")
    return given


def call_drivers(con: duckdb.DuckDBPyConnection, *, window_s: float = 86_400.0,
                 good_load_ms: float = 2500.0, cost_per_min: float = 1.0,
                 confidence: float = 0.95) -> list[Driver]:
    """Driver rows ranked by avoidable contacts (then contacts); see the module docstring."""
    if not (math.isfinite(window_s) and window_s > 0):
        raise ConfigError(f"--window must be positive, got {window_s} s")
    if con.execute("SELECT count(*) FROM interactions").fetchall()[0][0] == 0:
        raise NoDataError("no interactions loaded (parallax ingest interactions FILE)")
    sql = read_sql("models", "contacts/drivers.sql")
    params = {"window_s": float(window_s), "good_ms": float(good_load_ms)}
    try:
        rows = con.execute(sql, {k: v for k, v in params.items() if k in sql_params(sql)})
    except duckdb.CatalogException:  # no page-level join model yet: nothing to link to
        raise NoDataError("no page loads to link contacts to (parallax ingest traces FILE)") \
            from None
    out = []
    for (reason, route, dep, contacts, after, n1, a1, n0, a0, aht) in rows.fetchall():
        excess = a1 / n1 - a0 / n0 if n1 and n0 else None
        ci = newcombe(a1, n1, a0, n0, confidence) if n1 and n0 else None
        avoidable = None if excess is None else max(0.0, excess) * n1
        cost = (None if avoidable is None or aht is None
                else avoidable * aht / 60.0 * cost_per_min)
        out.append(Driver(reason, route, dep, contacts, after, n1, a1, n0, a0, excess, ci,
                          avoidable, aht, cost))
    out.sort(key=lambda d: (-(d.avoidable_contacts or 0.0), -d.contacts, d.reason, d.route,
                            d.dependency or ""))
    return out
