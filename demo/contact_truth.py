"""truth.json → ``contact_centre``: what the contact centre's planted truth means in the figures
``parallax contacts metrics`` and ``parallax contacts drivers`` report.

- Metrics are computed from the simulated calls with the definitions of
  ``models/contacts/metrics.sql`` (docs/contacts.md) — so they must match **exactly**: FCR
  (first contacts exclude transfer legs; a repeat by the same customer about the same reason
  within 7 days makes one unresolved), AHT per contact record and per customer contact
  (transfer legs summed), abandonment over inbound contacts and over queued records.
- Call drivers, per (reason, failure subject) row: ``caused_contacts`` — the contacts the
  subject's failures started, counted call by call (first calls, their retries and repeats,
  anonymous callers included; transfer legs are part of their contact) — and
  ``attributable_share`` = caused contacts ÷ all contacts about the reason. Subjects the
  planted process gives no calls have 0: a driver row there shows what the observational
  comparison picks up from failures that come with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from parallax.demo.contacts import CENTRE, Call
from parallax.demo.world import Session

__all__ = ["DRIVER_ROWS", "contact_truth"]

# (reason, subject kind, subject, what the row shows)
DRIVER_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("order problem", "dependency", "inventory-db", "caused"),
    ("payment", "dependency", "payments.example-psp.com", "caused"),
    ("delivery", "dependency", "inventory-db", "no effect"),
    ("returns", "dependency", "payments.example-psp.com", "no effect"),
    ("order problem", "dependency", "maps.example-geo.com",
     "no effect, but the maps incident overlaps the inventory-db incident"),
    ("payment", "route", "/checkout", "no effect: slow pages cause no calls"),
    ("order problem", "route", "/product/{id}", "no effect: slow pages cause no calls"),
)


def contact_truth(sessions: Sequence[Session], calls: Sequence[Call], *,
                  window_s: int = 86_400, good_ms: float = 2500.0, fcr_days: int = 7) -> dict:
    contacts = [k for k in calls if not k.is_leg]
    by_reason = sorted({k.reason for k in calls})
    return {
        "identity": "CTR attribute customer_id = span enduser.id = GA4 user_id",
        "planted": {k: ([vars(c) for c in v] if k == "causes" else v)
                    for k, v in CENTRE.items()},
        "counts": {
            "records": len(calls), "contacts": len(contacts),
            "transfer_legs": sum(k.is_leg for k in calls),
            "abandoned": sum(k.answered_s is None for k in calls),
            "without_customer": sum(k.customer is None for k in contacts),
            **{f"origin_{o}": sum(k.origin == o for k in contacts)
               for o in ("baseline", "caused", "repeat", "retry")},
            "by_reason": {r: sum(k.reason == r for k in contacts) for r in by_reason},
        },
        "metrics": {"fcr_days": fcr_days, "all": _metrics(calls, None, fcr_days),
                    "by_reason": {r: _metrics(calls, r, fcr_days) for r in by_reason}},
        "drivers": {"window_s": window_s, "good_load_ms": good_ms, "fcr_days": fcr_days,
                    "rows": [_driver(sessions, contacts, r, kind, subject) | {"shows": why}
                             for r, kind, subject, why in DRIVER_ROWS]},
    }


def _metrics(calls: Sequence[Call], reason: str | None, fcr_days: int) -> dict:
    span = fcr_days * 86_400
    mine = [k for k in calls if reason is None or k.reason == reason]
    by_cust: dict[tuple, list[Call]] = defaultdict(list)
    for k in calls:
        if not k.is_leg and k.customer is not None:
            by_cust[(k.customer, k.reason)].append(k)
    first = resolved = 0
    for k in mine:
        if k.is_leg or k.answered_s is None or k.customer is None:
            continue
        same = by_cust[(k.customer, k.reason)]
        if any(p.answered_s is not None and k.started_s - span <= p.started_s < k.started_s
               for p in same):
            continue
        first += 1
        resolved += not any(k.started_s < r.started_s <= k.started_s + span for r in same)
    handled = [k.handle_s for k in mine if k.answered_s is not None]
    legs: defaultdict[str | None, int] = defaultdict(int)
    for k in calls:
        if k.is_leg:
            legs[k.previous] += k.handle_s
    per_contact = [k.handle_s + legs[k.contact_id] for k in mine
                   if not k.is_leg and k.answered_s is not None]
    own = [k for k in mine if not k.is_leg]
    mean = lambda xs: round(sum(xs) / len(xs), 6) if xs else None  # noqa: E731
    return {"contacts": len(own), "first_contacts": first,
            "fcr": round(resolved / first, 6) if first else None,
            "aht_s": mean(handled), "aht_contact_s": mean(per_contact),
            "abandonment_queued": mean([k.answered_s is None for k in mine]),
            "abandonment_inbound": mean([k.answered_s is None for k in own])}


def _driver(sessions: Sequence[Session], contacts: Sequence[Call], reason: str, kind: str,
            subject: str) -> dict:
    """The row's caused contacts; for a dependency, the sessions its failures reached."""
    caused = [k for k in contacts if k.reason == reason and kind == "dependency"
              and k.cause == subject]
    of_reason = sum(k.reason == reason for k in contacts)
    exposed = [s for s in sessions if kind == "dependency"
               and any(subject in pv.failed_deps for pv in s.pages)]
    return {"reason": reason, "subject_kind": kind, "subject": subject,
            "caused_contacts": len(caused),
            "caused_contacts_linked": sum(k.customer is not None for k in caused),
            "reason_contacts": of_reason,
            "attributable_share": round(len(caused) / of_reason, 6) if of_reason else None,
            "exposed_sessions": len(exposed) if kind == "dependency" else None,
            "exposed_sessions_linked": (sum(s.visitor.user_id is not None for s in exposed)
                                        if kind == "dependency" else None)}
