"""Call drivers: how many contacts a failure brought, per reason and per the subject the failure
belongs to (a dependency across all the routes that call it, or a route's own error pages and
slow loads).

The counting is SQL (``models/contacts/drivers.sql``); this module turns the counts into, per
reason × subject:

* ``excess_rate`` — the per-session excess: contacts about the reason (a first contact in the
  window after the failure and its repeats within the FCR window) per session that met the
  failure, minus the same per clean session (a risk difference when nobody calls twice), with
  a score interval (``parallax.contacts.excess``). It is read on the *linked* sessions (those with a
  customer id, the only ones a contact can be traced to) that met this subject's failure and
  no other: a session where the payment provider and the inventory database both failed would
  lend each the other's calls;
* ``avoidable_contacts`` — that excess applied to **every** session that met the failure,
  linked or anonymous: the anonymous customers met the same failure and called too, only
  nobody can tell which call was theirs. The interval carries the rate's sampling noise and
  the chance in how many contacts the unlinked sessions made;
* ``attributable_share`` — avoidable contacts ÷ all contacts about the reason;
* ``cost`` — avoidable contacts × the reason's mean handle minutes per customer contact
  (transfer legs summed) × the cost per minute.

The design is observational: the clean sessions are the comparison group, so whatever else
differs between sessions that met a failure and clean ones (time of day, another failure in
the same session, what the customer was doing) stays in the excess; applying it to anonymous
sessions assumes they call like logged-in ones after the same failure. docs/contacts.md says
more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb

from parallax.config import Config
from parallax.contacts.excess import CountMean, excess_interval, product_interval
from parallax.contacts.metrics import contact_outcomes
from parallax.db import read_sql, run_sql
from parallax.errors import ConfigError, NoDataError

__all__ = ["MIN_SESSIONS", "Driver", "call_drivers", "cost_per_minute"]

# Fewer linked sessions than this in either group: the row is marked thin (its interval is
# still given, and wide).
MIN_SESSIONS = 20

Interval = tuple[float, float]


@dataclass(frozen=True)
class Driver:
    reason: str
    subject_kind: str  # dependency | route
    subject: str
    routes: tuple[tuple[str, int], ...]  # a dependency's routes it failed on: (route, sessions)
    exposed_sessions: int  # every session that met the failure, linked or not
    linked_exposed: int  # … of which carry a customer id
    sole_exposed: int  # … of which met no other subject's failure: the excess is read on these
    sole_exposed_contacts: int  # contacts about the reason those made (with repeats)
    clean_sessions: int  # linked sessions that touched the subject and met no failure
    clean_contacts: int
    reason_contacts: int  # all customer-initiated contacts about the reason
    excess_rate: float | None
    excess_rate_ci: Interval | None
    avoidable_contacts: float | None
    avoidable_ci: Interval | None
    aht_s: float | None
    cost: float | None

    @property
    def attributable_share(self) -> float | None:
        if self.avoidable_contacts is None or not self.reason_contacts:
            return None
        return self.avoidable_contacts / self.reason_contacts

    @property
    def attributable_share_ci(self) -> Interval | None:
        if self.avoidable_ci is None or not self.reason_contacts:
            return None
        return (self.avoidable_ci[0] / self.reason_contacts,
                self.avoidable_ci[1] / self.reason_contacts)

    @property
    def thin(self) -> bool:
        return min(self.sole_exposed, self.clean_sessions) < MIN_SESSIONS

    def to_json(self) -> dict[str, Any]:
        """The documented JSON object (docs/contacts.md)."""
        return {
            "reason": self.reason, "subject_kind": self.subject_kind, "subject": self.subject,
            "routes": [{"route": r, "sessions": n} for r, n in self.routes],
            "avoidable_contacts": _est(self.avoidable_contacts, self.avoidable_ci, 1),
            "attributable_share": _est(self.attributable_share, self.attributable_share_ci),
            "excess_rate": _est(self.excess_rate, self.excess_rate_ci),
            "cost": None if self.cost is None else round(self.cost, 2),
            "reason_contacts": self.reason_contacts, "exposed_sessions": self.exposed_sessions,
            "linked_exposed_sessions": self.linked_exposed,
            "sole_exposed_sessions": self.sole_exposed,
            "sole_exposed_contacts": self.sole_exposed_contacts,
            "clean_sessions": self.clean_sessions, "clean_contacts": self.clean_contacts,
            "aht_s": None if self.aht_s is None else round(self.aht_s, 1),
            "thin": self.thin,
        }


def _est(x: float | None, ci: Interval | None, digits: int = 4) -> dict[str, float | None]:
    r = lambda v: None if v is None else round(v, digits)  # noqa: E731
    return {"estimate": r(x), "ci_low": r(ci and ci[0]), "ci_high": r(ci and ci[1])}


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
                 good_load_ms: float = 2500.0, fcr_days: int = 7, cost_per_min: float = 1.0,
                 confidence: float = 0.95) -> list[Driver]:
    """Driver rows ranked by avoidable contacts; see the module docstring."""
    if not (math.isfinite(window_s) and window_s > 0):
        raise ConfigError(f"--window must be positive, got {window_s} s")
    if fcr_days < 1:
        raise ConfigError(f"--fcr-days must be at least 1, got {fcr_days}")
    if con.execute("SELECT count(*) FROM interactions").fetchall()[0][0] == 0:
        raise NoDataError("no interactions loaded (parallax ingest interactions FILE)")
    contact_outcomes(con, fcr_days)
    sql = read_sql("models", "contacts/drivers.sql")
    params = {"window_s": float(window_s), "good_ms": float(good_load_ms),
              "fcr_days": int(fcr_days)}
    try:
        rows = run_sql(con, sql, params)
    except duckdb.CatalogException:  # no page-level join model yet: nothing to link to
        raise NoDataError("no page loads to link contacts to (parallax ingest traces FILE)") \
            from None
    out = [_driver(row, cost_per_min, confidence) for row in rows.fetchall()]
    out.sort(key=lambda d: (-(d.avoidable_contacts or 0.0), -(d.excess_rate or 0.0),
                            d.reason, d.subject_kind, d.subject))
    return out


def _driver(row: tuple, cost_per_min: float, confidence: float) -> Driver:
    (reason, kind, subject, routes, n_all, n1, n1s, s1s, q1s, n0, s0, q0, reason_contacts,
     aht) = row
    exposed, clean = CountMean(n1s, s1s, q1s), CountMean(n0, s0, q0)
    rate = rate_ci = avoidable = avoidable_ci = cost = None
    if n1s and n0:
        rate = exposed.mean - clean.mean
        rate_ci = excess_interval(exposed, clean, confidence)
        assert rate_ci is not None  # both groups have sessions, so both means have intervals
        low, high = product_interval(rate, rate_ci, n_all, n_all - n1s, exposed.dispersion,
                                     confidence)
        # caused contacts are at least none and at most all the reason's contacts
        clip = lambda x: min(float(reason_contacts), max(0.0, x))  # noqa: E731
        avoidable, avoidable_ci = clip(rate * n_all), (clip(low), clip(high))
        if aht is not None:
            cost = avoidable * aht / 60.0 * cost_per_min
    return Driver(reason, kind, subject, tuple((r["route"], r["sessions"]) for r in routes),
                  n_all, n1, n1s, int(s1s), n0, int(s0), reason_contacts, rate, rate_ci,
                  avoidable, avoidable_ci, aht, cost)
