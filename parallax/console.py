"""Terminal output: summary tables and the per-file progress bar (off when not a TTY)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from parallax.connectors.load import FileSummary

__all__ = ["FileProgress", "print_rows", "print_summaries"]

# Piped output keeps whole values rather than wrapping them to 80 columns.
_out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 220)


def print_summaries(summaries: Sequence[FileSummary]) -> None:
    table = Table("file", "format", "loaded", "duplicates", "rejected", "seconds",
                  title="ingest", title_justify="left")
    for s in summaries:
        table.add_row(s.file, s.format, f"{s.rows_loaded:,}", f"{s.duplicates:,}",
                      f"{s.rejected:,}", f"{s.seconds:.2f}")
    _out.print(table)
    dups = sum(s.duplicates for s in summaries)
    rejected = sum(s.rejected for s in summaries)
    _out.print(
        f"{sum(s.rows_loaded for s in summaries):,} rows loaded from {len(summaries)} file(s); "
        f"{dups:,} duplicates skipped; {rejected:,} rejected"
        + (" (see `parallax loads --rejects`)" if rejected else "")
    )


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    _out.print(table)


class FileProgress:
    """A byte-based progress bar per file, drawn on stderr only when it is a terminal."""

    def __init__(self) -> None:
        self._enabled = sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> FileProgress:
        if self._enabled:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True),
                                 transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def start(self, label: str, total_bytes: int) -> None:
        if self._bar:
            self._task = self._bar.add_task(label, total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self._bar and self._task is not None:
            self._bar.advance(self._task, nbytes)

    def finish(self) -> None:
        if self._bar and self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None
