"""Times as people type them on the command line: ISO dates and times, and the relative
forms ``now``, ``today``, ``yesterday``, ``-7d`` / ``7d`` (ago), ``24h``, ``30m``, ``2w``.

Everything is UTC, like the stored timestamps; a time without a zone is UTC. A window whose
end is not after its start is refused here, before any work starts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from parallax.errors import ConfigError

__all__ = ["parse_time", "parse_window"]

_AGO = re.compile(r"-?\s*(\d+)\s*([mhdw])", re.IGNORECASE)
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_FORMS = "an ISO date or time (2026-10-05, 2026-10-05T12:00Z), now, today, yesterday, -7d, 24h"


def parse_time(value: str | None, flag: str, now: datetime | None = None) -> datetime | None:
    """``value`` as an aware UTC datetime (None stays None); ``now`` is for tests."""
    if value is None:
        return None
    text = value.strip().lower()
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    named = {"now": now, "today": midnight, "yesterday": midnight - timedelta(days=1)}
    if text in named:
        return named[text]
    m = _AGO.fullmatch(text)
    if m:
        return now - timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{flag} {value!r}: expected {_FORMS}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_window(since: str | None, until: str | None, flags: tuple[str, str] = (
        "--since", "--until"), now: datetime | None = None) -> tuple[datetime | None,
                                                                     datetime | None]:
    """(start, end) of a window; an end at or before its start is refused."""
    now = now or datetime.now(UTC)  # one "now" for both ends: `--since 1h --until now`
    start, end = parse_time(since, flags[0], now), parse_time(until, flags[1], now)
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"{flags[1]} {until!r} is not after {flags[0]} {since!r} "
                          f"({end:%Y-%m-%d %H:%M} UTC <= {start:%Y-%m-%d %H:%M} UTC)")
    return start, end
