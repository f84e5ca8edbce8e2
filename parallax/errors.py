"""The exception tree. The CLI's one error boundary turns any ``ParallaxError`` into one line
on stderr and its ``exit_code``; anything else is a bug and keeps its traceback.

    ParallaxError
    ├── ConfigError          bad parallax.toml, option or field mapping      (exit 2)
    ├── QueryError           SQL refused by the read-only sandbox, or failing (exit 2)
    ├── DatabaseError        cannot open or migrate the database              (exit 3)
    ├── IngestError          a file could not be loaded; nothing was stored   (exit 4)
    │   ├── FormatError      unreadable / wrong-format file (file, line or record)
    │   ├── RejectRateError  too many bad records in an otherwise good file
    │   └── FetchError       a pull source could not be fetched (what was committed stays)
    └── NoDataError          nothing to analyse or read: no feedback or page loads in the
                             window, no correlate run (yet) for findings/review/drill (exit 5)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "FetchError",
    "FormatError",
    "IngestError",
    "NoDataError",
    "ParallaxError",
    "QueryError",
    "RejectRateError",
]


class ParallaxError(Exception):
    """Base of every error a user can cause; the message is one line saying what and where."""

    exit_code = 1


class ConfigError(ParallaxError):
    exit_code = 2


class QueryError(ParallaxError):
    """SQL from ``parallax sql`` or a named query was refused (not one read-only statement,
    or it reaches outside the database) or failed; the message is DuckDB's first line."""

    exit_code = 2


class DatabaseError(ParallaxError):
    exit_code = 3


class IngestError(ParallaxError):
    exit_code = 4


class FormatError(IngestError):
    """The file cannot be read as the expected format.

    ``where`` is a location inside the file (``line 12``, ``record 3``) when known.
    """

    def __init__(self, file: str, reason: str, where: str | None = None) -> None:
        self.file, self.reason, self.where = file, reason, where
        loc = f"{file}: {where}" if where else file
        super().__init__(f"{loc}: {reason}")

    def __reduce__(self):  # raised in parser worker processes, re-raised in the loader
        return (type(self), (self.file, self.reason, self.where))


class RejectRateError(IngestError):
    pass


class NoDataError(ParallaxError):
    exit_code = 5


class FetchError(IngestError):
    """A source could not be fetched; what was committed before stays, with its cursor."""
