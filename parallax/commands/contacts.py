"""Contact centre: ``contacts metrics`` (process and results metrics per group) and
``contacts drivers`` (contacts that followed a failed or slow page).

``contacts_app`` is the ``contacts`` command group; further contact-centre commands (call
drivers, …) register on it the same way.
"""

from __future__ import annotations

from typing import Annotated

import typer

from parallax.commands.base import analysis_settings, app, check_format, open_db, parse_when
from parallax.errors import ConfigError
from parallax.terminal import print_json

__all__ = ["contacts_app", "drivers_rows", "metrics_rows"]

contacts_app = typer.Typer(help="Contact-centre interactions: metrics (and drivers).",
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


def _pct(value, ci) -> str:
    if value is None:
        return ""
    text = f"{value:.1%}"
    return text + (f" ({ci[0]:.0%}–{ci[1]:.0%})" if ci else "")


def metrics_rows(metrics) -> tuple[list[str], list[list[str]]]:
    """The table: group, contacts, results metrics, then process metrics (kind in the header)."""
    header = ["group", "contacts", *(f"{label} ({kind})" for _, label, kind in _COLUMNS)]
    num = lambda x, f: "" if x is None else format(x, f)  # noqa: E731
    rows = []
    for m in metrics:
        rows.append([
            "(none)" if m.group is None else m.group, f"{m.contacts:,}",
            _pct(m.fcr, m.fcr_ci), _pct(m.abandonment_rate, m.abandonment_rate_ci),
            num(m.to_json()["contacts_per_1000_sessions"], "g"),
            num(m.aht_s, ".0f"), num(m.asa_s, ".0f"),
            _pct(m.service_level, m.service_level_ci),
        ])
    return header, rows


@contacts_app.command("metrics")
def metrics_cmd(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="channel | queue | reason | week")] = "all",
    fcr_days: Annotated[int, typer.Option(
        "--fcr-days", min=1, help="A repeat contact within this many days: not resolved.")] = 7,
    service_level_s: Annotated[float, typer.Option(
        "--service-level-s", min=0, help="Answered within this many seconds: in service level."
    )] = 20.0,
    since: SinceOpt = None, until: UntilOpt = None, format: FormatOpt = "table",
) -> None:
    """FCR, abandonment, contacts per 1,000 sessions (results) beside AHT, ASA and service
    level (process), with 95 % Wilson intervals on the rates."""
    from parallax.console import print_rows
    from parallax.contacts import contact_metrics

    check_format(format)
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    con, _, _ = open_db(ctx)
    try:
        metrics = contact_metrics(con, by=by, fcr_days=fcr_days, service_level_s=service_level_s,
                                  since=start, until=end)
    finally:
        con.close()
    if format == "json":
        print_json([m.to_json() for m in metrics])
        return
    print_rows(*metrics_rows(metrics))


def _seconds(text: str) -> float:
    """24h, 90m, 3600s, 2d or a bare number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
    t = text.strip().lower()
    try:
        return float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise ConfigError(f"--window {text!r}: expected e.g. 24h, 90m, 2d or seconds") from None


def drivers_rows(drivers) -> tuple[list[str], list[list[str]]]:
    """The table: one row per reason × route × dependency, ranked by avoidable contacts."""
    header = ["reason", "route", "dependency", "contacts", "after failure",
              "excess (95% CI)", "failed / clean sessions", "avoidable", "cost"]
    rows = []
    for d in drivers:
        j = d.to_json()
        ex = j["excess_share"]
        excess = ("" if ex["estimate"] is None else
                  f"{ex['estimate']:+.1%} ({ex['ci_low']:+.1%} … {ex['ci_high']:+.1%})")
        rows.append([d.reason, d.route, d.dependency or "—", f"{d.contacts:,}",
                     "" if j["share_after_failure"] is None else f"{j['share_after_failure']:.0%}",
                     excess, f"{d.exposed_sessions:,} / {d.clean_sessions:,}",
                     "" if d.avoidable_contacts is None else f"{d.avoidable_contacts:.1f}",
                     "" if d.cost is None else f"{d.cost:,.2f}"])
    return header, rows


@contacts_app.command("drivers")
def drivers_cmd(
    ctx: typer.Context,
    window: Annotated[str, typer.Option(
        "--window", help="How long before a contact a page load counts (24h, 90m, 2d).")] = "24h",
    cost_per_minute: Annotated[float | None, typer.Option(
        "--cost-per-minute", help="Handle-minute cost (default: \\[contacts] cost_per_minute in "
        "parallax.toml, else 1.0).")] = None,
    format: FormatOpt = "table",
) -> None:
    """Contacts that followed a failed or slow page of the same customer, per reason, route and
    dependency: share after failure, excess over clean sessions (risk difference, Newcombe 95 %
    interval), avoidable contacts and their handle-time cost. Observational: see
    docs/contacts.md."""
    from parallax.console import print_rows
    from parallax.drivers import call_drivers
    from parallax.drivers import cost_per_minute as cost_rate

    check_format(format)
    window_s = _seconds(window)
    con, cfg, _ = open_db(ctx)
    try:
        good = analysis_settings(cfg)[0].good_load_ms
        found = call_drivers(con, window_s=window_s, good_load_ms=good,
                             cost_per_min=cost_rate(cfg, cost_per_minute))
    finally:
        con.close()
    if format == "json":
        print_json([d.to_json() for d in found])
        return
    print_rows(*drivers_rows(found))
