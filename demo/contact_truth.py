"""truth.json → ``contact_centre``: what the contact centre's planted truth means in the figures
``parallax contacts metrics`` and ``parallax contacts drivers`` report.

- FCR and AHT are computed from the simulated calls with the definitions of
  ``models/contacts/metrics.sql`` (docs/contacts.md: first contacts exclude transfer legs, a
  repeat by the same customer about the same reason within 7 days makes one unresolved; AHT
  is the mean handle time of answered records) — so they must match **exactly**.
- Call drivers, per (reason, route, dependency) row, from the planted rates (baseline, every
  failure of the customer that can cause a call; repeats and retries left out, they are
  small): ``expected_excess_share`` = mean P(a contact about the reason in the window) over
  the sessions with the row's failure − the same over the clean sessions — what the drivers'
  risk difference estimates; ``caused_excess_share`` = the part the row's *own* failed loads
  cause (the mean over the exposed sessions of P(contact) − P(contact had those loads caused
  nothing)). The two differ where failures come together (a product page and the cart failing
  in one incident, the maps incident overlapping the inventory one): the observational excess
  carries what co-occurs with the failure, the caused part does not. Sessions and
  windows are classified exactly as the drivers query does (logged-in sessions; failed = an
  error page or a failed dependency, slow = load above ``good_ms``; clean = no failed or slow
  load in the whole session).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from parallax.demo.contacts import CENTRE, END_S, START_S, Call, failure_events
from parallax.demo.world import Session

__all__ = ["DRIVER_ROWS", "contact_truth"]

# (reason, route, dependency | None, what the row shows)
DRIVER_ROWS: tuple[tuple[str, str, str | None, str], ...] = (
    ("order problem", "/product/{id}", "inventory-db", "caused"),
    ("order problem", "/cart", "inventory-db", "caused"),
    ("payment", "/checkout", "payments.example-psp.com", "caused"),
    ("order problem", "/product/{id}", None, "caused, diluted by slow loads"),
    ("delivery", "/product/{id}", "inventory-db", "no effect"),
    ("returns", "/checkout", "payments.example-psp.com", "no effect"),
    ("order problem", "/store-locator", "maps.example-geo.com",
     "no effect, but the maps incident overlaps the inventory-db incident: confounded"),
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
        "drivers": {"window_s": window_s, "good_load_ms": good_ms,
                    "rows": [_driver(sessions, r, route, dep, window_s, good_ms) | {"shows": why}
                             for r, route, dep, why in DRIVER_ROWS]},
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
    return {"contacts": sum(not k.is_leg for k in mine), "first_contacts": first,
            "fcr": round(resolved / first, 6) if first else None,
            "aht_s": round(sum(handled) / len(handled), 6) if handled else None}


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _driver(sessions: Sequence[Session], reason: str, route: str, dep: str | None,
            window_s: int, good_ms: float) -> dict:
    events = [e for e in failure_events(list(sessions)) if e[4] == reason]
    by_cust: dict[str, list] = defaultdict(list)
    for e in events:
        by_cust[e[0]].append(e)
    rate = CENTRE["baseline_per_day"].get(reason, 0.0) / 86_400
    d0, d1 = CENTRE["delay_s"]

    def risks(s: Session, a: int) -> tuple[float, float]:
        """P(no contact in [a, a+W)) from everything else, and from the row's own loads."""
        stay, own = math.exp(-rate * _overlap(a, a + window_s, START_S, END_S)), 1.0
        for e in by_cust[s.visitor.user_id]:
            p = 1.0 - e[6] * _overlap(e[5] + d0, e[5] + d1, a, a + window_s) / (d1 - d0)
            if e[1] == s.visitor.session_id and e[2] == route and (dep is None or e[3] == dep):
                own *= p
            else:
                stay *= p
        return stay, own

    caused, exposed, clean = [], [], []
    for s in sessions:
        if s.visitor.user_id is None:
            continue
        on = [pv for pv in s.pages if pv.route == route and (dep is None or dep in {
            dict(sp.attrs).get("peer.service") for sp in pv.spans if sp.kind == 3})]
        if not on:
            continue
        hit = [pv for pv in on if (dep in pv.failed_deps if dep else
                                   pv.error_seen or pv.failed_deps or pv.load_ms > good_ms)]
        if not hit:
            if not any(pv.error_seen or pv.failed_deps or pv.load_ms > good_ms
                       for pv in s.pages):
                stay, own = risks(s, on[0].start_us // 1_000_000)
                clean.append(1.0 - stay * own)
            continue
        stay, own = risks(s, min(pv.start_us for pv in hit) // 1_000_000)
        exposed.append(1.0 - stay * own)
        caused.append(stay * (1.0 - own))
    mean = lambda xs: round(sum(xs) / len(xs), 6) if xs else None  # noqa: E731
    return {"reason": reason, "route": route, "dependency": dep,
            "exposed_sessions": len(exposed), "clean_sessions": len(clean),
            "expected_risk_exposed": mean(exposed), "expected_risk_clean": mean(clean),
            "expected_excess_share": (round(mean(exposed) - mean(clean), 6)
                                      if exposed and clean else None),
            "caused_excess_share": mean(caused)}
