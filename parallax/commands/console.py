"""Terminal output: summary tables and the per-file progress bar (off when not a TTY).

Every value is a ``Text`` of ``parallax.terminal.safe_text``: no Rich markup, no emoji codes,
no control characters reach the terminal from the data (docs/privacy.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from parallax.terminal import safe_text

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.status import Status

    from parallax.connectors.load import FileSummary

__all__ = ["FileProgress", "Steps", "print_line", "print_rows", "print_summaries", "print_table",
           "text"]

# Piped output keeps whole values rather than wrapping them to 80 columns (unless $COLUMNS says
# how wide). Markup, emoji and highlighting off: nothing in a value is read as anything but text.
_out = Console(markup=False, emoji=False, highlight=False, soft_wrap=True,
               width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 220)


def text(value: Any) -> Text:
    """A cell or a line from data: plain text, control characters written out."""
    return Text(safe_text(value))


def print_summaries(summaries: Sequence[FileSummary]) -> None:
    table = Table("file", "format", "loaded", "duplicates", "rejected", "seconds",
                  title="ingest", title_justify="left")
    for s in summaries:
        table.add_row(text(s.file), text(s.format), f"{s.rows_loaded:,}", f"{s.duplicates:,}",
                      f"{s.rejected:,}", f"{s.seconds:.2f}")
    _out.print(table)
    for s in summaries:  # what a parser counted, or why a file was skipped
        if s.notes:
            _out.print(text(f"{s.file}: {', '.join(s.notes)}"))
    dups = sum(s.duplicates for s in summaries)
    rejected = sum(s.rejected for s in summaries)
    _out.print(
        f"{sum(s.rows_loaded for s in summaries):,} rows loaded from {len(summaries)} file(s); "
        f"{dups:,} duplicates skipped; {rejected:,} rejected"
        + (" (see `parallax loads --rejects`)" if rejected else "")
    )


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]],
               keep: Collection[str] = ()) -> None:
    """Cells and headers are plain text: values from the data (URLs such as ``/docs/[slug]``,
    verbatims, column names of ad-hoc SQL) are never read as Rich markup or emoji, and their
    control characters are written out. Columns in ``keep`` (ids to copy) are never wrapped
    or cut: the others give way."""
    table = Table(*(Column(header=text(c), no_wrap=c in keep) for c in columns))
    for row in rows:
        table.add_row(*(text(v) for v in row))
    _out.print(table)


def print_line(line: str) -> None:
    """One line of plain text, through the same console as the tables."""
    _out.print(text(line))


def print_table(table: Table) -> None:
    """A table whose cells are ``text()`` values, through the same console."""
    _out.print(table)


class FileProgress:
    """A byte-based progress bar per file, drawn on stderr only when it is a terminal."""

    def __init__(self) -> None:
        self._enabled = sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

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


class Steps:
    """The steps of long work (building the join model, fitting, writing the page) on stderr,
    each with its time, only when stderr is a terminal: piped and scripted runs stay quiet."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or (Console(stderr=True, markup=False, emoji=False,
                                            highlight=False) if sys.stderr.isatty() else None)
        self._status: Status | None = None
        self._label: str | None = None
        self._started = 0.0

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        self._done(failed=exc_type is not None)

    def step(self, label: str) -> None:
        """The previous step is done; ``label`` starts (a spinner while it runs)."""
        if self._console is None:
            return
        import time

        self._done(failed=False)
        self._label, self._started = label, time.monotonic()
        self._status = self._console.status(text(label + " …"), spinner="dots")
        self._status.start()

    def _done(self, failed: bool) -> None:
        if self._status is None or self._console is None:  # a status needs a console
            return
        import time

        self._status.stop()
        mark = "✗" if failed else "✓"
        took = time.monotonic() - self._started
        self._console.print(text(f"{mark} {self._label} ({took:.1f} s)"))
        self._status = None
