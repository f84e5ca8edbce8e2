"""``routes``: the route templates of the database and the page URLs none of them matched."""

from __future__ import annotations

from typing import Annotated

import typer

from parallax.commands.base import app, check_format, session
from parallax.terminal import print_json

__all__: list[str] = []


@app.command("routes")
def routes_cmd(
    ctx: typer.Context,
    unmatched: Annotated[bool, typer.Option(
        "--unmatched", help="The page URLs no template matched (they fell back to the id "
        "heuristic), by the route they fell back to, most frequent first.")] = False,
    format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 50,
) -> None:
    """Route templates (learned from spans with http.route, declared in \\[routes] templates):
    the spans that taught each, the page views, responses and distinct URLs it absorbed.

    Changed \\[routes] settings are applied first, as the next ingest would apply them."""
    from parallax.connectors.route_learning import prepare
    from parallax.named_queries import run_query
    from parallax.options import route_normalizer

    format = check_format(format)
    with session(ctx) as s:
        con, cfg = s.con, s.cfg
        prepare(con, route_normalizer(cfg))
        cov = run_query(con, "route_coverage", {})
        coverage = dict(zip([d[0] for d in cov.description], cov.fetchall()[0], strict=True))
        if unmatched:
            page_spans = ",".join(s.analysis[1].page_spans)
            rel = run_query(con, "route_unmatched", {"limit": limit, "page_spans": page_spans})
        else:
            rel = run_query(con, "route_templates", {"limit": limit})
        columns, rows = [d[0] for d in rel.description], rel.fetchall()
    if format == "json":

        doc = {"coverage": coverage,
               "unmatched" if unmatched else "templates": [dict(zip(columns, r, strict=True))
                                                           for r in rows]}
        print_json(doc)
        return
    from parallax.commands.console import print_line, print_rows

    print_line(_summary(coverage))
    if unmatched and not rows:
        print_line("every page URL matched a template")
        return
    print_rows(columns, rows)


def _summary(c: dict) -> str:
    def pct(part: int, whole: int) -> str:
        return f"{part / whole:.1%}" if whole else "–"

    return (f"{c['templates']} templates ({c['learned']} learned, {c['declared']} declared); "
            f"on a template route: {pct(c['page_views_on_template'], c['page_views'])} of "
            f"{c['page_views']:,} page views, {pct(c['responses_on_template'], c['responses'])}"
            f" of {c['responses']:,} responses")
