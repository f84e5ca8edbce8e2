"""The joint business–IT review (``parallax review``) and drill-down (``parallax drill``).

Reads findings and named queries only; never fits a model. Plots: altair → inline SVG.

- ``templates/``: the jinja2 pages (review, drill, trend, drivers) and their shared blocks
"""

from __future__ import annotations

from parallax.report.drill import KINDS, Drill, drill
from parallax.report.review import ReviewSummary, write_review

__all__ = ["KINDS", "Drill", "ReviewSummary", "drill", "drill_html", "write_review"]


def drill_html(d: Drill) -> str:
    """The drill view as one self-contained page (the same blocks as the review appendix)."""
    from parallax.report import charts
    from parallax.report.render import render

    return render("drill.html.j2", d=d, linked={v.session for v in d.sessions},
                  waterfalls={v.session: charts.waterfall(v.spans.rows) for v in d.sessions})
