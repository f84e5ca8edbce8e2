"""The ``parallax`` command: parse, call a library function, print.

Commands live in ``parallax.commands.*`` (one module per family) and register on one typer app.
``run()`` is the one error boundary: a ``ParallaxError`` becomes one line on stderr and its exit
code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys

from parallax.commands import (  # noqa: F401  (importing registers the commands)
    analysis,
    annotate,
    contacts,
    erase,
    ingest,
    insights,
    lake,
    pull,
    queries,
    review,
    routes,
    sampling,
    serve,
    workflows,
)
from parallax.commands.base import app
from parallax.commands.examples import add_examples
from parallax.errors import ParallaxError
from parallax.terminal import safe_text

__all__ = ["main", "private_files", "run"]

add_examples(app)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the error boundary; tests call this)."""
    private_files()
    try:
        app(args=argv, prog_name="parallax", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except ParallaxError as exc:
        # Messages quote values from files and databases: one line, nothing a terminal acts on.
        print(f"parallax: error: {safe_text(str(exc), one_line=True)}", file=sys.stderr)
        return exc.exit_code
    return 0


def private_files() -> None:
    """Files this process creates are its user's alone: 0600, folders 0700. The database, its
    WAL and spill files (created by DuckDB), the key, the receiver's spool, exports and
    reports hold personal data; a group that should read them is granted it explicitly
    (docs/privacy.md). A stricter umask the user set stays."""
    os.umask(os.umask(0o077) | 0o077)


def main() -> None:
    # The models' matrices are small (thousands of rows, tens of columns): BLAS threads gain
    # nothing on them and, beside DuckDB's threads and the segment fits' thread, oversubscribe
    # the cores — correlate measured 1.7x faster on 2 busy cores with one. Set before numpy
    # loads; a value the user set wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(run())
