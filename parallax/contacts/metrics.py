"""Contact-centre metrics per group: first-contact resolution, handle time, speed of answer,
abandonment, service level and contacts per 1,000 web sessions.

The counting is SQL (``models/contacts/metrics.sql``, parameters bound); this module turns the
counts into rates with Wilson intervals and labels each metric:

* **process** — how the work is done: average handle time, average speed of answer, service
  level;
* **results** — what the customer got: first-contact resolution, abandonment, contacts per
  1,000 sessions (the contacts the digital experience did not prevent).

Centres count differently, so the choices are parameters (``Definitions``) stated in every
report: AHT per contact record or per customer contact, abandonment over queued records or
over inbound contacts, the FCR window and the service-level threshold.

Rates over contacts (FCR, abandonment, service level) carry a Wilson interval: the period's
contacts are read as a sample of the process that produces them, so a rate over 12 contacts
is not presented as sure as one over 12,000. Definitions: docs/contacts.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from parallax.db import read_sql, run_sql
from parallax.errors import ConfigError, NoDataError
from parallax.quality.sampling import wilson

__all__ = ["ABANDONMENT_BASES", "AHT_UNITS", "GROUPINGS", "METRIC_KINDS", "Definitions",
           "GroupMetrics", "contact_metrics", "contact_outcomes"]

GROUPINGS = ("all", "channel", "queue", "reason", "week")
AHT_UNITS = ("record", "contact")  # per contact record (Amazon Connect) | per customer contact
ABANDONMENT_BASES = ("queued", "inbound")  # over queued records | over inbound contacts
METRIC_KINDS: dict[str, str] = {
    "fcr": "results",
    "aht_s": "process",
    "asa_s": "process",
    "abandonment_rate": "results",
    "service_level": "process",
    "contacts_per_1000_sessions": "results",
}


@dataclass(frozen=True)
class Definitions:
    """The choices a centre makes; every report states them."""

    fcr_days: int = 7
    service_level_s: float = 20.0
    aht: str = "record"
    abandonment: str = "queued"

    def check(self) -> None:
        if self.fcr_days < 1:
            raise ConfigError(f"--fcr-days must be at least 1, got {self.fcr_days}")
        if self.service_level_s < 0:
            raise ConfigError(
                f"--service-level-s must not be negative, got {self.service_level_s}")
        if self.aht not in AHT_UNITS:
            raise ConfigError(f"--aht {self.aht!r}: expected one of {', '.join(AHT_UNITS)}")
        if self.abandonment not in ABANDONMENT_BASES:
            raise ConfigError(f"--abandonment {self.abandonment!r}: expected one of "
                              f"{', '.join(ABANDONMENT_BASES)}")

    def to_json(self) -> dict[str, Any]:
        return {"fcr_days": self.fcr_days, "service_level_s": self.service_level_s,
                "aht": self.aht, "abandonment": self.abandonment}

    def sentence(self) -> str:
        """The header line of the metrics table."""
        aht = ("per contact record (a transfer leg is a record of its own)"
               if self.aht == "record" else "per customer contact (transfer legs summed)")
        ab = ("over queued records" if self.abandonment == "queued"
              else "over inbound contacts")
        return (f"AHT {aht}; abandonment {ab}; FCR: no repeat within {self.fcr_days} days; "
                f"service level: answered within {self.service_level_s:g} s")


@dataclass(frozen=True)
class GroupMetrics:
    group: str | None  # the channel / queue / reason / ISO week; 'all' without --by
    contacts: int  # customer contacts (transfer legs are part of the contact they continue)
    fcr: float | None
    fcr_ci: tuple[float, float] | None
    first_contacts: int  # FCR's denominator
    aht_s: float | None
    asa_s: float | None
    abandonment_rate: float | None
    abandonment_rate_ci: tuple[float, float] | None
    service_level: float | None
    service_level_ci: tuple[float, float] | None
    sessions: int
    contacts_per_1000_sessions: float | None
    definitions: Definitions = Definitions()

    def to_json(self) -> dict[str, Any]:
        """The documented JSON object (docs/contacts.md); ``*_ci`` keys are extra."""
        r = _round
        ci = lambda x: None if x is None else [r(x[0]), r(x[1])]  # noqa: E731
        return {
            "group": self.group, "contacts": self.contacts, "fcr": r(self.fcr),
            "aht_s": r(self.aht_s, 1), "asa_s": r(self.asa_s, 1),
            "abandonment_rate": r(self.abandonment_rate), "service_level": r(self.service_level),
            "contacts_per_1000_sessions": r(self.contacts_per_1000_sessions, 2),
            "metric_kinds": dict(METRIC_KINDS),
            "fcr_ci": ci(self.fcr_ci), "abandonment_rate_ci": ci(self.abandonment_rate_ci),
            "service_level_ci": ci(self.service_level_ci), "first_contacts": self.first_contacts,
            "sessions": self.sessions, "definitions": self.definitions.to_json(),
        }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def contact_outcomes(con: duckdb.DuckDBPyConnection, fcr_days: int) -> None:
    """(Re)build the temp table ``contact_outcomes``: the one FCR definition every report reads."""
    con.execute(read_sql("models", "contacts/outcomes.sql"), {"fcr_days": fcr_days})


def contact_metrics(
    con: duckdb.DuckDBPyConnection, *, by: str = "all", fcr_days: int = 7,
    service_level_s: float = 20.0, aht: str = "record", abandonment: str = "queued",
    since: datetime | None = None, until: datetime | None = None, confidence: float = 0.95,
) -> list[GroupMetrics]:
    """One ``GroupMetrics`` per group of ``by``; ``NoDataError`` when no contact is stored in
    the window."""
    if by not in GROUPINGS:
        raise ConfigError(f"--by {by!r}: expected one of {', '.join(GROUPINGS[1:])}")
    defs = Definitions(fcr_days, float(service_level_s), aht, abandonment)
    defs.check()
    contact_outcomes(con, fcr_days)
    sql = read_sql("models", "contacts/metrics.sql")
    params = {"by": by, "service_level_s": defs.service_level_s, "aht": aht,
              "abandonment": abandonment, "since": since, "until": until}
    rows = run_sql(con, sql, params).fetchall()
    if not rows:
        raise NoDataError("no contacts stored" + (" in the window" if since or until else "")
                          + " (load them with `parallax ingest interactions`)")
    out = []
    for (group, contacts, first, resolved, aht_s, asa, abandoned, queued, within, sl_base,
         sessions) in rows:
        out.append(GroupMetrics(
            group=group, contacts=contacts,
            fcr=resolved / first if first else None,
            fcr_ci=wilson(resolved, first, confidence), first_contacts=first,
            aht_s=aht_s, asa_s=asa,
            abandonment_rate=abandoned / queued if queued else None,
            abandonment_rate_ci=wilson(abandoned, queued, confidence),
            service_level=within / sl_base if sl_base else None,
            service_level_ci=wilson(within, sl_base, confidence),
            sessions=sessions,
            contacts_per_1000_sessions=1000.0 * contacts / sessions if sessions else None,
            definitions=defs,
        ))
    return out
