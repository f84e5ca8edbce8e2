"""Terminal output: summary tables and the per-file progress bar (off when not a TTY).

Every value is a ``Text`` of ``parallax.terminal.safe_text``: no Rich markup, no emoji codes,
no control characters reach the terminal from the data (docs/privacy.md).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from parallax.terminal import safe_text

if TYPE_CHECKING:
    from rich.progress import Progress

    from parallax.connectors.load import FileSummary

__all__ = ["FileProgress", "annotation_lines", "print_findings", "print_line", "print_rows",
           "print_summaries"]

# Piped output keeps whole values rather than wrapping them to 80 columns. Markup, emoji and
# highlighting off: nothing in a value is read as anything but text.
_out = Console(markup=False, emoji=False, highlight=False, soft_wrap=True,
               width=None if sys.stdout.isatty() else 220)


def _text(value: Any) -> Text:
    """A cell or a line from data: plain text, control characters written out."""
    return Text(safe_text(value))


def print_summaries(summaries: Sequence[FileSummary]) -> None:
    table = Table("file", "format", "loaded", "duplicates", "rejected", "seconds",
                  title="ingest", title_justify="left")
    for s in summaries:
        table.add_row(_text(s.file), _text(s.format), f"{s.rows_loaded:,}", f"{s.duplicates:,}",
                      f"{s.rejected:,}", f"{s.seconds:.2f}")
    _out.print(table)
    for s in summaries:  # what a parser counted, or why a file was skipped
        if s.notes:
            _out.print(_text(f"{s.file}: {', '.join(s.notes)}"))
    dups = sum(s.duplicates for s in summaries)
    rejected = sum(s.rejected for s in summaries)
    _out.print(
        f"{sum(s.rows_loaded for s in summaries):,} rows loaded from {len(summaries)} file(s); "
        f"{dups:,} duplicates skipped; {rejected:,} rejected"
        + (" (see `parallax loads --rejects`)" if rejected else "")
    )


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Cells and headers are plain text: values from the data (URLs such as ``/docs/[slug]``,
    verbatims, column names of ad-hoc SQL) are never read as Rich markup or emoji, and their
    control characters are written out."""
    table = Table(*(Column(header=_text(c)) for c in columns))
    for row in rows:
        table.add_row(*(_text(v) for v in row))
    _out.print(table)


def print_line(text: str) -> None:
    """One line of plain text, through the same console as the tables."""
    _out.print(_text(text))


class FileProgress:
    """A byte-based progress bar per file, drawn on stderr only when it is a terminal."""

    def __init__(self) -> None:
        self._enabled = sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> FileProgress:
        if self._enabled:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                 DownloadColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True, markup=False, emoji=False,
                                                 highlight=False),
                                 transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def start(self, label: str, total_bytes: int) -> None:
        if self._bar:
            self._task = self._bar.add_task(safe_text(label, one_line=True), total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self._bar and self._task is not None:
            self._bar.advance(self._task, nbytes)

    def finish(self) -> None:
        if self._bar and self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None


def _fmt_ci(d: dict | None, digits: int = 2) -> str:
    if not d or d.get("estimate") is None:
        return "–"
    return f"{d['estimate']:.{digits}f} [{d['ci_low']:.{digits}f}, {d['ci_high']:.{digits}f}]"


def print_findings(docs: Sequence[dict], *, evidence: bool = True) -> None:
    """Findings as a table both sides read: verdict, feedback, delivery, impact."""
    table = Table("kind", "subject", "verdict", "responses", "poor", "normal",
                  "odds ratio (adj.)", "explained", "q", "p75 load", "errors",
                  "extra poor", "lost conv.", title="findings", title_justify="left")
    for f in docs:
        d, imp = f.get("delivered") or {}, f.get("impact") or {}
        p75 = d.get("p75_ms")
        table.add_row(
            _text(f["subject_kind"]), _text(f["subject"]), _text(f["verdict"]),
            f"{f['n_responses']:,}",
            _pct(f.get("poor_rate")), _pct(f.get("baseline_poor_rate")),
            _fmt_ci(f.get("odds_ratio_adjusted")), _pct(f.get("explained_share")),
            "–" if f.get("q_value") is None else f"{f['q_value']:.3f}",
            "–" if p75 is None else f"{p75:,.0f} ms",
            _pct(d.get("error_rate") if f["subject_kind"] == "route"
                 else d.get("dependency_failure_rate")),
            _fmt_ci(imp.get("extra_poor_responses"), 1), _fmt_ci(imp.get("lost_conversions"), 1))
    _out.print(table)
    for i, line in enumerate(annotation_lines(docs)):  # ids to look up in `annotate list`
        _out.print(_text(("annotations: " if i == 0 else "             ") + line))
    if evidence:
        for f in docs:
            if f["subject_kind"] != "segment" and f["verdict"] != "ok":
                _out.print(_text(f"• [{f['verdict']}] {f['evidence']}"))


def annotation_lines(docs: Sequence[dict]) -> list[str]:
    """Per annotated finding: "subject: id (kind), …" — the ids to look up with
    `parallax annotate list`; findings without annotations are left out."""
    out = []
    for f in docs:
        notes = f.get("annotations") or []
        if notes:
            out.append(f"{f['subject']}: " + ", ".join(
                f"{a.get('id')} ({a.get('kind')})" for a in notes))
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"
