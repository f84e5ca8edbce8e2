"""``contacts drivers`` for people: the one-line summary and the ranked table, numbers rounded
to what their intervals can carry (a count of 8.4 ± 6 is not shown as 8.3871)."""

from __future__ import annotations

from collections.abc import Sequence

from parallax.contacts.drivers import Driver
from parallax.numbers import Interval, ci

__all__ = ["count_ci", "drivers_rows", "drivers_summary", "subject"]

_ROUTES_SHOWN = 3


def count_ci(x: float | None, bounds: tuple[float, float] | None) -> str:
    """``189 (123 to 198)``: a count of contacts and its interval, to what the interval
    carries."""
    return ci(Interval.around(x, bounds), "count")


def _share_ci(x: float | None, bounds: tuple[float, float] | None) -> str:
    return ci(Interval.around(x, bounds), "pct")


def _per_100(x: float | None, bounds: tuple[float, float] | None) -> str:
    return ci(Interval.around(x, bounds), "num1", sign=True, scale=100.0)


def subject(d: Driver) -> str:
    """``dependency inventory-db``, ``route /cart``: what failed."""
    return f"{d.subject_kind} {d.subject}"


def _routes(d: Driver) -> str:
    if d.subject_kind != "dependency":
        return "–"
    shown = ", ".join(f"{r} ({n:,})" for r, n in d.routes[:_ROUTES_SHOWN])
    more = len(d.routes) - _ROUTES_SHOWN
    return shown + (f" +{more} more" if more > 0 else "")


def drivers_rows(drivers: Sequence[Driver]) -> tuple[list[str], list[list[str]]]:
    """One row per reason × failure subject, in the order given (ranked by avoidable
    contacts)."""
    header = ["#", "reason", "failure of", "on routes (sessions)", "avoidable contacts (95% CI)",
              "share of the reason's contacts", "extra contacts per 100 sessions",
              "sessions: failed (linked / alone) · clean", "cost", "note"]
    rows = []
    for i, d in enumerate(drivers, 1):
        rows.append([
            str(i), d.reason, subject(d), _routes(d),
            count_ci(d.avoidable_contacts, d.avoidable_ci),
            _share_ci(d.attributable_share, d.attributable_share_ci),
            _per_100(d.excess_rate, d.excess_rate_ci),
            f"{d.exposed_sessions:,} ({d.linked_exposed:,} / {d.sole_exposed:,}) · "
            f"{d.clean_sessions:,}",
            "–" if d.cost is None else f"{d.cost:,.0f}",
            "thin" if d.thin else ""])
    return header, rows


def drivers_summary(drivers: Sequence[Driver], shown: int) -> str:
    """What the table says in one line: contacts, rows that stand out, the top driver."""
    total = sum({d.reason: d.reason_contacts for d in drivers}.values())
    clear = sum(1 for d in drivers if d.avoidable_ci and d.avoidable_ci[0] > 0)
    head = (f"{total:,} contacts; {len(drivers):,} reason × failure rows, {clear:,} with "
            f"avoidable contacts above zero at 95 %")
    top = drivers[0] if drivers else None
    if top is None or not top.avoidable_contacts:
        return head + "; no failure shows avoidable contacts."
    line = (f"{head}. Top: {top.reason} contacts after failures of {subject(top)} — "
            f"≈ {count_ci(top.avoidable_contacts, top.avoidable_ci)} avoidable, "
            f"{_share_ci(top.attributable_share, top.attributable_share_ci)} of "
            f"{top.reason} contacts")
    if shown < len(drivers):
        line += f". Showing {shown} of {len(drivers)} (--limit 0 shows all)"
    return line + "."
