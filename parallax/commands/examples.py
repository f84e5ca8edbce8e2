"""Every command's help ends with examples a newcomer can copy (on the demo database where
data is needed). Kept in one place so that they read alike and a test can check each one
names a real command and real options."""

from __future__ import annotations

import typer

__all__ = ["EXAMPLES", "add_examples"]

EXAMPLES: dict[str, tuple[str, ...]] = {
    "demo": ("parallax demo", "parallax --db /tmp/demo.duckdb demo --sessions 6000 --seed 3"),
    "correlate": ("parallax correlate", "parallax correlate --since -7d --until now",
                  "parallax correlate --since 2026-10-05 --min-responses 50",
                  "parallax correlate --engine spark --tables /tmp/lake"),
    "export": ("parallax export --parquet /tmp/lake",
               "parallax export --parquet /tmp/lake --replace"),
    "findings": ("parallax findings", "parallax findings --wide",
                 "parallax findings --format json"),
    "review": ("parallax review", "parallax review --out /tmp/review.html --since 2026-10-05"),
    "drill": ("parallax drill route /checkout", "parallax drill dependency inventory-db",
              "parallax drill route /product/123 --limit 10 --html /tmp/view.html"),
    "incident": ("parallax incident inventory-db-crash",
                 "parallax incident inventory-db-crash --html /tmp/incident.html",
                 "parallax incident --dependency inventory-db --start 2026-10-08T17:00 "
                 "--end 2026-10-08T22:00"),
    "design-check": ("parallax design-check --route /checkout --changed-at 2026-10-07",
                     "parallax design-check --route /checkout --changed-at 2026-10-07 --html "
                     "/tmp/design.html",
                     "parallax design-check --route /checkout --changed-at 2026-10-07 "
                     "--control-routes /,/search --window 7d"),
    "query": ("parallax query --list", "parallax query worst_routes",
              "parallax query worst_routes --format csv --out /tmp/worst.csv"),
    "sql": ('parallax sql "SELECT route, count(*) AS n FROM feedback GROUP BY route"',),
    "loads": ("parallax loads", "parallax loads --rejects"),
    "overview": ("parallax overview",),
    "routes": ("parallax routes", "parallax routes --unmatched"),
    "verbatims": ("parallax verbatims", "parallax verbatims --route /checkout --format json"),
    "score": ("parallax score", "parallax score --by segment"),
    "erase": ("parallax erase --user cust-100029", "parallax erase --email ada@example.com"),
    "pull": ("parallax pull", "parallax pull qualtrics --since 2026-10-01"),
    "sources": ("parallax sources",),
    "serve": ("PARALLAX_TOKEN=secret parallax serve", "parallax serve --port 4318"),
    "sample": ("parallax sample interactions --strata channel,reason --margin 0.05 --seed 7 "
               "--out /tmp/qa.csv",),
    "ingest traces": ("parallax ingest traces spans/*.jsonl.gz",
                      "parallax ingest traces jaeger-export.json zipkin/"),
    "ingest feedback": ("parallax ingest feedback qualtrics_export.csv",
                        "parallax ingest feedback answers.csv --field score=Q3 --metric csat"),
    "ingest analytics": ("parallax ingest analytics ga4_events.ndjson --session-param "
                         "session_id",),
    "ingest interactions": ("parallax ingest interactions ctr/*.jsonl zendesk_tickets.json",),
    "evaluations ingest": ("parallax evaluations ingest qa_scored.csv",),
    "evaluations report": ("parallax evaluations report", "parallax evaluations report "
                           "--format json"),
    "annotate add": ("parallax annotate add --kind deploy --service shop-api --start "
                     "2026-10-06T09:30 --description v2.4",),
    "annotate list": ("parallax annotate list", "parallax annotate list --kind incident"),
    "annotate import": ("parallax annotate import incidents.csv",),
    "contacts metrics": ("parallax contacts metrics", "parallax contacts metrics --by week"),
    "contacts drivers": ("parallax contacts drivers", "parallax contacts drivers --window 24h",
                         "parallax contacts drivers --html /tmp/drivers.html"),
}


def add_examples(app: typer.Typer, prefix: str = "") -> None:
    """Set each registered command's epilog from ``EXAMPLES`` (groups recursively)."""
    for info in app.registered_commands:
        name = info.name
        if not name:
            assert info.callback is not None  # typer registers a command with its function
            name = info.callback.__name__.replace("_", "-")
        name = prefix + name
        if name in EXAMPLES:
            info.epilog = "Examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name])
    for group in app.registered_groups:
        assert group.typer_instance is not None  # our groups are added as Typer apps
        add_examples(group.typer_instance, f"{prefix}{group.name} ")
