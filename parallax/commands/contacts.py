"""Contact centre: ``contacts metrics`` (process and results metrics per group) and
``contacts drivers`` (how many contacts each failure brought).

``contacts_app`` is the ``contacts`` command group; further contact-centre commands (call
drivers, …) register on it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parallax.commands.base import (
    app,
    check_format,
    parse_when,
    session,
)
from parallax.errors import ConfigError
from parallax.numbers import Interval, ci
from parallax.terminal import echo, print_json

__all__ = ["contacts_app", "metrics_rows"]

contacts_app = typer.Typer(help="Contact-centre interactions: metrics and call drivers.",
                           no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")

SinceOpt = Annotated[str | None, typer.Option("--since", help="Window start (ISO).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Window end (ISO, exclusive).")]
FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]

# Results first, then process: the two lines of sight side by side.
_COLUMNS = (("fcr", "FCR", "results"), ("abandonment_rate", "abandoned", "results"),
            ("contacts_per_1000_sessions", "per 1k sessions", "results"),
            ("aht_s", "AHT s", "process"), ("asa_s", "ASA s", "process"),
            ("service_level", "service level", "process"))


def _rate_ci(value: float | None, bounds: tuple[float, float] | None) -> str:
    return ci(Interval.around(value, bounds), "pct1", bounds="pct", empty="")


def metrics_rows(metrics) -> tuple[list[str], list[list[str]]]:
    """The table: group, contacts, results metrics, then process metrics (kind in the header;
    the service-level threshold in its column's)."""
    sl = f"service level ≤ {metrics[0].definitions.service_level_s:g} s" if metrics else ""
    header = ["group", "contacts", *(f"{sl or label if key == 'service_level' else label} "
                                     f"({kind})" for key, label, kind in _COLUMNS)]
    num = lambda x, f: "" if x is None else format(x, f)  # noqa: E731
    rows = []
    for m in metrics:
        rows.append([
            "(none)" if m.group is None else m.group, f"{m.contacts:,}",
            _rate_ci(m.fcr, m.fcr_ci), _rate_ci(m.abandonment_rate, m.abandonment_rate_ci),
            num(m.to_json()["contacts_per_1000_sessions"], "g"),
            num(m.aht_s, ".0f"), num(m.asa_s, ".0f"),
            _rate_ci(m.service_level, m.service_level_ci),
        ])
    return header, rows


@contacts_app.command("metrics")
def metrics_cmd(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="channel | queue | reason | week")] = "all",
    fcr_days: Annotated[int, typer.Option(
        "--fcr-days", min=1, help="FCR window: a first contact is resolved when no contact by "
        "the same customer about the same reason follows within this many days (and the "
        "source does not say it was unresolved).")] = 7,
    service_level_s: Annotated[float, typer.Option(
        "--service-level-s", min=0, help="Service level: answered within this many seconds, "
        "over answered and abandoned records.")] = 20.0,
    aht: Annotated[str, typer.Option(
        "--aht", help="record: mean handle time (talk + hold + wrap-up) per answered contact "
        "record, a transfer leg a record of its own, as Amazon Connect reports it | contact: "
        "per answered customer contact, its transfer legs summed.")] = "record",
    abandonment: Annotated[str, typer.Option(
        "--abandonment", help="queued: abandoned records / records that queued (legs "
        "included) | inbound: abandoned / customer-initiated contacts (no transfer legs; "
        "those that never queued count too).")] = "queued",
    since: SinceOpt = None, until: UntilOpt = None, format: FormatOpt = "table",
) -> None:
    """FCR, abandonment, contacts per 1,000 sessions (results) beside AHT, ASA and service
    level (process), with 95 % Wilson intervals on the rates.

    Contacts: records that are not transfer legs. FCR: answered, customer-initiated first
    contacts of a known customer with no repeat about the same reason within --fcr-days.
    ASA: mean wait of answered inbound records. Contacts per 1,000 sessions: contacts over
    the web sessions of the same period. Definitions in full: docs/contacts.md."""
    from parallax.commands.console import print_line, print_rows
    from parallax.contacts.metrics import contact_metrics

    check_format(format)
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    with session(ctx) as s:
        con = s.con
        metrics = contact_metrics(con, by=by, fcr_days=fcr_days, service_level_s=service_level_s,
                                  aht=aht, abandonment=abandonment, since=start, until=end)
    if format == "json":
        print_json([m.to_json() for m in metrics])
        return
    print_line(metrics[0].definitions.sentence())
    print_rows(*metrics_rows(metrics))


def _seconds(text: str) -> float:
    """24h, 90m, 3600s, 2d or a bare number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
    t = text.strip().lower()
    try:
        return float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise ConfigError(f"--window {text!r}: expected e.g. 24h, 90m, 2d or seconds") from None


@contacts_app.command("drivers")
def drivers_cmd(
    ctx: typer.Context,
    window: Annotated[str, typer.Option(
        "--window", help="How long after a failure a customer's first contact counts (24h, "
        "90m, 2d).")] = "24h",
    fcr_days: Annotated[int, typer.Option(
        "--fcr-days", min=1, help="Repeats about the same reason within this many days of "
        "the contact before belong to the same problem (the FCR window).")] = 7,
    cost_per_minute: Annotated[float | None, typer.Option(
        "--cost-per-minute", help="Handle-minute cost (default: \\[contacts] cost_per_minute in "
        "parallax.toml, else 1.0).")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", min=0, help="Rows shown in the table (0: all; JSON always has all).")] = 10,
    format: FormatOpt = "table",
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write a page: a bar chart of the rows shown (avoidable contacts "
        "with 95 % intervals), the summary and the table.")] = None,
) -> None:
    """Why did they have to contact us? Per reason and per failing dependency (one driver
    across all the routes that call it) or route (its own error pages and slow loads):
    avoidable contacts — the per-session excess over clean sessions, read on logged-in
    sessions, applied to every session that met the failure — with a 95 % interval, their
    share of the reason's contacts, and their handle-time cost. Observational: see
    docs/contacts.md."""
    from parallax.commands.console import print_line, print_rows
    from parallax.commands.drivers_table import drivers_rows, drivers_summary
    from parallax.contacts.drivers import call_drivers
    from parallax.contacts.drivers import cost_per_minute as cost_rate

    check_format(format)
    window_s = _seconds(window)
    with session(ctx) as s:
        con, cfg = s.con, s.cfg
        good = s.analysis[0].good_load_ms
        found = call_drivers(con, window_s=window_s, good_load_ms=good, fcr_days=fcr_days,
                             cost_per_min=cost_rate(cfg, cost_per_minute))
    if html is not None:
        from parallax.files import write_whole
        from parallax.report.drivers import drivers_html

        write_whole(html, drivers_html(found, limit), "--html")
    if format == "json":
        print_json([d.to_json() for d in found])
    else:
        shown = found[:limit] if limit else found
        print_line(drivers_summary(found, len(shown)))
        print_rows(*drivers_rows(shown))
    if html is not None:
        echo(f"html: {html}", err=format == "json")
