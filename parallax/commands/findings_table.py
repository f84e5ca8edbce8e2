"""The findings in the terminal, designed for 100 columns: one table per kind of subject whose
subject and verdict are never cut, a compact default (the verdict and the key numbers), and
the plain sentence of each finding under it. ``--wide`` and ``--columns`` show the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from parallax.correlate.findings import Finding
from parallax.errors import ConfigError
from parallax.numbers import Interval, ci, fmt

__all__ = ["COLUMNS", "COMPACT", "annotation_lines", "pick_columns", "print_findings"]


@dataclass(frozen=True)
class FindingColumn:
    header: str
    cell: Callable[[Finding], str]
    numeric: bool = True


def _errors(f: Finding) -> str:
    key = "error_rate" if f.subject_kind == "route" else "dependency_failure_rate"
    return fmt(f.delivered.get(key), "pct")


def _estimate(i: Interval | None) -> float | None:
    return None if i is None else i.estimate


COLUMNS: dict[str, FindingColumn] = {
    "subject": FindingColumn("subject", lambda f: f.subject, numeric=False),
    "verdict": FindingColumn("verdict", lambda f: f.verdict, numeric=False),
    "responses": FindingColumn("responses", lambda f: fmt(f.n_responses, "int")),
    "poor": FindingColumn("poor (normal)", lambda f: f"{fmt(f.poor_rate, 'pct')} "
                          f"({fmt(f.baseline_poor_rate, 'pct')})"),
    "odds": FindingColumn("odds ratio (adj.)", lambda f: ci(f.odds_ratio_adjusted, "or")),
    "explained": FindingColumn("explained", lambda f: fmt(f.explained_share, "pct")),
    "q": FindingColumn("q", lambda f: fmt(f.q_value, "q")),
    "p75": FindingColumn("p75 load", lambda f: fmt(f.delivered.get("p75_ms"), "ms")),
    "errors": FindingColumn("errors", _errors),
    "extra_poor": FindingColumn("extra poor", lambda f: fmt(
        _estimate(f.impact.extra_poor_responses), "num1")),
    "lost_conversions": FindingColumn("lost conv.", lambda f: fmt(
        _estimate(f.impact.lost_conversions), "num1")),
    "extra_poor_ci": FindingColumn("extra poor (95% CI)", lambda f: ci(
        f.impact.extra_poor_responses, "num1")),
    "lost_conversions_ci": FindingColumn("lost conv. (95% CI)", lambda f: ci(
        f.impact.lost_conversions, "num1")),
}


def _answering(f: Finding) -> str:
    """The answering odds ratio (per load second, when failed, or vs the rest) and the flag."""
    sel = f.details.get("selection")
    if not sel or not sel.get("measure"):
        return "–"
    return ci(sel.get("odds_ratio"), "or") + (" selection" if sel.get("selection") else "")


def _weighted(f: Finding) -> str:
    """Delivery log-odds unweighted → weighted (route: delivery part; dependency: failure)."""
    est = (f.details.get("selection") or {}).get("delivery_log_odds")
    if not est:
        return "–"
    return f"{fmt(est['unweighted']['estimate'])} → {ci(est['weighted'])}"


COLUMNS["answering"] = FindingColumn("answering odds", _answering)
COLUMNS["weighted"] = FindingColumn("delivery unw. → weighted", _weighted)
COMPACT = ("subject", "verdict", "responses", "poor", "extra_poor", "lost_conversions")
WIDE = ("subject", "verdict", "responses", "poor", "odds", "explained", "q", "p75", "errors",
        "extra_poor_ci", "lost_conversions_ci")
_KINDS = (("route", "routes"), ("dependency", "dependencies"), ("segment", "segments"))


def pick_columns(columns: str | None, wide: bool) -> tuple[str, ...]:
    """``--columns a,b`` (subject and verdict always lead), else wide or compact."""
    if columns is None:
        return WIDE if wide else COMPACT
    from parallax.names import did_you_mean

    chosen = [c.strip() for c in columns.split(",") if c.strip()]
    for c in chosen:
        if c not in COLUMNS:
            raise ConfigError(f"--columns {c!r}: no such column" + (
                did_you_mean(c, COLUMNS) or f" (columns: {', '.join(COLUMNS)})"))
    return tuple(dict.fromkeys(["subject", "verdict", *chosen]))


def print_findings(findings: Sequence[Finding], *, evidence: bool = True,
                   columns: Sequence[str] = COMPACT) -> None:
    """One table per kind, then the annotations and the plain sentence per finding."""
    from rich import box
    from rich.table import Column, Table

    from parallax.commands.console import print_line, print_table, text

    for kind, title in _KINDS:
        mine = [f for f in findings if f.subject_kind == kind]
        if not mine:
            continue
        table = Table(*(Column(COLUMNS[c].header, justify="right" if COLUMNS[c].numeric
                               else "left", no_wrap=c in ("subject", "verdict"))
                        for c in columns),
                      title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for f in mine:
            table.add_row(*(text(COLUMNS[c].cell(f)) for c in columns))
        print_table(table)
    checked = [f for f in findings if f.details.get("selection")]
    if checked:  # only when survey offers were recorded: otherwise the tables are as before
        table = Table(Column("subject", no_wrap=True), Column("answering odds", justify="right"),
                      Column("delivery log-odds: unweighted → weighted", justify="right"),
                      title="who answered", title_justify="left", box=box.SIMPLE_HEAD,
                      pad_edge=False)
        for f in checked:
            table.add_row(text(f"{f.subject_kind} {f.subject}"), text(_answering(f)),
                          text(_weighted(f)))
        print_table(table)
    for i, line in enumerate(annotation_lines(findings)):  # ids to look up in `annotate list`
        print_line(("annotations: " if i == 0 else "             ") + line)
    if evidence:
        for f in findings:
            if f.subject_kind != "segment" and f.verdict != "ok":
                print_line(f"• [{f.verdict}] {f.evidence}")


def annotation_lines(findings: Sequence[Finding]) -> list[str]:
    """Per annotated finding: "subject: id (kind), …" — the ids to look up with
    `parallax annotate list`; findings without annotations are left out."""
    out = []
    for f in findings:
        notes = f.annotations
        if notes:
            out.append(f"{f.subject}: " + ", ".join(
                f"{a.get('id')} ({a.get('kind')})" for a in notes))
    return out
