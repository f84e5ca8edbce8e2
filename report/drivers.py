"""The page of ``contacts drivers --html``: avoidable contacts per driver as bars with their
95 % intervals, the summary the terminal prints as the lead and the terminal's table below;
the same rows as the terminal (``--limit``). Reasons, dependencies and routes come from the
data: they reach the page as text only (autoescaped template, SVG text drawn by vl-convert)."""

from __future__ import annotations

from collections.abc import Sequence

from parallax.commands.drivers_table import count_ci, drivers_rows, drivers_summary, subject
from parallax.contacts.drivers import Driver

__all__ = ["drivers_html"]


def drivers_html(drivers: Sequence[Driver], limit: int = 10) -> str:
    """The page for ``drivers`` ranked as ``call_drivers`` returns them, the first ``limit``
    shown (0: all), as the terminal shows them."""
    from parallax.report.charts import driver_bars
    from parallax.report.render import render

    shown = list(drivers[:limit] if limit else drivers)
    header, rows = drivers_rows(shown)
    bars = [{"label": f"{i}. {d.reason} · {subject(d)}", "avoidable": d.avoidable_contacts,
             "ci_low": d.avoidable_ci and d.avoidable_ci[0],
             "ci_high": d.avoidable_ci and d.avoidable_ci[1],
             "shown": count_ci(d.avoidable_contacts, d.avoidable_ci)
             if d.avoidable_contacts is not None else "no estimate", "thin": d.thin}
            for i, d in enumerate(shown, 1)]
    return render("drivers.html.j2", summary=drivers_summary(drivers, len(shown)),
                  columns=header, rows=[dict(zip(header, r, strict=True)) for r in rows],
                  svg=driver_bars(bars))
